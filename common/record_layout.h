/* SPDX-License-Identifier: MIT */
/*
 * record_layout.h - the bytes of each record payload (what follows the
 * 8-byte struct sr_rec_hdr of ring_layout.h). Fixed-width types only,
 * little-endian (x86-64/aarch64), naturally aligned with no implicit
 * padding (the _Static_asserts below name every offset).
 *
 *   +-------------------------+----------+----------+-----+
 *   | fixed part (struct)     | string 0 | string 1 | ... |
 *   +-------------------------+----------+----------+-----+
 *
 * A payload is its type's fixed part, then the strings back to back, no
 * NULs, in the order of the fixed part's len[] array (indexed by the
 * type's enum below); the payload ends where the last string does. Pad
 * fields are written as zero and not read. record.c encodes and decodes
 * through these definitions and nothing else; common/README.md
 * ("Record payloads") has the tables, checked against this header by
 * tests/unit/test_layout.c.
 *
 * Records travel in rings: any change here bumps SR_RING_VERSION.
 */
#ifndef SR_RECORD_LAYOUT_H
#define SR_RECORD_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "payloads are little-endian, written as the CPU stores them");

/* The strings of SPAN_START, SPAN_END and SPAN, in payload order. */
enum sr_span_str {
	SR_SPAN_STR_NAME,    /* custom span name */
	SR_SPAN_STR_DATA,    /* JSON object text */
	SR_SPAN_STR_ERR,     /* error message */
	SR_SPAN_STR_ERRDATA, /* error data JSON object */
	SR_SPAN_STRS
};

/* SR_REC_SPAN_START, SR_REC_SPAN_END, SR_REC_SPAN: 80 bytes. */
struct sr_span_fixed {
	uint8_t trace_id[16];
	uint8_t span_id[12];
	uint8_t parent_id[12];      /* all zero: directly under the trace */
	uint64_t start_ns;          /* CLOCK_REALTIME ns; 0 in SPAN_END */
	uint64_t end_ns;            /* 0 in SPAN_START */
	uint32_t flags;             /* SR_SF_* (record.h) */
	uint32_t len[SR_SPAN_STRS]; /* string bytes, by enum sr_span_str */
	uint32_t pad;               /* zero */
};

/* The strings of TRACE, in payload order. */
enum sr_trace_str {
	SR_TRACE_STR_WORKFLOW, /* workflow_name */
	SR_TRACE_STR_GROUP_ID, /* empty: null */
	SR_TRACE_STR_METADATA, /* JSON object text; empty: null */
	SR_TRACE_STRS
};

/* SR_REC_TRACE: 40 bytes. */
struct sr_trace_fixed {
	uint8_t trace_id[16];
	uint64_t ts_ns;              /* CLOCK_REALTIME ns */
	uint32_t len[SR_TRACE_STRS]; /* string bytes, by enum sr_trace_str */
	uint32_t pad;                /* zero */
};

/* SR_REC_PROCESS: 32 bytes, then the executable path. Its length is a
 * u16: a longer path is cut to SR_PROCESS_EXE_MAX bytes. */
struct sr_process_fixed {
	uint32_t pid; /* in the owner's pid namespace */
	uint32_t ppid;
	uint32_t uid;
	uint32_t pad0;     /* zero */
	uint64_t start_ns; /* CLOCK_REALTIME ns */
	uint16_t exe_len;  /* bytes of the executable path */
	uint8_t pad1[6];   /* zero */
};

#define SR_PROCESS_EXE_MAX 0xffffu /* largest exe_len */

/* SR_REC_CHILD_EXIT: 32 bytes, no strings; the payload is exactly this. */
struct sr_child_fixed {
	uint32_t pid;         /* the child reaped */
	int32_t status;       /* as returned by waitpid */
	uint64_t ts_ns;       /* CLOCK_REALTIME ns */
	uint8_t trace_id[16]; /* the parent's trace */
};

_Static_assert(sizeof(struct sr_span_fixed) == 80, "span fixed part");
_Static_assert(offsetof(struct sr_span_fixed, trace_id) == 0, "trace_id");
_Static_assert(offsetof(struct sr_span_fixed, span_id) == 16, "span_id");
_Static_assert(offsetof(struct sr_span_fixed, parent_id) == 28, "parent_id");
_Static_assert(offsetof(struct sr_span_fixed, start_ns) == 40, "start_ns");
_Static_assert(offsetof(struct sr_span_fixed, end_ns) == 48, "end_ns");
_Static_assert(offsetof(struct sr_span_fixed, flags) == 56, "flags");
_Static_assert(offsetof(struct sr_span_fixed, len) == 60, "span len[]");
_Static_assert(offsetof(struct sr_span_fixed, pad) == 76, "span pad");

_Static_assert(sizeof(struct sr_trace_fixed) == 40, "trace fixed part");
_Static_assert(offsetof(struct sr_trace_fixed, trace_id) == 0, "trace_id");
_Static_assert(offsetof(struct sr_trace_fixed, ts_ns) == 16, "ts_ns");
_Static_assert(offsetof(struct sr_trace_fixed, len) == 24, "trace len[]");
_Static_assert(offsetof(struct sr_trace_fixed, pad) == 36, "trace pad");

_Static_assert(sizeof(struct sr_process_fixed) == 32, "process fixed part");
_Static_assert(offsetof(struct sr_process_fixed, pid) == 0, "pid");
_Static_assert(offsetof(struct sr_process_fixed, ppid) == 4, "ppid");
_Static_assert(offsetof(struct sr_process_fixed, uid) == 8, "uid");
_Static_assert(offsetof(struct sr_process_fixed, pad0) == 12, "pad0");
_Static_assert(offsetof(struct sr_process_fixed, start_ns) == 16, "start");
_Static_assert(offsetof(struct sr_process_fixed, exe_len) == 24, "exe_len");
_Static_assert(offsetof(struct sr_process_fixed, pad1) == 26, "pad1");

_Static_assert(sizeof(struct sr_child_fixed) == 32, "child exit payload");
_Static_assert(offsetof(struct sr_child_fixed, pid) == 0, "pid");
_Static_assert(offsetof(struct sr_child_fixed, status) == 4, "status");
_Static_assert(offsetof(struct sr_child_fixed, ts_ns) == 8, "ts_ns");
_Static_assert(offsetof(struct sr_child_fixed, trace_id) == 16, "trace_id");

#endif /* SR_RECORD_LAYOUT_H */
