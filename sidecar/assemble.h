/* SPDX-License-Identifier: MIT */
/*
 * assemble.h - records to WIRE.md items, by the assembly rules of
 * common/README.md: a TRACE record gives a trace object (once per trace
 * id, through a bounded set), a SPAN a span object at once, a SPAN_START
 * is held until its SPAN_END; when a ring's owner is gone its open spans
 * are closed (orphans). Every record is validated on its own.
 *
 * The open spans of a ring survive a sidecar restart: they are saved to a
 * small file (sr_asm_ring_save) before the ring is committed past them.
 * Used by one thread.
 */
#ifndef SR_SD_ASSEMBLE_H
#define SR_SD_ASSEMBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/reader.h"

/* Trace ids remembered to export each trace object once (a direct-mapped
 * set: 16 bytes a slot; an evicted id may be exported twice). */
#define SR_TRACE_SET_SLOTS 65536u
/* Spans held open per ring (process and exec spans: a handful). */
#define SR_OPEN_SPANS_MAX 1024u
/* Child exits remembered to put an exit status on an orphaned process
 * span (CHILD_EXIT records written by a traced parent). */
#define SR_CHILD_EXITS_MAX 256u

struct sr_asm;
struct sr_asm_ring;

/* Receives an item: `json` is malloc'd and owned by the callee; `ts_ns`
 * is when it happened (span end, trace start; CLOCK_REALTIME). Returns 0
 * or -errno (the item is then freed by the callee too). */
typedef int (*sr_emit_fn)(void *ctx, char *json, size_t len, uint64_t ts_ns);

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

/* True when the open set changed since the last save. */
bool sr_asm_ring_dirty(const struct sr_asm_ring *r);

/* Saves the open set to `name` in dirfd (temporary + fsync when `sync` +
 * rename), or removes the file when the set is empty. 0 or -errno. */
int sr_asm_ring_save(struct sr_asm_ring *r, int dirfd, const char *name,
		     bool sync);

/* Loads a set saved by sr_asm_ring_save(); a missing file is an empty
 * set; entries that do not decode are skipped. 0 or -errno. */
int sr_asm_ring_load(struct sr_asm_ring *r, int dirfd, const char *name);

#endif /* SR_SD_ASSEMBLE_H */
