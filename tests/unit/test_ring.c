/* SPDX-License-Identifier: MIT */
/* The ring: round trips, wrap-around, accounting, limits. */
#include "tests/lib/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/reader.h"
#include "common/record.h"
#include "common/ring.h"
#include "common/ringdir.h"

struct fixture {
	char *dir;
	int dirfd;
	struct sr_ring ring;
	struct sr_producer prod;
	struct sr_reader *rd;
};

static void fx_open(struct fixture *f, uint32_t lanes, uint32_t lane_size)
{
	struct sr_ring_params p = { .lanes = lanes,
				    .lane_size = lane_size,
				    .pid = (uint32_t)getpid(),
				    .exe = "/bin/test" };
	char why[256];

	memset(f, 0, sizeof(*f));
	f->dir = sr_tmpdir("ring");
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	sr_assert_cmp(f->dirfd, >=, 0);
	assert_int_equal(sr_ring_create(&f->ring, f->dirfd, "r.ring", &p), 0);
	f->prod.tid = 1234;
	assert_int_equal(sr_reader_open(f->dirfd, "r.ring", 0, &f->rd, why,
					sizeof(why)),
			 0);
}

static void fx_close(struct fixture *f)
{
	sr_reader_free(f->rd);
	sr_ring_close(&f->ring);
	close(f->dirfd);
	sr_tmpdir_free(f->dir);
}

/* Writes a record of `len` payload bytes filled from `seed`. */
static bool put_rec(struct fixture *f, uint32_t len, uint32_t seed)
{
	struct sr_resv rv;
	uint8_t *p = sr_ring_reserve(&f->ring, &f->prod, len + 8, &rv);

	if (!p)
		return false;
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
	sr_ring_commit(&f->ring, &f->prod, &rv, SR_REC_SPAN, 0);
	return true;
}

struct got {
	uint32_t n;
	uint32_t lens[4096];
	bool ok;
	uint32_t seed0;
};

static int collect(void *ctx, const struct sr_record *rec)
{
	struct got *g = ctx;
	uint32_t seed = g->seed0 + g->n;

	for (uint32_t i = 0; i < rec->len; i++)
		if (rec->payload[i] != (uint8_t)(seed + i * 7))
			g->ok = false;
	g->lens[g->n++ % 4096] = rec->len;
	return 0;
}

static void ring_roundtrip_record(void **state)
{
	struct fixture f;
	struct got g = { .ok = true };

	(void)state;
	fx_open(&f, 2, 4096);
	assert_true(put_rec(&f, 100, 0));
	assert_int_equal(sr_reader_poll(f.rd, SIZE_MAX, collect, &g), 1);
	assert_true(g.ok);
	assert_int_equal(g.lens[0], 100);
	assert_int_equal(sr_reader_poll(f.rd, SIZE_MAX, collect, &g), 0);
	fx_close(&f);
}

/* Starting the lane at every 8-byte offset, records of many lengths are
 * written and consumed across several wraps: all arrive intact, in order,
 * and pads never reach the consumer. */
static void ring_wrap_every_alignment(void **state)
{
	(void)state;
	for (uint32_t shift = 0; shift < 4096 / 8; shift += 3) {
		struct fixture f;
		struct got g = { .ok = true };
		uint32_t sent = 0;

		fx_open(&f, 2, 4096);
		/* move the lane's start by shift * 8 bytes */
		for (uint32_t left = shift * 8; left > 0;) {
			uint32_t chunk = left < 512 ? left : 512;

			assert_true(put_rec(&f, chunk - 8, 0));
			left -= chunk;
			/* room for the next chunk beside the lane's reserve */
			sr_reader_poll(f.rd, SIZE_MAX, NULL, NULL);
			assert_int_equal(sr_reader_commit(f.rd), 0);
		}
		for (int round = 0; round < 60; round++) {
			uint32_t len = 1 + (uint32_t)(round * 37 + shift) % 900;

			assert_true(put_rec(&f, len, sent));
			sent++;
			if (round % 3 == 2) {
				sr_reader_poll(f.rd, SIZE_MAX, collect, &g);
				assert_int_equal(sr_reader_commit(f.rd), 0);
			}
		}
		sr_reader_poll(f.rd, SIZE_MAX, collect, &g);
		assert_true(g.ok);
		assert_int_equal(g.n, sent);
		for (uint32_t i = 0; i < sent; i++)
			assert_int_equal(g.lens[i], 1 + (i * 37 + shift) % 900);
		assert_int_equal(sr_reader_faults(f.rd), 0);
		fx_close(&f);
	}
}

static void ring_full_accounting_exact(void **state)
{
	struct fixture f;
	struct sr_ring_info *info;
	uint32_t attempted = 0, accepted = 0;

	(void)state;
	fx_open(&f, 2, 4096);
	for (int i = 0; i < 200; i++) {
		attempted++;
		accepted += put_rec(&f, 50, (uint32_t)i);
	}
	info = malloc(sr_reader_info_size(f.rd));
	assert_int_equal(sr_reader_info(f.rd, info), 0);
	sr_assert_cmp(accepted, <, attempted);
	assert_int_equal(info->written, accepted);
	assert_int_equal(info->written + info->dropped, attempted);
	assert_int_equal(info->dropped_full, attempted - accepted);
	free(info);
	fx_close(&f);
}

static void ring_oversized_dropped_and_counted(void **state)
{
	struct fixture f;
	struct sr_ring_info *info;

	(void)state;
	fx_open(&f, 2, 4096);
	/* > record_max (lane/4): the spill lane takes it */
	assert_true(put_rec(&f, 4096, 1));
	/* > the spill lane's record_max: dropped */
	assert_false(put_rec(&f, sr_ring_record_big_max(&f.ring), 1));
	assert_true(put_rec(&f, 100, 1));
	info = malloc(sr_reader_info_size(f.rd));
	assert_int_equal(sr_reader_info(f.rd, info), 0);
	assert_int_equal(info->dropped_oversize, 1);
	assert_int_equal(info->lanes[info->lane_count].dropped_oversize, 1);
	assert_int_equal(info->written, 2);
	assert_int_equal(info->lanes[info->lane_count].written, 1);
	free(info);
	fx_close(&f);
}

/* --- the codec through the ring ----------------------------------------- */

struct one {
	uint16_t type;
	uint8_t flags;
	uint32_t len;
	uint8_t payload[4096];
};

static int keep_one(void *ctx, const struct sr_record *rec)
{
	struct one *o = ctx;

	o->type = rec->type;
	o->flags = rec->flags;
	o->len = rec->len;
	memcpy(o->payload, rec->payload, rec->len);
	return 0;
}

/* Reserves `size` payload bytes (cut to the record limit as the shim
 * does), encodes with enc, commits with the length really used. */
static void put_encoded(struct fixture *f, uint16_t type, uint32_t size,
			uint32_t (*enc)(uint8_t *, uint32_t, const void *,
					bool *),
			const void *rec)
{
	uint32_t max = sr_ring_record_max(&f->ring) - 8, n;
	struct sr_resv rv;
	bool cut = false;
	uint8_t *p;

	if (size > max)
		size = max;
	p = sr_ring_reserve(&f->ring, &f->prod, size + 8, &rv);
	assert_non_null(p);
	n = enc(p, size, rec, &cut);
	sr_assert_cmp(n, >, 0);
	rv.len = n + 8;
	sr_ring_commit(&f->ring, &f->prod, &rv, type,
		       cut ? SR_RF_TRUNCATED : 0);
}

static uint32_t enc_span(uint8_t *d, uint32_t cap, const void *r, bool *t)
{
	return sr_span_encode(d, cap, r, t);
}

static uint32_t enc_trace(uint8_t *d, uint32_t cap, const void *r, bool *t)
{
	return sr_trace_encode(d, cap, r, t);
}

static uint32_t enc_process(uint8_t *d, uint32_t cap, const void *r, bool *t)
{
	return sr_process_encode(d, cap, r, t);
}

static uint32_t enc_child(uint8_t *d, uint32_t cap, const void *r, bool *t)
{
	(void)t;
	return sr_child_encode(d, cap, r);
}

static void get_one(struct fixture *f, struct one *o, uint16_t type)
{
	assert_int_equal(sr_reader_poll(f->rd, SIZE_MAX, keep_one, o), 1);
	assert_int_equal(o->type, type);
}

static void assert_str(struct sr_str s, const char *want)
{
	assert_int_equal(s.n, strlen(want));
	assert_memory_equal(s.p, want, s.n);
}

static void fill_span(struct sr_span_rec *s, const char *name, const char *data,
		      const char *err, const char *errdata)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)(i + 1);
	for (int i = 0; i < 12; i++) {
		s->span_id[i] = (uint8_t)(0x40 + i);
		s->parent_id[i] = (uint8_t)(0x80 + i);
	}
	s->start_ns = 1763724240769235000ull;
	s->end_ns = s->start_ns + 1234567;
	s->flags = SR_SF_CLIENT | SR_SF_ERROR;
	s->name = (struct sr_str){ name, (uint32_t)strlen(name) };
	s->data = (struct sr_str){ data, (uint32_t)strlen(data) };
	s->err = (struct sr_str){ err, (uint32_t)strlen(err) };
	s->errdata = (struct sr_str){ errdata, (uint32_t)strlen(errdata) };
}

static void check_span(const struct one *o, const struct sr_span_rec *want)
{
	struct sr_span_rec s;

	assert_int_equal(sr_span_decode(o->payload, o->len, &s), 0);
	assert_memory_equal(s.trace_id, want->trace_id, 16);
	assert_memory_equal(s.span_id, want->span_id, 12);
	assert_memory_equal(s.parent_id, want->parent_id, 12);
	sr_assert_cmp(s.start_ns, ==, want->start_ns);
	sr_assert_cmp(s.end_ns, ==, want->end_ns);
	assert_int_equal(s.flags, want->flags);
	assert_int_equal(s.name.n, want->name.n);
	assert_memory_equal(s.name.p, want->name.p, s.name.n);
	assert_int_equal(s.data.n, want->data.n);
	assert_memory_equal(s.data.p, want->data.p, s.data.n);
	assert_int_equal(s.err.n, want->err.n);
	assert_memory_equal(s.err.p, want->err.p, s.err.n);
	assert_int_equal(s.errdata.n, want->errdata.n);
	assert_memory_equal(s.errdata.p, want->errdata.p, s.errdata.n);
}

/* Every record type goes through encode, the ring and decode unchanged. */
static void ring_codec_roundtrip_every_type(void **state)
{
	struct fixture f;
	static struct one o;
	struct sr_process_rec p = { 41,
				    40,
				    1000,
				    1763724240000000000ull,
				    { "/usr/bin/python3", 16 } },
			      pd;
	struct sr_trace_rec t = { .ts_ns = 1763724240000000001ull,
				  .workflow = { "Agent workflow", 14 },
				  .group_id = { "group_0123456789abcdef01234567",
						30 },
				  .metadata = { "{\"a\":1}", 7 } },
			    td;
	struct sr_child_rec c = { 77, 0x0b00, 1763724240000000002ull, { 9 } },
			    cd;
	struct sr_span_rec s;
	const uint16_t span_types[] = { SR_REC_SPAN_START, SR_REC_SPAN_END,
					SR_REC_SPAN };

	(void)state;
	fx_open(&f, 2, 64 * 1024);
	put_encoded(&f, SR_REC_PROCESS, sr_process_size(&p), enc_process, &p);
	get_one(&f, &o, SR_REC_PROCESS);
	assert_int_equal(o.flags, 0);
	assert_int_equal(sr_process_decode(o.payload, o.len, &pd), 0);
	assert_int_equal(pd.pid, 41);
	assert_int_equal(pd.ppid, 40);
	assert_int_equal(pd.uid, 1000);
	sr_assert_cmp(pd.start_ns, ==, p.start_ns);
	assert_str(pd.exe, "/usr/bin/python3");

	memset(t.trace_id, 0xab, 16);
	put_encoded(&f, SR_REC_TRACE, sr_trace_size(&t), enc_trace, &t);
	get_one(&f, &o, SR_REC_TRACE);
	assert_int_equal(sr_trace_decode(o.payload, o.len, &td), 0);
	assert_memory_equal(td.trace_id, t.trace_id, 16);
	sr_assert_cmp(td.ts_ns, ==, t.ts_ns);
	assert_str(td.workflow, "Agent workflow");
	assert_str(td.group_id, "group_0123456789abcdef01234567");
	assert_str(td.metadata, "{\"a\":1}");

	for (size_t i = 0; i < 3; i++) {
		fill_span(&s, "connect", "{\"server.port\":443}",
			  "Connection refused", "{\"errno\":111}");
		s.flags |= (uint32_t)i;
		put_encoded(&f, span_types[i], sr_span_size(&s), enc_span, &s);
		get_one(&f, &o, span_types[i]);
		assert_int_equal(o.flags, 0);
		check_span(&o, &s);
	}
	/* empty strings are legal */
	fill_span(&s, "", "", "", "");
	put_encoded(&f, SR_REC_SPAN, sr_span_size(&s), enc_span, &s);
	get_one(&f, &o, SR_REC_SPAN);
	check_span(&o, &s);

	/* an absent string may be { NULL, 0 } */
	t.group_id = (struct sr_str){ NULL, 0 };
	t.metadata = (struct sr_str){ NULL, 0 };
	put_encoded(&f, SR_REC_TRACE, sr_trace_size(&t), enc_trace, &t);
	get_one(&f, &o, SR_REC_TRACE);
	assert_int_equal(sr_trace_decode(o.payload, o.len, &td), 0);
	assert_int_equal(td.group_id.n, 0);
	assert_int_equal(td.metadata.n, 0);
	assert_str(td.workflow, "Agent workflow");

	put_encoded(&f, SR_REC_CHILD_EXIT, sr_child_size(), enc_child, &c);
	get_one(&f, &o, SR_REC_CHILD_EXIT);
	assert_int_equal(sr_child_decode(o.payload, o.len, &cd), 0);
	assert_int_equal(cd.pid, 77);
	assert_int_equal(cd.status, 0x0b00);
	sr_assert_cmp(cd.ts_ns, ==, c.ts_ns);
	assert_memory_equal(cd.trace_id, c.trace_id, 16);
	assert_int_equal(sr_reader_faults(f.rd), 0);
	fx_close(&f);
}

/* A string is a prefix of want that does not end inside a UTF-8 sequence. */
static void assert_prefix(struct sr_str s, const char *want)
{
	sr_assert_ucmp(s.n, <=, strlen(want));
	assert_memory_equal(s.p, want, s.n);
	if (s.n < strlen(want))
		sr_assert_ucmp(((uint8_t)want[s.n] & 0xc0), !=, 0x80);
}

/* Records too big for the ring are cut by the codec: the flag is set, the
 * record still decodes, every string is a prefix of the original and no
 * UTF-8 sequence is split. At every capacity, for every string kind. */
static void ring_codec_cut_strings_flagged_and_decodable(void **state)
{
	static char big[3][8192];
	static struct one o;
	struct fixture f;

	(void)state;
	for (int k = 0; k < 3; k++) {
		/* "é" (2 bytes) and "€" (3 bytes) make cuts land mid-sequence */
		for (size_t i = 0; i + 3 < sizeof(big[k]) - 1; i += 5)
			memcpy(big[k] + i,
			       k == 1 ? "\xe2\x82\xac"
					"ab"
				      : "\xc3\xa9"
					"xyz",
			       5);
		big[k][sizeof(big[k]) - 1] = 0;
	}
	fx_open(&f, 2, 16 * 1024); /* record_max 4096 */
	for (uint32_t cap = 80; cap < 1200; cap += 13) {
		struct sr_span_rec s, d;
		struct sr_trace_rec t = { .workflow = { big[0], 3000 },
					  .group_id = { big[1], 100 },
					  .metadata = { big[2], 3000 } },
				    td;
		struct sr_process_rec p = { .exe = { big[1], 5000 } }, pd;
		uint8_t buf[1200];
		bool cut = false;
		uint32_t n;

		fill_span(&s, big[0], big[1], big[2], "{}");
		n = sr_span_encode(buf, cap, &s, &cut);
		assert_true(cut);
		sr_assert_ucmp(n, <=, cap);
		assert_int_equal(sr_span_decode(buf, n, &d), 0);
		assert_prefix(d.name, big[0]);
		assert_prefix(d.data, big[1]);
		assert_prefix(d.err, big[2]);

		cut = false;
		n = sr_trace_encode(buf, cap, &t, &cut);
		assert_true(cut);
		sr_assert_ucmp(n, <=, cap);
		assert_int_equal(sr_trace_decode(buf, n, &td), 0);
		assert_prefix(td.workflow, big[0]);
		assert_prefix(td.group_id, big[1]);
		assert_prefix(td.metadata, big[2]);

		cut = false;
		n = sr_process_encode(buf, cap, &p, &cut);
		assert_true(cut);
		sr_assert_ucmp(n, <=, cap);
		assert_int_equal(sr_process_decode(buf, n, &pd), 0);
		assert_prefix(pd.exe, big[1]);
	}
	/* through the ring: the record limit cuts, the flag travels */
	{
		struct sr_span_rec s, d;

		fill_span(&s, "big", big[0], "", "");
		put_encoded(&f, SR_REC_SPAN, sr_span_size(&s), enc_span, &s);
		get_one(&f, &o, SR_REC_SPAN);
		assert_int_equal(o.flags, SR_RF_TRUNCATED);
		sr_assert_ucmp(o.len, <=, sr_ring_record_max(&f.ring) - 8);
		assert_int_equal(sr_span_decode(o.payload, o.len, &d), 0);
		assert_str(d.name, "big");
		assert_prefix(d.data, big[0]);
	}
	/* an exe longer than its u16 length is cut on a character boundary */
	{
		static char huge[70001];
		static uint8_t buf[80000];
		struct sr_process_rec p = { .exe = { huge, 70000 } }, d;
		bool cut = false;
		uint32_t n;

		for (size_t i = 0; i < 70000; i += 2)
			memcpy(huge + i, "\xc3\xa9", 2);
		n = sr_process_encode(buf, sizeof(buf), &p, &cut);
		assert_true(cut);
		assert_int_equal(sr_process_decode(buf, n, &d), 0);
		assert_int_equal(d.exe.n, 65534);
		assert_prefix(d.exe, huge);
	}
	/* a fixed part that does not fit: nothing is encoded */
	{
		struct sr_span_rec s;
		uint8_t buf[64];
		bool cut = false;

		fill_span(&s, "x", "", "", "");
		assert_int_equal(sr_span_encode(buf, sizeof(buf), &s, &cut), 0);
	}
	fx_close(&f);
}

/* --- accounting ----------------------------------------------------------- */

static struct sr_ring_info *info_of(struct sr_reader *rd)
{
	struct sr_ring_info *info = malloc(sr_reader_info_size(rd));

	assert_non_null(info);
	assert_int_equal(sr_reader_info(rd, info), 0);
	return info;
}

static bool put_with(struct fixture *f, struct sr_producer *p, uint32_t len)
{
	struct sr_resv rv;
	uint8_t *d = sr_ring_reserve(&f->ring, p, len + 8, &rv);

	if (!d)
		return false;
	memset(d, 0x5a, len);
	sr_ring_commit(&f->ring, p, &rv, SR_REC_SPAN, 0);
	return true;
}

/* Several producers on their own and shared lanes fill the ring: every
 * attempt is either written or counted as dropped, lane by lane. */
static void ring_full_accounting_several_lanes(void **state)
{
	struct sr_producer p[6];
	struct sr_ring_info *info;
	uint64_t attempted = 0, accepted = 0;
	struct fixture f;

	(void)state;
	fx_open(&f, 4, 4096); /* 2 owned lanes + 2 shared */
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 6; i++)
		p[i].tid = 100 + (uint32_t)i;
	for (int round = 0; round < 300; round++)
		for (int i = 0; i < 6; i++) {
			attempted++;
			accepted += put_with(&f, &p[i],
					     40 + (uint32_t)(round % 90));
		}
	assert_int_equal(p[0].owns + p[1].owns, 2);
	for (int i = 2; i < 6; i++)
		assert_true(p[i].no_lane && !p[i].owns);
	info = info_of(f.rd);
	sr_assert_cmp(accepted, <, attempted);
	assert_int_equal(info->written, accepted);
	assert_int_equal(info->written + info->dropped, attempted);
	assert_int_equal(info->dropped_full, attempted - accepted);
	/* lane-less writers take the first free shared lane: lane 2 */
	for (uint32_t l = 0; l < 3; l++)
		sr_assert_ucmp(info->lanes[l].written, >, 0);
	free(info);
	fx_close(&f);
}

/* With every lane held mid-record, a writer without a lane drops and the
 * ring-wide no-lane counter says so; the accounting stays exact. */
static void ring_no_lane_drops_counted(void **state)
{
	struct sr_producer own[2] = { { .tid = 1 }, { .tid = 2 } },
			   shared[3] = { { .tid = 3 },
					 { .tid = 4 },
					 { .tid = 5 } };
	struct sr_resv rv[4];
	struct sr_ring_info *info;
	struct fixture f;
	struct got g = { .ok = true };

	(void)state;
	fx_open(&f, 4, 4096);
	/* owners hold lanes 0 and 1 inside a reservation */
	assert_non_null(sr_ring_reserve(&f.ring, &own[0], 64, &rv[0]));
	assert_non_null(sr_ring_reserve(&f.ring, &own[1], 64, &rv[1]));
	/* lane-less writers hold the two shared lanes */
	assert_non_null(sr_ring_reserve(&f.ring, &shared[0], 64, &rv[2]));
	assert_non_null(sr_ring_reserve(&f.ring, &shared[1], 64, &rv[3]));
	for (int i = 0; i < 5; i++)
		assert_false(put_with(&f, &shared[2], 16));
	/* a signal handler nested in an owner's write has no lane either */
	assert_false(put_with(&f, &own[0], 16));
	for (int i = 0; i < 4; i++) {
		struct sr_producer *p = i < 2 ? &own[i] : &shared[i - 2];

		sr_ring_commit(&f.ring, p, &rv[i], SR_REC_SPAN, 0);
	}
	info = info_of(f.rd);
	assert_int_equal(info->dropped_no_lane, 6);
	assert_int_equal(info->written, 4);
	assert_int_equal(info->written + info->dropped, 10);
	free(info);
	/* the lanes are free again */
	assert_true(put_with(&f, &shared[2], 16));
	assert_int_equal(sr_reader_poll(f.rd, SIZE_MAX, NULL, &g), 5);
	fx_close(&f);
}

/* A writer interrupted mid-record (a signal handler) writes on a shared
 * lane; both records arrive and the owned lane stays owned. */
static void ring_nested_write_uses_shared_lane(void **state)
{
	struct sr_resv outer, inner;
	struct fixture f;
	struct got g = { .ok = true };
	uint8_t *a, *b;

	(void)state;
	fx_open(&f, 4, 4096);
	a = sr_ring_reserve(&f.ring, &f.prod, 8 + 8, &outer);
	assert_non_null(a);
	b = sr_ring_reserve(&f.ring, &f.prod, 8 + 8, &inner);
	assert_non_null(b);
	assert_ptr_not_equal(outer.ctl, inner.ctl);
	for (uint32_t i = 0; i < 8; i++)
		b[i] = (uint8_t)(1 + i * 7); /* collect()'s pattern, 2nd */
	sr_ring_commit(&f.ring, &f.prod, &inner, SR_REC_SPAN, 0);
	for (uint32_t i = 0; i < 8; i++)
		a[i] = (uint8_t)(0 + i * 7);
	sr_ring_commit(&f.ring, &f.prod, &outer, SR_REC_SPAN, 0);
	assert_true(f.prod.owns);
	assert_false(f.prod.busy);
	/* the reader starts its rotation at lane 0, the owned one */
	g.seed0 = 0;
	assert_int_equal(sr_reader_poll(f.rd, SIZE_MAX, collect, &g), 2);
	assert_int_equal(g.n, 2);
	assert_true(g.ok);
	assert_int_equal(sr_reader_poll(f.rd, SIZE_MAX, collect, &g), 0);
	fx_close(&f);
}

/* The record limit is exact: record_max passes, one byte more, a record
 * shorter than its header and an absurd length are dropped and counted. */
static void ring_record_max_boundary(void **state)
{
	struct sr_ring_info *info;
	struct sr_resv rv;
	struct fixture f;
	uint32_t max;

	(void)state;
	fx_open(&f, 2, 16 * 1024);
	max = sr_ring_record_max(&f.ring);
	assert_int_equal(max, 4096);
	assert_true(put_rec(&f, max - 8, 3));
	/* one byte more: the spill lane, up to its own limit */
	assert_true(put_rec(&f, max - 7, 3));
	max = sr_ring_record_big_max(&f.ring);
	assert_int_equal(max, SR_RECORD_BIG_MAX);
	assert_true(put_rec(&f, max - 8, 3));
	assert_false(put_rec(&f, max - 7, 3));
	assert_null(sr_ring_reserve(&f.ring, &f.prod, 7, &rv));
	assert_null(sr_ring_reserve(&f.ring, &f.prod, UINT32_MAX, &rv));
	info = info_of(f.rd);
	assert_int_equal(info->dropped_oversize, 3);
	assert_int_equal(info->written, 3);
	assert_int_equal(info->written + info->dropped, 6);
	free(info);
	fx_close(&f);
}

SR_TEST_MAIN(cmocka_unit_test(ring_roundtrip_record),
	     cmocka_unit_test(ring_wrap_every_alignment),
	     cmocka_unit_test(ring_full_accounting_exact),
	     cmocka_unit_test(ring_oversized_dropped_and_counted),
	     cmocka_unit_test(ring_codec_roundtrip_every_type),
	     cmocka_unit_test(ring_codec_cut_strings_flagged_and_decodable),
	     cmocka_unit_test(ring_full_accounting_several_lanes),
	     cmocka_unit_test(ring_no_lane_drops_counted),
	     cmocka_unit_test(ring_nested_write_uses_shared_lane),
	     cmocka_unit_test(ring_record_max_boundary))
