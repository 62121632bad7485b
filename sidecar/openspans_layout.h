/* SPDX-License-Identifier: MIT */
/*
 * openspans_layout.h - the bytes of an open-span file ("open-<ring name>"
 * in the spool directory, openspans.c). Fixed-width types only,
 * little-endian (x86-64 and aarch64); the entry header is packed (its
 * u64 follows a u32, as first written). openspans.c reads and writes the
 * files through these definitions and nothing else; sidecar/README.md
 * ("Open-span files") has the tables, checked against this header by
 * tests/unit/test_layout.c.
 *
 *   header | entry header | SPAN_START payload | entry header | ...
 *
 * The entries in order of arrival (the orphan rule needs it); the payload
 * is a SPAN_START record's (common/record_layout.h). The files outlive
 * the sidecar that wrote them: a change to a struct takes a new magic,
 * and a file with another magic is refused (-EBADMSG: its ring's open
 * spans are forgotten, with a log line).
 */
#ifndef SR_SD_OPENSPANS_LAYOUT_H
#define SR_SD_OPENSPANS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "open-span files are little-endian, written as the CPU stores "
	       "them");

#define SR_OPEN_MAGIC "SROPEN1\n" /* 8 bytes, no NUL */

/* An open-span file starts with this. */
struct sr_open_header {
	char magic[8]; /* SR_OPEN_MAGIC */
};

/* Each entry: this, then `len` bytes of SPAN_START payload. Untrusted
 * when read back: an entry whose payload does not decode is skipped, a
 * length beyond the file ends it. */
struct __attribute__((packed)) sr_open_entry_header {
	uint32_t len; /* payload bytes that follow */
	uint64_t seq; /* order of arrival in its ring */
};

_Static_assert(sizeof(struct sr_open_header) == 8, "open-span file header");
_Static_assert(offsetof(struct sr_open_header, magic) == 0, "magic");

_Static_assert(sizeof(struct sr_open_entry_header) == 12, "entry header");
_Static_assert(offsetof(struct sr_open_entry_header, len) == 0, "len");
_Static_assert(offsetof(struct sr_open_entry_header, seq) == 4, "seq");

#endif /* SR_SD_OPENSPANS_LAYOUT_H */
