/* SPDX-License-Identifier: MIT */
/*
 * limits.h - every size and count limit of spanring, with its reason.
 *
 * Shim, sidecar and tools all include this one header, so a limit is
 * changed in exactly one place.
 *
 * Not here, on purpose: sizes a format fixes stay beside their format
 * (ring_layout.h, record.h, the lengths of formatted ids, times and
 * contexts in ids.h, clock.h and context.h, the spool's frame and cursor
 * sizes in sidecar/spool.c, SHIM_VFORK_ENV_MAX in shim/process.h); the
 * defaults of spanringd's options are in its option table
 * (sidecar/config.c); buffers sized by what they format (a log line's
 * parts, a path and a suffix) are sized where they are written.
 */
#ifndef SR_LIMITS_H
#define SR_LIMITS_H

/* --- ring geometry ------------------------------------------------------ */

/* Lanes per ring. One lane per producing thread avoids a shared head that
 * two threads would contend for (~70-80 ns a record on this class of
 * machine); 16 covers typical tool processes, the rest share the last
 * SR_RING_SHARED_LANES lanes. */
#define SR_RING_DEFAULT_LANES 16u
#define SR_RING_MIN_LANES 2u
#define SR_RING_MAX_LANES 256u
/* Lanes that are never owned by one thread: threads beyond the owned lanes
 * and nested writers (a signal handler interrupting a write) use them. */
#define SR_RING_SHARED_LANES 2u

/* Bytes of record data per lane: a power of two. 1 MiB holds ~5000
 * span-sized records: a burst of a thousand spans from one thread between
 * two drains of a busy sidecar fits, where 64 KiB took 221-517 of them.
 * The file is sparse and lanes are backed a chunk at a time as they fill
 * (SR_RING_BACK_CHUNK), so a short-lived process still touches one or two
 * pages of it; only a thread that wraps its lane holds the whole MiB. */
#define SR_RING_DEFAULT_LANE_SIZE (1024u * 1024u)
#define SR_RING_MIN_LANE_SIZE 4096u
#define SR_RING_MAX_LANE_SIZE (16u * 1024u * 1024u)

/* Largest ring file a consumer maps (bounded address space per ring; the
 * file is sparse, only backed pages hold memory): 256 lanes of the default
 * size and the spill lane. */
#define SR_RING_MAX_FILE_SIZE (1024ull * 1024 * 1024)

/* Largest record in an ordinary lane, header included: a ring accepts at
 * most min(SR_RECORD_MAX, lane_size / 4) there, so one record never takes
 * a lane. Bigger records go to the spill lane. */
#define SR_RECORD_MAX (64u * 1024u)

/* The spill lane: one more lane per ring, shared (taken for one record at
 * a time, never waited for), that holds the records too big for an
 * ordinary lane: span_data up to SR_SPAN_DATA_MAX with its error, trace
 * metadata up to SR_METADATA_MAX. Its records are at most half of it, so
 * one big record never blocks the next while the first is unread. Sparse
 * and backed as it fills like every lane: a process that records no big
 * span never touches it. A power of two. */
#define SR_RING_SPILL_SIZE (4u * 1024u * 1024u)
#define SR_RING_MIN_SPILL_SIZE (64u * 1024u)
#define SR_RING_MAX_SPILL_SIZE (64u * 1024u * 1024u)
/* Largest record anywhere (the spill lane's record_max at the default
 * size): 1 MiB of span_data, 64 KiB of error message and of error data,
 * names and the fixed part fit with room to spare. */
#define SR_RECORD_BIG_MAX (SR_RING_SPILL_SIZE / 2u)

/* Bytes of every lane kept free (and backed) for a process's last record,
 * its end: a lane filled by a burst still takes the exit record, so a clean
 * exit is never reported as a crash. The end record is ~250 bytes (its
 * data is at most 512 bytes, most of it never used). */
#define SR_RING_LAST_RESERVE 512u

/* Lane memory is backed (allocated in the ring's filesystem) before it is
 * written, first this many bytes, then doubling: a short process holds a
 * page or two of each lane it writes, a busy one makes a handful of calls
 * per lane in its life. */
#define SR_RING_BACK_CHUNK 4096u

/* --- ring directory ----------------------------------------------------- */

/* Without a sidecar rings wait in the directory: at most this many ring
 * files, beyond which new processes run untraced and append one byte to
 * SR_DIR_CAPPED_FILE (its size is the count). */
#define SR_DIR_MAX_RINGS 1024u
/* Free bytes the ring directory's filesystem must have for a new ring: its
 * control pages and the first chunks of a few lanes. Rings are sparse and
 * backed as they fill, so the cap follows the real free space; a ring that
 * later finds the filesystem full drops (and counts) records, never faults. */
#define SR_DIR_MIN_FREE (64u * 1024u)
#define SR_DIR_CAPPED_FILE "rings-refused.count"
/* A process that refuses its ring directory (unsafe modes, wrong owner, a
 * per-uid subdirectory it cannot make) runs untraced and appends one byte
 * to this file of the directory it was given, when it can: the sidecar
 * reports the size as shim_untraced_dir. */
#define SR_DIR_UNTRACED_FILE "untraced.count"
/* In a directory writable by anyone (a Kubernetes emptyDir is 0777) each
 * uid writes its rings into "uid-<uid>/", which it owns; the sidecar
 * serves at most this many such subdirectories (one per uid of the
 * workload: a handful), so a hostile name cannot make it open thousands. */
#define SR_DIR_SUB_PREFIX "uid-"
#define SR_DIR_MAX_SUBDIRS 64u
#define SR_RING_SUFFIX ".ring"
#define SR_RING_NAME_MAX 64u
/* Supplementary groups looked at when deciding whether a shared ring
 * directory's group is ours (on the stack: the shim asks at start-up); a
 * process in more groups is treated as not in the directory's group
 * unless it is its egid. */
#define SR_GROUPS_MAX 256u
/* Bytes of directory entries read by one getdents64 call while listing
 * rings (a stack buffer; the listing loops until the end). */
#define SR_DIR_READ_CHUNK 8192u

/* --- record contents ---------------------------------------------------- */

/* Span names, workflow names and group ids the shim takes from its
 * environment (SPANRING_WORKFLOW, SPANRING_GROUP_ID) and from hooks. */
#define SR_NAME_MAX 256u
/* What the C API records whole; longer values are refused (-E2BIG) or,
 * for names, cut at a UTF-8 character boundary with the record's
 * truncated flag set. The Agents SDKs send input and output up to 100 KB
 * each (the exporter cuts them, WIRE.md section 2), metadata and error
 * messages of a few KB; workflow names and span names of a few hundred
 * bytes: the limits hold them with a wide margin. */
#define SR_SPAN_DATA_MAX (1024u * 1024u) /* span_data / custom data text */
#define SR_METADATA_MAX (64u * 1024u)    /* trace metadata text */
#define SR_ERROR_MAX (64u * 1024u)       /* error message */
#define SR_ERROR_DATA_MAX (64u * 1024u)  /* error data text */
#define SR_API_NAME_MAX 4096u            /* workflow, group id, span name */
#define SR_EXE_MAX 256u        /* executable path kept in the ring header */
#define SR_ARGV_JSON_MAX 1024u /* JSON of process.command_args in a record */
#define SR_SPAN_STACK_MAX 64u  /* nested API spans per thread */

/* --- shim ----------------------------------------------------------------- */

/* envp entries the shim copies (on the stack, no malloc: it may run between
 * fork and exec) to add its variables for a child; a bigger environment is
 * passed on unchanged and the child is not linked (counted, debug line). */
#define SR_ENV_MAX 1024u
/* popen() streams tracked at once (pclose finds its child and span). */
#define SR_POPEN_MAX 64u
/* One SPANRING_DEBUG line, formatted on the stack. */
#define SR_DEBUG_LINE_MAX 512u
/* Look-ups armed at once with spanring_context_lookup() (a resolver pool
 * runs a handful at a time: Node's has 4 threads), the longest host name
 * one holds (DNS names are at most 253 bytes), and how long an armed one
 * waits for its getaddrinfo (a look-up answered without one, from a
 * cache, must not stay armed for a later look-up of the same name). */
#define SR_LOOKUP_SLOTS 32u
#define SR_LOOKUP_NODE_MAX 256u
#define SR_LOOKUP_TTL_NS (5ull * 1000000000ull)
/* Bytes per thread holding the span_data of open C API spans (mapped on a
 * thread's first API span; pages touched only as used, so the size costs
 * address space, not memory): two spans of the largest size with their
 * errors, or many small nested ones. */
#define SR_API_ARENA (4u * 1024u * 1024u)
/* bytes of the executable the shim reads to recognise it (ELF header and
 * program headers; more program headers than fit: /proc/self/exe) */
#define SR_EXE_HEAD_MAX 2048u
/* Variables a traced process carries into its children's environment
 * (SPANRING_DIR, _HOOKS, _DEBUG, _LANES, _LANE_SIZE, _MAX_RINGS: seven
 * with a sanitizer's options) and the bytes of their "NAME=value" texts,
 * kept from start (static: no malloc between fork and exec). A variable
 * beyond either is not carried. */
#define SR_CARRY_MAX 16u
#define SR_CARRY_TEXT_MAX 8192u

/* --- sidecar ------------------------------------------------------------- */

/* How long a starting spanringd waits for the directory and spool locks
 * of one that is dying (SIGKILLed an instant before: the kernel releases
 * its locks only once its exit has run). 1.5 s covers a dying process on
 * a loaded machine; a live sidecar is refused after it (exit 75). */
#define SR_LOCK_WAIT_NS 1500000000ull

/* Between two tries of such a lock: short against the wait, long enough
 * not to spin. */
#define SR_LOCK_TRY_NS 10000000ull

/* Rings served at once; more wait for a slot (counted in the log). */
#define SR_MAX_RINGS 4096u
/* Bytes read from one ring per turn of the round robin: a busy ring
 * cannot starve the others. */
#define SR_DRAIN_TURN (32u * 1024u)
/* Between full rescans of the ring directory: inotify prompts the others,
 * the rescan catches what it missed (overflow, subdirectories). */
#define SR_RESCAN_NS 2000000000ull
/* Between two writes of the stats file (--check reads its age). */
#define SR_STATS_EVERY_NS 1000000000ull
/* Pause after a hand-off the spool refused (full disk, spool directory
 * gone): retried then, not in a busy loop. */
#define SR_SPOOL_RETRY_NS 1000000000ull
/* How long a ring whose header is not complete yet is retried on every
 * tick (afterwards on rescans only: an empty file named like a ring must
 * not cost a system call per tick forever). Also how long a new ring or
 * uid-<N>/ that refuses the sidecar's uid (EACCES) is taken for one being
 * created: the shim creates it 0600 / 0700 and then gives the group its
 * bits with fchmod; only a refusal that outlasts this is reported. */
#define SR_RING_WAIT_RETRY_NS 2000000000ull

/* --- sidecar: assembly -------------------------------------------------- */

/* Trace ids remembered to export each trace object once (a direct-mapped
 * set: 16 bytes a slot; an evicted id may be exported twice). */
#define SR_TRACE_SET_SLOTS 65536u
/* Spans held open per ring (process and exec spans: a handful). */
#define SR_OPEN_SPANS_MAX 1024u
/* Spans per ring whose SPAN_END came whole (an SDK's span, flag
 * SPAN_DATA) before their SPAN_START was read: lanes are drained in
 * rotation, so a start written on one thread may be read after the end
 * another thread wrote later. Their starts, read within the next polls,
 * are dropped; a lag of more than this many ends yields a duplicate span
 * closed with an error when the owner exits. */
#define SR_ENDED_EARLY_MAX 1024u
/* Child exits remembered to put an exit status on an orphaned process
 * span (CHILD_EXIT records written by a traced parent). */
#define SR_CHILD_EXITS_MAX 256u
/* Largest open-span file read back: SR_OPEN_SPANS_MAX starts of at most
 * a record each, with room to spare. */
#define SR_OPEN_FILE_MAX (64u * 1024u * 1024u)
/* The endpoint's budget for span_data.input and .output, compact bytes:
 * longer strings are cut as the Agents SDK's exporter cuts them. */
#define SR_INGEST_FIELD_MAX 100000u

/* --- sidecar: identity -------------------------------------------------- */

/* Attributes of the identity: host, pod (4), container name, container
 * id. */
#define SR_IDENT_ATTRS_MAX 8u
/* Longest value kept (longer ones are cut). */
#define SR_IDENT_VALUE_MAX 256u
/* Longest members text of one ring: every attribute at its longest. */
#define SR_IDENT_TEXT_MAX 2048u

/* --- sidecar: spool, export, log, stats ---------------------------------- */

/* Largest decompressed buffer accepted (a spool segment or a request
 * body): bounds memory whatever a damaged file claims. */
#define SR_CODEC_MAX_OUT (256u * 1024u * 1024u)
/* Bytes of segments not yet taken by every exporter kept in memory, so
 * that they need not read back what was just written: a segment's text
 * while it fits (nothing read, nothing decompressed), else its compressed
 * image (decompressed, not read). */
#define SR_SPOOL_MEM_MAX (16u * 1024u * 1024u)
/* Bytes of item text the queue keeps allocated between hand-offs (a full
 * default queue of 8192 spans is ~3 MiB): reuse without holding a burst's
 * peak forever. */
#define SR_QUEUE_TEXT_KEEP (16u * 1024u * 1024u)
/* The encoder's per-thread buffer kept between items: spans are ~0.4 KiB,
 * a larger one for a big item is given back at the next smaller one. */
#define SR_ENCODE_KEEP (256u * 1024u)
/* An export thread's request body and item list kept between requests
 * (a default batch of 128 spans is ~50 KiB of body): reused, not
 * allocated per request; a larger one, for big items, is given back
 * after its request. */
#define SR_EXPORT_BODY_KEEP (1024u * 1024u)
/* Bytes of a server's answer kept (for logs and the dead-letter file). */
#define SR_HTTP_ANSWER_MAX 8192u
/* Longest Retry-After parsed, seconds (a hostile answer cannot overflow
 * the arithmetic; the wait itself is capped at max_delay). */
#define SR_RETRY_AFTER_MAX 3600.0
/* Log lines a second; the rest are counted and summed up in the next
 * line, so a failure repeated per item cannot fill a disk. */
#define SR_LOG_BURST 50
/* Bytes of one log line (cut beyond): a line names a subsystem, an object
 * and a cause, never a payload. */
#define SR_LOG_LINE_MAX 1024u
/* Largest stats object written: the totals and SR_EXPORTERS_MAX
 * destinations. */
#define SR_STATS_TEXT_MAX 8192u
/* Largest stats file `spanringd --check` and `spanring run` read: ours
 * is one line of a few KiB; anything much bigger is not ours. */
#define SR_STATS_READ_MAX 65536u

/* --- consumer ----------------------------------------------------------- */

/* Bytes one reader copies out of one lane per poll: bounds the work and
 * memory of a drain call, whatever the ring claims. A record of the spill
 * lane, larger, is copied alone into a buffer of its record_max made when
 * the first one is read. */
#define SR_READ_CHUNK (256u * 1024u)

/* JSON nesting the sidecar keeps (span_data, metadata, error data): a
 * value nested deeper is replaced by null and the item counted in
 * json_repaired. The JS SDK's exporter stops at 1000 levels; real data
 * rarely passes 20. */
#define SR_JSON_DEPTH_MAX 512u

/* A lane's drop counter is a count of refused records: one lane never
 * refuses more than this many in a ring's life (a record a nanosecond for
 * an hour). A larger value is hostile and counted as this. */
#define SR_LANE_DROPS_MAX (1ull << 42)

/* --- spanring-dump (tools/dump) ------------------------------------------ */

/* Rings one `spanring-dump --follow` over a directory keeps track of, open
 * or finished (a finished ring is remembered until its file is removed, so
 * it is not printed twice): four times the default directory cap, since
 * SPANRING_MAX_RINGS may raise it. Each open ring holds a descriptor, its
 * mapping and an SR_READ_CHUNK buffer; rings beyond are not followed. */
#define SR_DUMP_FOLLOW_MAX (4u * SR_DIR_MAX_RINGS)

/* Bytes read from a stats file by `spanring-dump --stats` (any version's
 * file, so more room than SR_STATS_READ_MAX). */
#define SR_DUMP_STATS_MAX (1024u * 1024u)
/* Nesting of a stats file followed; deeper members are printed as compact
 * JSON. */
#define SR_DUMP_STATS_DEPTH 16u

/* --- spanring run (tools/run) ------------------------------------------ */

/* Spans one trace tree holds: ~150 bytes each once parsed, so the tree of
 * even a runaway command stays in tens of MiB; the rest are counted. */
#define SR_TREE_MAX_SPANS 200000u
/* Longest exporter line read; an item with 100 KB input and output fits. */
#define SR_TREE_LINE_MAX (1024u * 1024u)
/* Default span levels and children per span shown before folding into
 * "… N more": deeper or wider trees stop being readable in a terminal. */
#define SR_TREE_DEPTH 24u
#define SR_TREE_CHILDREN 200u
/* Bytes of one span's summary text kept for the tree. */
#define SR_TREE_DETAIL_MAX 4096u
/* Hard cap on --depth: the prefix of a line is a buffer of this many
 * levels. */
#define SR_TREE_DEPTH_CAP 256u
/* How long spanring run waits for its private spanringd to take the
 * directory lock, and for it to drain and exit after SIGTERM (its own
 * shutdown timeout plus a margin) before SIGKILL. */
#define SR_RUN_START_TIMEOUT_MS 10000u
#define SR_RUN_STOP_TIMEOUT_MS 15000u
/* How long spanring run waits, after the command ended, for processes it
 * left running in its process group: short ones complete the tree, one
 * that runs on costs this delay once. */
#define SR_RUN_LINGER_MS 500u
/* Between two polls of an effect spanring run waits for (the sidecar's
 * lock taken, a process gone): 2 ms. */
#define SR_RUN_POLL_NS 2000000ull

/* --- sidecar: option values --------------------------------------------- */

/* Longest value of an option, longer ones refused (exit 64, or 78 from a
 * variable); paths are bounded by PATH_MAX. URLs: browsers and servers
 * stop near 2 KiB. The OpenAI key (~200 bytes today) and the organization
 * and project ids go into header lines. OTLP header and resource lists:
 * a few authentication tokens or a dozen attributes, with room to spare;
 * the variables' lists are joined with the flag's within the same
 * bound. */
#define SR_URL_MAX 2048u
#define SR_API_KEY_MAX 512u
#define SR_OPENAI_ID_MAX 256u
#define SR_OTLP_HEADERS_MAX 8192u
#define SR_OTLP_RESOURCE_MAX 4096u
#define SR_SERVICE_NAME_MAX 512u

/* --- destinations ------------------------------------------------------- */

/* Destinations one spanringd exports to at once (--exporter a,b,...):
 * each exporter kind (openai, otlp, file, console, null) at most once. */
#define SR_EXPORTERS_MAX 5u

/* --- the otlp exporter -------------------------------------------------- */

/* Traces whose workflow name, group id and metadata the exporter keeps
 * for their spans (direct-mapped; a trace evicted before its last span
 * is exported leaves those spans without the trace attributes). 4096
 * concurrent traces cover a busy host; each slot holds a few hundred
 * bytes. */
#define SR_OTLP_TRACE_SLOTS 4096u

/* --- the TSC clock (common/README.md, "Clocks") ------------------------- */

/* TSC ticks a lane's writer lets pass before it writes a new anchor
 * (tsc, realtime ns) into the lane: 2^26 ticks, 26 ms at 2.6 GHz and at
 * most 67 ms on any TSC of 1 GHz or more. One CLOCK_REALTIME reading and
 * a 24-byte record per interval and busy lane; a consumer converts a
 * stamp from an anchor at most this old, so a rate error of 1 ppm costs
 * at most 26 ns here. */
#define SR_ANCHOR_TICKS (1ull << 26)
/* A stamp further than this past its lane's latest anchor is not one an
 * honest writer makes (it anchors every SR_ANCHOR_TICKS): the consumer
 * clamps it to this distance and counts it. */
#define SR_STAMP_AHEAD_MAX_TICKS (4 * SR_ANCHOR_TICKS)
/* A consumer's first measurement of the TSC rate (later refined over its
 * lifetime), a sleep between two readings: 10 ms, within a few ppm (2 ms
 * gave up to 90 ppm on a shared VM: 2 us over an anchor interval); it is
 * used only for a lane's first anchor interval, before the lane has two
 * anchors to take a rate from. */
#define SR_TSC_CALIBRATE_NS 10000000l
/* An anchor whose TSC readings around the clock reading lie further apart
 * than this (the writer was preempted or interrupted) is taken again, up
 * to 4 times, the narrowest kept: ~200 ns at 2.6 GHz, where a good
 * reading takes ~50 ns. */
#define SR_ANCHOR_WINDOW_TICKS 512ull

#endif /* SR_LIMITS_H */
