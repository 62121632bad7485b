/* SPDX-License-Identifier: MIT */
/*
 * rings.c - listing, record printing and checking of rings, read-only.
 */
#include "rings.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common/ids.h"
#include "common/jsonw.h"
#include "common/limits.h"
#include "common/reader.h"
#include "common/ringdir.h"

/* Keeps the first failure: later rings do not hide an earlier problem. */
static void worst(int *rc, int v)
{
	if (!*rc)
		*rc = v;
}

/* Exit status for a failed sr_reader_open(). */
static int open_status(int err)
{
	return err == -ENOENT || err == -EACCES || err == -EPERM ? EX_NOINPUT
								 : EX_DATAERR;
}

static bool has_ring_suffix(const char *name)
{
	size_t n = strlen(name), s = strlen(SR_RING_SUFFIX);

	return n > s && strcmp(name + n - s, SR_RING_SUFFIX) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A list of ring paths: the operands, or every *.ring entry of a dir. */
struct paths {
	char **v;
	int n;
	bool owned; /* v and its strings were allocated here */
	int rc;     /* a subdirectory could not be read: exit status */
	uint32_t refused[SR_DIR_MAX_SUBDIRS]; /* uids of those (said) */
	unsigned nrefused;
};

static void paths_free(struct paths *p)
{
	if (!p->owned)
		return;
	for (int i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
}

static int add_path(struct paths *p, int *cap, char *path)
{
	if (!path)
		return -ENOMEM;
	if (p->n == *cap) {
		char **nv;
		int ncap = *cap ? 2 * *cap : 16;

		nv = realloc(p->v, sizeof(*nv) * (size_t)ncap);
		if (!nv) {
			free(path);
			return -ENOMEM;
		}
		p->v = nv;
		*cap = ncap;
	}
	p->v[p->n++] = path;
	return 0;
}

/* Appends "<dir>/<sub><name>" of every *.ring entry of d (closed here). */
static int collect(DIR *d, const char *dir, const char *sub, struct paths *p,
		   int *cap)
{
	struct dirent *e;
	int err = 0;

	while (!err && (e = readdir(d))) {
		char *path;

		if (!has_ring_suffix(e->d_name))
			continue;
		if (asprintf(&path, "%s/%s%s", dir, sub, e->d_name) < 0)
			path = NULL;
		err = add_path(p, cap, path);
	}
	closedir(d);
	return err;
}

struct subs {
	int dirfd;
	const char *dir;
	struct paths *p;
	int *cap;
};

/* A uid-<N>/ of the directory: its rings are collected when the sidecar
 * would serve it (sr_dir_open_sub), else the refusal is said. */
static void on_list_sub(void *ctx, const char *name)
{
	struct subs *s = ctx;
	char why[256], sub[64];
	int fd = sr_dir_open_sub(s->dirfd, name, why, sizeof(why));
	DIR *d;

	if (fd < 0) {
		fprintf(stderr, "spanring-dump: %s/%s\n", s->dir, why);
		worst(&s->p->rc, open_status(fd));
		if (s->p->nrefused < SR_DIR_MAX_SUBDIRS &&
		    sr_dir_sub_parse(name, &s->p->refused[s->p->nrefused]))
			s->p->nrefused++;
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		worst(&s->p->rc, EX_OSERR);
		return;
	}
	snprintf(sub, sizeof(sub), "%s/", name);
	if (collect(d, s->dir, sub, s->p, s->cap))
		worst(&s->p->rc, EX_OSERR);
}

/* Collects "<dir>/<name>" of every *.ring entry, then "<dir>/uid-<N>/<name>"
 * of every uid-<N>/ subdirectory (common/README.md, "Ring directory"),
 * sorted. 0 or an exit status when dir cannot be read (the reason
 * printed); a subdirectory that cannot be read is said and its status
 * left in p->rc, the other rings are collected. */
static int dir_rings(const char *dir, struct paths *p)
{
	struct subs s = { .dir = dir, .p = p };
	int cap = 0, dirfd, rc = 0;
	DIR *d;

	memset(p, 0, sizeof(*p));
	p->owned = true;
	s.cap = &cap;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = dirfd < 0 ? NULL : fdopendir(dirfd);
	if (!d) {
		int e = errno;

		if (dirfd >= 0)
			close(dirfd);
		fprintf(stderr, "spanring-dump: %s: %s\n", dir, strerror(e));
		return e == ENOTDIR ? EX_DATAERR : EX_NOINPUT;
	}
	s.dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (s.dirfd < 0 || collect(d, dir, "", p, &cap))
		rc = EX_OSERR;
	if (!rc &&
	    sr_dir_scan_subs(s.dirfd, SR_DIR_MAX_SUBDIRS, on_list_sub, &s) < 0)
		rc = EX_NOINPUT;
	if (s.dirfd >= 0)
		close(s.dirfd);
	if (rc)
		fprintf(stderr, "spanring-dump: %s: %s\n", dir,
			strerror(errno));
	if (p->n)
		qsort(p->v, (size_t)p->n, sizeof(*p->v), cmp_str);
	return rc;
}

static int get_paths(const struct sr_dump_opts *o, char **argv, int argc,
		     struct paths *p)
{
	if (argc > 0) {
		memset(p, 0, sizeof(*p));
		p->v = argv;
		p->n = argc;
		return 0;
	}
	return dir_rings(o->dir, p);
}

/* Opens a ring read-only; on failure says why on stderr. */
static int open_ring(const char *path, struct sr_reader **rd)
{
	char why[256];
	int err = sr_reader_open(AT_FDCWD, path, SR_READER_RDONLY, rd, why,
				 sizeof(why));

	if (err)
		fprintf(stderr, "spanring-dump: %s: %s\n", path, why);
	return err;
}

static struct sr_ring_info *ring_info(struct sr_reader *rd, const char *path)
{
	struct sr_ring_info *info = malloc(sr_reader_info_size(rd));

	if (!info || sr_reader_info(rd, info)) {
		fprintf(stderr, "spanring-dump: %s: %s\n", path,
			info ? "file shrank while being read"
			     : "out of memory");
		free(info);
		return NULL;
	}
	return info;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* A ring of the directory as shown: its path below dir ("uid-<N>/..." in
 * a subdirectory). */
static const char *below(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1])
		return path + n + 1;
	return base(path);
}

/* --- listing -------------------------------------------------------------- */

static void list_json(const char *name, const struct sr_ring_info *in,
		      bool alive, FILE *out)
{
	char buf[2048], num[64];
	struct sr_jw w;

	sr_jw_init(&w, buf, sizeof(buf));
	sr_jw_lit(&w, "{");
	sr_jw_member_cstr(&w, "ring", name);
#define U(k, v) sr_jw_member_u64(&w, k, v)
	U("owner_pid", in->owner_pid);
	sr_jw_member_lit(&w, "alive", alive ? "true" : "false");
	sr_jw_member_cstr(&w, "executable", in->owner_exe);
	U("file_size", in->file_size);
	U("lanes", in->lane_count);
	U("lane_size", in->lane_size);
	sr_jw_member(&w, "max_fill");
	snprintf(num, sizeof(num), "%.4f", in->max_fill);
	sr_jw_lit(&w, num);
	U("written", in->written);
	U("dropped", in->dropped);
	U("dropped_full", in->dropped_full);
	U("dropped_oversize", in->dropped_oversize);
	U("dropped_no_lane", in->dropped_no_lane);
	U("truncated", in->truncated);
	U("unread_bytes", in->unread_bytes);
#undef U
	sr_jw_lit(&w, "}");
	fprintf(out, "%s\n", sr_jw_cstr(&w));
}

static void list_table(const char *name, const struct sr_ring_info *in,
		       bool alive, FILE *out)
{
	fprintf(out,
		"%-40s %7" PRIu32 " %-5s %7" PRIu64 "K %5.1f%% %9" PRIu64
		" %7" PRIu64 " %5" PRIu64 "/%" PRIu64 "/%" PRIu64 " %9" PRIu64
		" %s\n",
		name, in->owner_pid, alive ? "alive" : "dead",
		in->file_size >> 10, in->max_fill * 100, in->written,
		in->dropped, in->dropped_full, in->dropped_oversize,
		in->dropped_no_lane, in->unread_bytes, in->owner_exe);
}

struct refused {
	int dirfd;
	uint64_t n;
};

static void add_refused(void *ctx, const char *name)
{
	struct refused *r = ctx;
	int fd = sr_dir_open_sub(r->dirfd, name, NULL, 0);

	if (fd >= 0) {
		r->n += sr_dir_refused(fd);
		close(fd);
	}
}

/* Rings refused because the directory was full: dir and its uid-<N>/. */
static uint64_t refused_count(const char *dir)
{
	struct refused r = { open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0 };

	if (r.dirfd < 0)
		return 0;
	r.n = sr_dir_refused(r.dirfd);
	sr_dir_scan_subs(r.dirfd, SR_DIR_MAX_SUBDIRS, add_refused, &r);
	close(r.dirfd);
	return r.n;
}

int sr_dump_list(const struct sr_dump_opts *o, FILE *out)
{
	struct paths p;
	int rc = dir_rings(o->dir, &p), shown = 0;

	if (rc)
		return rc;
	rc = p.rc;
	if (o->fmt == SR_DUMP_TABLE)
		fprintf(out, "%-40s %7s %-5s %8s %6s %9s %7s %-13s %9s %s\n",
			"RING", "PID", "STATE", "SIZE", "FILL", "WRITTEN",
			"DROPPED", " full/over/nl", "LAG", "EXECUTABLE");
	for (int i = 0; i < p.n; i++) {
		struct sr_ring_info *info;
		struct sr_reader *rd;
		int err = open_ring(p.v[i], &rd);

		/* a ring whose header is still being written is normal in a
		 * live directory: said on stderr, not an error */
		if (err) {
			if (err != -EAGAIN)
				worst(&rc, EX_DATAERR);
			continue;
		}
		info = ring_info(rd, p.v[i]);
		if (info) {
			bool alive = sr_reader_owner_alive(rd);

			const char *name = below(o->dir, p.v[i]);

			if (o->fmt == SR_DUMP_JSON)
				list_json(name, info, alive, out);
			else
				list_table(name, info, alive, out);
			shown++;
		} else {
			worst(&rc, EX_DATAERR);
		}
		free(info);
		sr_reader_free(rd);
	}
	if (o->fmt == SR_DUMP_TABLE)
		fprintf(out,
			"%d ring%s in %s; rings refused (directory full): %" PRIu64
			"\n",
			shown, shown == 1 ? "" : "s", o->dir,
			refused_count(o->dir));
	paths_free(&p);
	return rc;
}

/* --- records ---------------------------------------------------------------- */

struct printer {
	const char *ring;
	enum sr_dump_fmt fmt;
	FILE *out;
	uint64_t bad; /* records that did not decode */
	int err;      /* out of memory */
};

static int print_rec(void *ctx, const struct sr_record *rec)
{
	struct printer *pr = ctx;
	bool bad;
	char *line = sr_dump_format(rec, pr->ring, pr->fmt, &bad);

	if (!line) {
		pr->err = -ENOMEM;
		return 1;
	}
	fprintf(pr->out, "%s\n", line);
	free(line);
	pr->bad += bad;
	return 0;
}

/* Prints everything readable now. 0, or an exit status. */
static int drain_ring(struct sr_reader *rd, struct printer *pr)
{
	int n;

	while ((n = sr_reader_poll(rd, SIZE_MAX, print_rec, pr)) > 0)
		;
	fflush(pr->out);
	if (n < 0) {
		fprintf(stderr,
			"spanring-dump: %s: file shrank while being read\n",
			pr->ring);
		return EX_DATAERR;
	}
	return pr->err ? EX_SOFTWARE : 0;
}

static void ring_banner(const char *path, struct sr_reader *rd, FILE *out)
{
	struct sr_ring_info *info = ring_info(rd, path);
	char tid[SR_TRACE_ID_STR];

	if (!info)
		return;
	sr_fmt_trace_id(tid, info->trace_id);
	fprintf(out, "# %s: pid %" PRIu32 " (%s) %s, %s\n%s\n", path,
		info->owner_pid, sr_reader_owner_alive(rd) ? "alive" : "dead",
		info->owner_exe, tid, sr_dump_table_header());
	free(info);
}

/* Faults found while reading, as exit status. */
static int fault_status(struct sr_reader *rd, const struct printer *pr)
{
	if (sr_reader_faults(rd)) {
		fprintf(stderr,
			"spanring-dump: %s: %" PRIu64 " fault(s), last: %s\n",
			pr->ring, sr_reader_faults(rd), sr_reader_fault(rd));
		return EX_DATAERR;
	}
	if (pr->bad) {
		fprintf(stderr,
			"spanring-dump: %s: %" PRIu64
			" record(s) do not decode\n",
			pr->ring, pr->bad);
		return EX_DATAERR;
	}
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Follows the rings named as operands until stopped or every owner is
 * gone and drained. */
static int follow(const struct sr_dump_opts *o, struct sr_reader **rd,
		  struct printer *pr, int n)
{
	int rc = 0, live = n;

	while (live > 0 && !*o->stop) {
		live = 0;
		for (int i = 0; i < n; i++) {
			bool alive;

			if (!rd[i])
				continue;
			/* liveness first: what was written before death is
			 * printed by the drain that follows */
			alive = sr_reader_owner_alive(rd[i]);
			worst(&rc, drain_ring(rd[i], &pr[i]));
			if (alive && !pr[i].err)
				live++;
			else {
				worst(&rc, fault_status(rd[i], &pr[i]));
				sr_reader_free(rd[i]);
				rd[i] = NULL;
			}
		}
		if (live > 0 && !*o->stop)
			sleep_ms(o->interval_ms);
	}
	return rc;
}

/* --- following a directory -------------------------------------------------- */

/* One ring of the directory being followed. */
struct followed {
	char *path;           /* "<dir>/<name>", owned; NULL: forgotten */
	const char *name;     /* last component of path */
	struct sr_reader *rd; /* NULL once finished, or when it did not open */
	struct printer pr;
	bool named; /* a ring file name: sr_dir_scan() reports it */
	bool seen;  /* reported by the latest scan */
};

struct follow_set {
	const struct sr_dump_opts *o;
	FILE *out;
	int dirfd;
	struct followed *v; /* SR_DUMP_FOLLOW_MAX; [0, n) sorted by name */
	unsigned n, added;  /* sorted entries; new ones after them */
	bool full_said, scan_said; /* a limit / scan failure was reported */
	uint32_t said[SR_DIR_MAX_SUBDIRS]; /* uid-<N>/ refusals reported */
	unsigned nsaid;
	const char *sub; /* "uid-<N>/" being scanned, or "" */
	int rc;          /* first problem, as exit status */
};

static int cmp_followed(const void *a, const void *b)
{
	return strcmp(((const struct followed *)a)->name,
		      ((const struct followed *)b)->name);
}

/* Takes path over and appends an entry after the sorted ones. */
static void add_followed(struct follow_set *s, char *path)
{
	struct followed *f;

	if (s->n + s->added >= SR_DUMP_FOLLOW_MAX) {
		if (!s->full_said)
			fprintf(stderr,
				"spanring-dump: %s: following at most %u rings, %s is not followed\n",
				s->o->dir, SR_DUMP_FOLLOW_MAX,
				below(s->o->dir, path));
		s->full_said = true;
		free(path);
		return;
	}
	f = &s->v[s->n + s->added++];
	*f = (struct followed){ .path = path,
				.name = below(s->o->dir, path),
				.seen = true };
	f->named = sr_ring_name_parse(base(path), NULL, NULL);
	f->pr = (struct printer){ path, s->o->fmt, s->out, 0, 0 };
}

static void forget(struct followed *f)
{
	free(f->path);
	f->path = NULL;
}

/* Reports a ring's faults and closes it. A ring that a scan can report
 * again stays in the table, so its records are not printed twice. */
static void finish(struct follow_set *s, struct followed *f)
{
	worst(&s->rc, fault_status(f->rd, &f->pr));
	sr_reader_free(f->rd);
	f->rd = NULL;
	if (!f->named)
		forget(f);
}

/* Opens a ring met for the first time and prints what it holds. */
static void start(struct follow_set *s, struct followed *f)
{
	char why[256];
	int err = sr_reader_open(AT_FDCWD, f->path, SR_READER_RDONLY, &f->rd,
				 why, sizeof(why));

	if (err == -EAGAIN || err == -ENOENT) {
		/* header not written yet, or already removed: the next scan
		 * says which */
		f->rd = NULL;
		forget(f);
		return;
	}
	if (err) {
		fprintf(stderr, "spanring-dump: %s: %s\n", f->path, why);
		worst(&s->rc, open_status(err));
		f->rd = NULL;
		if (!f->named)
			forget(f);
		return;
	}
	if (s->o->fmt == SR_DUMP_TABLE)
		ring_banner(f->path, f->rd, s->out);
	worst(&s->rc, drain_ring(f->rd, &f->pr));
}

/* Drops forgotten entries; starts and sorts in the new ones. */
static void settle(struct follow_set *s)
{
	unsigned k = 0, all;

	for (unsigned i = s->n; i < s->n + s->added; i++)
		start(s, &s->v[i]);
	all = s->n + s->added;
	for (unsigned i = 0; i < all; i++)
		if (s->v[i].path)
			s->v[k++] = s->v[i];
	if (s->added)
		qsort(s->v, k, sizeof(*s->v), cmp_followed);
	s->n = k;
	s->added = 0;
}

static void on_ring_name(void *ctx, const char *ring)
{
	struct follow_set *s = ctx;
	char name[64 + SR_RING_NAME_MAX];
	struct followed key = { .name = name }, *f;
	char *path;

	snprintf(name, sizeof(name), "%s%s", s->sub, ring);
	f = bsearch(&key, s->v, s->n, sizeof(key), cmp_followed);
	if (f) {
		f->seen = true;
		return;
	}
	/* a directory changing during the scan may show a name twice */
	for (unsigned i = s->n; i < s->n + s->added; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return;
	if (asprintf(&path, "%s/%s", s->o->dir, name) < 0) {
		worst(&s->rc, EX_OSERR);
		return;
	}
	add_followed(s, path);
}

/* The rings of a subdirectory that could not be scanned now are kept:
 * they are not known to be gone. */
static void keep_sub(struct follow_set *s, const char *sub)
{
	size_t n = strlen(sub);

	for (unsigned i = 0; i < s->n; i++)
		if (strncmp(s->v[i].name, sub, n) == 0)
			s->v[i].seen = true;
}

/* Says once per uid that a uid-<N>/ is not followed, and why. */
static void sub_refused(struct follow_set *s, const char *name, int err,
			const char *why)
{
	uint32_t uid = 0;

	sr_dir_sub_parse(name, &uid);
	for (unsigned i = 0; i < s->nsaid; i++)
		if (s->said[i] == uid)
			return;
	if (s->nsaid < SR_DIR_MAX_SUBDIRS)
		s->said[s->nsaid++] = uid;
	fprintf(stderr, "spanring-dump: %s/%s\n", s->o->dir, why);
	worst(&s->rc, open_status(err));
}

/* A uid-<N>/ of the directory followed: its rings are followed like the
 * directory's own when the sidecar would serve it (sr_dir_open_sub). */
static void on_follow_sub(void *ctx, const char *name)
{
	struct follow_set *s = ctx;
	char why[256], sub[64];
	int fd = sr_dir_open_sub(s->dirfd, name, why, sizeof(why)), n;

	snprintf(sub, sizeof(sub), "%s/", name);
	if (fd < 0) {
		sub_refused(s, name, fd, why);
		keep_sub(s, sub);
		return;
	}
	s->sub = sub;
	n = sr_dir_scan(fd, 0, on_ring_name, s);
	s->sub = "";
	close(fd);
	if (n < 0) {
		snprintf(why, sizeof(why), "%s: %s", name, strerror(-n));
		sub_refused(s, name, n, why);
		keep_sub(s, sub);
	}
}

/* Finds rings created and removed since the last scan, in the directory
 * and its uid-<N>/. A removed ring is printed as far as its mapping still
 * reads, then dropped quietly. */
static void rescan(struct follow_set *s)
{
	int n;

	for (unsigned i = 0; i < s->n; i++)
		s->v[i].seen = false;
	s->sub = "";
	n = sr_dir_scan(s->dirfd, 0, on_ring_name, s);
	if (n >= 0)
		n = sr_dir_scan_subs(s->dirfd, SR_DIR_MAX_SUBDIRS,
				     on_follow_sub, s);
	if (n < 0 && !s->scan_said)
		fprintf(stderr, "spanring-dump: %s: %s\n", s->o->dir,
			strerror(-n));
	s->scan_said |= n < 0;
	for (unsigned i = 0; n >= 0 && i < s->n; i++) {
		struct followed *f = &s->v[i];

		if (!f->named || f->seen)
			continue;
		if (f->rd) {
			worst(&s->rc, drain_ring(f->rd, &f->pr));
			finish(s, f);
		}
		forget(f);
	}
	settle(s);
}

/* Prints what each open ring got since the last round; closes those
 * whose owner is gone (liveness first: what was written before death is
 * printed by the drain that follows). */
static void follow_round(struct follow_set *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct followed *f = &s->v[i];
		bool alive;

		if (!f->rd)
			continue;
		alive = sr_reader_owner_alive(f->rd);
		worst(&s->rc, drain_ring(f->rd, &f->pr));
		if (!alive || f->pr.err)
			finish(s, f);
	}
	settle(s);
}

/* Follows every ring of o->dir, present or to come, until *o->stop. */
static int follow_dir(const struct sr_dump_opts *o, FILE *out)
{
	struct follow_set s = { .o = o, .out = out, .dirfd = -1 };
	struct paths p;
	int rc = dir_rings(o->dir, &p);

	if (rc)
		return rc;
	s.dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s.v = calloc(SR_DUMP_FOLLOW_MAX, sizeof(*s.v));
	if (s.dirfd < 0 || !s.v) {
		fprintf(stderr, "spanring-dump: %s: %s\n", o->dir,
			strerror(errno));
		rc = EX_OSERR;
		goto out;
	}
	s.rc = p.rc;
	memcpy(s.said, p.refused, sizeof(s.said));
	s.nsaid = p.nrefused;
	for (int i = 0; i < p.n; i++) {
		add_followed(&s, p.v[i]);
		p.v[i] = NULL;
	}
	settle(&s);
	while (!*o->stop) {
		sleep_ms(o->interval_ms);
		if (*o->stop)
			break;
		rescan(&s);
		follow_round(&s);
	}
	for (unsigned i = 0; i < s.n; i++) {
		if (s.v[i].rd)
			finish(&s, &s.v[i]);
		forget(&s.v[i]);
	}
out:
	free(s.v);
	if (s.dirfd >= 0)
		close(s.dirfd);
	paths_free(&p);
	return rc ? rc : s.rc;
}

int sr_dump_records(const struct sr_dump_opts *o, char **argv, int argc,
		    bool follow_on, FILE *out)
{
	struct sr_reader **rd;
	struct printer *pr;
	struct paths p;
	int rc;

	if (follow_on && argc == 0)
		return follow_dir(o, out);
	rc = get_paths(o, argv, argc, &p);
	if (rc)
		return rc;
	rc = p.rc;
	rd = calloc((size_t)p.n + 1, sizeof(*rd));
	pr = calloc((size_t)p.n + 1, sizeof(*pr));
	if (!rd || !pr) {
		rc = EX_OSERR;
		goto out;
	}
	for (int i = 0; i < p.n; i++) {
		int err = open_ring(p.v[i], &rd[i]);

		pr[i] = (struct printer){ p.v[i], o->fmt, out, 0, 0 };
		if (err) {
			worst(&rc, open_status(err));
			continue;
		}
		if (o->fmt == SR_DUMP_TABLE)
			ring_banner(p.v[i], rd[i], out);
		worst(&rc, drain_ring(rd[i], &pr[i]));
		if (!follow_on) {
			worst(&rc, fault_status(rd[i], &pr[i]));
			sr_reader_free(rd[i]);
			rd[i] = NULL;
		}
	}
	if (follow_on)
		worst(&rc, follow(o, rd, pr, p.n));
out:
	for (int i = 0; rd && i < p.n; i++)
		sr_reader_free(rd[i]);
	free(rd);
	free(pr);
	paths_free(&p);
	return rc;
}

/* --- check ------------------------------------------------------------------ */

struct check_ctx {
	const char *path;
	FILE *out;
};

static void report(void *ctx, const char *fault)
{
	struct check_ctx *c = ctx;

	fprintf(c->out, "%s: FAULT: %s\n", c->path, fault);
}

static int check_one(const char *path, FILE *out)
{
	struct check_ctx c = { path, out };
	struct sr_reader *rd;
	char why[256];
	int err = sr_reader_open(AT_FDCWD, path, SR_READER_RDONLY, &rd, why,
				 sizeof(why)),
	    found;

	if (err) {
		if (err == -ENOENT || err == -EACCES) {
			fprintf(stderr, "spanring-dump: %s: %s\n", path, why);
			return EX_NOINPUT;
		}
		fprintf(out, "%s: FAULT: %s\n", path, why);
		return 1;
	}
	found = sr_reader_check(rd, report, &c);
	if (found < 0)
		fprintf(out, "%s: FAULT: file shrank while being checked\n",
			path);
	else if (!found)
		fprintf(out, "%s: ok\n", path);
	sr_reader_free(rd);
	return found ? 1 : 0;
}

int sr_dump_check(const struct sr_dump_opts *o, char **argv, int argc,
		  FILE *out)
{
	struct paths p;
	int rc = get_paths(o, argv, argc, &p);

	if (rc)
		return rc;
	rc = p.rc;
	for (int i = 0; i < p.n; i++)
		worst(&rc, check_one(p.v[i], out));
	paths_free(&p);
	return rc;
}
