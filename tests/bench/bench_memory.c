// SPDX-License-Identifier: MIT
/*
 * bench_memory.c - B10: the shared memory a short traced program holds.
 *
 * Runs /bin/true and `python3 -c pass` under libspanring.so with the
 * default ring geometry, into a private ring directory on /dev/shm, and
 * sums the blocks the tmpfs allocated to the ring files they left (no
 * sidecar removes them): the ring pages backed, which is the shared
 * memory the process held. Baseline: the same rings' nominal (sparse)
 * size. Each run starts from an empty directory.
 */
#include "bench.h"

#include <dirent.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct prog {
	const char *name;
	char *const *argv;
	char **env;
	const char *dir;
	double nominal_kib; /* of the last run */
	unsigned rings;     /* of the last run */
};

/* KiB the ring files of dir hold (st_blocks), their nominal size in
 * *nominal_kib and their count in *rings. */
static double ring_kib(const char *dir, double *nominal_kib, unsigned *rings)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	double kib = 0;

	*nominal_kib = 0;
	*rings = 0;
	if (!d)
		return NAN;
	while ((e = readdir(d))) {
		struct stat st;

		if (!strstr(e->d_name, ".ring") ||
		    fstatat(dirfd(d), e->d_name, &st, 0))
			continue;
		kib += (double)st.st_blocks * 512 / 1024;
		*nominal_kib += (double)st.st_size / 1024;
		(*rings)++;
	}
	closedir(d);
	return kib;
}

static double one(void *ctx)
{
	struct prog *p = ctx;
	pid_t pid;
	int st;

	sr_bench_empty_ring_dir(p->dir);
	if (posix_spawn(&pid, p->argv[0], NULL, NULL, p->argv, p->env) ||
	    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return NAN;
	return ring_kib(p->dir, &p->nominal_kib, &p->rings);
}

int main(void)
{
	char dir[] = "/dev/shm/spanring-bench-mem-XXXXXX", cmd[128], note[160];
	char *shim = sr_bench_beside("libspanring.so", 1, true);
	char *pre, *dir_env;
	static char true_exe[] = "/bin/true", py_exe[] = "/usr/bin/python3",
		    py_c[] = "-c", py_pass[] = "pass";
	char *const a_true[] = { true_exe, NULL };
	char *const a_py[] = { py_exe, py_c, py_pass, NULL };
	int runs = sr_bench_runs(5), rc = 0;

	if (!mkdtemp(dir) || asprintf(&pre, "LD_PRELOAD=%s", shim) < 0 ||
	    asprintf(&dir_env, "SPANRING_DIR=%s", dir) < 0)
		return 1;
	const char *extra[] = { pre, dir_env, NULL };
	struct prog progs[] = {
		{ "/bin/true", a_true, sr_bench_env(extra), dir, 0, 0 },
		{ "python3 -c pass", a_py, sr_bench_env(extra), dir, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(*progs); i++) {
		struct prog *p = &progs[i];
		struct sr_bench_stats s;
		char row[64];

		if (access(p->argv[0], X_OK))
			continue;
		sr_bench_measure(one, p, runs, &s);
		if (isnan(s.median))
			rc = 1;
		snprintf(row, sizeof(row), "shared memory held, traced %s",
			 p->name);
		snprintf(note, sizeof(note),
			 "ring pages backed (tmpfs blocks) of %u ring(s), "
			 "default geometry; baseline: their sparse size",
			 p->rings);
		sr_bench_print(&(struct sr_bench_row){
			.id = "B10",
			.row = row,
			.unit = "KiB",
			.s = s,
			.baseline = "nominal ring size",
			.baseline_median = p->nominal_kib,
			.target = "<= 128 KiB",
			.note = note });
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0 || rc;
}
