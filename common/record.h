/* SPDX-License-Identifier: MIT */
/*
 * record.h - the records the shim writes and the sidecar reads.
 *
 * Payload layouts are little-endian, fixed part first, then the strings
 * back to back (lengths in the fixed part, no NULs): record_layout.h
 * defines the bytes. Decoding checks every length against the payload;
 * strings come back as pointers into the payload, not NUL-terminated, and
 * are still untrusted text (the sidecar validates JSON and UTF-8).
 */
#ifndef SR_RECORD_H
#define SR_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Record types (struct sr_rec_hdr.type). */
enum sr_rec_type {
	SR_REC_PROCESS = 1,    /* identity of the ring's owner image */
	SR_REC_TRACE = 2,      /* a trace starts (exported once) */
	SR_REC_SPAN_START = 3, /* a span opens; closed by SPAN_END or orphaned */
	SR_REC_SPAN_END = 4,   /* a span opened by SPAN_START ends */
	SR_REC_SPAN = 5,       /* a complete span (start and end) */
	SR_REC_CHILD_EXIT = 6, /* a traced parent reaped a child */
	SR_REC_TYPE_MAX = 6,
};

/* Span flags (struct sr_span_rec.flags). */
#define SR_SF_SPAN_DATA \
	0x01u               /* data is a whole span_data object (C API);
				 otherwise data is the `data` object of a
				 custom span called `name` */
#define SR_SF_PROCESS 0x02u /* the process span of the ring's owner */
#define SR_SF_EXEC \
	0x04u              /* an exec: if the image is replaced, the span
				 ends then, without error */
#define SR_SF_CLIENT 0x08u /* outbound call (connect, DNS): OTLP client */
#define SR_SF_ERROR 0x10u  /* err holds the error message */
#define SR_SF_ROOT 0x20u   /* parent_id is empty: directly under trace */
#define SR_SF_CUT \
	0x40u /* the writer cut a string to its limit (at a
				 UTF-8 boundary): the record is committed
				 with SR_RF_TRUNCATED */

/* A string slice: not NUL-terminated. */
struct sr_str {
	const char *p;
	uint32_t n;
};

/* SR_REC_SPAN_START, SR_REC_SPAN_END and SR_REC_SPAN. */
struct sr_span_rec {
	uint8_t trace_id[16];
	uint8_t span_id[12];
	uint8_t parent_id[12]; /* all zero: directly under the trace */
	uint64_t start_ns;     /* CLOCK_REALTIME ns; 0 in SPAN_END */
	uint64_t end_ns;       /* 0 in SPAN_START */
	uint32_t flags;        /* SR_SF_* */
	struct sr_str name;    /* custom span name (shim spans) */
	struct sr_str data;    /* JSON object text, see SR_SF_SPAN_DATA; in
				    SPAN_END: members to add to `data` */
	struct sr_str err;     /* error message, or empty */
	struct sr_str errdata; /* error data JSON object, or empty */
};

/* SR_REC_TRACE. */
struct sr_trace_rec {
	uint8_t trace_id[16];
	uint64_t ts_ns;
	struct sr_str workflow; /* workflow_name */
	struct sr_str group_id; /* empty: null */
	struct sr_str metadata; /* JSON object text; empty: null */
	bool cut;               /* the writer cut a string to its limit (not
				    encoded: the record gets SR_RF_TRUNCATED) */
};

/* SR_REC_PROCESS. */
struct sr_process_rec {
	uint32_t pid, ppid, uid;
	uint64_t start_ns;
	struct sr_str exe;
};

/* SR_REC_CHILD_EXIT: `status` as returned by waitpid. */
struct sr_child_rec {
	uint32_t pid;
	int32_t status;
	uint64_t ts_ns;
	uint8_t trace_id[16];
};

/* Payload bytes an encoding needs (before any cut). */
uint32_t sr_span_size(const struct sr_span_rec *s);
uint32_t sr_trace_size(const struct sr_trace_rec *t);
uint32_t sr_process_size(const struct sr_process_rec *p);
uint32_t sr_child_size(void);

/*
 * Encode into dst (cap bytes, the payload area of a reservation). When the
 * strings do not fit they are cut, longest last-first, and *truncated is
 * set; the result always decodes. Return the payload bytes written, or 0
 * if even the fixed part does not fit. Async-signal-safe, no allocation.
 */
uint32_t sr_span_encode(uint8_t *dst, uint32_t cap, const struct sr_span_rec *s,
			bool *truncated);
uint32_t sr_trace_encode(uint8_t *dst, uint32_t cap,
			 const struct sr_trace_rec *t, bool *truncated);
uint32_t sr_process_encode(uint8_t *dst, uint32_t cap,
			   const struct sr_process_rec *p, bool *truncated);
uint32_t sr_child_encode(uint8_t *dst, uint32_t cap,
			 const struct sr_child_rec *c);

/* Decode a payload of `len` bytes. 0, or -EBADMSG when any length or
 * field is inconsistent with the payload. Strings point into src. */
int sr_span_decode(const uint8_t *src, uint32_t len, struct sr_span_rec *s)
	__attribute__((warn_unused_result));
int sr_trace_decode(const uint8_t *src, uint32_t len, struct sr_trace_rec *t)
	__attribute__((warn_unused_result));
int sr_process_decode(const uint8_t *src, uint32_t len,
		      struct sr_process_rec *p)
	__attribute__((warn_unused_result));
int sr_child_decode(const uint8_t *src, uint32_t len, struct sr_child_rec *c)
	__attribute__((warn_unused_result));

/* Length of the longest prefix of s[0..n) of at most max bytes that ends
 * at a UTF-8 character boundary (n itself when n <= max). Looks at the
 * bytes only (no validation); async-signal-safe. */
static inline uint32_t sr_utf8_prefix(const char *s, size_t n, size_t max)
{
	size_t k = n;

	if (k <= max)
		return (uint32_t)k;
	k = max;
	while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
		k--;
	return (uint32_t)k;
}

/* Where a payload of `type` and `len` bytes keeps its time fields (u64,
 * CLOCK_REALTIME ns or a tagged TSC stamp, clock.h): their byte offsets
 * into off[], at most SR_REC_STAMPS_MAX; returns how many (0 for an
 * unknown type or a payload shorter than its fixed part). Lets a
 * consumer convert stamps without decoding the record. */
#define SR_REC_STAMPS_MAX 2
unsigned sr_rec_stamps(uint16_t type, uint32_t len,
		       uint32_t off[SR_REC_STAMPS_MAX]);

/* Name of a record type for tools ("span", "trace", ...), "?" if unknown. */
const char *sr_rec_type_name(uint16_t type);

#endif /* SR_RECORD_H */
