/* SPDX-License-Identifier: MIT */
/*
 * fake_test - a stand-in test binary for the runner's own tests. It acts
 * on its name, test_fake_<mode>, the way a broken or a sound test binary
 * would when tests/run.sh asks it for its tests:
 *
 *   test_fake_segv   --list dies of SIGSEGV
 *   test_fake_fail   --list exits 1 with a message on stderr
 *   test_fake_empty  --list exits 0 and prints no name
 *   test_fake_ok     --list prints "fake_ok"; --run fake_ok exits 0
 *
 * Linked without the shim: it must not write rings.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	const char *mode;

	name = name ? name + 1 : argv[0];
	if (strncmp(name, "test_fake_", 10) != 0) {
		fprintf(stderr, "fake_test: run me as test_fake_<mode>\n");
		return EX_USAGE;
	}
	mode = name + 10;
	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		if (strcmp(mode, "segv") == 0) {
			raise(SIGSEGV);
			return EX_SOFTWARE;
		}
		if (strcmp(mode, "fail") == 0) {
			fprintf(stderr, "fake_test: cannot list\n");
			return 1;
		}
		if (strcmp(mode, "empty") == 0)
			return 0;
		printf("fake_%s\n", mode);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "--run") == 0 &&
	    strcmp(mode, "ok") == 0 && strcmp(argv[2], "fake_ok") == 0)
		return 0;
	fprintf(stderr, "fake_test: nothing to run\n");
	return EX_USAGE;
}
