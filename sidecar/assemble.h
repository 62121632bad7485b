/* SPDX-License-Identifier: MIT */
/*
 * assemble.h - records to WIRE.md items, by the assembly rules of
 * common/README.md: a TRACE record gives a trace object (once per trace
 * id, through a bounded set), a SPAN a span object at once, a SPAN_START
 * is held until its SPAN_END (a whole SPAN_END, flag SPAN_DATA, replaces
 * the start's span_data and is emitted even without its start); when a
 * ring's owner is gone its open spans are closed (orphans). Every record is validated on its own.
 *
 * The open spans of a ring survive a sidecar restart: openspans.h saves
 * them to a small file before the ring is committed past them.
 * Used by one thread.
 */
#ifndef SR_SD_ASSEMBLE_H
#define SR_SD_ASSEMBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "common/reader.h"

struct sr_asm;
struct sr_asm_ring;

/* An item: a WIRE.md trace or span object. */
struct sr_item {
	char *json; /* malloc'd, owned by the receiver */
	size_t len;
	uint64_t ts_ns;       /* when it happened (span end, trace start;
				 CLOCK_REALTIME ns) */
	bool trace;           /* a trace object, else a span object */
	uint8_t trace_id[16]; /* the trace it belongs to */
};

/* Receives an item, taking it->json in every case. Returns 0 or -errno. */
typedef int (*sr_emit_fn)(void *ctx, const struct sr_item *it);

/* Assembler state shared by all rings. NULL + errno on failure. */
struct sr_asm *sr_asm_new(void);
void sr_asm_free(struct sr_asm *a);

/* Per-ring state. NULL + errno. */
struct sr_asm_ring *sr_asm_ring_new(void);
void sr_asm_ring_free(struct sr_asm_ring *r);

/*
 * Handles one record. Returns 0 (items emitted, or held, or an unmatched
 * SPAN_END ignored and counted), -EBADMSG when the record is malformed
 * (dropped; the caller counts it), or -ENOMEM.
 */
int sr_asm_record(struct sr_asm *a, struct sr_asm_ring *r,
		  const struct sr_record *rec, sr_emit_fn emit, void *ctx);

/*
 * Closes every open span of a ring whose owner (pid) is gone, as
 * common/README.md says: if the newest is an EXEC span they end at its
 * start without error, else at `now_ns` with an error. A CHILD_EXIT seen
 * for the owner adds process.exit.code / process.exit.signal to the
 * process span. Returns the number of spans closed, or -ENOMEM.
 */
int sr_asm_close_orphans(struct sr_asm *a, struct sr_asm_ring *r,
			 uint32_t owner_pid, uint64_t now_ns, sr_emit_fn emit,
			 void *ctx);

/* Sets the identity members (sidecar/identity.h) that this ring's trace
 * metadata and custom span data get; copied. 0 or -ENOMEM. */
int sr_asm_ring_identity(struct sr_asm_ring *r, const char *members, size_t n);

/* Spans held open. */
size_t sr_asm_ring_open_count(const struct sr_asm_ring *r);

/* True when the open set changed since the last save. */
bool sr_asm_ring_dirty(const struct sr_asm_ring *r);

/* Marks the open set changed: it is saved again (its file was lost). */
void sr_asm_ring_touch(struct sr_asm_ring *r);

/* The open set is saved (sidecar/openspans.h): clean until it changes. */
void sr_asm_ring_saved(struct sr_asm_ring *r);

/* Open span i (i < sr_asm_ring_open_count()), in order of arrival: its
 * SPAN_START payload (owned by r, valid until the set changes) and its
 * order number. */
struct sr_open_entry {
	const uint8_t *payload;
	uint32_t len;
	uint64_t seq;
};
void sr_asm_ring_entry(const struct sr_asm_ring *r, size_t i,
		       struct sr_open_entry *e);

/* Adds a saved open span back (order number `seq` kept). 0, -EBADMSG
 * (the payload does not decode: skipped) or -ENOMEM. */
int sr_asm_ring_restore(struct sr_asm_ring *r, const uint8_t *payload,
			uint32_t len, uint64_t seq);

#endif /* SR_SD_ASSEMBLE_H */
