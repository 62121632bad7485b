/* SPDX-License-Identifier: MIT */
/*
 * ingest.h - the ingest rules of the OpenAI traces endpoint (WIRE.md
 * section 2), applied by the openai exporter to each item as it builds a
 * request body, the way the Agents SDKs apply them before they send: the
 * spool, the ring and the other exporters keep the items whole.
 *
 *  - span_data.input and span_data.output over SR_INGEST_FIELD_MAX bytes
 *    of compact JSON are cut as the JavaScript SDK's exporter cuts them: a
 *    string keeps its longest prefix that fits with "... [truncated]"
 *    appended; an object or array shrinks its largest member to the budget
 *    the others leave it (a member that cannot shrink - a number, true,
 *    false, null, or too small a budget - is removed) until it fits.
 *    Sizes are the bytes of the text as it is sent. A string is cut
 *    between characters and never inside an escape.
 *  - generation usage: input_tokens and output_tokens (numbers) stay; every
 *    other member moves under usage.details (after the members of an
 *    existing details object, replacing same-named ones); a usage without
 *    both counts, or not an object, is removed. Any other span type loses
 *    a span_data.usage member (the Python SDK does so for this endpoint).
 *
 * Values not touched by a rule are copied byte for byte.
 */
#ifndef SR_SD_INGEST_H
#define SR_SD_INGEST_H

#include <stddef.h>

#include "common/limits.h"

/* The suffix of a cut string. */
#define SR_INGEST_CUT_SUFFIX "... [truncated]"

/*
 * Applies the rules to one item (a compact trace or span object text of n
 * bytes). Returns 1 with a malloc'd text in *out (*len bytes, also
 * NUL-terminated) when a rule changed it, 0 when it goes as it is (also
 * when it is not an object the rules can read), or -ENOMEM.
 * Thread-safe (no shared state).
 */
int sr_ingest_item(const char *item, size_t n, char **out, size_t *len)
	__attribute__((warn_unused_result));

#endif /* SR_SD_INGEST_H */
