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
	struct sr_ring_params p = { .lanes = lanes, .lane_size = lane_size,
				    .pid = (uint32_t)getpid(), .exe = "/bin/test" };
	char why[256];

	memset(f, 0, sizeof(*f));
	f->dir = sr_tmpdir("ring");
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY);
	assert_true(f->dirfd >= 0);
	assert_int_equal(sr_ring_create(&f->ring, f->dirfd, "r.ring", &p), 0);
	f->prod.tid = 1234;
	assert_int_equal(sr_reader_open(f->dirfd, "r.ring", 0, &f->rd, why,
					sizeof(why)), 0);
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
		}
		sr_reader_poll(f.rd, SIZE_MAX, NULL, NULL);
		assert_int_equal(sr_reader_commit(f.rd), 0);
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
	assert_true(accepted < attempted);
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
	assert_false(put_rec(&f, 4096, 1)); /* > record_max (lane/4) */
	assert_true(put_rec(&f, 100, 1));
	info = malloc(sr_reader_info_size(f.rd));
	assert_int_equal(sr_reader_info(f.rd, info), 0);
	assert_int_equal(info->dropped_oversize, 1);
	assert_int_equal(info->written, 1);
	free(info);
	fx_close(&f);
}

SR_TEST_MAIN(cmocka_unit_test(ring_roundtrip_record),
	     cmocka_unit_test(ring_wrap_every_alignment),
	     cmocka_unit_test(ring_full_accounting_exact),
	     cmocka_unit_test(ring_oversized_dropped_and_counted))
