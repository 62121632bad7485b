/* SPDX-License-Identifier: MIT */
/*
 * tree.h - the trace tree of `spanring run`: reads the items a spanringd
 * exporter wrote (WIRE.md trace and span objects, one per line, as the
 * file exporter writes them, or the console exporter's lines), links the
 * spans by parent id and renders them as an indented tree with start
 * offsets, durations, a one-line summary per span, exit codes and errors.
 *
 * Every line is untrusted: malformed lines are skipped and counted, text is
 * cleaned of control characters before it reaches a terminal, duplicate
 * span ids (at-least-once delivery) are shown once, spans whose parent is
 * missing hang under their trace, parent cycles are broken.
 */
#ifndef SR_RUN_TREE_H
#define SR_RUN_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sr_tree;

struct sr_tree_opts {
	unsigned width;        /* columns per line; 0: no limit */
	unsigned max_depth;    /* span levels shown; deeper ones fold into
				* one "… N more" line (0: SR_TREE_DEPTH) */
	unsigned max_children; /* children shown per span; the rest fold
				* (0: SR_TREE_CHILDREN) */
	bool color;            /* ANSI colours */
};

/* A new, empty tree. NULL + errno (ENOMEM). */
struct sr_tree *sr_tree_new(void);

/* Frees the tree; NULL is a no-op. */
void sr_tree_free(struct sr_tree *t);

/*
 * Adds one line: a trace object, a span object, or a console exporter line
 * ("[Exporter] Export span: {…}" / "[Exporter] Export trace_id=…, name=…").
 * Blank lines are ignored. Returns 0; -EINVAL if the line is not an item
 * (counted in sr_tree_malformed()); -E2BIG past SR_TREE_MAX_SPANS spans
 * (counted in sr_tree_dropped()); -ENOMEM. Not thread-safe.
 */
int sr_tree_add_line(struct sr_tree *t, const char *line, size_t len);

/* Adds every line of f (lines longer than SR_TREE_LINE_MAX are counted as
 * malformed). 0 or -errno of a read error / -ENOMEM. */
int sr_tree_load(struct sr_tree *t, FILE *f);

/* Spans held (duplicates included), lines refused, spans over the cap. */
size_t sr_tree_spans(const struct sr_tree *t);
size_t sr_tree_malformed(const struct sr_tree *t);
size_t sr_tree_dropped(const struct sr_tree *t);

/*
 * Writes the tree to out: per trace one header line, then its spans,
 * children ordered by start time. Offsets are from the earliest span of
 * all traces. Links the spans on first call (later sr_tree_add_line()
 * calls are refused with -EBUSY). 0, -ENOMEM or -EIO (write error).
 */
int sr_tree_render(struct sr_tree *t, FILE *out, const struct sr_tree_opts *o);

/* ns since the epoch of a WIRE.md time ("2026-11-21T11:24:00.769235+00:00";
 * also "Z" or another offset, fewer digits); 0 if it is not one. */
uint64_t sr_tree_parse_time(const char *s);

/* Formats a duration in ns into out ("812µs", "12.3ms", "1.52s",
 * "2m03s"). Returns out. */
char *sr_tree_fmt_dur(char out[16], unsigned long long ns);

#endif /* SR_RUN_TREE_H */
