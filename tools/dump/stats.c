/* SPDX-License-Identifier: MIT */
/* stats.c - flatten the sidecar's stats object into `name value` lines. */
#include "common/limits.h"
#include "stats.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/jsonw.h"

/* Prints s with control characters and invalid UTF-8 escaped, so a
 * hostile file cannot drive the terminal. */
static void put_safe(FILE *out, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t k = sr_utf8_seq((const unsigned char *)s + i, n - i);

		if (!k ||
		    (k == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))) {
			fprintf(out, "\\x%02x", (unsigned char)s[i]);
			i++;
			continue;
		}
		fwrite(s + i, 1, k, out);
		i += k;
	}
}

static void put_value(FILE *out, const cJSON *v)
{
	char *txt;

	if (cJSON_IsString(v)) {
		put_safe(out, v->valuestring);
		return;
	}
	txt = cJSON_PrintUnformatted(v);
	if (txt)
		put_safe(out, txt);
	cJSON_free(txt);
}

static void flatten(FILE *out, const char *prefix, const cJSON *v, int depth)
{
	const cJSON *c;
	int i = 0;

	if ((!cJSON_IsObject(v) && !cJSON_IsArray(v)) ||
	    (unsigned)depth >= SR_DUMP_STATS_DEPTH) {
		put_safe(out, prefix);
		fputc(' ', out);
		put_value(out, v);
		fputc('\n', out);
		return;
	}
	cJSON_ArrayForEach(c, v)
	{
		char idx[24], *name;
		const char *k = cJSON_IsObject(v) && c->string ? c->string
							       : idx;

		snprintf(idx, sizeof(idx), "%d", i++);
		if (asprintf(&name, "%s%s%s", prefix, *prefix ? "." : "", k) <
		    0)
			return;
		flatten(out, name, c, depth + 1);
		free(name);
	}
}

int sr_dump_stats_text(const char *text, size_t n, FILE *out)
{
	cJSON *j = cJSON_ParseWithLength(text, n);

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return EX_DATAERR;
	}
	flatten(out, "", j, 0);
	cJSON_Delete(j);
	return 0;
}

static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int sr_dump_stats_file(const char *path, FILE *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK), rc;
	char *buf;
	ssize_t n;

	if (fd < 0) {
		if (errno == ENOENT) {
			fprintf(stderr,
				"spanring-dump: no sidecar stats: %s does not exist "
				"(no spanringd serves this directory?)\n",
				path);
			return 1;
		}
		fprintf(stderr, "spanring-dump: %s: %s\n", path,
			strerror(errno));
		return EX_NOINPUT;
	}
	buf = malloc(SR_DUMP_STATS_MAX);
	n = buf ? read_all(fd, buf, SR_DUMP_STATS_MAX) : -1;
	close(fd);
	rc = n < 0 ? EX_DATAERR : sr_dump_stats_text(buf, (size_t)n, out);
	if (rc)
		fprintf(stderr,
			"spanring-dump: %s: not a stats file (a JSON object)\n",
			path);
	free(buf);
	return rc;
}
