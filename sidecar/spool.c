/* SPDX-License-Identifier: MIT */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/codec.h"
#include "common/guard.h"
#include "common/limits.h"
#include "lock.h"
#include "log.h"
#include "spool_layout.h"
#include "stats.h"

#define SEG_HDR sizeof(struct sr_seg_header)
#define FRAME_HDR sizeof(struct sr_seg_frame)

/* A segment kept in memory, shared by the spool (until every
 * destination has loaded it) and the loaded segments: the text of its
 * batches, or else its compressed image (the file's bytes). */
struct memtext {
	_Atomic unsigned refs;
	struct sr_spool_batch *b; /* the text, or NULL */
	size_t n;
	uint8_t *img; /* else the image, or NULL */
	size_t img_len;
	uint64_t len; /* bytes held (text or image) */
};

struct seg {
	uint64_t seq;
	uint64_t bytes;
	uint32_t items;
	struct memtext *mem; /* its text while kept in memory */
	uint32_t untaken;    /* destinations that have not loaded mem */
	uint32_t finished;   /* destinations done with it */
	uint32_t hdr_done;   /* header's counter, when hdr_known */
	bool hdr_known;
};

/* A destination's place in the spool. */
struct dest {
	char name[16];
	int fd;        /* cursor-<name>, or -1 */
	uint64_t seq;  /* segment it is in */
	uint32_t done; /* batches of it delivered */
	uint64_t busy; /* segment loaded now, + 1; 0: none */
};

/* A loaded segment (one destination's export thread). */
struct sr_segment {
	struct sr_spool *sp;
	unsigned dest;
	uint64_t seq;
	uint32_t items; /* as named */
	uint8_t *buf;   /* whole file */
	size_t len;
	bool buf_mem; /* buf is mem->img, not the segment's own */
	uint32_t batches, done;
	size_t *off;         /* offset of each frame header */
	int fd;              /* kept open to record progress, or -1 */
	uint8_t *hdr;        /* the file's first page mapped, or NULL */
	bool hdr_failed;     /* not mappable: progress by pwrite */
	struct memtext *mem; /* text from memory, NULL: the file's */
	char *scratch;       /* the last batch decompressed */
	const char *damage;  /* NULL: intact; else quarantined when done */
	uint32_t unreadable; /* batches that did not decompress */
};

struct sr_spool {
	char path[4096];
	int dirfd, lockfd;
	uint64_t heals; /* times the directory was recreated */
	struct dest dests[SR_EXPORTERS_MAX];
	unsigned ndest;
	uint32_t all; /* bits of every destination */
	enum sr_codec codec;
	uint64_t max_bytes, bytes;
	uint64_t mem_bytes; /* text kept in memory (struct seg.mem) */
	bool sync;
	pthread_mutex_t lock;
	struct seg *segs; /* sorted by seq, oldest first, [head, n) live */
	size_t head, n, cap;
	uint64_t next_seq;
};

static void seg_name(char *buf, size_t n, const struct seg *g)
{
	snprintf(buf, n, "seg-%016" PRIx64 "-%u.spool", g->seq, g->items);
}

static bool seg_parse(const char *name, struct seg *g)
{
	char e[8];
	unsigned long long seq;
	unsigned items;

	if (sscanf(name, "seg-%16llx-%u.%7s", &seq, &items, e) != 3 ||
	    strcmp(e, "spool"))
		return false;
	g->seq = seq;
	g->items = items;
	return true;
}

static void batches_free(struct sr_spool_batch *b, size_t n)
{
	for (size_t i = 0; b && i < n; i++)
		free(b[i].lines);
	free(b);
}

static void mem_put(struct memtext *m)
{
	if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
		batches_free(m->b, m->n);
		free(m->img);
		free(m);
	}
}

/* Lets go of the spool's hold on a segment's text (lock held, or
 * alone). */
static void seg_forget(struct sr_spool *s, struct seg *g)
{
	if (!g->mem)
		return;
	s->mem_bytes -= g->mem->len;
	mem_put(g->mem);
	g->mem = NULL;
}

/* Segment i leaves the table (its file is gone or moved): memory given
 * back, counters updated. Under s->lock. */
static void seg_drop(struct sr_spool *s, size_t i)
{
	seg_forget(s, &s->segs[i]);
	s->bytes -= s->segs[i].bytes;
	memmove(&s->segs[i], &s->segs[i + 1],
		(s->n - i - 1) * sizeof(*s->segs));
	s->n--;
	SR_STAT_SET(spool_segments, s->n - s->head);
	SR_STAT_SET(spool_bytes, s->bytes);
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Appends a segment to the list (caller holds the lock or is alone). */
static int push(struct sr_spool *s, const struct seg *g)
{
	if (s->head > 0 && s->head == s->n) {
		s->head = s->n = 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct seg *p;

		if (s->head > s->cap / 2) {
			/* compact instead of growing */
			memmove(s->segs, s->segs + s->head,
				(s->n - s->head) * sizeof(*s->segs));
			s->n -= s->head;
			s->head = 0;
			return push(s, g);
		}
		p = realloc(s->segs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->segs = p;
		s->cap = cap;
	}
	s->segs[s->n++] = *g;
	s->bytes += g->bytes;
	return 0;
}

static int scan(struct sr_spool *s)
{
	int fd = dup(s->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	struct stat st;
	struct seg g;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		g = (struct seg){ 0 };
		if (!strncmp(e->d_name, ".tmp-", 5)) {
			unlinkat(s->dirfd, e->d_name, 0);
			continue;
		}
		if (!seg_parse(e->d_name, &g) ||
		    fstatat(s->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(st.st_mode))
			continue;
		g.bytes = (uint64_t)st.st_size;
		if (push(s, &g)) {
			closedir(d);
			return -ENOMEM;
		}
		if (g.seq >= s->next_seq)
			s->next_seq = g.seq + 1;
	}
	closedir(d);
	if (s->n)
		qsort(s->segs, s->n, sizeof(*s->segs), cmp_seg);
	return 0;
}

/* --- cursors ------------------------------------------------------------ */

/* Writes a destination's cursor in place (no fsync: a crash may send its
 * last batch again). 0 or -errno. */
static int cur_write(const struct dest *d)
{
	struct sr_cursor_file c = { .seq = d->seq,
				    .done = d->done,
				    .check = sr_cursor_check(d->seq, d->done) };
	ssize_t w;

	if (d->fd < 0)
		return -EBADF;
	memcpy(c.magic, SR_CURSOR_MAGIC, sizeof(c.magic));
	w = pwrite(d->fd, &c, sizeof(c), 0);
	return w == (ssize_t)sizeof(c) ? 0 : w < 0 ? -errno : -EIO;
}

/* Opens (creating) destination d's cursor file. `load`: read it first;
 * an absent, short or damaged one means the start of the spool (sends
 * again, loses nothing). Else the cursor in memory is written. */
static int cur_open(struct sr_spool *s, struct dest *d, bool load)
{
	char name[40];
	struct sr_cursor_file c;

	snprintf(name, sizeof(name), "cursor-%s", d->name);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = openat(s->dirfd, name,
		       O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (d->fd < 0)
		return -errno;
	if (!load)
		return cur_write(d);
	d->seq = 0;
	d->done = 0;
	if (pread(d->fd, &c, sizeof(c), 0) != (ssize_t)sizeof(c) ||
	    memcmp(c.magic, SR_CURSOR_MAGIC, sizeof(c.magic)))
		return 0;
	d->seq = c.seq;
	d->done = c.done;
	if (c.check != sr_cursor_check(d->seq, d->done)) {
		sr_log(SR_LOG_WARN, "spool",
		       "%s/%s damaged: destination %s "
		       "starts at the oldest segment (duplicates, not loss)",
		       s->path, name, d->name);
		d->seq = 0;
		d->done = 0;
	}
	return 0;
}

/* After listing the segments: which destination is past which, and the
 * segments every destination was done with (a stop between the last
 * cursor write and the removal) go. */
static void settle(struct sr_spool *s)
{
	size_t w = s->head;
	char name[64];

	for (unsigned k = 0; k < s->ndest; k++)
		if (s->dests[k].seq >= s->next_seq)
			s->next_seq = s->dests[k].seq + 1;
	for (size_t i = s->head; i < s->n; i++) {
		struct seg *g = &s->segs[i];

		for (unsigned k = 0; k < s->ndest; k++)
			if (g->seq < s->dests[k].seq)
				g->finished |= 1u << k;
		g->untaken = s->all & ~g->finished;
		if (g->finished != s->all) {
			s->segs[w++] = *g;
			continue;
		}
		seg_name(name, sizeof(name), g);
		unlinkat(s->dirfd, name, 0);
		s->bytes -= g->bytes;
	}
	s->n = w;
}

static bool name_ok(const char *n)
{
	size_t len = strlen(n);

	if (!len || len >= sizeof(((struct dest *)0)->name))
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

static int dests_init(struct sr_spool *s, const struct sr_spool_opts *o,
		      char *why, size_t whylen)
{
	for (unsigned k = 0; k < SR_EXPORTERS_MAX; k++)
		s->dests[k].fd = -1;
	if (!o->ndest || o->ndest > SR_EXPORTERS_MAX) {
		snprintf(why, whylen, "%u destinations (1 to %u)", o->ndest,
			 SR_EXPORTERS_MAX);
		return -EINVAL;
	}
	for (unsigned k = 0; k < o->ndest; k++) {
		if (!name_ok(o->names[k])) {
			snprintf(why, whylen, "bad destination name '%s'",
				 o->names[k]);
			return -EINVAL;
		}
		for (unsigned j = 0; j < k; j++)
			if (!strcmp(o->names[j], o->names[k])) {
				snprintf(why, whylen, "destination %s twice",
					 o->names[k]);
				return -EINVAL;
			}
		snprintf(s->dests[k].name, sizeof(s->dests[k].name), "%s",
			 o->names[k]);
	}
	s->ndest = o->ndest;
	s->all = (1u << o->ndest) - 1;
	return 0;
}

static int mkdir_p(const char *path)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

struct sr_spool *sr_spool_open(const char *dir, const struct sr_spool_opts *o,
			       char *why, size_t whylen)
{
	struct sr_spool *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return NULL;
	s->dirfd = s->lockfd = -1;
	snprintf(s->path, sizeof(s->path), "%s", dir);
	s->codec = o->codec;
	s->max_bytes = o->max_bytes;
	s->sync = o->sync;
	pthread_mutex_init(&s->lock, NULL);
	rc = dests_init(s, o, why, whylen);
	if (rc)
		goto err;
	rc = mkdir_p(dir);
	if (rc) {
		snprintf(why, whylen, "cannot create %s: %s", dir,
			 strerror(-rc));
		goto err;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0 || faccessat(s->dirfd, ".", W_OK, AT_EACCESS) < 0) {
		rc = -errno;
		snprintf(why, whylen, "cannot use %s: %s", dir,
			 strerror(errno));
		goto err;
	}
	s->lockfd = openat(s->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC,
			   0600);
	if (s->lockfd < 0) {
		rc = -errno;
		snprintf(why, whylen, "cannot create %s/.lock: %s", dir,
			 strerror(errno));
		goto err;
	}
	rc = sr_flock_wait(s->lockfd, SR_LOCK_WAIT_NS, NULL, NULL);
	if (rc) {
		snprintf(why, whylen, "%s is in use by another spanringd", dir);
		goto err;
	}
	for (unsigned k = 0; k < s->ndest && !rc; k++) {
		rc = cur_open(s, &s->dests[k], true);
		if (rc)
			snprintf(why, whylen, "cannot open %s/cursor-%s: %s",
				 dir, s->dests[k].name, strerror(-rc));
	}
	if (rc)
		goto err;
	rc = scan(s);
	if (rc) {
		snprintf(why, whylen, "cannot list %s: %s", dir, strerror(-rc));
		goto err;
	}
	settle(s);
	SR_STAT_SET(spool_segments, s->n - s->head);
	SR_STAT_SET(spool_bytes, s->bytes);
	return s;
err:
	sr_spool_free(s);
	errno = -rc;
	return NULL;
}

void sr_spool_free(struct sr_spool *s)
{
	if (!s)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	for (size_t i = s->head; i < s->n; i++)
		seg_forget(s, &s->segs[i]);
	for (unsigned k = 0; k < SR_EXPORTERS_MAX; k++)
		if (s->dests[k].fd >= 0)
			close(s->dests[k].fd);
	pthread_mutex_destroy(&s->lock);
	free(s->segs);
	free(s);
}

int sr_spool_dirfd(const struct sr_spool *s)
{
	return s->dirfd;
}

static int write_file(int dirfd, const char *name, const void *p, size_t n,
		      bool sync)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			0600);
	const char *c = p;
	int rc = 0;

	if (fd < 0)
		return -errno;
	while (n && !rc) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno != EINTR)
			rc = -errno;
		if (w > 0) {
			c += w;
			n -= (size_t)w;
		}
	}
	if (!rc && sync && fdatasync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Drops the oldest segments while over the bound (lock held). The
 * newest always stays. */
static void enforce_bound(struct sr_spool *s)
{
	char name[64];

	while (s->max_bytes && s->bytes > s->max_bytes && s->n - s->head > 1) {
		struct seg *g = &s->segs[s->head++];

		seg_name(name, sizeof(name), g);
		unlinkat(s->dirfd, name, 0);
		seg_forget(s, g);
		s->bytes -= g->bytes;
		SR_STAT_ADD(spool_dropped_items, g->items);
		sr_log(SR_LOG_WARN, "spool",
		       "%s: full (over %llu bytes): oldest segment %s with %llu "
		       "items dropped",
		       s->path, (unsigned long long)s->max_bytes, name,
		       (unsigned long long)g->items);
	}
}

/* Compresses the batches into one segment image (header, frames). */
static int build_segment(struct sr_spool *s, const struct sr_spool_batch *b,
			 size_t n, uint8_t **out, size_t *outlen)
{
	struct sr_seg_header h = { .batches = (uint32_t)n, .done = 0 };
	size_t cap = SEG_HDR, len = SEG_HDR;
	uint8_t *img = NULL;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		cap += FRAME_HDR + b[i].len + b[i].len / 8 + 1024;
	img = malloc(cap);
	if (!img)
		return -ENOMEM;
	memcpy(h.magic, SR_SEG_MAGIC, sizeof(h.magic));
	memcpy(img, &h, sizeof(h));
	for (size_t i = 0; i < n && !rc; i++) {
		uint64_t t0 = sr_mono_ns();
		struct sr_seg_frame f;
		size_t clen;
		void *c;

		rc = sr_codec_compress(s->codec, b[i].lines, b[i].len, &c,
				       &clen);
		if (rc)
			break;
		SR_STAT_ADD(compress_ns, sr_mono_ns() - t0);
		SR_STAT_ADD(bytes_in, b[i].len);
		SR_STAT_ADD(bytes_compressed, clen);
		if (len + FRAME_HDR + clen > cap) {
			uint8_t *p = realloc(img, len + FRAME_HDR + clen);

			if (!p) {
				free(c);
				rc = -ENOMEM;
				break;
			}
			img = p;
			cap = len + FRAME_HDR + clen;
		}
		f.bytes = (uint32_t)clen;
		f.items = b[i].items;
		f.codec = (uint32_t)s->codec;
		memcpy(img + len, &f, FRAME_HDR);
		memcpy(img + len + FRAME_HDR, c, clen);
		len += FRAME_HDR + clen;
		free(c);
	}
	if (rc) {
		free(img);
		return rc;
	}
	*out = img;
	*outlen = len;
	return 0;
}

/* Writes a segment image under its name (temporary, sync, rename). */
static int write_segment(struct sr_spool *s, const struct seg *g,
			 const uint8_t *img, size_t len)
{
	char tmp[80], name[64];
	int rc;

	seg_name(name, sizeof(name), g);
	snprintf(tmp, sizeof(tmp), ".tmp-%s", name);
	rc = write_file(s->dirfd, tmp, img, len, s->sync);
	if (!rc && renameat(s->dirfd, tmp, s->dirfd, name) < 0)
		rc = -errno;
	if (rc)
		unlinkat(s->dirfd, tmp, 0);
	return rc;
}

/* True when the directory we hold was removed (or replaced). */
static bool dir_gone(const struct sr_spool *s)
{
	struct stat held, now;

	if (fstat(s->dirfd, &held) < 0 || held.st_nlink == 0)
		return true;
	return stat(s->path, &now) < 0 || now.st_ino != held.st_ino ||
	       now.st_dev != held.st_dev;
}

/*
 * The spool directory was removed under us: recreates it, takes its lock
 * again (same descriptor numbers: the open-span files of rings.c use the
 * directory through the same fd), rewrites the segments whose text is
 * still in memory and forgets the others, counting their items as lost.
 * Lock held. 0 or -errno (the directory cannot be made: tried again on
 * the next hand-off).
 */
static int heal(struct sr_spool *s)
{
	size_t kept = 0, lost = 0, lost_items = 0, w = s->head;
	int fd, lfd, rc = mkdir_p(s->path);

	if (rc)
		return rc;
	fd = open(s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (dup2(fd, s->dirfd) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	close(fd);
	lfd = openat(s->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) == 0 &&
	    dup2(lfd, s->lockfd) >= 0) {
		close(lfd);
	} else {
		if (lfd >= 0)
			close(lfd);
		sr_log(SR_LOG_WARN, "spool",
		       "%s: cannot lock the recreated "
		       "directory",
		       s->path);
	}
	for (unsigned k = 0; k < s->ndest; k++)
		if (cur_open(s, &s->dests[k], false))
			sr_log(SR_LOG_WARN, "spool",
			       "%s: cannot write the "
			       "cursor of %s again",
			       s->path, s->dests[k].name);
	for (size_t i = s->head; i < s->n; i++) {
		struct seg *g = &s->segs[i];
		char name[64];
		bool busy = false;
		int wrc = -ENOENT;

		for (unsigned k = 0; k < s->ndest; k++)
			busy |= s->dests[k].busy == g->seq + 1;

		seg_name(name, sizeof(name), g);
		if (faccessat(s->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
		    busy) {
			s->segs[w++] = *g; /* the exporter holds its text */
			continue;
		}
		if (g->mem && g->mem->img) {
			wrc = write_segment(s, g, g->mem->img, g->mem->img_len);
		} else if (g->mem) {
			uint8_t *img;
			size_t len;

			wrc = build_segment(s, g->mem->b, g->mem->n, &img,
					    &len);
			if (!wrc) {
				wrc = write_segment(s, g, img, len);
				free(img);
			}
		}
		if (!wrc) {
			kept++;
			s->segs[w++] = *g;
			continue;
		}
		lost++;
		lost_items += g->items;
		SR_STAT_ADD(spool_lost_items, g->items);
		seg_forget(s, g);
		s->bytes -= g->bytes;
	}
	s->n = w;
	if (s->sync)
		fsync(s->dirfd);
	s->heals++;
	SR_STAT_ADD(spool_heals, 1);
	SR_STAT_SET(spool_segments, s->n - s->head);
	SR_STAT_SET(spool_bytes, s->bytes);
	sr_log(SR_LOG_ERROR, "spool",
	       "directory %s was removed under spanringd: recreated; %zu "
	       "segments rewritten from memory, %zu segments (%zu items) lost "
	       "with it; open spans are saved again",
	       s->path, kept, lost, lost_items);
	return 0;
}

uint64_t sr_spool_heals(struct sr_spool *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->heals;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int sr_spool_check(struct sr_spool *s)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (dir_gone(s))
		rc = heal(s);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int sr_spool_put(struct sr_spool *s, struct sr_spool_batch *b, size_t n)
{
	struct seg g = { 0 };
	uint64_t text = 0;
	uint8_t *img;
	size_t len;
	int rc;

	for (size_t i = 0; i < n; i++) {
		g.items += b[i].items;
		text += b[i].len;
	}
	rc = build_segment(s, b, n, &img, &len);
	if (rc) {
		batches_free(b, n);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	g.seq = s->next_seq++;
	pthread_mutex_unlock(&s->lock);
	g.bytes = len;
	rc = write_segment(s, &g, img, len);
	if (rc == -ENOENT && sr_spool_check(s) == 0)
		rc = write_segment(s, &g, img, len);
	if (rc) {
		free(img);
		batches_free(b, n);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	g.untaken = s->all;
	g.hdr_known = true; /* written with 0 */
	/* kept for the exporters: the text while it fits, else the image
	 * (about a ninth of it with LZ4), else neither */
	if (s->mem_bytes + text <= SR_SPOOL_MEM_MAX ||
	    s->mem_bytes + len <= SR_SPOOL_MEM_MAX)
		g.mem = calloc(1, sizeof(*g.mem));
	if (g.mem) {
		atomic_init(&g.mem->refs, 1);
		if (s->mem_bytes + text <= SR_SPOOL_MEM_MAX) {
			g.mem->b = b;
			g.mem->n = n;
			g.mem->len = text;
		} else {
			g.mem->img = img;
			g.mem->img_len = len;
			g.mem->len = len;
		}
	}
	rc = push(s, &g);
	if (!rc && g.mem) {
		s->mem_bytes += g.mem->len;
		/* the segment holds one of them now */
		if (g.mem->b)
			b = NULL;
		else
			img = NULL;
	} else if (g.mem) {
		free(g.mem);
	}
	free(img);
	enforce_bound(s);
	SR_STAT_SET(spool_segments, s->n - s->head);
	SR_STAT_SET(spool_bytes, s->bytes);
	pthread_mutex_unlock(&s->lock);
	batches_free(b, n);
	SR_STAT_ADD(batches_spooled, n);
	return rc;
}

int sr_spool_sync(struct sr_spool *s)
{
	if (s->sync && fsync(s->dirfd) < 0)
		return -errno;
	return 0;
}

bool sr_spool_next(struct sr_spool *s, unsigned dest, uint64_t *seq)
{
	bool any = false;

	pthread_mutex_lock(&s->lock);
	for (size_t i = s->head; i < s->n && !any; i++) {
		any = !(s->segs[i].finished & (1u << dest));
		if (any)
			*seq = s->segs[i].seq;
	}
	pthread_mutex_unlock(&s->lock);
	return any;
}

size_t sr_spool_behind(struct sr_spool *s, unsigned dest)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = s->head; i < s->n; i++)
		n += !(s->segs[i].finished & (1u << dest));
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Destination dest no longer holds segment seq loaded. */
static void release(struct sr_spool *s, unsigned dest, uint64_t seq)
{
	pthread_mutex_lock(&s->lock);
	if (s->dests[dest].busy == seq + 1)
		s->dests[dest].busy = 0;
	pthread_mutex_unlock(&s->lock);
}

/* Index of seq in the live list, or -1 (lock held). */
static ssize_t find(struct sr_spool *s, uint64_t seq)
{
	for (size_t i = s->head; i < s->n; i++)
		if (s->segs[i].seq == seq)
			return (ssize_t)i;
	return -1;
}

void sr_segment_free(struct sr_segment *g)
{
	if (!g)
		return;
	if (g->sp)
		release(g->sp, g->dest, g->seq);
	if (g->hdr)
		munmap(g->hdr, SEG_HDR);
	if (g->fd >= 0)
		close(g->fd);
	if (!g->buf_mem)
		free(g->buf);
	mem_put(g->mem);
	free(g->scratch);
	free(g->off);
	free(g);
}

/* Reads the frame header at off into *f: true when it can be a batch
 * (bytes within the image, a known codec, at least one byte). */
static bool frame_at(const uint8_t *buf, size_t len, size_t off,
		     struct sr_seg_frame *f)
{
	if (off + FRAME_HDR > len)
		return false;
	memcpy(f, buf + off, FRAME_HDR);
	return f->bytes && f->bytes <= len - off - FRAME_HDR &&
	       f->codec <= SR_CODEC_GZIP;
}

int sr_segment_index(const uint8_t *buf, size_t len, size_t *off, size_t max,
		     struct sr_seg_index *ix)
{
	struct sr_seg_header h;
	struct sr_seg_frame f;
	size_t o = SEG_HDR, k = 0;

	memset(ix, 0, sizeof(*ix));
	if (len >= SEG_HDR)
		memcpy(&h, buf, SEG_HDR);
	if (len < SEG_HDR || memcmp(h.magic, SR_SEG_MAGIC, sizeof(h.magic))) {
		ix->damage = "not a spool segment (bad magic or too short)";
		return -EBADMSG;
	}
	/* the intact frames, in order; the header's count, when smaller,
	 * says where the batches end (anything after them is junk) */
	while (frame_at(buf, len, o, &f) && (!h.batches || k < h.batches)) {
		if (off && k < max)
			off[k] = o;
		k++;
		o += FRAME_HDR + f.bytes;
	}
	ix->batches = (uint32_t)k;
	ix->done = h.done;
	ix->end = o;
	if (k < h.batches)
		ix->damage = "truncated or damaged after the intact batches";
	else if (o != len)
		ix->damage = "bytes after the last batch";
	if (h.done > k) {
		/* cannot be trusted: send everything again (duplicates,
		 * not loss) */
		ix->done = 0;
		if (!ix->damage)
			ix->damage = "delivered counter beyond the batches";
	}
	return 0;
}

/* Notes the header's counter read by a load (the first one tells). */
static void note_header(struct sr_spool *s, uint64_t seq, uint32_t done)
{
	ssize_t i;

	pthread_mutex_lock(&s->lock);
	i = find(s, seq);
	if (i >= 0 && !s->segs[i].hdr_known) {
		s->segs[i].hdr_done = done;
		s->segs[i].hdr_known = true;
	}
	pthread_mutex_unlock(&s->lock);
}

static void drop_mem(struct sr_segment *g)
{
	mem_put(g->mem);
	g->mem = NULL;
}

int sr_spool_load(struct sr_spool *s, unsigned dest, uint64_t seq,
		  struct sr_segment **out)
{
	struct memtext *mem = NULL;
	struct sr_seg_index ix;
	struct sr_segment *g;
	uint32_t start = 0;
	char name[64];
	struct stat st;
	struct seg info;
	ssize_t i;
	int rc;

	pthread_mutex_lock(&s->lock);
	i = find(s, seq);
	if (i >= 0) {
		struct seg *e = &s->segs[i];

		info = *e;
		/* the text in memory is shared with the loaded segment; the
		 * spool lets go of it once every destination took it */
		mem = e->mem;
		if (mem)
			atomic_fetch_add(&mem->refs, 1);
		e->untaken &= ~(1u << dest);
		if (!e->untaken)
			seg_forget(s, e);
		s->dests[dest].busy = seq + 1;
		if (s->dests[dest].seq == seq)
			start = s->dests[dest].done;
	}
	pthread_mutex_unlock(&s->lock);
	if (i < 0)
		return -ENOENT;
	g = calloc(1, sizeof(*g));
	if (!g) {
		mem_put(mem);
		release(s, dest, seq);
		return -ENOMEM;
	}
	g->sp = s;
	g->dest = dest;
	g->mem = mem;
	g->seq = seq;
	g->items = info.items;
	seg_name(name, sizeof(name), &info);
	g->fd = openat(s->dirfd, name, O_RDWR | O_CLOEXEC);
	if (g->fd < 0) {
		rc = -errno;
		if (rc == -ENOENT && g->mem && g->mem->b) {
			/* the file went with its directory, the text did not */
			g->batches = (uint32_t)g->mem->n;
			g->done = start < g->batches ? start : g->batches;
			*out = g;
			return 0;
		}
		if (rc != -ENOENT || !g->mem)
			goto err;
	}
	if (g->mem && g->mem->b && info.hdr_known) {
		/* written by this run and its text at hand: the file is
		 * neither read back nor decompressed; it serves to record
		 * progress */
		g->batches = (uint32_t)g->mem->n;
		g->len = (size_t)info.bytes; /* as written: header and all */
		g->done = info.hdr_done > start ? info.hdr_done : start;
		if (g->done > g->batches)
			g->done = g->batches;
		*out = g;
		return 0;
	}
	if (g->mem && g->mem->img) {
		/* the file's bytes, kept: indexed as if read */
		g->buf = g->mem->img;
		g->buf_mem = true;
		g->len = g->mem->img_len;
		goto index;
	}
	if (fstat(g->fd, &st) < 0 || (uint64_t)st.st_size > SR_CODEC_MAX_OUT) {
		g->damage = "unreadable (larger than a segment can be)";
		goto nothing;
	}
	g->len = (size_t)st.st_size;
	g->buf = malloc(g->len + 1);
	rc = -ENOMEM;
	if (!g->buf)
		goto err;
	if (pread(g->fd, g->buf, g->len, 0) != (ssize_t)g->len) {
		g->damage = "unreadable (short read)";
		goto nothing;
	}
index:
	sr_segment_index(g->buf, g->len, NULL, 0, &ix);
	g->damage = ix.damage;
	g->off = calloc(ix.batches + 1, sizeof(*g->off));
	rc = -ENOMEM;
	if (!g->off)
		goto err;
	sr_segment_index(g->buf, g->len, g->off, ix.batches, &ix);
	g->batches = ix.batches;
	if (g->buf_mem)
		ix.done = info.hdr_done; /* the image's is never updated */
	else
		note_header(s, seq, ix.done);
	/* this destination's cursor, or what every destination delivered */
	g->done = ix.done > start ? ix.done : start;
	if (g->done > g->batches)
		g->done = g->batches;
	if (g->mem && g->mem->b && (g->mem->n != g->batches || g->damage))
		drop_mem(g);
	*out = g;
	return 0;
nothing:
	/* no batch to give: quarantined once every destination is done */
	drop_mem(g);
	*out = g;
	return 0;
err:
	sr_segment_free(g);
	return rc;
}

const char *sr_segment_damage(const struct sr_segment *g)
{
	return g->damage;
}

uint64_t sr_segment_seq(const struct sr_segment *g)
{
	return g->seq;
}

uint32_t sr_segment_batches(const struct sr_segment *g)
{
	return g->batches;
}

uint32_t sr_segment_done(const struct sr_segment *g)
{
	return g->done;
}

int sr_segment_batch(struct sr_segment *g, uint32_t i, const char **lines,
		     size_t *len, uint32_t *items)
{
	struct sr_seg_frame f;
	void *text = NULL;
	int rc;

	if (i >= g->batches)
		return -EINVAL;
	if (g->mem && i < g->mem->n && g->mem->b[i].lines) {
		/* the same bytes as the file's, without decompressing */
		*lines = g->mem->b[i].lines;
		*len = g->mem->b[i].len;
		*items = g->mem->b[i].items;
		return 0;
	}
	free(g->scratch);
	g->scratch = NULL;
	if (!g->buf) {
		g->damage = "text lost";
		return -EBADMSG;
	}
	memcpy(&f, g->buf + g->off[i], FRAME_HDR);
	*items = f.items;
	rc = sr_codec_decompress((enum sr_codec)f.codec,
				 g->buf + g->off[i] + FRAME_HDR, f.bytes, &text,
				 len);
	g->scratch = text;
	*lines = g->scratch;
	if (rc == -EBADMSG) {
		g->damage = "a batch does not decompress (checksum)";
		g->unreadable++;
	}
	return rc;
}

/* Moves a damaged segment's file to quarantine/ and forgets it. */
static int quarantine(struct sr_spool *s, struct sr_segment *g)
{
	char name[64], dst[80];
	struct seg info = { .seq = g->seq, .items = g->items };
	ssize_t i;
	int rc = 0;

	seg_name(name, sizeof(name), &info);
	snprintf(dst, sizeof(dst), "quarantine/%s", name);
	pthread_mutex_lock(&s->lock);
	if (mkdirat(s->dirfd, "quarantine", 0700) < 0 && errno != EEXIST)
		rc = -errno;
	if (!rc && renameat(s->dirfd, name, s->dirfd, dst) < 0 &&
	    errno != ENOENT)
		rc = -errno;
	i = find(s, g->seq);
	if (!rc && i >= 0)
		seg_drop(s, (size_t)i);
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		sr_log(SR_LOG_ERROR, "spool",
		       "segment %s damaged (%s): cannot move it to "
		       "quarantine/: %s; kept in place",
		       name, g->damage, strerror(-rc));
		return rc;
	}
	SR_STAT_ADD(spool_quarantined, 1);
	sr_log(SR_LOG_WARN, "spool",
	       "segment %s damaged (%s): %u intact batches delivered, the file "
	       "moved to %s/%s",
	       name, g->damage, g->batches - g->unreadable, s->path, dst);
	return 0;
}

/* What every destination delivered of segment e, now that g's
 * destination delivered `done` (lock held): a destination not there yet
 * will start from the header. */
static uint32_t delivered_by_all(const struct sr_spool *s, const struct seg *e,
				 const struct sr_segment *g, uint32_t done)
{
	uint32_t min = done;

	for (unsigned k = 0; k < s->ndest; k++) {
		uint32_t at;

		if (k == g->dest || (e->finished & (1u << k)))
			continue;
		at = s->dests[k].seq == e->seq ? s->dests[k].done : e->hdr_done;
		if (at < min)
			min = at;
	}
	return min;
}

/* The header's two counters, as one aligned 64-bit word. */
_Static_assert(offsetof(struct sr_seg_header, done) ==
			       offsetof(struct sr_seg_header, batches) + 4 &&
		       offsetof(struct sr_seg_header, batches) % 8 == 0,
	       "batches and done share one aligned word");

/*
 * Writes `done` into the header's delivered counter. The header is
 * mapped (MAP_SHARED) at the first write and each later one is a store
 * of its last 8 bytes (batches, as read, and done): no system call per
 * batch. As durable as the pwrite it replaces: in the page cache at once
 * (a killed sidecar loses nothing of it), on disk with the writeback. A
 * file that cannot be mapped, or was cut short under the mapping
 * (SIGBUS, caught by the guard), is written with pwrite. 0 or -errno.
 */
static int hdr_write(struct sr_segment *g, uint32_t done)
{
	const size_t at = offsetof(struct sr_seg_header, batches);
	struct {
		uint32_t batches, done;
	} w;
	uint64_t v;
	ssize_t n;

	if (!g->hdr && !g->hdr_failed) {
		void *m = sr_guard_init()
				  ? MAP_FAILED
				  : mmap(NULL, SEG_HDR, PROT_READ | PROT_WRITE,
					 MAP_SHARED, g->fd, 0);

		g->hdr_failed = m == MAP_FAILED;
		g->hdr = m == MAP_FAILED ? NULL : m;
	}
	if (g->hdr) {
		/* The guarded accessors (a file cut short under the mapping
		 * raises SIGBUS): their acquire and release order nothing
		 * here, this thread is the counter's only writer and a reader
		 * opens the file after this process is gone. */
		if (sr_guard_load_acquire(g->hdr + at, &v) == 0) {
			memcpy(&w, &v, sizeof(w));
			w.done = done;
			memcpy(&v, &w, sizeof(v));
			if (sr_guard_store_release(g->hdr + at, v) == 0)
				return 0;
		}
		munmap(g->hdr, SEG_HDR);
		g->hdr = NULL;
		g->hdr_failed = true;
	}
	n = pwrite(g->fd, &done, sizeof(done),
		   offsetof(struct sr_seg_header, done));
	return n == (ssize_t)sizeof(done) ? 0 : n < 0 ? -errno : -EIO;
}

int sr_spool_mark(struct sr_spool *s, struct sr_segment *g, uint32_t done)
{
	struct dest *d = &s->dests[g->dest];
	bool all = done >= g->batches; /* when it is gone already */
	bool in_header = false;
	ssize_t i;
	int rc = 0, rc2 = 0;

	g->done = done;
	pthread_mutex_lock(&s->lock);
	/* past a segment, the cursor names the next number: a restart then
	 * knows it is done with it without reading it */
	d->seq = done >= g->batches ? g->seq + 1 : g->seq;
	d->done = done >= g->batches ? 0 : done;
	i = find(s, g->seq);
	if (i >= 0) {
		struct seg *e = &s->segs[i];
		uint32_t min;

		if (done >= g->batches)
			e->finished |= 1u << g->dest;
		all = e->finished == s->all;
		min = delivered_by_all(s, e, g, done);
		if (!all && e->hdr_known && min > e->hdr_done && g->fd >= 0 &&
		    g->len >= SEG_HDR) {
			rc2 = hdr_write(g, min);
			if (!rc2)
				e->hdr_done = min;
		}
		in_header = e->hdr_known && e->hdr_done >= d->done &&
			    d->seq == g->seq;
	}
	/* a lone destination's progress within a segment is the header's
	 * counter: its cursor is written when it leaves the segment (one
	 * write per batch, not two) */
	if (s->ndest > 1 || !in_header)
		rc = cur_write(d);
	pthread_mutex_unlock(&s->lock);
	if (all)
		rc2 = g->damage ? quarantine(s, g) : sr_spool_remove(s, g->seq);
	return rc ? rc : rc2;
}

int sr_spool_lost(struct sr_spool *s, uint64_t seq, uint32_t *items)
{
	ssize_t i;

	*items = 0;
	pthread_mutex_lock(&s->lock);
	i = find(s, seq);
	if (i >= 0)
		*items = s->segs[i].items;
	pthread_mutex_unlock(&s->lock);
	SR_STAT_ADD(spool_lost_items, *items);
	return sr_spool_remove(s, seq);
}

int sr_spool_remove(struct sr_spool *s, uint64_t seq)
{
	char name[64];
	ssize_t i;
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	i = find(s, seq);
	if (i >= 0) {
		seg_name(name, sizeof(name), &s->segs[i]);
		if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
			rc = -errno;
		seg_drop(s, (size_t)i);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

size_t sr_spool_count(struct sr_spool *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n - s->head;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t sr_spool_items(struct sr_spool *s)
{
	uint64_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = s->head; i < s->n; i++)
		n += s->segs[i].items;
	pthread_mutex_unlock(&s->lock);
	return n;
}
