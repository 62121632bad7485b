/* SPDX-License-Identifier: MIT */
/*
 * spool_layout.h - the bytes of the spool's files (spool.c): segments
 * ("seg-<16 hex seq>-<items>.spool") and destination cursors
 * ("cursor-<name>"). Fixed-width types only, little-endian (x86-64 and
 * aarch64), naturally aligned with no implicit padding (the
 * _Static_asserts below name every offset). spool.c reads and writes
 * these files through these definitions and nothing else;
 * sidecar/README.md ("Spool format") has the tables, checked against this
 * header by tests/unit/test_layout.c.
 *
 * Segments outlive the sidecar that wrote them (a restart, an upgrade
 * reads them): a change to a struct takes a new magic, and the reader
 * keeps reading the old one or refuses it (sr_segment_index: "not a
 * spool segment").
 *
 *   segment: header | frame header | compressed batch | frame header | ...
 *   cursor:  struct sr_cursor_file, rewritten in place
 */
#ifndef SR_SD_SPOOL_LAYOUT_H
#define SR_SD_SPOOL_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "spool files are little-endian, written as the CPU stores them");

#define SR_SEG_MAGIC "SRSPOOL1" /* 8 bytes, no NUL */

/* A segment starts with this. */
struct sr_seg_header {
	char magic[8];    /* SR_SEG_MAGIC */
	uint32_t batches; /* frames written; 0: count the frames found */
	uint32_t done;    /* batches every destination delivered:
			     rewritten in place, without fsync */
};

/* Each batch: this, then `bytes` compressed bytes. */
struct sr_seg_frame {
	uint32_t bytes; /* compressed bytes that follow, at least 1 */
	uint32_t items; /* JSON lines of the batch */
	uint32_t codec; /* enum sr_codec (common/codec.h) */
};

#define SR_CURSOR_MAGIC "SRCURSR1" /* 8 bytes, no NUL */

/* A destination's cursor file: exactly this, rewritten in place without
 * fsync after every batch. Missing, short or damaged: the destination
 * starts at the oldest segment. */
struct sr_cursor_file {
	char magic[8];  /* SR_CURSOR_MAGIC */
	uint64_t seq;   /* segment the destination is in */
	uint32_t done;  /* batches of it delivered */
	uint32_t check; /* sr_cursor_check(seq, done) */
};

/* The check word of a cursor: a torn or stray write does not pass. */
static inline uint32_t sr_cursor_check(uint64_t seq, uint32_t done)
{
	return (uint32_t)(seq ^ (seq >> 32)) ^ done ^ 0x5a17c0deu;
}

_Static_assert(sizeof(struct sr_seg_header) == 16, "segment header");
_Static_assert(offsetof(struct sr_seg_header, magic) == 0, "magic");
_Static_assert(offsetof(struct sr_seg_header, batches) == 8, "batches");
_Static_assert(offsetof(struct sr_seg_header, done) == 12, "done");

_Static_assert(sizeof(struct sr_seg_frame) == 12, "frame header");
_Static_assert(offsetof(struct sr_seg_frame, bytes) == 0, "bytes");
_Static_assert(offsetof(struct sr_seg_frame, items) == 4, "items");
_Static_assert(offsetof(struct sr_seg_frame, codec) == 8, "codec");

_Static_assert(sizeof(struct sr_cursor_file) == 24, "cursor file");
_Static_assert(offsetof(struct sr_cursor_file, magic) == 0, "magic");
_Static_assert(offsetof(struct sr_cursor_file, seq) == 8, "seq");
_Static_assert(offsetof(struct sr_cursor_file, done) == 16, "done");
_Static_assert(offsetof(struct sr_cursor_file, check) == 20, "check");

#endif /* SR_SD_SPOOL_LAYOUT_H */
