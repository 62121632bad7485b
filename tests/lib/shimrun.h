/* SPDX-License-Identifier: MIT */
/*
 * shimrun.h - run a program with or without libspanring.so preloaded,
 * capture what it did (stdout, stderr, wait status), then read every ring
 * of the ring directory into a list of spans (SPAN_START and SPAN_END
 * merged) and traces to assert on.
 *
 * Under an ASan build of the shim (SR_SANITIZE contains "address") the ASan
 * runtime is preloaded first and ASAN_OPTIONS set so an uninstrumented
 * program can load the instrumented shim; the run without the shim gets the
 * same ASAN_OPTIONS so the two runs stay comparable.
 */
#ifndef SR_TEST_SHIMRUN_H
#define SR_TEST_SHIMRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

/* One span as the rings tell it. */
struct sr_vspan {
	char trace[33], span[25], parent[25]; /* hex; parent "" if none */
	char *name;     /* custom span name ("process", "exec", ...) */
	cJSON *data;    /* start data with end members merged */
	char *err;      /* error message or NULL */
	cJSON *errdata; /* error data or NULL */
	uint64_t start_ns, end_ns;
	uint32_t flags;      /* SR_SF_* */
	bool started, ended; /* SPAN_START / SPAN_END seen (SPAN: both) */
	bool complete;       /* a SPAN record */
	uint32_t ring_pid;   /* owner of the ring it was read from */
};

struct sr_vtrace {
	char trace[33];
	char *workflow, *group, *metadata;
};

/* A CHILD_EXIT record: a traced parent reaped a child. */
struct sr_vchild {
	uint32_t pid;
	int status; /* wait status */
	char trace[33];
	uint32_t ring_pid; /* the parent that reaped it */
};

struct sr_run {
	int status;      /* wait status */
	char *out, *err; /* captured, NUL-terminated */
	size_t out_len, err_len;
	struct sr_vspan *spans;
	size_t nspans;
	struct sr_vtrace *traces;
	size_t ntraces;
	struct sr_vchild *children;
	size_t nchildren;
	size_t nrings, nprocess; /* ring files, PROCESS records */
	size_t unreadable;       /* ring-named files that are not rings */
	uint64_t dropped;        /* records dropped, all rings */
	uint64_t faults;         /* reader integrity faults, all rings */
};

struct sr_run_opts {
	bool shim;              /* preload the shim (else SPANRING_DISABLE=1) */
	const char *dir;        /* SPANRING_DIR, NULL: unset */
	const char *const *env; /* extra "K=V" (NULL-terminated) or NULL */
	const char *const *unset; /* names removed from the environment */
	const char *in;           /* stdin text, NULL: /dev/null */
	unsigned uid;             /* nonzero: run as this uid and gid (root) */
};

/* Runs argv[0] (a path) with argv; fills *r (status, out, err). Fails the
 * test if the program cannot be run. Waits for it. */
void sr_run_cmd(struct sr_run *r, const struct sr_run_opts *o,
		const char *const argv[]);

/* Starts argv like sr_run_cmd without waiting: stdin and stdout are pipes
 * (*in_fd, *out_fd, to close), stderr is inherited. Returns the pid. */
int sr_run_start(const struct sr_run_opts *o, const char *const argv[],
		 int *in_fd, int *out_fd);

/* Reads every ring in dir into r->spans / r->traces (read-only). */
void sr_run_read_rings(struct sr_run *r, const char *dir);

void sr_run_free(struct sr_run *r);

/* The n-th (0-based, in ring order) span called name, or NULL. */
const struct sr_vspan *sr_run_span(const struct sr_run *r, const char *name,
				   size_t n);
size_t sr_run_count(const struct sr_run *r, const char *name);
/* The span with this hex id, or NULL. */
const struct sr_vspan *sr_run_by_id(const struct sr_run *r, const char *id);
/* The process span whose ring owner (pid) is pid. */
const struct sr_vspan *sr_run_process(const struct sr_run *r, uint32_t pid);

/* The CHILD_EXIT record of pid, or NULL. */
const struct sr_vchild *sr_run_child(const struct sr_run *r, uint32_t pid);

/* Members of a span's data: integer (LLONG_MIN if absent), string (NULL). */
long long sr_vspan_int(const struct sr_vspan *s, const char *key);
const char *sr_vspan_str(const struct sr_vspan *s, const char *key);
/* process.command_args joined with spaces (static buffer). */
const char *sr_vspan_argv(const struct sr_vspan *s);

/* Prints all spans (for failure messages). */
void sr_run_dump(const struct sr_run *r);

/* Asserts: same stdout, stderr and status as the reference run. */
void sr_run_assert_same(const struct sr_run *a, const struct sr_run *b);

/* Asserts every span has the trace id of the first and every parent id
 * names a recorded span (or is empty / an outside W3C parent allowed by
 * `outside`). */
void sr_run_assert_tree(const struct sr_run *r, const char *outside);

/* Runs argv with and without the shim in a fresh ring directory `dir`,
 * asserts identical output, reads the rings into *r. */
void sr_run_both(struct sr_run *r, const char *dir, const char *const argv[],
		 const char *const *env);

#endif /* SR_TEST_SHIMRUN_H */
