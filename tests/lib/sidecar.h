/* SPDX-License-Identifier: MIT */
/*
 * sidecar.h - test helpers that run the real spanringd and spanring-recv
 * as child processes on loopback, wait for their effects with deadlines
 * (polling files, never sleeping to order events) and read JSON lines.
 */
#ifndef SR_TEST_SIDECAR_H
#define SR_TEST_SIDECAR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A running spanring-recv. */
struct sr_recv {
	pid_t pid;
	int port;
	char url[128];         /* http://127.0.0.1:PORT/v1/traces/ingest */
	char *out, *req, *log; /* items, requests, its stdout+stderr */
};

/* A running spanringd. */
struct sr_sd {
	pid_t pid;
	char *dir, *spool, *out, *log, *stats, *dead;
	char *console; /* its stdout (console exporter) */
};

/* Starts spanring-recv under `base` with extra args (NULL-terminated
 * list, may be NULL); `port` 0 picks one. Fails the test on error. */
void sr_recv_start(struct sr_recv *r, const char *base, int port,
		   const char *const *args);
void sr_recv_stop(struct sr_recv *r);
/* Stops it if running and frees the paths. */
void sr_recv_free(struct sr_recv *r);

/*
 * Starts spanringd with --dir base/rings, --spool-dir base/spool,
 * --output base/out.jsonl, --dead-letter base/dead.jsonl, stderr to
 * base/sd.log, plus `args`; `env` holds extra "K=V" (OPENAI_* and
 * SPANRINGD_* of the test's own environment are removed first). Waits
 * until the lock file names its pid. `s->dir` etc. are set before.
 */
void sr_sd_init(struct sr_sd *s, const char *base);
void sr_sd_start(struct sr_sd *s, const char *const *args,
		 const char *const *env);
/* Sends sig, waits up to timeout_ms; returns the exit code, 128+signal,
 * or -1 on timeout (then SIGKILLs). */
int sr_sd_stop(struct sr_sd *s, int sig, int timeout_ms);
void sr_sd_free(struct sr_sd *s);

/* The fixture of a sidecar test: a fresh private directory named after
 * `tag` (sr_tmpdir), returned, with `s` set up in it (sr_sd_init; nothing
 * started). sr_sd_fixture_stop() ends what the test started: the sidecar,
 * and the receiver `rv` when not NULL; the caller then removes the
 * directory (sr_tmpdir_free) once its own clean-up is done. */
char *sr_sd_fixture(struct sr_sd *s, const char *tag);
void sr_sd_fixture_stop(struct sr_sd *s, struct sr_recv *rv);

/* A counter of its stats file (top level), or -1 when absent. */
long long sr_sd_stat(const struct sr_sd *s, const char *name);
/* Waits up to ms until that counter is at least v; false on timeout. */
bool sr_sd_wait_stat(const struct sr_sd *s, const char *name, long long v,
		     int ms);

/* Spawns argv with extra env; stdin from in_fd (-1: /dev/null), stdout
 * to out_fd (-1: /dev/null), stderr to err_path (NULL: /dev/null). */
pid_t sr_spawn(const char *const *argv, const char *const *env, int in_fd,
	       int out_fd, const char *err_path);
/* Waits for pid up to timeout_ms: its wait status, or -1 (killed). */
int sr_wait_pid(pid_t pid, int timeout_ms);

/* Runs the emit helper to completion with the ring dir and args; returns
 * its exit code. */
int sr_emit(const char *ringdir, const char *const *args);

/* Lines in a file (0 if absent). */
size_t sr_count_lines(const char *path);
/* Waits until the file has at least n lines; false on timeout. */
bool sr_wait_lines(const char *path, size_t n, int timeout_ms);
/* Waits until the file contains needle; false on timeout. */
bool sr_wait_contains(const char *path, const char *needle, int timeout_ms);
/* Occurrences of needle in the file. */
size_t sr_count_in_file(const char *path, const char *needle);
/* All lines of a file (heap; free with sr_lines_free). */
char **sr_lines(const char *path, size_t *n);
void sr_lines_free(char **l, size_t n);

/* Milliseconds of CLOCK_MONOTONIC. */
long long sr_ms(void);

#endif /* SR_TEST_SIDECAR_H */
