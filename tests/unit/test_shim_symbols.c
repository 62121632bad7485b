/* SPDX-License-Identifier: MIT */
/* Symbol hygiene: libspanring.so exports the interposed libc functions
 * and the spanring_* API, nothing else, and holds none of common/'s
 * consumer code (the reader, the SIGBUS guard, the codec, record
 * decoding, the ring directory's listing and removal). */
#include "tests/lib/harness.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const interposed[] = {
	"execve", "execv",   "execvp",  "execvpe",     "execl",
	"execlp", "execle",  "fexecve", "posix_spawn", "posix_spawnp",
	"system", "popen",   "pclose",  "fclose",      "fork",
	"_exit",  "_Exit",   "prctl",   "connect",     "getaddrinfo",
	"wait",   "waitpid", "wait3",   "wait4",       "waitid",
};

static const char *const api[] = {
	"spanring_enabled",           "spanring_trace_begin",
	"spanring_trace_end",         "spanring_span_begin",
	"spanring_span_begin_custom", "spanring_span_set_error",
	"spanring_span_end",          "spanring_trace_record",
	"spanring_span_start",        "spanring_span_finish",
	"spanring_span_record",       "spanring_context_set",
	"spanring_span_start_text",   "spanring_span_finish_text",
	"spanring_context_lookup",
};

static bool listed(const char *sym, const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sym, v[i]))
			return true;
	return false;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void shim_exports_only_hooks_and_api(void **state)
{
	char *cmd = sr_strf("nm -D --defined-only '%s'",
			    sr_build_path("libspanring.so"));
	char line[512], type[8], sym[256];
	unsigned long long addr;
	size_t seen = 0;
	FILE *p = popen(cmd, "r");

	(void)state;
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%llx %7s %255s", &addr, type, sym) != 3)
			continue;
		/* sanitizer builds add their own (weak) hooks and the ELF
		 * markers; nothing of ours may appear */
		if (!strncmp(sym, "__asan", 6) || !strncmp(sym, "__ubsan", 7) ||
		    !strncmp(sym, "__sanitizer", 11) || !strcmp(type, "A"))
			continue;
		if (!listed(sym, interposed, N(interposed)) &&
		    !listed(sym, api, N(api)))
			fail_msg("unexpected export: %s", sym);
		seen++;
	}
	assert_int_equal(pclose(p), 0);
	assert_int_equal(seen, N(interposed) + N(api));
	free(cmd);
}

/* Functions of common/ a consumer needs and a producer never calls:
 * prefixes, then whole names (a trailing '*' marks a prefix). */
static const char *const consumer[] = {
	"sr_reader_*",          "sr_guard_*",       "sr_codec_*",
	"sr_json_fix*",         "sr_span_decode",   "sr_trace_decode",
	"sr_process_decode",    "sr_child_decode",  "sr_rec_type_name",
	"sr_dir_remove",        "sr_dir_scan_subs", "sr_dir_open_sub",
	"sr_dir_sub_parse",     "sr_dir_refused",   "sr_dir_untraced",
	"sr_dir_untraced_init",
};

static bool matches(const char *sym, const char *pat)
{
	size_t n = strlen(pat);

	if (n && pat[n - 1] == '*')
		return !strncmp(sym, pat, n - 1);
	return !strcmp(sym, pat);
}

/* The whole symbol table (hidden functions included: the library is not
 * stripped) has the producer's functions and none of the consumer's. */
static void shim_holds_no_consumer_code(void **state)
{
	char *cmd = sr_strf("nm --defined-only '%s'",
			    sr_build_path("libspanring.so"));
	char line[512], type[8], sym[256];
	unsigned long long addr;
	bool reserve = false, encode = false;
	unsigned bad = 0;
	FILE *p = popen(cmd, "r");

	(void)state;
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%llx %7s %255s", &addr, type, sym) != 3)
			continue;
		reserve |= !strcmp(sym, "sr_ring_reserve");
		encode |= !strcmp(sym, "sr_span_encode");
		for (size_t i = 0; i < N(consumer); i++)
			if (matches(sym, consumer[i])) {
				print_error("consumer code in the shim: %s "
					    "(%s)\n",
					    sym, consumer[i]);
				bad++;
			}
	}
	assert_int_equal(pclose(p), 0);
	free(cmd);
	/* the table is read at all: the producer's own functions are seen */
	if (!reserve || !encode)
		fail_msg("nm saw sr_ring_reserve: %d, sr_span_encode: %d; "
			 "expected both",
			 reserve, encode);
	if (bad)
		fail_msg("%u consumer symbols in libspanring.so, expected 0",
			 bad);
}

SR_TEST_MAIN(cmocka_unit_test(shim_exports_only_hooks_and_api),
	     cmocka_unit_test(shim_holds_no_consumer_code))
