/* SPDX-License-Identifier: MIT */
/*
 * spanring-dump - inspect spanring rings without disturbing them.
 * See tools/dump/README.md.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/ringdir.h"
#include "tools/dump/format.h"
#include "tools/dump/rings.h"
#include "tools/dump/stats.h"

/* --follow's poll period by default, ms: written once, shown by --help. */
#define INTERVAL_MS 100

/* A printf format: %d is INTERVAL_MS. */
static const char usage_text[] =
	"usage: spanring-dump [--dir DIR] [--json]            list the rings of DIR\n"
	"       spanring-dump [--json] [--follow] RING...     print unconsumed records\n"
	"       spanring-dump [--dir DIR] --records [--json] [--follow]\n"
	"                                                     ... of every ring in DIR\n"
	"       spanring-dump [--dir DIR] --check [RING...]   validate rings\n"
	"       spanring-dump [--dir DIR] --stats [FILE]      the sidecar's counters\n"
	"\n"
	"  -d, --dir DIR       ring directory (default: $SPANRING_DIR, else\n"
	"                      /dev/shm/spanring-<euid>); the rings of its\n"
	"                      uid-<N>/ subdirectories are included\n"
	"  -j, --json          one JSON object per line (records and list)\n"
	"  -r, --records       print the records of every ring in DIR\n"
	"  -f, --follow        keep printing new records until interrupted or\n"
	"                      every owner has exited and all is printed; over\n"
	"                      DIR, also rings created later, until interrupted\n"
	"  -i, --interval MS   --follow poll period in ms (default %d)\n"
	"  -c, --check         check header, lanes and records; exit 1 if damaged\n"
	"  -s, --stats         print <DIR>/" SR_DUMP_STATS_FILE " (or FILE)\n"
	"                      as `name value` lines; exit 1 if there is none\n"
	"  -h, --help          this text\n"
	"  -V, --version       the version\n"
	"\n"
	"Read-only: never consumes a record, never writes a file.\n"
	"Exit status: 0 ok; 1 --check found damage or no stats exist;\n"
	"64 usage error; 65 bad data (not a ring, damaged, undecodable);\n"
	"66 no such ring or directory.\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

enum mode { M_LIST, M_RECORDS, M_CHECK, M_STATS };

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spanring-dump: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'spanring-dump --help'.\n");
	return EX_USAGE;
}

static int set_mode(enum mode *m, enum mode want, const char *opt)
{
	if (*m != M_LIST && *m != want)
		return usage_error("%s cannot be combined with another mode",
				   opt);
	*m = want;
	return 0;
}

static int parse_ms(const char *s, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < 1 || v > 60000)
		return usage_error("--interval: '%s' is not 1..60000 ms", s);
	*out = (unsigned)v;
	return 0;
}

static int run(enum mode m, bool follow, struct sr_dump_opts *o, char **argv,
	       int argc)
{
	char path[4096];

	switch (m) {
	case M_STATS:
		if (argc > 1)
			return usage_error("%s",
					   "--stats takes at most one FILE");
		if (argc == 1)
			return sr_dump_stats_file(argv[0], stdout);
		snprintf(path, sizeof(path), "%s/%s", o->dir,
			 SR_DUMP_STATS_FILE);
		return sr_dump_stats_file(path, stdout);
	case M_CHECK:
		return sr_dump_check(o, argv, argc, stdout);
	case M_RECORDS:
		return sr_dump_records(o, argv, argc, follow, stdout);
	case M_LIST:
		if (argc > 0 || follow)
			return sr_dump_records(o, argv, argc, follow, stdout);
		return sr_dump_list(o, stdout);
	}
	return EX_SOFTWARE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "records", no_argument, NULL, 'r' },
		{ "follow", no_argument, NULL, 'f' },
		{ "interval", required_argument, NULL, 'i' },
		{ "check", no_argument, NULL, 'c' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sr_dump_opts o = { .fmt = SR_DUMP_TABLE,
				  .interval_ms = INTERVAL_MS,
				  .stop = &stop_flag };
	char dir[4096];
	enum mode m = M_LIST;
	bool follow = false;
	int c, rc = 0;

	opterr = 0;
	while (!rc && (c = getopt_long(argc, argv, "+d:jrfi:csVh", opts,
				       NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dir = optarg;
			break;
		case 'j':
			o.fmt = SR_DUMP_JSON;
			break;
		case 'r':
			rc = set_mode(&m, M_RECORDS, "--records");
			break;
		case 'f':
			follow = true;
			break;
		case 'i':
			rc = parse_ms(optarg, &o.interval_ms);
			break;
		case 'c':
			rc = set_mode(&m, M_CHECK, "--check");
			break;
		case 's':
			rc = set_mode(&m, M_STATS, "--stats");
			break;
		case 'h':
			printf(usage_text, INTERVAL_MS);
			return 0;
		case 'V':
			printf("spanring-dump %s\n", SR_VERSION);
			return 0;
		default:
			if (optopt && strchr("di", optopt))
				return usage_error("option requires an argument: %s",
						   argv[optind - 1]);
			return usage_error("unknown option: %s",
					   argv[optind - 1]);
		}
	}
	if (rc)
		return rc;
	if (follow && (m == M_CHECK || m == M_STATS))
		return usage_error("%s", "--follow applies to records only");
	if (!o.dir) {
		if (sr_dir_default(dir, sizeof(dir)))
			return usage_error("%s",
					   "ring directory path too long");
		o.dir = dir;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_DFL);
	return run(m, follow, &o, argv + optind, argc - optind);
}
