/* SPDX-License-Identifier: MIT */
/*
 * replay.h - turns the items a file exporter wrote back into ring records,
 * so that a second spanringd exports the very same trace with another
 * exporter. spanringd runs one exporter; `spanring run --exporter openai`
 * runs its private sidecar with the file exporter (for the tree and
 * --json), then replays the file into a fresh ring directory served by a
 * sidecar with the exporter asked for.
 */
#ifndef SR_RUN_REPLAY_H
#define SR_RUN_REPLAY_H

#include <stddef.h>

/*
 * Reads the JSON lines at `path` (trace objects and span objects of
 * WIRE.md) and writes each as a TRACE or complete SPAN record into ring
 * files created in directory `dir`, owned by this process and closed (so
 * the owner reads as gone) before return. A span object becomes the same
 * span object again when assembled: ids, parent, times (µs), span_data,
 * error. Lines that are not such items are skipped and counted in
 * *skipped. Returns the number of items written, or -errno (-ENOENT: no
 * file, 0 items). Not thread-safe.
 */
int sr_replay_write(const char *path, const char *dir, size_t *skipped);

#endif /* SR_RUN_REPLAY_H */
