/* SPDX-License-Identifier: MIT */
/*
 * spanringd at start: what it tells the operator about the ring directory
 * it was given.
 */
#include "tests/lib/harness.h"
#include "tests/lib/sidecar.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

/* Starts a sidecar whose directories live under `base`, stops it and
 * returns its log. */
static char *log_of_sidecar_in(const char *parent)
{
	char *base, *log;
	struct sr_sd sd;

	setenv("TMPDIR", parent, 1);
	base = sr_tmpdir("sdstart");
	unsetenv("TMPDIR");
	sr_sd_init(&sd, base);
	sr_sd_start(&sd, (const char *const[]){ "--exporter", "file", NULL },
		    NULL);
	assert_int_equal(sr_sd_stop(&sd, SIGTERM, 10000), 0);
	log = sr_read_file(sd.log, NULL);
	assert_non_null(log);
	sr_sd_free(&sd);
	sr_tmpdir_free(base);
	return log;
}

/* A ring directory on a disk filesystem costs every traced start about
 * twice as much: spanringd says so once; on tmpfs it says nothing. */
static void sidecar_warns_ring_dir_on_disk(void **state)
{
	struct statfs sf;
	char *log;

	(void)state;
	assert_int_equal(statfs(sr_build_path("."), &sf), 0);
	if (sf.f_type == TMPFS_MAGIC) {
		print_message("[  SKIPPED ] the build tree is on tmpfs\n");
		skip();
	}
	log = log_of_sidecar_in(sr_build_path("."));
	if (!strstr(log, "is not on tmpfs"))
		fail_msg("no warning about a disk ring directory in:\n%s", log);
	free(log);
	log = log_of_sidecar_in("/dev/shm");
	if (strstr(log, "is not on tmpfs"))
		fail_msg("a warning for a tmpfs ring directory:\n%s", log);
	free(log);
}

SR_TEST_MAIN(cmocka_unit_test(sidecar_warns_ring_dir_on_disk))
