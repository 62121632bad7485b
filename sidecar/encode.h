/* SPDX-License-Identifier: MIT */
/*
 * encode.h - records to the exact JSON items of WIRE.md §1: keys in
 * order, compact, "trace_"/"span_" ids, ISO timestamps. Every JSON text
 * that came from a ring is untrusted and copied exactly, repaired where
 * JSON cannot carry it (common/jsonfix.h: invalid UTF-8, NaN, Infinity,
 * nesting): never re-serialised. What cannot be an item as it is is
 * repaired, flagged in stats, and still sent (sidecar/README.md,
 * "Repairs"): a text that is not JSON is kept as {"text": "..."}, a
 * span_data without a known "type" becomes a custom span holding it, an
 * end before the start becomes the start. Only a zero id is refused.
 */
#ifndef SR_SD_ENCODE_H
#define SR_SD_ENCODE_H

#include <stddef.h>

#include "common/record.h"

/* The encoder writes each item into a buffer of the calling thread,
 * reused from item to item (no allocation per item); one grown beyond
 * SR_ENCODE_KEEP (common/limits.h) for a large item is given back at the
 * next smaller one. */

/*
 * Trace object of a TRACE record. Returns 0 and a NUL-terminated text in
 * *out (*len bytes), owned by this thread's encoder and valid until its
 * next sr_encode_* call; -EBADMSG for a zero trace id, or -ENOMEM.
 */
int sr_encode_trace(const struct sr_trace_rec *t, const char **out, size_t *len)
	__attribute__((warn_unused_result));

/*
 * Span object of a complete span `s` (start_ns, end_ns, flags, name,
 * data, err, errdata all used). `extra` is a JSON object text whose
 * members are merged into the custom span's `data` (a SPAN_END's data),
 * or empty. An error is emitted when err is non-empty or SR_SF_ERROR is
 * set (an empty message stays ""). Returns 0 and the text as
 * sr_encode_trace() does, -EBADMSG for a zero trace or span id, or
 * -ENOMEM.
 */
int sr_encode_span(const struct sr_span_rec *s, struct sr_str extra,
		   const char **out, size_t *len)
	__attribute__((warn_unused_result));

/*
 * Sets the identity members (JSON object members without braces, as
 * sr_identity_members() writes them) that the following calls of this
 * thread add to a trace's metadata (an object is made of a null one) and
 * to the data of custom spans; empty: none. Not added where the object
 * already has the first member's key (the caller chose its own). The
 * text is not copied: it must stay valid while it is set.
 */
void sr_encode_identity(struct sr_str members);

#endif /* SR_SD_ENCODE_H */
