/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the sidecar's counters file (<dir>/.spanringd.stats.json, one
 * JSON object rewritten atomically by spanringd) as `name value` lines.
 */
#ifndef SR_DUMP_STATS_H
#define SR_DUMP_STATS_H

#include <stddef.h>
#include <stdio.h>

#include "common/limits.h"

#define SR_DUMP_STATS_FILE ".spanringd.stats.json"

/*
 * Prints every member of the JSON object text[0..n) as `name value`,
 * nested objects and arrays flattened with dots ("export.batches 3",
 * "lanes.0 7"). Returns 0, or EX_DATAERR when the text is not a JSON
 * object (nothing printed then).
 */
int sr_dump_stats_text(const char *text, size_t n, FILE *out);

/* Reads and prints the stats file at path. 0, 1 with a clear message
 * when no stats file exists, EX_DATAERR when it is not one. */
int sr_dump_stats_file(const char *path, FILE *out);

#endif /* SR_DUMP_STATS_H */
