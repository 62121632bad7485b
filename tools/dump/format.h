/* SPDX-License-Identifier: MIT */
/*
 * format.h - one ring record as text: a JSON object (one line) or a
 * readable table line. Payloads are untrusted: every field is decoded with
 * the common codec, strings are escaped, and an undecodable payload is
 * reported, never trusted.
 */
#ifndef SR_DUMP_FORMAT_H
#define SR_DUMP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/reader.h"

enum sr_dump_fmt {
	SR_DUMP_TABLE, /* one readable line per record */
	SR_DUMP_JSON,  /* one JSON object per line */
};

/*
 * Formats `rec` from ring `ring` (a label, may be NULL). Returns a
 * malloc'd NUL-terminated line without newline, or NULL with errno ENOMEM.
 * *bad is set when the payload does not decode as its type says (the line
 * then says so). The caller frees the line.
 */
char *sr_dump_format(const struct sr_record *rec, const char *ring,
		     enum sr_dump_fmt fmt, bool *bad);

/* Header line of the table format (no newline). */
const char *sr_dump_table_header(void);

#endif /* SR_DUMP_FORMAT_H */
