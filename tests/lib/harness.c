/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ring_layout.h"

int sr_test_main(const struct CMUnitTest *tests, size_t n, int argc,
		 char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "--run") == 0) {
		size_t i;

		for (i = 0; i < n && strcmp(tests[i].name, argv[2]) != 0; i++)
			;
		if (i == n) {
			fprintf(stderr, "no test named %s\n", argv[2]);
			return 2;
		}
		return _cmocka_run_group_tests(argv[2], &tests[i], 1, NULL,
					       NULL);
	}
	return _cmocka_run_group_tests(argv[0], tests, n, NULL, NULL);
}

char *sr_strf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	assert_non_null(s);
	return s;
}

char *sr_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *d = sr_strf("%s/spanring-test-%s-XXXXXX",
			  base && *base ? base : "/tmp", tag);

	assert_non_null(mkdtemp(d));
	return d;
}

void sr_tmpdir_free(char *dir)
{
	char *cmd;

	if (!dir)
		return;
	cmd = sr_strf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
	free(cmd);
	free(dir);
}

const char *sr_build_path(const char *rel)
{
	static char buf[8][4096];
	static int next;
	const char *b = getenv("SR_BUILD");
	char *out = buf[next++ % 8];

	snprintf(out, sizeof(buf[0]), "%s/%s", b && *b ? b : "build", rel);
	return out;
}

char *sr_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
	} while (r > 0);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

void sr_assert_doc_block(const char *md, const char *name, const char *want)
{
	char *begin = sr_strf("<!-- begin: %s", name);
	char *end = sr_strf("<!-- end: %s -->", name);
	size_t len, line = 1;
	char *text = sr_read_file(md, &len);
	const char *a, *b, *w = want, *t;

	if (!text)
		fail_msg("%s: cannot read (run from the top of the tree)", md);
	a = strstr(text, begin);
	b = a ? strstr(a, end) : NULL;
	if (!a || !b)
		fail_msg("%s: no '%s' ... '%s' block", md, begin, end);
	t = strchr(a, '\n') + 1;
	/* line by line: a failure shows the whole line */
	while (*w && t < b && !strncmp(w, t, strcspn(w, "\n") + 1)) {
		w += strcspn(w, "\n") + 1;
		t = strchr(t, '\n') + 1;
		line++;
	}
	if (*w || t != b)
		fail_msg("%s: block '%s' differs at its line %zu (run make "
			 "docs):\n expected: %.*s\n actual:   %.*s",
			 md, name, line, (int)strcspn(w, "\n"), w,
			 (int)(t < b ? strcspn(t, "\n") : 0), t);
	free(text);
	free(begin);
	free(end);
}

char *sr_line_with(const char *text, const char *needle)
{
	const char *p = strstr(text, needle), *b, *e;
	char *line;

	if (!p)
		fail_msg("no line with \"%s\" in:\n%s", needle, text);
	for (b = p; b > text && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	line = strndup(b, e ? (size_t)(e - b) : strlen(b));
	assert_non_null(line);
	return line;
}

size_t sr_label_col(const char *line)
{
	const char *c = strstr(line, "─ ");
	size_t col = 0;

	assert_non_null(c);
	for (const char *p = line; p < c; p++)
		col += ((unsigned char)*p & 0xc0) != 0x80;
	return col;
}

size_t sr_widest_line(const char *text)
{
	size_t best = 0, col = 0;

	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			best = col > best ? col : best;
			col = 0;
		} else {
			col += ((unsigned char)*p & 0xc0) != 0x80;
		}
	}
	return best;
}

bool sr_asan_build(void)
{
	const char *s = getenv("SR_SANITIZE");

	return s && strstr(s, "address");
}

bool sr_tsan_build(void)
{
	const char *s = getenv("SR_SANITIZE");

	return s && strstr(s, "thread");
}

const char *sr_asan_runtime(void)
{
	static char path[PATH_MAX];
	FILE *p;

	if (path[0])
		return path;
	p = popen("cc -print-file-name=libasan.so", "r");
	assert_non_null(p);
	assert_non_null(fgets(path, sizeof(path), p));
	pclose(p);
	path[strcspn(path, "\n")] = 0;
	return path;
}

/* What a wait status says, for failure messages. */
static void status_text(char *buf, size_t n, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, n, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, n, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, n, "wait status 0x%x", (unsigned)status);
}

void sr_assert_exited_at(int status, int code, const char *expr,
			 const char *file, int line)
{
	char got[64];

	if (WIFEXITED(status) && WEXITSTATUS(status) == code)
		return;
	status_text(got, sizeof(got), status);
	print_error("ERROR: %s: %s, expected exit %d\n", expr, got, code);
	_fail(file, line);
}

void sr_assert_killed_at(int status, int sig, const char *expr,
			 const char *file, int line)
{
	char got[64];

	if (WIFSIGNALED(status) && WTERMSIG(status) == sig)
		return;
	status_text(got, sizeof(got), status);
	print_error("ERROR: %s: %s, expected killed by signal %d\n", expr, got,
		    sig);
	_fail(file, line);
}

void sr_ring_file_downgrade(const char *path, uint32_t version)
{
	size_t n, ctl, size;
	char *in = sr_read_file(path, &n), *out, *tmp;
	struct sr_ring_header *h;
	uint64_t lanes, data;
	FILE *f;

	assert_non_null(in);
	assert_true(version == 2 || version == 3);
	h = (struct sr_ring_header *)(void *)in;
	assert_int_equal(h->version, SR_RING_VERSION);
	lanes = sr_ring_lanes_offset_v(version, h->lane_count);
	data = sr_ring_data_offset_v(version, h->lane_count);
	ctl = (h->lane_count + 1) * sizeof(struct sr_lane_ctl);
	sr_assert_ucmp(n, >, h->data_offset);
	size = data + (n - h->data_offset);
	out = calloc(1, size);
	assert_non_null(out);
	/* the header's fields and lane anchors keep their offsets */
	memcpy(out, in, h->lanes_offset);
	memcpy(out + lanes, in + h->lanes_offset, ctl);
	memcpy(out + data, in + h->data_offset, n - h->data_offset);
	h = (struct sr_ring_header *)(void *)out;
	h->version = version;
	h->header_size = (uint32_t)lanes;
	h->lanes_offset = lanes;
	h->data_offset = data;
	h->file_size = size;
	if (version < 3) /* no clock: reserved bytes, zero */
		memset(out + offsetof(struct sr_ring_header, clock), 0,
		       SR_RING_V3_HEADER_SIZE -
			       offsetof(struct sr_ring_header, clock));
	tmp = sr_strf("%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(out, 1, size, f), size);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
	free(tmp);
	free(out);
	free(in);
}
