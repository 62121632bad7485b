/* SPDX-License-Identifier: MIT */
/*
 * The byte formats spanring writes, at their edges: record payloads
 * (common/record_layout.h), spool segments and cursors
 * (sidecar/spool_layout.h), open-span files (sidecar/openspans_layout.h).
 * The expected bytes are written out here by offset, independently of
 * the headers, so a change to a format fails here; the READMEs' tables
 * are checked against the headers. The objects of spanringd are linked
 * into this binary (Makefile).
 */
#include "tests/lib/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/record.h"
#include "common/record_layout.h"
#include "common/ring.h"
#include "common/ring_layout.h"
#include "sidecar/assemble.h"
#include "sidecar/openspans.h"
#include "sidecar/openspans_layout.h"
#include "sidecar/spool.h"
#include "sidecar/spool_layout.h"

/* Stores v little-endian in n bytes at p. */
static void le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void fill(uint8_t *p, uint8_t from, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(from + i);
}

/* Compares n bytes, printing the first difference. */
static void assert_bytes(const char *what, const uint8_t *got,
			 const uint8_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("%s: byte %zu is 0x%02x, expected 0x%02x",
				 what, i, got[i], want[i]);
}

/* --- record payloads --------------------------------------------------- */

static void span_of(struct sr_span_rec *s)
{
	memset(s, 0, sizeof(*s));
	fill(s->trace_id, 0x10, 16);
	fill(s->span_id, 0x40, 12);
	fill(s->parent_id, 0x60, 12);
	s->start_ns = 0x1122334455667788ull;
	s->end_ns = 0x99aabbccddeeff00ull;
	s->flags = SR_SF_ERROR | SR_SF_CLIENT;
	s->name = (struct sr_str){ "nm", 2 };
	s->data = (struct sr_str){ "{\"d\":1}", 7 };
	s->err = (struct sr_str){ "oops", 4 };
	s->errdata = (struct sr_str){ "{}", 2 };
}

/* Every record type's payload, byte by byte: the fixed part at the
 * offsets the READMEs give, the string lengths in payload order (span:
 * name, data, err, errdata), the strings in that order after it. */
static void layout_record_bytes_pinned(void **state)
{
	uint8_t got[256], want[256];
	struct sr_span_rec s;
	bool cut = false;
	uint32_t n;

	(void)state;
	span_of(&s);
	n = sr_span_encode(got, sizeof(got), &s, &cut);
	assert_false(cut);
	assert_int_equal(n, 80 + 2 + 7 + 4 + 2);
	memset(want, 0, sizeof(want));
	fill(want, 0x10, 16);
	fill(want + 16, 0x40, 12);
	fill(want + 28, 0x60, 12);
	le(want + 40, s.start_ns, 8);
	le(want + 48, s.end_ns, 8);
	le(want + 56, s.flags, 4);
	le(want + 60, 2, 4);
	le(want + 64, 7, 4);
	le(want + 68, 4, 4);
	le(want + 72, 2, 4);
	memcpy(want + 80, "nm{\"d\":1}oops{}", 15);
	assert_bytes("span", got, want, n);

	{
		struct sr_trace_rec t = { .ts_ns = 0x0102030405060708ull,
					  .workflow = { "wf", 2 },
					  .group_id = { "g", 1 },
					  .metadata = { "{}", 2 } };

		fill(t.trace_id, 0xa0, 16);
		n = sr_trace_encode(got, sizeof(got), &t, &cut);
		assert_int_equal(n, 40 + 5);
		memset(want, 0, sizeof(want));
		fill(want, 0xa0, 16);
		le(want + 16, t.ts_ns, 8);
		le(want + 24, 2, 4);
		le(want + 28, 1, 4);
		le(want + 32, 2, 4);
		memcpy(want + 40, "wfg{}", 5);
		assert_bytes("trace", got, want, n);
	}
	{
		struct sr_process_rec p = { .pid = 0x01020304,
					    .ppid = 0x05060708,
					    .uid = 0x090a0b0c,
					    .start_ns = 0x1112131415161718ull,
					    .exe = { "/bin/x", 6 } };

		n = sr_process_encode(got, sizeof(got), &p, &cut);
		assert_int_equal(n, 32 + 6);
		memset(want, 0, sizeof(want));
		le(want, p.pid, 4);
		le(want + 4, p.ppid, 4);
		le(want + 8, p.uid, 4);
		le(want + 16, p.start_ns, 8);
		le(want + 24, 6, 2);
		memcpy(want + 32, "/bin/x", 6);
		assert_bytes("process", got, want, n);
	}
	{
		struct sr_child_rec c = { .pid = 77,
					  .status = -2,
					  .ts_ns = 0x2122232425262728ull };

		fill(c.trace_id, 0xc0, 16);
		n = sr_child_encode(got, sizeof(got), &c);
		assert_int_equal(n, 32);
		le(want, 77, 4);
		le(want + 4, (uint32_t)-2, 4);
		le(want + 8, c.ts_ns, 8);
		fill(want + 16, 0xc0, 16);
		assert_bytes("child exit", got, want, n);
	}
	(void)cut;
}

/* Decodes payload p cut to every length below `n`: each is refused. */
static void assert_every_prefix_refused(const char *what, const uint8_t *p,
					uint32_t n)
{
	struct sr_span_rec s;
	struct sr_trace_rec t;
	struct sr_process_rec pr;
	struct sr_child_rec c;

	for (uint32_t k = 0; k < n; k++) {
		int rc = !strcmp(what, "span")    ? sr_span_decode(p, k, &s)
			 : !strcmp(what, "trace") ? sr_trace_decode(p, k, &t)
			 : !strcmp(what, "process")
				 ? sr_process_decode(p, k, &pr)
				 : sr_child_decode(p, k, &c);

		if (rc != -EBADMSG)
			fail_msg("%s cut to %u of %u bytes: decode gave %d, "
				 "expected -EBADMSG",
				 what, k, n, rc);
	}
}

/* A payload cut anywhere (inside the fixed part or its strings) does not
 * decode; one byte more than its strings does not either. */
static void layout_record_truncated_refused(void **state)
{
	static uint8_t buf[512];
	struct sr_span_rec s, d;
	struct sr_trace_rec t = { .workflow = { "workflow", 8 } }, td;
	struct sr_process_rec p = { .exe = { "/bin/true", 9 } }, pd;
	struct sr_child_rec c = { .pid = 1 }, cd;
	bool cut = false;
	uint32_t n;

	(void)state;
	span_of(&s);
	n = sr_span_encode(buf, sizeof(buf) - 1, &s, &cut);
	assert_every_prefix_refused("span", buf, n);
	assert_int_equal(sr_span_decode(buf, n, &d), 0);
	assert_int_equal(sr_span_decode(buf, n + 1, &d), -EBADMSG);

	n = sr_trace_encode(buf, sizeof(buf) - 1, &t, &cut);
	assert_every_prefix_refused("trace", buf, n);
	assert_int_equal(sr_trace_decode(buf, n, &td), 0);
	assert_int_equal(sr_trace_decode(buf, n + 1, &td), -EBADMSG);

	n = sr_process_encode(buf, sizeof(buf) - 1, &p, &cut);
	assert_every_prefix_refused("process", buf, n);
	assert_int_equal(sr_process_decode(buf, n, &pd), 0);
	assert_int_equal(sr_process_decode(buf, n + 1, &pd), -EBADMSG);

	n = sr_child_encode(buf, sizeof(buf) - 1, &c);
	assert_every_prefix_refused("child", buf, n);
	assert_int_equal(sr_child_decode(buf, n, &cd), 0);
	assert_int_equal(sr_child_decode(buf, n + 1, &cd), -EBADMSG);
}

/* Lengths that overflow: each one alone too big, or summing past 2^32 to
 * look small, are refused; they are compared with what is left, never
 * added. */
static void layout_record_length_overflow_refused(void **state)
{
	static const uint32_t bad[][SR_SPAN_STRS] = {
		{ 0xffffffffu, 0, 0, 0 },
		{ 0, 0, 0, 0xffffffffu },
		{ 0x80000000u, 0x80000000u, 15, 0 }, /* sums to 15 */
		{ 16, 0, 0, 0 },                     /* one past the end */
		{ 5, 5, 5, 0xfffffff7u },            /* sums to 6 */
	};
	uint8_t buf[128];
	struct sr_span_rec s, d;
	bool cut = false;
	uint32_t n;

	(void)state;
	span_of(&s);
	n = sr_span_encode(buf, sizeof(buf), &s, &cut);
	assert_int_equal(n, 95);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[128];

		memcpy(b, buf, n);
		for (int k = 0; k < SR_SPAN_STRS; k++)
			le(b + 60 + 4 * k, bad[i][k], 4);
		if (sr_span_decode(b, n, &d) != -EBADMSG)
			fail_msg("span lengths case %zu decoded, expected "
				 "-EBADMSG",
				 i);
	}
	/* the trace's lengths, and the process's u16 */
	{
		struct sr_trace_rec t = { .workflow = { "ab", 2 } }, td;
		struct sr_process_rec p = { .exe = { "ab", 2 } }, pd;

		n = sr_trace_encode(buf, sizeof(buf), &t, &cut);
		le(buf + 28, 0xffffffffu, 4);
		assert_int_equal(sr_trace_decode(buf, n, &td), -EBADMSG);
		le(buf + 28, 0, 4);
		le(buf + 24, 0xffffffffu, 4);
		le(buf + 32, 3, 4); /* 0xffffffff + 3 = 2 */
		assert_int_equal(sr_trace_decode(buf, n, &td), -EBADMSG);
		n = sr_process_encode(buf, sizeof(buf), &p, &cut);
		le(buf + 24, 3, 2);
		assert_int_equal(sr_process_decode(buf, n, &pd), -EBADMSG);
		le(buf + 24, 0xffff, 2);
		assert_int_equal(sr_process_decode(buf, n, &pd), -EBADMSG);
	}
}

/* --- spool segments and cursors ---------------------------------------- */

static const char *const AB[] = { "a", "b" };

static struct sr_spool *spool_at(const char *dir)
{
	char why[256] = "";
	struct sr_spool *sp = sr_spool_open(dir,
					    &(struct sr_spool_opts){
						    .codec = SR_CODEC_NONE,
						    .names = AB,
						    .ndest = 2 },
					    why, sizeof(why));

	if (!sp)
		fail_msg("sr_spool_open %s: %s", dir, why);
	return sp;
}

/* Puts one segment of three one-line batches; returns its sequence. */
static uint64_t put_three(struct sr_spool *sp)
{
	struct sr_spool_batch *b = calloc(3, sizeof(*b));
	uint64_t seq;

	assert_non_null(b);
	for (int i = 0; i < 3; i++) {
		b[i].lines = sr_strf("{\"i\":%d}\n", i);
		b[i].len = strlen(b[i].lines);
		b[i].items = 1;
	}
	assert_int_equal(sr_spool_put(sp, b, 3), 0);
	assert_int_equal(sr_spool_sync(sp), 0);
	assert_true(sr_spool_next(sp, 0, &seq));
	return seq;
}

/* Where destination d resumes segment seq. */
static uint32_t resumes_at(struct sr_spool *sp, unsigned d, uint64_t seq)
{
	struct sr_segment *g = NULL;
	uint32_t done;

	assert_int_equal(sr_spool_load(sp, d, seq, &g), 0);
	done = sr_segment_done(g);
	sr_segment_free(g);
	return done;
}

static const char *const cursor_damages[] = {
	"another version's magic", "its last 4 bytes cut",
	"a check word that does not match"
};

/* Damages a cursor file as cursor_damages[how] says. */
static void damage_cursor(const char *path, int how)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	if (how == 0)
		assert_int_equal(pwrite(fd, "SRCURSR2", 8, 0), 8);
	else if (how == 1)
		assert_int_equal(ftruncate(fd, 20), 0);
	else /* done 2 -> 1 */
		assert_int_equal(pwrite(fd, "\x01", 1, 16), 1);
	close(fd);
}

/* A segment file and a cursor file byte by byte; a cursor of another
 * version (magic), a short one or one whose check fails sends its
 * destination back to the start of the spool (duplicates, not loss). */
static void layout_spool_files_pinned(void **state)
{
	char *base = sr_tmpdir("layout"), *dir = sr_strf("%s/spool", base);
	struct sr_spool *sp = spool_at(dir);
	struct sr_segment *g = NULL;
	uint8_t want[64];
	char *path, *img;
	size_t len;
	uint64_t seq = put_three(sp);

	(void)state;
	/* the segment: header, then { bytes, items, codec, text } x 3 */
	path = sr_strf("%s/seg-%016llx-3.spool", dir, (unsigned long long)seq);
	img = sr_read_file(path, &len);
	if (!img)
		fail_msg("no segment file %s", path);
	assert_int_equal(len, 16 + 3 * (12 + 8));
	memcpy(want, "SRSPOOL1", 8);
	le(want + 8, 3, 4);
	le(want + 12, 0, 4);
	le(want + 16, 8, 4);
	le(want + 20, 1, 4);
	le(want + 24, SR_CODEC_NONE, 4);
	memcpy(want + 28, "{\"i\":0}\n", 8);
	assert_bytes("segment", (const uint8_t *)img, want, 36);
	free(img);

	/* destination a delivers two batches, b none */
	assert_int_equal(sr_spool_load(sp, 0, seq, &g), 0);
	assert_int_equal(sr_spool_mark(sp, g, 2), 0);
	sr_segment_free(g);
	free(path);
	path = sr_strf("%s/cursor-a", dir);
	img = sr_read_file(path, &len);
	assert_non_null(img);
	assert_int_equal(len, 24);
	memcpy(want, "SRCURSR1", 8);
	le(want + 8, seq, 8);
	le(want + 16, 2, 4);
	le(want + 20, (uint32_t)(seq ^ (seq >> 32)) ^ 2u ^ 0x5a17c0deu, 4);
	assert_bytes("cursor", (const uint8_t *)img, want, 24);
	free(img);

	/* read back after a restart */
	sr_spool_free(sp);
	sp = spool_at(dir);
	assert_int_equal(resumes_at(sp, 0, seq), 2);
	assert_int_equal(resumes_at(sp, 1, seq), 0);

	/* destination a delivers two batches again, its cursor is damaged
	 * while the spool is closed: a starts over, b is untouched */
	for (int k = 0; k < 3; k++) {
		uint32_t at;

		g = NULL;
		assert_int_equal(sr_spool_load(sp, 0, seq, &g), 0);
		assert_int_equal(sr_spool_mark(sp, g, 2), 0);
		sr_segment_free(g);
		sr_spool_free(sp);
		damage_cursor(path, k);
		sp = spool_at(dir);
		at = resumes_at(sp, 0, seq);
		if (at != 0)
			fail_msg("cursor with %s: resumes at batch %u, "
				 "expected 0",
				 cursor_damages[k], at);
		assert_int_equal(resumes_at(sp, 1, seq), 0);
	}

	sr_spool_free(sp);
	free(path);
	free(dir);
	sr_tmpdir_free(base);
}

/* Indexes img[0..len): the return code and the intact batches expected,
 * and whether it is damaged. */
static void expect_index(const char *what, const uint8_t *img, size_t len,
			 int rc, uint32_t batches, bool damaged)
{
	struct sr_seg_index ix;
	size_t off[4];
	int got = sr_segment_index(img, len, off, 4, &ix);

	if (got != rc || (!rc && ix.batches != batches) ||
	    (ix.damage != NULL) != damaged)
		fail_msg("%s: index gave %d, %u batches, damage %s; expected "
			 "%d, %u batches, %s",
			 what, got, ix.batches, ix.damage ? ix.damage : "none",
			 rc, batches, damaged ? "damage" : "no damage");
}

/* Segment headers at their edges: another version, a header cut short,
 * a frame length that overflows, an unknown codec. */
static void layout_segment_edges(void **state)
{
	uint8_t img[64];

	(void)state;
	memset(img, 0, sizeof(img));
	memcpy(img, "SRSPOOL1", 8);
	le(img + 8, 1, 4);
	le(img + 16, 4, 4); /* one frame of 4 bytes, codec none */
	le(img + 20, 1, 4);
	memcpy(img + 28, "a\n\n\n", 4);
	expect_index("intact", img, 32, 0, 1, false);
	for (size_t k = 0; k < 16; k++)
		expect_index("header cut short", img, k, -EBADMSG, 0, true);
	img[7] = '2';
	expect_index("another version", img, 32, -EBADMSG, 0, true);
	img[7] = '1';
	le(img + 16, 0xffffffffu, 4);
	expect_index("frame length wraps", img, 32, 0, 0, true);
	le(img + 16, 5, 4);
	expect_index("frame length one past", img, 32, 0, 0, true);
	le(img + 16, 4, 4);
	le(img + 24, 9, 4);
	expect_index("unknown codec", img, 32, 0, 0, true);
}

/* --- open-span files --------------------------------------------------- */

/* A SPAN_START payload of span id byte `id`. */
static uint32_t start_payload(uint8_t *buf, uint32_t cap, uint8_t id)
{
	struct sr_span_rec s;
	bool cut = false;

	span_of(&s);
	s.span_id[0] = id;
	s.end_ns = 0;
	s.err = s.errdata = (struct sr_str){ NULL, 0 };
	return sr_span_encode(buf, cap, &s, &cut);
}

/* Writes `n` bytes as the open-span file of ring "r1" in dir. */
static void write_open_file(const char *dir, const uint8_t *b, size_t n)
{
	char *path = sr_strf("%s/open-r1", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	close(fd);
	free(path);
}

/* Loads ring "r1"'s file into a fresh set: its return code, *open the
 * spans in it, first_seq the order number of the first. */
static int load_open(int dirfd, size_t *open, uint64_t *first_seq)
{
	struct sr_asm_ring *r = sr_asm_ring_new();
	struct sr_open_entry e;
	int rc;

	assert_non_null(r);
	rc = sr_openspans_load(dirfd, "r1", r);
	*open = sr_asm_ring_open_count(r);
	*first_seq = 0;
	if (*open) {
		sr_asm_ring_entry(r, 0, &e);
		*first_seq = e.seq;
	}
	sr_asm_ring_free(r);
	return rc;
}

/* An open-span file byte by byte, read back; another version's file is
 * refused; an entry header cut short or a length past the end ends the
 * file (the entries before it are kept); an entry that does not decode is
 * skipped alone. */
static void layout_open_span_file_edges(void **state)
{
	char *dir = sr_tmpdir("layout");
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct sr_asm_ring *r = sr_asm_ring_new();
	uint8_t p1[128], p2[128], file[512], want[512];
	uint32_t n1 = start_payload(p1, sizeof(p1), 1),
		 n2 = start_payload(p2, sizeof(p2), 2);
	char *path = sr_strf("%s/open-r1", dir);
	uint64_t seq;
	size_t len, open_n, w;
	char *img;

	(void)state;
	assert_true(dirfd >= 0);
	assert_non_null(r);
	assert_int_equal(sr_asm_ring_restore(r, p1, n1, 0x0102030405060708ull),
			 0);
	assert_int_equal(sr_asm_ring_restore(r, p2, n2, 0x0a0b0c0d0e0f1011ull),
			 0);
	assert_int_equal(sr_openspans_save(dirfd, "r1", r, false), 0);
	sr_asm_ring_free(r);

	/* "SROPEN1\n" | u32 len | u64 seq (unaligned) | payload, twice */
	memcpy(want, "SROPEN1\n", 8);
	w = 8;
	le(want + w, n1, 4);
	le(want + w + 4, 0x0102030405060708ull, 8);
	memcpy(want + w + 12, p1, n1);
	w += 12 + n1;
	le(want + w, n2, 4);
	le(want + w + 4, 0x0a0b0c0d0e0f1011ull, 8);
	memcpy(want + w + 12, p2, n2);
	w += 12 + n2;
	img = sr_read_file(path, &len);
	assert_non_null(img);
	assert_int_equal(len, w);
	assert_bytes("open-span file", (const uint8_t *)img, want, w);
	free(img);
	assert_int_equal(load_open(dirfd, &open_n, &seq), 0);
	assert_int_equal(open_n, 2);
	assert_int_equal(seq, 0x0102030405060708ull);

	/* another version */
	memcpy(file, want, w);
	file[6] = '2';
	write_open_file(dir, file, w);
	assert_int_equal(load_open(dirfd, &open_n, &seq), -EBADMSG);
	assert_int_equal(open_n, 0);
	/* a file shorter than its header */
	write_open_file(dir, want, 5);
	assert_int_equal(load_open(dirfd, &open_n, &seq), -EBADMSG);

	/* the second entry's header cut short: the first is kept */
	for (size_t cut = 1; cut < 12; cut++) {
		write_open_file(dir, want, 8 + 12 + n1 + cut);
		assert_int_equal(load_open(dirfd, &open_n, &seq), 0);
		if (open_n != 1)
			fail_msg("second entry header cut to %zu bytes: %zu "
				 "spans loaded, expected 1",
				 cut, open_n);
	}
	/* lengths past the end, or wrapping: that entry ends the file */
	memcpy(file, want, w);
	le(file + 8 + 12 + n1, n2 + 1, 4);
	write_open_file(dir, file, w);
	assert_int_equal(load_open(dirfd, &open_n, &seq), 0);
	assert_int_equal(open_n, 1);
	le(file + 8 + 12 + n1, 0xffffffffu, 4);
	write_open_file(dir, file, w);
	assert_int_equal(load_open(dirfd, &open_n, &seq), 0);
	assert_int_equal(open_n, 1);
	/* the first entry's payload does not decode: skipped alone */
	memcpy(file, want, w);
	le(file + 8 + 12 + 60, 0xffffffffu, 4); /* its name's length */
	write_open_file(dir, file, w);
	assert_int_equal(load_open(dirfd, &open_n, &seq), 0);
	assert_int_equal(open_n, 1);
	assert_int_equal(seq, 0x0a0b0c0d0e0f1011ull);

	close(dirfd);
	free(path);
	sr_tmpdir_free(dir);
}

/* --- the READMEs' tables ------------------------------------------------ */

struct field {
	const char *readme, *type, *name;
	size_t off, size, type_size;
};

static const char COMMON[] = "common/README.md",
		  SIDECAR[] = "sidecar/README.md";

#define FIELD(readme, T, m)                                                    \
	{                                                                      \
		readme, #T, #m, offsetof(T, m), sizeof(((T *)0)->m), sizeof(T) \
	}

/* Every field of every layout struct, in order, and the README that
 * tables it. */
static const struct field fields[] = {
	FIELD(COMMON, struct sr_span_fixed, trace_id),
	FIELD(COMMON, struct sr_span_fixed, span_id),
	FIELD(COMMON, struct sr_span_fixed, parent_id),
	FIELD(COMMON, struct sr_span_fixed, start_ns),
	FIELD(COMMON, struct sr_span_fixed, end_ns),
	FIELD(COMMON, struct sr_span_fixed, flags),
	FIELD(COMMON, struct sr_span_fixed, len),
	FIELD(COMMON, struct sr_span_fixed, pad),
	FIELD(COMMON, struct sr_trace_fixed, trace_id),
	FIELD(COMMON, struct sr_trace_fixed, ts_ns),
	FIELD(COMMON, struct sr_trace_fixed, len),
	FIELD(COMMON, struct sr_trace_fixed, pad),
	FIELD(COMMON, struct sr_process_fixed, pid),
	FIELD(COMMON, struct sr_process_fixed, ppid),
	FIELD(COMMON, struct sr_process_fixed, uid),
	FIELD(COMMON, struct sr_process_fixed, pad0),
	FIELD(COMMON, struct sr_process_fixed, start_ns),
	FIELD(COMMON, struct sr_process_fixed, exe_len),
	FIELD(COMMON, struct sr_process_fixed, pad1),
	FIELD(COMMON, struct sr_child_fixed, pid),
	FIELD(COMMON, struct sr_child_fixed, status),
	FIELD(COMMON, struct sr_child_fixed, ts_ns),
	FIELD(COMMON, struct sr_child_fixed, trace_id),
	FIELD(SIDECAR, struct sr_seg_header, magic),
	FIELD(SIDECAR, struct sr_seg_header, batches),
	FIELD(SIDECAR, struct sr_seg_header, done),
	FIELD(SIDECAR, struct sr_seg_frame, bytes),
	FIELD(SIDECAR, struct sr_seg_frame, items),
	FIELD(SIDECAR, struct sr_seg_frame, codec),
	FIELD(SIDECAR, struct sr_cursor_file, magic),
	FIELD(SIDECAR, struct sr_cursor_file, seq),
	FIELD(SIDECAR, struct sr_cursor_file, done),
	FIELD(SIDECAR, struct sr_cursor_file, check),
	FIELD(SIDECAR, struct sr_open_header, magic),
	FIELD(SIDECAR, struct sr_open_entry_header, len),
	FIELD(SIDECAR, struct sr_open_entry_header, seq),
};

/*
 * Checks the README table of the struct whose fields start at f (the
 * table that follows the first line starting "`struct NAME`"): one row
 * per field, in order, "| offset | size | `field` | meaning |", covering
 * the struct without gaps. Returns the number of fields checked.
 */
static size_t check_table(const struct field *f, size_t left)
{
	char *text = sr_read_file(f->readme, NULL);
	char *head = sr_strf("\n`%s`", f->type);
	const char *p = text ? strstr(text, head) : NULL;
	size_t i = 0, end = 0;

	if (!p)
		fail_msg("%s: no table for %s", f->readme, f->type);
	/* to the first row, after the header and separator lines */
	p = strstr(p, "\n| offset |");
	if (!p || !(p = strstr(p + 1, "\n|---")) || !(p = strchr(p + 1, '\n')))
		fail_msg("%s: %s has no offset table", f->readme, f->type);
	for (p++; *p == '|'; i++) {
		unsigned long off, size;
		char name[64];

		if (sscanf(p, "| %lu | %lu | `%63[^`]`", &off, &size, name) !=
		    3)
			fail_msg("%s: %s: bad row %.60s", f->readme, f->type,
				 p);
		if (i >= left || strcmp(f[i].type, f->type))
			fail_msg("%s: %s: row %s is not in the header",
				 f->readme, f->type, name);
		if (strcmp(name, f[i].name) || off != f[i].off ||
		    size != f[i].size)
			fail_msg("%s: %s: row says %s at %lu, %lu bytes; the "
				 "header has %s at %zu, %zu bytes",
				 f->readme, f->type, name, off, size, f[i].name,
				 f[i].off, f[i].size);
		if (off != end)
			fail_msg("%s: %s: %s at %lu leaves a gap after %zu",
				 f->readme, f->type, name, off, end);
		end = off + size;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	if (end != f->type_size)
		fail_msg("%s: %s: rows end at %zu, it has %zu bytes", f->readme,
			 f->type, end, f->type_size);
	if (i < left && !strcmp(f[i].type, f->type))
		fail_msg("%s: %s: no row for %s", f->readme, f->type,
			 f[i].name);
	free(head);
	free(text);
	return i;
}

static void layout_readme_tables_match_headers(void **state)
{
	const size_t n = sizeof(fields) / sizeof(fields[0]);

	(void)state;
	for (size_t i = 0; i < n;)
		i += check_table(&fields[i], n - i);
}

/* The ring file's geometry, written out by number: version 4 puts the
 * lane anchors and controls after the header's 416 bytes, so with up to
 * 26 lanes (16 by default) lane 0's data starts at the second page;
 * versions 2 and 3, still read, had them after a whole header page. A
 * new ring of the default geometry on tmpfs holds two pages: the first,
 * and lane 0's first chunk. */
static void layout_ring_geometry_pinned(void **state)
{
	static const struct {
		uint32_t version, lanes;
		uint64_t lanes_off, data_off;
	} g[] = {
		{ 4, 2, 448, 4096 },     { 4, 16, 576, 4096 },
		{ 4, 26, 640, 4096 },    { 4, 27, 640, 8192 },
		{ 4, 256, 2496, 36864 }, { 3, 2, 4096, 8192 },
		{ 3, 16, 4096, 8192 },   { 3, 256, 4096, 40960 },
		{ 2, 16, 4096, 8192 },
	};
	char dir[] = "/dev/shm/spanring-test-layout-XXXXXX";
	struct sr_ring_params p = { .lanes = SR_RING_DEFAULT_LANES,
				    .lane_size = SR_RING_DEFAULT_LANE_SIZE,
				    .pid = 1 };
	struct sr_ring r;
	struct stat st;
	int dirfd;

	(void)state;
	assert_int_equal(sizeof(struct sr_ring_header), 416);
	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		uint64_t l = sr_ring_lanes_offset_v(g[i].version, g[i].lanes);
		uint64_t d = sr_ring_data_offset_v(g[i].version, g[i].lanes);

		if (l != g[i].lanes_off || d != g[i].data_off)
			fail_msg("version %u, %u lanes: lanes at %llu, data at "
				 "%llu; expected %llu, %llu",
				 g[i].version, g[i].lanes,
				 (unsigned long long)l, (unsigned long long)d,
				 (unsigned long long)g[i].lanes_off,
				 (unsigned long long)g[i].data_off);
	}
	if (!mkdtemp(dir))
		skip(); /* no /dev/shm: the geometry above is what matters */
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	sr_assert_cmp(dirfd, >=, 0);
	assert_int_equal(sr_ring_create(&r, dirfd, "r.ring", &p), 0);
	assert_int_equal(fstatat(dirfd, "r.ring", &st, 0), 0);
	assert_int_equal(r.hdr->lanes_offset, 576);
	assert_int_equal(r.hdr->header_size, 576);
	assert_int_equal(r.hdr->data_offset, 4096);
	assert_int_equal((uint64_t)st.st_blocks * 512, 8192);
	sr_ring_close(&r);
	unlinkat(dirfd, "r.ring", 0);
	close(dirfd);
	rmdir(dir);
}

SR_TEST_MAIN(cmocka_unit_test(layout_record_bytes_pinned),
	     cmocka_unit_test(layout_record_truncated_refused),
	     cmocka_unit_test(layout_record_length_overflow_refused),
	     cmocka_unit_test(layout_spool_files_pinned),
	     cmocka_unit_test(layout_segment_edges),
	     cmocka_unit_test(layout_open_span_file_edges),
	     cmocka_unit_test(layout_readme_tables_match_headers),
	     cmocka_unit_test(layout_ring_geometry_pinned))
