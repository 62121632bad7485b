/* SPDX-License-Identifier: MIT */
/*
 * fuzz_reader - arbitrary bytes as a ring file: open, info, check, poll.
 *
 * Input byte 0 chooses the mode: even, the bytes are the whole file; odd,
 * a valid header (2 lanes of 4 KiB) is written first and the rest of the
 * input fills the lane controls and data, so the fuzzer spends its time
 * in the position and record checks rather than on the magic; with bit 1
 * also set that header is a TSC ring's (SR_CLOCK_TSC), so records' tagged
 * stamps and anchors go through the conversion; with bit 2 set it is of
 * layout version 3 (the lane controls after a whole page), else of this
 * build's.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/limits.h"
#include "common/reader.h"

#define LANE 4096u
#define SPILL SR_RING_MIN_SPILL_SIZE
/* the larger file: version 3's, whose data starts a page later */
#define FILE_BYTES (8192u + 2 * LANE + SPILL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char ring_path[] = "/tmp/spanring-fuzz-reader-XXXXXX";

static void remove_ring(void)
{
	unlink(ring_path);
}

/* One file for every input, opened by path (the reader refuses to follow
 * a /proc/self/fd link), removed at exit. */
static int ring_file(void)
{
	static int fd = -1;

	if (fd < 0) {
		fd = mkstemp(ring_path);
		if (fd < 0)
			abort();
		atexit(remove_ring);
	}
	return fd;
}

static void valid_header(struct sr_ring_header *h, uint32_t version)
{
	memset(h, 0, sizeof(*h));
	h->magic = SR_RING_MAGIC;
	h->version = version;
	h->lane_count = 2;
	h->lane_size = LANE;
	h->lane_ctl_size = sizeof(struct sr_lane_ctl);
	h->record_max = LANE / 4;
	h->spill_size = SPILL;
	h->spill_record_max = SPILL / 2;
	h->lanes_offset = sr_ring_lanes_offset_v(version, 2);
	h->header_size = (uint32_t)h->lanes_offset;
	h->data_offset = sr_ring_data_offset_v(version, 2);
	h->file_size = sr_ring_file_size_v(version, 2, LANE, SPILL);
}

static int count(void *ctx, const struct sr_record *rec)
{
	uint8_t x = 0;

	/* touch every payload byte: the reader promised they are ours */
	for (uint32_t i = 0; i < rec->len; i++)
		x ^= rec->payload[i];
	*(uint64_t *)ctx += x + 1u;
	return 0;
}

static void exercise(int fd)
{
	struct sr_reader *rd;
	struct sr_ring_info *info;
	char why[256];
	uint64_t n = 0;

	(void)fd;
	if (sr_reader_open(AT_FDCWD, ring_path, 0, &rd, why, sizeof(why)))
		return;
	info = malloc(sr_reader_info_size(rd));
	if (info && sr_reader_info(rd, info) == 0 && info->max_fill > 1.0)
		abort(); /* fill is reported within 0..1 whatever the ring says */
	free(info);
	(void)sr_reader_owner_alive(rd);
	(void)sr_reader_check(rd, NULL, NULL);
	for (int i = 0; i < 4 && sr_reader_poll(rd, SIZE_MAX, count, &n) > 0;
	     i++)
		;
	sr_reader_rewind(rd);
	(void)sr_reader_poll(rd, 512, count, &n);
	(void)sr_reader_commit(rd);
	sr_reader_free(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t file[FILE_BYTES];
	int fd = ring_file();

	if (ftruncate(fd, 0))
		abort();
	if (size > 0 && (data[0] & 1)) {
		uint32_t version = data[0] & 4 ? 3 : SR_RING_VERSION;
		size_t at = sr_ring_lanes_offset_v(version, 2);
		size_t rest = size - 1 < FILE_BYTES - at ? size - 1
							 : FILE_BYTES - at;

		memset(file, 0, sizeof(file));
		valid_header((struct sr_ring_header *)file, version);
		if (data[0] & 2) {
			struct sr_ring_header *h = (void *)file;

			h->clock = SR_CLOCK_TSC;
			h->anchor_tsc = 1000000;
			h->anchor_ns = 1700000000000000000ull;
		}
		memcpy(file + at, data + 1, rest);
		if (pwrite(fd, file, sizeof(file), 0) != (ssize_t)sizeof(file))
			abort();
	} else if (size > 1 &&
		   pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1)) {
		abort();
	}
	exercise(fd);
	return 0;
}
