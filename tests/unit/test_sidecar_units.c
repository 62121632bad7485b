/* SPDX-License-Identifier: MIT */
/*
 * The sidecar's modules in process: the retry rules (retry.c), the spool
 * format, its salvage of damaged segments and its healing (spool.c), the
 * in-memory queue's order and batches (queue.c), and the validation of
 * options (config.c). The objects of spanringd are
 * linked into this binary (Makefile).
 */
#include "tests/lib/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sidecar/config.h"
#include "sidecar/queue.h"
#include "sidecar/retry.h"
#include "sidecar/spool.h"
#include "sidecar/stats.h"

#define assert_near(a, b)                                             \
	do {                                                          \
		double a_ = (a), b_ = (b);                            \
		if (a_ < b_ - 1e-9 || a_ > b_ + 1e-9)                 \
			fail_msg("%s = %g, expected %g", #a, a_, b_); \
	} while (0)

/* --- retry rules ------------------------------------------------------- */

struct verdict_case {
	long status;
	enum sr_should_retry sr;
	enum sr_verdict want;
};

static void retry_verdict_table(void **state)
{
	static const struct verdict_case cases[] = {
		{ 200, SR_SR_ABSENT, SR_V_OK },
		{ 204, SR_SR_FALSE, SR_V_OK },
		{ 0, SR_SR_ABSENT, SR_V_RETRY },
		{ 302, SR_SR_ABSENT, SR_V_RETRY },
		{ 400, SR_SR_ABSENT, SR_V_REJECT },
		{ 401, SR_SR_ABSENT, SR_V_REJECT },
		{ 404, SR_SR_ABSENT, SR_V_REJECT },
		{ 413, SR_SR_ABSENT, SR_V_REJECT },
		{ 408, SR_SR_ABSENT, SR_V_RETRY },
		{ 409, SR_SR_ABSENT, SR_V_RETRY },
		{ 429, SR_SR_ABSENT, SR_V_RETRY },
		{ 500, SR_SR_ABSENT, SR_V_RETRY },
		{ 503, SR_SR_ABSENT, SR_V_RETRY },
		{ 400, SR_SR_TRUE, SR_V_RETRY },
		{ 401, SR_SR_TRUE, SR_V_RETRY },
		{ 400, SR_SR_FALSE, SR_V_REJECT },
		{ 503, SR_SR_FALSE, SR_V_HOLD },
		{ 429, SR_SR_FALSE, SR_V_HOLD },
		{ 409, SR_SR_FALSE, SR_V_HOLD },
		{ 0, SR_SR_FALSE, SR_V_HOLD },
		{ 503, SR_SR_TRUE, SR_V_RETRY },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum sr_verdict v = sr_retry_verdict(cases[i].status,
						     cases[i].sr);

		if (v != cases[i].want)
			fail_msg("status %ld, x-should-retry %d: verdict %d, expected %d",
				 cases[i].status, cases[i].sr, v,
				 cases[i].want);
	}
}

static void retry_wait_bounded_by_rule_and_max_delay(void **state)
{
	(void)state;
	/* no hint, or 0: the normal backoff */
	assert_near(sr_retry_wait(1.0, -1, 30), 1.0);
	assert_near(sr_retry_wait(1.0, 0, 30), 1.0);
	/* a shorter hint never shortens the backoff */
	assert_near(sr_retry_wait(2.0, 0.5, 30), 2.0);
	/* a longer one is obeyed, up to max_delay */
	assert_near(sr_retry_wait(1.0, 7, 30), 7.0);
	assert_near(sr_retry_wait(1.0, 120, 30), 30.0);
	assert_near(sr_retry_wait(1.0, 3600, 5), 5.0);
	/* jitter adds at most 10 % */
	for (int i = 0; i < 100; i++) {
		double j = sr_retry_jitter(2.0);

		if (j < 2.0 || j > 2.2)
			fail_msg("jitter(2) = %g, expected in [2, 2.2]", j);
	}
	assert_near(sr_retry_next(1, 30), 2);
	assert_near(sr_retry_next(20, 30), 30);
}

static void retry_after_values_parsed_strictly(void **state)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	time_t when = now + 20;

	(void)state;
	assert_near(sr_retry_after_parse("0", now), 0);
	assert_near(sr_retry_after_parse(" 120 ", now), 120);
	assert_near(sr_retry_after_parse("1.5", now), 1.5);
	assert_near(sr_retry_after_parse("99999999", now), SR_RETRY_AFTER_MAX);
	assert_near(sr_retry_after_parse("0x10", now), -1);
	assert_near(sr_retry_after_parse("-1", now), -1);
	assert_near(sr_retry_after_parse("1e3", now), -1);
	assert_near(sr_retry_after_parse("soon", now), -1);
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_near(sr_retry_after_parse(date, now), 20);
	when = now - 100;
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_near(sr_retry_after_parse(date, now), 0);
	assert_near(sr_retry_after_ms_parse("300"), 0.3);
	assert_near(sr_retry_after_ms_parse(" 1500.5\r\n"), 1.5005);
	assert_near(sr_retry_after_ms_parse("abc"), -1);
	assert_near(sr_retry_after_ms_parse(""), -1);
	assert_int_equal(sr_should_retry_parse(" true\r\n"), SR_SR_TRUE);
	assert_int_equal(sr_should_retry_parse("FALSE"), SR_SR_FALSE);
	assert_int_equal(sr_should_retry_parse("yes"), SR_SR_ABSENT);
	assert_int_equal(sr_should_retry_parse(""), SR_SR_ABSENT);
}

/* --- spool format and salvage ------------------------------------------ */

static const char *const ONE[] = { "file" };

struct spool_fx {
	char *base, *dir;
	struct sr_spool *sp;
};

/* n batches of `items` JSON lines each, {"i":K} numbered from `from`. */
static struct sr_spool_batch *batches(uint32_t n, uint32_t items, int from)
{
	struct sr_spool_batch *b = calloc(n, sizeof(*b));

	assert_non_null(b);
	for (uint32_t k = 0; k < n; k++) {
		size_t cap = items * 32 + 1, o = 0;

		b[k].lines = malloc(cap);
		assert_non_null(b[k].lines);
		for (uint32_t i = 0; i < items; i++)
			o += (size_t)snprintf(b[k].lines + o, cap - o,
					      "{\"i\":%d}\n",
					      from + (int)(k * items + i));
		b[k].len = o;
		b[k].items = items;
	}
	return b;
}

/* (Re)opens the spool (as a restart does): the text in memory is gone. */
static void spool_reopen(struct spool_fx *f, enum sr_codec codec)
{
	char why[256] = "";

	sr_spool_free(f->sp);
	f->sp = sr_spool_open(f->dir,
			      &(struct sr_spool_opts){ .codec = codec,
						       .names = ONE,
						       .ndest = 1 },
			      why, sizeof(why));
	if (!f->sp)
		fail_msg("sr_spool_open %s: %s", f->dir, why);
}

static void spool_up(struct spool_fx *f, enum sr_codec codec)
{
	f->base = sr_tmpdir("spool");
	f->dir = sr_strf("%s/spool", f->base);
	f->sp = NULL;
	spool_reopen(f, codec);
}

static void spool_down(struct spool_fx *f)
{
	sr_spool_free(f->sp);
	free(f->dir);
	sr_tmpdir_free(f->base);
}

/* Path of the only segment file. */
static char *only_segment(struct spool_fx *f)
{
	uint64_t seq;
	char *cmd, *out, *nl;
	FILE *p;
	char buf[512] = "";

	assert_true(sr_spool_next(f->sp, 0, &seq));
	cmd = sr_strf("ls '%s'/seg-*.spool", f->dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(buf, sizeof(buf), p));
	pclose(p);
	free(cmd);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	out = strdup(buf);
	return out;
}

/* Delivers every batch it can (as the exporter does), counting items
 * and lines; returns the batches read. */
static uint32_t drain_segment(struct spool_fx *f, size_t *lines,
			      const char **damage)
{
	struct sr_segment *g = NULL;
	uint64_t seq;
	uint32_t got = 0, n;

	*lines = 0;
	assert_true(sr_spool_next(f->sp, 0, &seq));
	assert_int_equal(sr_spool_load(f->sp, 0, seq, &g), 0);
	n = sr_segment_batches(g);
	for (uint32_t i = sr_segment_done(g); i < n; i++) {
		const char *l = NULL;
		size_t len;
		uint32_t items;

		if (sr_segment_batch(g, i, &l, &len, &items) == 0) {
			got++;
			for (const char *p = l;
			     (p = memchr(p, '\n', len - (size_t)(p - l))); p++)
				(*lines)++;
		}
		assert_int_equal(sr_spool_mark(f->sp, g, i + 1), 0);
	}
	if (!n)
		assert_int_equal(sr_spool_mark(f->sp, g, 0), 0);
	*damage = sr_segment_damage(g);
	sr_segment_free(g);
	return got;
}

static void spool_roundtrip_intact(void **state)
{
	struct spool_fx f;
	const char *damage;
	size_t lines;

	(void)state;
	spool_up(&f, SR_CODEC_LZ4);
	assert_int_equal(sr_spool_put(f.sp, batches(4, 10, 0), 4), 0);
	spool_reopen(&f, SR_CODEC_LZ4); /* read from the file */
	assert_int_equal(drain_segment(&f, &lines, &damage), 4);
	assert_int_equal(lines, 40);
	assert_null(damage);
	assert_int_equal(sr_spool_count(f.sp), 0);
	spool_down(&f);
}

/* Segments written by this run are sent from memory: their text while it
 * fits SR_SPOOL_MEM_MAX, then their compressed image; the files are not
 * read back (cut short on disk, they still give every batch whole). After
 * a restart the files are what is read. */
static void spool_sends_from_memory(void **state)
{
	enum { SEGS = 10, NB = 16, ITEMS = 10000 };
	struct spool_fx f;
	const char *damage;
	size_t lines, text = 0;
	char *cmd;

	(void)state;
	spool_up(&f, SR_CODEC_LZ4);
	for (int k = 0; k < SEGS; k++) {
		struct sr_spool_batch *b = batches(NB, ITEMS, k * NB * ITEMS);

		for (int i = 0; i < NB; i++)
			text += b[i].len;
		assert_int_equal(sr_spool_put(f.sp, b, NB), 0);
	}
	/* more than the text budget: some are kept as images */
	assert_true(text > SR_SPOOL_MEM_MAX);
	cmd = sr_strf("for f in '%s'/seg-*.spool; do truncate -s 100 \"$f\"; "
		      "done",
		      f.dir);
	assert_int_equal(system(cmd), 0);
	for (int k = 0; k < SEGS; k++) {
		assert_int_equal(drain_segment(&f, &lines, &damage), NB);
		if (lines != (size_t)NB * ITEMS || damage)
			fail_msg("segment %d: %zu lines (expected %d), damage "
				 "%s",
				 k, lines, NB * ITEMS,
				 damage ? damage : "none");
	}
	assert_int_equal(sr_spool_count(f.sp), 0);
	/* a restart reads the file: its damage is seen */
	assert_int_equal(sr_spool_put(f.sp, batches(NB, 10, 0), NB), 0);
	spool_reopen(&f, SR_CODEC_LZ4);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(drain_segment(&f, &lines, &damage), 0);
	assert_non_null(damage);
	free(cmd);
	spool_down(&f);
}

/* A restart resumes after the batches delivered, for a segment sent from
 * memory (text) and one read from its file: progress is recorded in the
 * segment's header (a lone destination) or its cursor. */
static void spool_restart_resumes_where_it_was(void **state)
{
	struct spool_fx f;
	struct sr_segment *g = NULL;
	uint64_t seq;

	(void)state;
	spool_up(&f, SR_CODEC_LZ4);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(sr_spool_put(f.sp, batches(4, 10, 0), 4), 0);
		if (round)
			spool_reopen(&f, SR_CODEC_LZ4); /* from the file */
		assert_true(sr_spool_next(f.sp, 0, &seq));
		assert_int_equal(sr_spool_load(f.sp, 0, seq, &g), 0);
		assert_int_equal(sr_segment_done(g), 0);
		assert_int_equal(sr_spool_mark(f.sp, g, 1), 0);
		assert_int_equal(sr_spool_mark(f.sp, g, 2), 0);
		sr_segment_free(g);
		spool_reopen(&f, SR_CODEC_LZ4);
		assert_true(sr_spool_next(f.sp, 0, &seq));
		assert_int_equal(sr_spool_load(f.sp, 0, seq, &g), 0);
		if (sr_segment_done(g) != 2)
			fail_msg("round %d: resumes at batch %u, expected 2",
				 round, sr_segment_done(g));
		assert_int_equal(sr_spool_mark(f.sp, g, 4), 0);
		sr_segment_free(g);
		assert_int_equal(sr_spool_count(f.sp), 0);
	}
	spool_down(&f);
}

/* Reads the delivered counter of a segment's header from its file. */
static uint32_t header_done(const char *path)
{
	uint32_t done = 0xffffffffu;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	if (pread(fd, &done, sizeof(done), 12) != (ssize_t)sizeof(done))
		done = 0xffffffffu;
	close(fd);
	return done;
}

/* The header's counter is a store into a mapping of the file: each
 * batch's progress is in the file at once (a plain read sees it, so a
 * killed sidecar's successor does), and a file cut short under the
 * mapping costs a SIGBUS caught by the guard, then progress by pwrite,
 * not the process. */
static void spool_progress_mapped_in_header(void **state)
{
	struct spool_fx f;
	struct sr_segment *g = NULL;
	uint64_t seq;
	char *path;

	(void)state;
	spool_up(&f, SR_CODEC_LZ4);
	assert_int_equal(sr_spool_put(f.sp, batches(4, 10, 0), 4), 0);
	path = only_segment(&f);
	assert_true(sr_spool_next(f.sp, 0, &seq));
	assert_int_equal(sr_spool_load(f.sp, 0, seq, &g), 0);
	for (uint32_t i = 1; i <= 2; i++) {
		uint32_t got;

		assert_int_equal(sr_spool_mark(f.sp, g, i), 0);
		got = header_done(path);
		if (got != i)
			fail_msg("after batch %u the file's header says %u, "
				 "expected %u",
				 i, got, i);
	}
	/* cut short under the mapping: the next mark still succeeds */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(sr_spool_mark(f.sp, g, 3), 0);
	if (header_done(path) != 3)
		fail_msg("after the cut the file's header says %u, expected 3",
			 header_done(path));
	assert_int_equal(sr_spool_mark(f.sp, g, 4), 0);
	sr_segment_free(g);
	assert_int_equal(sr_spool_count(f.sp), 0);
	free(path);
	spool_down(&f);
}

/* --- several destinations --------------------------------------------- */

static struct sr_spool *spool_dests(const char *dir, const char *const *names,
				    unsigned n)
{
	char why[256] = "";
	struct sr_spool *sp = sr_spool_open(dir,
					    &(struct sr_spool_opts){
						    .codec = SR_CODEC_LZ4,
						    .names = names,
						    .ndest = n },
					    why, sizeof(why));

	if (!sp)
		fail_msg("sr_spool_open: %s", why);
	return sp;
}

/* Sequence number of the first segment put in the test. */
static uint64_t seq_base;

/* Destination `dest` delivers up to `n` batches of its next segment,
 * which must be segment number `want` (0 = first put); checks it resumes
 * at batch `from` and that each batch is the one put there (first item
 * {"i":K}). Returns the batches it delivered. */
static uint32_t dest_delivers(struct sr_spool *sp, unsigned dest, uint64_t want,
			      uint32_t from, uint32_t n, int first_item)
{
	struct sr_segment *g = NULL;
	uint32_t got = 0, i;
	uint64_t seq;
	char head[32];

	assert_true(sr_spool_next(sp, dest, &seq));
	want += seq_base;
	if (seq != want)
		fail_msg("destination %u: expected segment %llu, got %llu",
			 dest, (unsigned long long)want,
			 (unsigned long long)seq);
	assert_int_equal(sr_spool_load(sp, dest, seq, &g), 0);
	if (sr_segment_done(g) != from)
		fail_msg("destination %u resumes segment %llu at batch %u, expected %u",
			 dest, (unsigned long long)seq, sr_segment_done(g),
			 from);
	for (i = from; i < sr_segment_batches(g) && got < n; i++, got++) {
		const char *l;
		size_t len;
		uint32_t items;

		assert_int_equal(sr_segment_batch(g, i, &l, &len, &items), 0);
		snprintf(head, sizeof(head), "{\"i\":%d}\n",
			 first_item + (int)(i * items));
		if (strncmp(l, head, strlen(head)))
			fail_msg("destination %u batch %u: expected %s got %.20s",
				 dest, i, head, l);
		assert_int_equal(sr_spool_mark(sp, g, i + 1), 0);
	}
	sr_segment_free(g);
	return got;
}

/* Two destinations read the same segments at their own pace: a segment
 * leaves only when both are done; after a restart each resumes where it
 * was (no batch twice, none skipped); a third added later starts at the
 * oldest segment left. */
static void spool_destinations_keep_own_progress(void **state)
{
	static const char *const two[] = { "openai", "otlp" };
	static const char *const three[] = { "openai", "otlp", "file" };
	char *base = sr_tmpdir("dests"), *dir = sr_strf("%s/spool", base);
	struct sr_spool *sp = spool_dests(dir, two, 2);
	uint64_t seq;

	(void)state;
	assert_int_equal(sr_spool_put(sp, batches(4, 5, 0), 4), 0);
	assert_int_equal(sr_spool_put(sp, batches(2, 5, 100), 2), 0);
	assert_true(sr_spool_next(sp, 0, &seq_base));
	/* openai keeps up, otlp lags (as when its endpoint fails) */
	assert_int_equal(dest_delivers(sp, 0, 0, 0, 9, 0), 4);
	assert_int_equal(dest_delivers(sp, 0, 1, 0, 1, 100), 1);
	assert_int_equal(dest_delivers(sp, 1, 0, 0, 2, 0), 2);
	assert_int_equal(sr_spool_count(sp), 2);
	assert_int_equal(sr_spool_behind(sp, 0), 1);
	assert_int_equal(sr_spool_behind(sp, 1), 2);
	sr_spool_free(sp); /* a restart: the text comes from the files now */
	sp = spool_dests(dir, two, 2);
	assert_int_equal(sr_spool_count(sp), 2);
	assert_int_equal(dest_delivers(sp, 1, 0, 2, 9, 0), 2);
	assert_int_equal(sr_spool_count(sp), 1); /* both done with it */
	assert_int_equal(dest_delivers(sp, 0, 1, 1, 9, 100), 1);
	assert_false(sr_spool_next(sp, 0, &seq));
	assert_int_equal(sr_spool_count(sp), 1); /* otlp still owes it */
	assert_int_equal(sr_spool_put(sp, batches(1, 5, 200), 1), 0);
	sr_spool_free(sp);
	/* a destination added now starts at the oldest segment, after the
	 * batches every earlier one delivered (none of segment 1 for otlp) */
	sp = spool_dests(dir, three, 3);
	assert_int_equal(dest_delivers(sp, 2, 1, 0, 9, 100), 2);
	assert_int_equal(dest_delivers(sp, 1, 1, 0, 9, 100), 2);
	assert_int_equal(sr_spool_count(sp), 1);
	assert_int_equal(dest_delivers(sp, 0, 2, 0, 9, 200), 1);
	assert_int_equal(dest_delivers(sp, 1, 2, 0, 9, 200), 1);
	assert_int_equal(dest_delivers(sp, 2, 2, 0, 9, 200), 1);
	assert_int_equal(sr_spool_count(sp), 0);
	sr_spool_free(sp);
	free(dir);
	sr_tmpdir_free(base);
}

/* The damages of a segment file, each salvaged. */
enum damage {
	JUNK_AFTER,
	DONE_BEYOND,
	HALF_TRUNCATED,
	BAD_CHECKSUM,
	BAD_MAGIC
};

static void damage_file(const char *path, enum damage d)
{
	size_t len;
	char *buf = sr_read_file(path, &len);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	uint32_t v;

	assert_non_null(buf);
	assert_true(fd >= 0);
	switch (d) {
	case JUNK_AFTER:
		assert_int_equal(pwrite(fd,
					"\x01\x00\x00\x00junk junk junk junk",
					23, (off_t)len),
				 23);
		break;
	case DONE_BEYOND:
		v = 1000;
		assert_int_equal(pwrite(fd, &v, 4, 12), 4);
		break;
	case HALF_TRUNCATED:
		assert_int_equal(ftruncate(fd, (off_t)(len / 2)), 0);
		break;
	case BAD_CHECKSUM:
		/* a byte inside the last batch's compressed data */
		buf[len - 6] ^= 0x5a;
		assert_int_equal(pwrite(fd, buf + len - 6, 1, (off_t)(len - 6)),
				 1);
		break;
	case BAD_MAGIC:
		assert_int_equal(pwrite(fd, "XXXXXXXX", 8, 0), 8);
		break;
	}
	close(fd);
	free(buf);
}

struct salvage_case {
	enum damage d;
	const char *name;
	uint32_t min_batches, max_batches; /* intact batches delivered */
};

static void spool_salvages_damaged_segments(void **state)
{
	static const struct salvage_case cases[] = {
		{ JUNK_AFTER, "junk after intact batches", 6, 6 },
		{ DONE_BEYOND, "delivered counter beyond the batches", 6, 6 },
		{ HALF_TRUNCATED, "half-truncated file", 2, 3 },
		{ BAD_CHECKSUM, "last batch checksum", 5, 5 },
		{ BAD_MAGIC, "bad magic", 0, 0 },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct salvage_case *c = &cases[k];
		struct spool_fx f;
		const char *damage;
		char *seg, *q;
		size_t lines;
		uint32_t got;
		struct stat st;

		spool_up(&f, SR_CODEC_LZ4);
		assert_int_equal(sr_spool_put(f.sp, batches(6, 20, 0), 6), 0);
		seg = only_segment(&f);
		damage_file(seg, c->d);
		spool_reopen(&f, SR_CODEC_LZ4);
		got = drain_segment(&f, &lines, &damage);
		if (got < c->min_batches || got > c->max_batches)
			fail_msg("%s: %u intact batches delivered, expected %u..%u",
				 c->name, got, c->min_batches, c->max_batches);
		if (lines != got * 20u)
			fail_msg("%s: %zu lines, expected %u", c->name, lines,
				 got * 20);
		if (!damage)
			fail_msg("%s: not reported as damaged", c->name);
		/* moved aside, never deleted */
		q = sr_strf("%s/quarantine/%s", f.dir, strrchr(seg, '/') + 1);
		if (stat(q, &st) != 0)
			fail_msg("%s: %s not in quarantine: %s", c->name, q,
				 strerror(errno));
		if (stat(seg, &st) == 0)
			fail_msg("%s: %s still in the spool", c->name, seg);
		assert_int_equal(sr_spool_count(f.sp), 0);
		free(q);
		free(seg);
		spool_down(&f);
	}
}

static void spool_index_of_damaged_images(void **state)
{
	static const uint8_t head[16] =
		"SRSPOOL1\x02\x00\x00\x00\x00\x00\x00\x00";
	uint8_t img[64];
	struct sr_seg_index ix;
	size_t off[4];

	(void)state;
	/* two frames of 4 bytes each (codec none) */
	memcpy(img, head, 16);
	memcpy(img + 16,
	       "\x04\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"
	       "a\n\n\n",
	       16);
	memcpy(img + 32,
	       "\x04\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"
	       "b\n\n\n",
	       16);
	assert_int_equal(sr_segment_index(img, 48, off, 4, &ix), 0);
	assert_int_equal(ix.batches, 2);
	assert_null(ix.damage);
	assert_int_equal(off[1], 32);
	/* cut inside the second frame */
	assert_int_equal(sr_segment_index(img, 40, off, 4, &ix), 0);
	assert_int_equal(ix.batches, 1);
	assert_non_null(ix.damage);
	/* junk after */
	memset(img + 48, 0xff, 16);
	assert_int_equal(sr_segment_index(img, 64, off, 4, &ix), 0);
	assert_int_equal(ix.batches, 2);
	assert_non_null(ix.damage);
	/* counter beyond: not trusted */
	img[12] = 9;
	assert_int_equal(sr_segment_index(img, 48, off, 4, &ix), 0);
	assert_int_equal(ix.done, 0);
	assert_non_null(ix.damage);
	/* not a segment */
	assert_int_equal(sr_segment_index(img, 10, off, 4, &ix), -EBADMSG);
	img[0] = 'X';
	assert_int_equal(sr_segment_index(img, 48, off, 4, &ix), -EBADMSG);
}

static void spool_heals_removed_directory(void **state)
{
	struct spool_fx f;
	const char *damage;
	char *cmd;
	size_t lines;
	uint64_t lost0 = SR_STAT_GET(spool_lost_items);
	struct stat st;

	(void)state;
	spool_up(&f, SR_CODEC_LZ4);
	/* one segment whose text is kept in memory */
	assert_int_equal(sr_spool_put(f.sp, batches(2, 5, 0), 2), 0);
	cmd = sr_strf("rm -rf '%s'", f.dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(sr_spool_heals(f.sp), 0);
	/* the next hand-off recreates it and writes both segments */
	assert_int_equal(sr_spool_put(f.sp, batches(1, 5, 100), 1), 0);
	assert_int_equal(sr_spool_heals(f.sp), 1);
	assert_int_equal(stat(f.dir, &st), 0);
	assert_int_equal(sr_spool_count(f.sp), 2);
	assert_int_equal(sr_spool_items(f.sp), 15);
	assert_int_equal(SR_STAT_GET(spool_lost_items) - lost0, 0);
	/* and they are files again: a restart reads them */
	spool_reopen(&f, SR_CODEC_LZ4);
	assert_int_equal(sr_spool_count(f.sp), 2);
	assert_int_equal(drain_segment(&f, &lines, &damage), 2);
	assert_int_equal(lines, 10);
	assert_null(damage);
	assert_int_equal(drain_segment(&f, &lines, &damage), 1);
	assert_int_equal(lines, 5);
	spool_down(&f);
}

static void spool_heal_counts_what_memory_lost(void **state)
{
	struct spool_fx f;
	char *cmd;
	uint64_t lost0 = SR_STAT_GET(spool_lost_items);

	(void)state;
	spool_up(&f, SR_CODEC_LZ4);
	assert_int_equal(sr_spool_put(f.sp, batches(1, 7, 0), 1), 0);
	spool_reopen(&f, SR_CODEC_LZ4); /* its text is no longer in memory */
	cmd = sr_strf("rm -rf '%s'", f.dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(sr_spool_check(f.sp), 0);
	assert_int_equal(sr_spool_heals(f.sp), 1);
	/* honest: the segment is gone, its items counted */
	assert_int_equal(sr_spool_count(f.sp), 0);
	assert_int_equal(SR_STAT_GET(spool_lost_items) - lost0, 7);
	spool_down(&f);
}

/* --- queue ------------------------------------------------------------- */

static void queue_push(struct sr_queue *q, const char *json, bool trace,
		       uint8_t tid)
{
	struct sr_item it = { json, strlen(json), 0, trace, { 0 } };

	memset(it.trace_id, tid, 16);
	assert_int_equal(sr_queue_push(q, &it), 0);
}

/* Items come out as batches of JSON lines in queue order, a trace object
 * ahead of its trace's first span, whatever the size of an item (the
 * text buffer grows), and again after a clear (the buffer is reused). */
static void queue_batches_in_order(void **state)
{
	struct sr_queue *q = sr_queue_new();
	struct sr_spool_batch *b;
	size_t n, big_len = 300 * 1024;
	char *big = malloc(big_len + 16), *want;

	(void)state;
	assert_non_null(q);
	assert_non_null(big);
	for (int round = 0; round < 2; round++) {
		memset(big, 'x', big_len + 16);
		memcpy(big, "{\"b\":\"", 6);
		memcpy(big + big_len - 2, "\"}", 3);
		queue_push(q, "{\"s\":1}", false, 1);
		queue_push(q, "{\"s\":2}", false, 2);
		queue_push(q, "{\"t\":2}", true, 2);
		queue_push(q, big, false, 3);
		queue_push(q, "{\"s\":3}", false, 1);
		assert_int_equal(sr_queue_len(q), 5);
		assert_int_equal(sr_queue_batches(q, 2, &b, &n), 0);
		assert_int_equal(n, 3);
		assert_string_equal(b[0].lines, "{\"s\":1}\n{\"t\":2}\n");
		assert_int_equal(b[0].len, strlen(b[0].lines));
		assert_int_equal(b[0].items, 2);
		want = malloc(big_len + 16);
		assert_non_null(want);
		snprintf(want, big_len + 16, "{\"s\":2}\n%s\n", big);
		assert_string_equal(b[1].lines, want);
		assert_int_equal(b[1].items, 2);
		assert_string_equal(b[2].lines, "{\"s\":3}\n");
		assert_int_equal(b[2].items, 1);
		free(want);
		for (size_t i = 0; i < n; i++)
			free(b[i].lines);
		free(b);
		sr_queue_clear(q);
		assert_int_equal(sr_queue_len(q), 0);
		assert_int_equal(sr_queue_batches(q, 2, &b, &n), 0);
		assert_int_equal(n, 0);
	}
	free(big);
	sr_queue_free(q);
}

/* --- configuration ----------------------------------------------------- */

struct cfg_case {
	const char *flag, *value;
	int code;
};

static int load(const char *flag, const char *value)
{
	static struct sr_config c;
	char a0[] = "spanringd", a1[] = "--dir", a2[] = "/tmp", a3[64], a4[256];
	char *argv[] = { a0, a1, a2, a3, a4, NULL };

	snprintf(a3, sizeof(a3), "%s", flag);
	snprintf(a4, sizeof(a4), "%s", value ? value : "");
	return sr_config_load(&c, value ? 5 : 4, argv);
}

static void config_values_validated(void **state)
{
	static const struct cfg_case cases[] = {
		{ "--endpoint", "http://", 64 },
		{ "--endpoint", "http://127.0.0.1:99999/x", 64 },
		{ "--endpoint", "http://[::1", 64 },
		{ "--endpoint", "ftp://127.0.0.1/x", 64 },
		{ "--endpoint", "127.0.0.1:8080/x", 64 },
		{ "--endpoint", "http://127.0.0.1:8080/v1/traces/ingest", 0 },
		{ "--endpoint", "https://[::1]:443/x", 0 },
		{ "--schedule-delay", "0x10", 64 },
		{ "--schedule-delay", "1e2", 64 },
		{ "--schedule-delay", "-1", 64 },
		{ "--schedule-delay", "inf", 64 },
		{ "--schedule-delay", " 5", 64 },
		{ "--schedule-delay", "0.25", 0 },
		{ "--schedule-delay", ".5", 0 },
		{ "--base-delay", "0x1", 64 },
		{ "--max-batch-size", "0x10", 64 },
		{ "--max-batch-size", "+5", 64 },
		{ "--spool-max-bytes", "10Q", 64 },
		{ "--spool-max-bytes", "10M", 0 },
	};

	(void)state;
	unsetenv("SPANRINGD_ENDPOINT");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = load(cases[i].flag, cases[i].value);

		if (rc != cases[i].code)
			fail_msg("%s '%s': %d, expected %d", cases[i].flag,
				 cases[i].value, rc, cases[i].code);
	}
	/* the same value from a variable is a configuration error (78) */
	setenv("SPANRINGD_ENDPOINT", "http://[::1", 1);
	assert_int_equal(load("--max-retries", "3"), 78);
	unsetenv("SPANRINGD_ENDPOINT");
	setenv("OPENAI_ORG_ID", "org\r\nX-Evil: 1", 1);
	assert_int_equal(load("--max-retries", "3"), 78);
	unsetenv("OPENAI_ORG_ID");
}

/* A flag wins over the OTEL_* variable of the same meaning even when it
 * names the default value; without the flag the variable wins over the
 * default. */
static void config_otlp_flag_wins_over_variable(void **state)
{
	static struct sr_config c;
	char a0[] = "spanringd", a1[] = "--dir", a2[] = "/tmp",
	     a3[] = "--exporter", a4[] = "otlp", a5[] = "--otlp-timeout",
	     a6[] = "10", a7[] = "--otlp-endpoint",
	     a8[] = "http://localhost:4318/v1/traces";
	char *argv[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, NULL };

	(void)state;
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/", 1);
	assert_int_equal(sr_config_load(&c, 5, argv), 0);
	sr_assert_fcmp(c.otlp_timeout, ==, 2.5);
	assert_string_equal(c.otlp_endpoint, "http://127.0.0.1:9/v1/traces");
	assert_int_equal(sr_config_load(&c, 9, argv), 0);
	sr_assert_fcmp(c.otlp_timeout, ==, 10);
	assert_string_equal(c.otlp_endpoint, "http://localhost:4318/v1/traces");
	unsetenv("OTEL_EXPORTER_OTLP_TIMEOUT");
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
}

/* The option tables of README.md and sidecar/README.md are the output of
 * `spanringd --help-markdown` (config.c's table): a default changed there
 * and not in the READMEs fails here until `make docs` is run. */
static void config_docs_current(void **state)
{
	char *want;
	size_t want_len;
	FILE *f = open_memstream(&want, &want_len);

	(void)state;
	assert_non_null(f);
	sr_config_help_markdown(f);
	fclose(f);
	sr_assert_ucmp(want_len, >, 0);
	sr_assert_doc_block("README.md", "spanringd --help-markdown", want);
	sr_assert_doc_block("sidecar/README.md", "spanringd --help-markdown",
			    want);
	free(want);
}

SR_TEST_MAIN(cmocka_unit_test(retry_verdict_table),
	     cmocka_unit_test(retry_wait_bounded_by_rule_and_max_delay),
	     cmocka_unit_test(retry_after_values_parsed_strictly),
	     cmocka_unit_test(spool_roundtrip_intact),
	     cmocka_unit_test(spool_sends_from_memory),
	     cmocka_unit_test(spool_restart_resumes_where_it_was),
	     cmocka_unit_test(spool_progress_mapped_in_header),
	     cmocka_unit_test(spool_salvages_damaged_segments),
	     cmocka_unit_test(spool_index_of_damaged_images),
	     cmocka_unit_test(spool_heals_removed_directory),
	     cmocka_unit_test(spool_heal_counts_what_memory_lost),
	     cmocka_unit_test(spool_destinations_keep_own_progress),
	     cmocka_unit_test(queue_batches_in_order),
	     cmocka_unit_test(config_values_validated),
	     cmocka_unit_test(config_otlp_flag_wins_over_variable),
	     cmocka_unit_test(config_docs_current))
