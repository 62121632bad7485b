/* SPDX-License-Identifier: MIT */
/*
 * encode.h - records to the exact JSON items of WIRE.md §1: keys in
 * order, compact, "trace_"/"span_" ids, ISO timestamps. Every JSON text
 * that came from a ring is untrusted: it is parsed with cJSON (must be an
 * object), re-emitted compact, with invalid UTF-8 repaired; NaN and
 * Infinity cannot pass (cJSON refuses them on input).
 */
#ifndef SR_SD_ENCODE_H
#define SR_SD_ENCODE_H

#include <stddef.h>

#include "common/record.h"

/*
 * Trace object of a TRACE record. Returns 0 and a malloc'd NUL-terminated
 * text in *out (*len bytes), -EBADMSG when a field is invalid (zero id,
 * metadata not a JSON object), or -ENOMEM.
 */
int sr_encode_trace(const struct sr_trace_rec *t, char **out, size_t *len)
    __attribute__((warn_unused_result));

/*
 * Span object of a complete span `s` (start_ns, end_ns, flags, name,
 * data, err, errdata all used). `extra` is a JSON object text whose
 * members are merged into the custom span's `data` (a SPAN_END's data),
 * or empty. An error is emitted when err is non-empty or SR_SF_ERROR is
 * set. Same returns as sr_encode_trace().
 */
int sr_encode_span(const struct sr_span_rec *s, struct sr_str extra, char **out,
		   size_t *len) __attribute__((warn_unused_result));

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
