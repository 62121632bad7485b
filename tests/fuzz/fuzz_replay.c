/* SPDX-License-Identifier: MIT */
/*
 * fuzz_replay - `spanring run`'s replay of exporter lines into ring
 * records on arbitrary files (the file a sidecar wrote is read back as
 * untrusted text). Properties: no crash; the replay succeeds (it never
 * fails on content); items written and lines skipped together are at
 * most the non-blank lines; every ring written reads back intact.
 *
 * Linked with tools/run/replay.c and tree.c (the Makefile's FUZZ_EXTRA).
 * Rings go to a private directory, emptied after each input.
 */
#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/reader.h"
#include "tools/run/replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[] = "/tmp/spanring-fuzz-replay-XXXXXX";
static char input[sizeof(base) + 16], rings[sizeof(base) + 16];

static size_t nonblank_lines(const uint8_t *d, size_t n)
{
	size_t lines = 0;
	bool blank = true;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || d[i] == '\n') {
			lines += !blank;
			blank = true;
		} else if (!strchr(" \t\r", d[i])) {
			blank = false;
		}
	}
	return lines;
}

/* Every ring in the directory opens and checks clean; then removed. */
static void check_rings(void)
{
	DIR *d = opendir(rings);
	struct dirent *e;

	if (!d)
		abort();
	while ((e = readdir(d))) {
		char why[256];
		struct sr_reader *r;
		int fd = dirfd(d);

		if (e->d_name[0] == '.')
			continue;
		if (sr_reader_open(fd, e->d_name, SR_READER_RDONLY, &r, why,
				   sizeof(why))) {
			fprintf(stderr, "replayed ring %s: %s\n", e->d_name,
				why);
			abort();
		}
		if (sr_reader_check(r, NULL, NULL) != 0) {
			fprintf(stderr, "replayed ring %s: %s\n", e->d_name,
				sr_reader_fault(r));
			abort();
		}
		sr_reader_free(r);
		unlinkat(fd, e->d_name, 0);
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t skipped = 0;
	FILE *f;
	int rc;

	if (!input[0]) {
		if (!mkdtemp(base))
			abort();
		snprintf(input, sizeof(input), "%s/in", base);
		snprintf(rings, sizeof(rings), "%s/rings", base);
		if (mkdir(rings, 0700))
			abort();
	}
	f = fopen(input, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	rc = sr_replay_write(input, rings, &skipped);
	if (rc < 0) {
		fprintf(stderr, "replay failed: %d\n", rc);
		abort();
	}
	if ((size_t)rc + skipped > nonblank_lines(data, size))
		abort();
	check_rings();
	return 0;
}
