/* SPDX-License-Identifier: MIT */
/*
 * main.c - `spanring run [options] -- CMD ARGS…`: options and the run
 * itself (private directory, private spanringd, the command, the tree,
 * clean-up). See tools/run/README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/clock.h"
#include "common/limits.h"
#include "proc.h"
#include "tree.h"

#ifndef SR_VERSION
#define SR_VERSION "0.0.0"
#endif

#define LIB_NAME "libspanring.so"
#define SIDECAR_NAME "spanringd"
#define SCHEDULE_DELAY "0.05" /* s: spans reach the file almost at once */

enum exporter { EXP_FILE, EXP_CONSOLE, EXP_OPENAI, EXP_OTLP };

/* spanringd's name of each (its --exporter). */
static const char *const exporter_names[] = { "file", "console", "openai",
					      "otlp" };

struct opts {
	enum exporter exporter;
	const char *endpoint; /* openai / otlp URL, NULL: its default */
	const char *json;     /* --json FILE ("-": stdout) */
	const char *workflow; /* SPANRING_WORKFLOW for the command */
	bool no_tree, keep, tree_stdout;
	int color;             /* -1 auto, 0 never, 1 always */
	unsigned width, depth; /* 0: terminal width / SR_TREE_DEPTH */
	bool width_set;
	char **cmd;
};

/* What one run made, for the clean-up. */
struct run {
	char dir[PATH_MAX - 64]; /* private directory */
	char rings[PATH_MAX];    /* its ring directory (SPANRING_DIR) */
	char lib[PATH_MAX];      /* libspanring.so */
	char sidecar[PATH_MAX];  /* spanringd */
	long system_sidecar;     /* pid serving the user's SPANRING_DIR */
	pid_t sd_pid;            /* private spanringd, 0 when stopped */
	int sd_status;
	int status;     /* the command's wait status */
	int exec_errno; /* the command could not be executed */
	FILE *json;     /* --json output, opened before the run */
};

static void usage(FILE *f)
{
	static const char text[] =
		"usage: spanring run [options] [--] CMD [ARG...]\n"
		"       spanring --help | --version\n"
		"\n"
		"Runs CMD under libspanring.so with a private ring directory\n"
		"and a private spanringd, then prints its trace as a tree on\n"
		"stderr. The exit status is CMD's (128+N: killed by signal N).\n"
		"\n"
		"options:\n"
		"  --exporter E      export as well: console, openai (with\n"
		"                    OPENAI_API_KEY) or otlp (OTEL_EXPORTER_OTLP_*\n"
		"                    variables); default file (tree only)\n"
		"  --endpoint URL    openai (default) or otlp exporter URL\n"
		"  --json FILE       write the trace as JSON lines ('-': stdout)\n"
		"  --no-tree         do not print the tree\n"
		"  --tree-stdout     print the tree on stdout, not stderr\n"
		"  --color WHEN      auto (default: on a terminal, unless\n"
		"                    NO_COLOR is set), always or never\n"
		"  --width N         cut lines at N columns (default: the\n"
		"                    terminal's width; 0: never)\n"
		"  --depth N         span levels shown (default %u)\n"
		"  --workflow NAME   the trace's workflow name\n"
		"  --keep            keep the private directory, print its path\n"
		"  -h, --help        this text\n"
		"  -V, --version     the version\n"
		"\n"
		"environment: SPANRING_LIB (the shim to preload), NO_COLOR.\n";

	fprintf(f, text, SR_TREE_DEPTH);
}

static int bad_usage(const char *fmt, const char *arg)
{
	fputs("spanring: ", stderr);
	fprintf(stderr, "%s%s\n", fmt, arg ? arg : "");
	fputs("try 'spanring run --help'\n", stderr);
	return EX_USAGE;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int set_exporter(struct opts *o, const char *v)
{
	for (size_t i = 0;
	     i < sizeof(exporter_names) / sizeof(exporter_names[0]); i++) {
		if (!strcmp(v, exporter_names[i])) {
			o->exporter = (enum exporter)i;
			return 0;
		}
	}
	return bad_usage("--exporter: expected file, console, openai or otlp, not ",
			 v);
}

static int set_color(struct opts *o, const char *v)
{
	if (!strcmp(v, "auto"))
		o->color = -1;
	else if (!strcmp(v, "always"))
		o->color = 1;
	else if (!strcmp(v, "never"))
		o->color = 0;
	else
		return bad_usage("--color: expected auto, always or never, not ",
				 v);
	return 0;
}

enum {
	O_EXPORTER = 256,
	O_ENDPOINT,
	O_JSON,
	O_NO_TREE,
	O_TREE_STDOUT,
	O_KEEP,
	O_COLOR,
	O_WIDTH,
	O_DEPTH,
	O_WORKFLOW
};

static const struct option longopts[] = {
	{ "exporter", required_argument, NULL, O_EXPORTER },
	{ "endpoint", required_argument, NULL, O_ENDPOINT },
	{ "json", required_argument, NULL, O_JSON },
	{ "no-tree", no_argument, NULL, O_NO_TREE },
	{ "tree-stdout", no_argument, NULL, O_TREE_STDOUT },
	{ "keep", no_argument, NULL, O_KEEP },
	{ "color", required_argument, NULL, O_COLOR },
	{ "width", required_argument, NULL, O_WIDTH },
	{ "depth", required_argument, NULL, O_DEPTH },
	{ "workflow", required_argument, NULL, O_WORKFLOW },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* One option. 0, -1 for "done, exit 0" (help, version), or an exit code. */
static int one_opt(struct opts *o, int c, const char *arg)
{
	switch (c) {
	case O_EXPORTER:
		return set_exporter(o, arg);
	case O_ENDPOINT:
		o->endpoint = arg;
		return 0;
	case O_JSON:
		o->json = arg;
		return 0;
	case O_NO_TREE:
		o->no_tree = true;
		return 0;
	case O_TREE_STDOUT:
		o->tree_stdout = true;
		return 0;
	case O_KEEP:
		o->keep = true;
		return 0;
	case O_COLOR:
		return set_color(o, arg);
	case O_WORKFLOW:
		o->workflow = arg;
		return 0;
	case O_WIDTH:
		o->width_set = true;
		return parse_uint(arg, 100000, &o->width)
			       ? bad_usage("--width: not a number of columns: ",
					   arg)
			       : 0;
	case O_DEPTH: {
		static char msg[48];

		if (!parse_uint(arg, SR_TREE_DEPTH_CAP, &o->depth) && o->depth)
			return 0;
		snprintf(msg, sizeof(msg), "--depth: expected 1..%u, not ",
			 SR_TREE_DEPTH_CAP);
		return bad_usage(msg, arg);
	}
	case 'h':
		usage(stdout);
		return -1;
	case 'V':
		printf("spanring %s\n", SR_VERSION);
		return -1;
	default:
		return EX_USAGE;
	}
}

/* Checks what only makes sense together. 0 or EX_USAGE. */
static int check_opts(struct opts *o, bool exporter_set)
{
	if (o->endpoint && !exporter_set)
		o->exporter = EXP_OPENAI;
	if (o->endpoint && o->exporter != EXP_OPENAI && o->exporter != EXP_OTLP)
		return bad_usage("--endpoint needs --exporter openai or otlp",
				 NULL);
	if (!o->cmd || !o->cmd[0])
		return bad_usage("no command given", NULL);
	return 0;
}

/* Parses argv ("spanring run …"). 0, -1 (exit 0 now) or an exit code. */
static int parse_opts(struct opts *o, int argc, char **argv)
{
	bool exporter_set = false;
	int c, rc;

	*o = (struct opts){ .color = -1 };
	if (argc < 2)
		return bad_usage("no subcommand (expected: run)", NULL);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help"))
		return one_opt(o, 'h', NULL);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return one_opt(o, 'V', NULL);
	if (strcmp(argv[1], "run"))
		return bad_usage("unknown subcommand: ", argv[1]);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "+:hV", longopts, NULL)) !=
	       -1) {
		if (c == '?' || c == ':')
			return bad_usage(c == '?' ? "unknown option: "
						  : "option needs a value: ",
					 argv[optind]);
		exporter_set |= c == O_EXPORTER;
		rc = one_opt(o, c, optarg);
		if (rc)
			return rc;
	}
	o->cmd = argv + 1 + optind;
	return check_opts(o, exporter_set);
}

/* --- finding the shim and the sidecar ------------------------------------ */

static int find_lib(struct run *r, const char *self)
{
	const char *env = getenv("SPANRING_LIB");
	char up[PATH_MAX + 16];

	if (env && *env) {
		if (!realpath(env, r->lib)) {
			fprintf(stderr, "spanring: SPANRING_LIB=%s: %s\n", env,
				strerror(errno));
			return -ENOENT;
		}
	} else {
		snprintf(up, sizeof(up), "%s/../lib", self);
		if (sr_run_find_in(self, LIB_NAME, false, r->lib,
				   sizeof(r->lib)) &&
		    sr_run_find_in(up, LIB_NAME, false, r->lib,
				   sizeof(r->lib))) {
			fprintf(stderr,
				"spanring: %s not found in %s or %s "
				"(set SPANRING_LIB)\n",
				LIB_NAME, self, up);
			return -ENOENT;
		}
		if (!realpath(r->lib, up) || strlen(up) >= sizeof(r->lib))
			return -ENOENT;
		strcpy(r->lib, up);
	}
	/* LD_PRELOAD splits at spaces and colons */
	if (strpbrk(r->lib, " :\t")) {
		fprintf(stderr,
			"spanring: cannot preload %s: the path has a "
			"space or colon\n",
			r->lib);
		return -EINVAL;
	}
	return 0;
}

static int find_sidecar(struct run *r, const char *self)
{
	char *path, *dir, *save = NULL;
	const char *env = getenv("PATH");
	int rc = -ENOENT;

	if (!sr_run_find_in(self, SIDECAR_NAME, true, r->sidecar,
			    sizeof(r->sidecar)))
		return 0;
	path = strdup(env ? env : "/usr/local/bin:/usr/bin:/bin");
	if (!path)
		return -ENOMEM;
	for (dir = strtok_r(path, ":", &save); dir && rc;
	     dir = strtok_r(NULL, ":", &save))
		rc = sr_run_find_in(dir, SIDECAR_NAME, true, r->sidecar,
				    sizeof(r->sidecar));
	free(path);
	if (rc)
		fprintf(stderr, "spanring: %s not found in %s nor in PATH\n",
			SIDECAR_NAME, self);
	return rc;
}

/* --- the private directory and sidecar ----------------------------------- */

static void path_in(char *out, size_t n, const struct run *r, const char *name)
{
	snprintf(out, n, "%s/%s", r->dir, name);
}

/* Prints the sidecar's log (bounded), after a failure. */
static void show_log(const struct run *r)
{
	char path[PATH_MAX], buf[4096];
	FILE *f;
	size_t k;

	path_in(path, sizeof(path), r, "spanringd.log");
	f = fopen(path, "re");
	if (!f)
		return;
	k = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	fwrite(buf, 1, k, stderr);
}

/*
 * Starts the private spanringd on the private ring directory: the file
 * exporter into spans.jsonl (the tree and --json) and, at the same time,
 * the exporter asked for (console: its stdout into console.out; openai,
 * otlp: to their endpoint), its spool and stats in the private
 * directory; waits until it serves. 0 or -errno (-ECHILD: it exited,
 * -EINTR: stop signal).
 */
static int start_sidecar(struct run *r, const struct opts *o)
{
	char out[PATH_MAX], spool[PATH_MAX], stats[PATH_MAX], log[PATH_MAX],
		console[PATH_MAX], exporters[32];
	const char *argv[24];
	int n = 0, rc;

	path_in(out, sizeof(out), r, "spans.jsonl");
	path_in(spool, sizeof(spool), r, "spool");
	path_in(stats, sizeof(stats), r, "stats.json");
	path_in(log, sizeof(log), r, "spanringd.log");
	path_in(console, sizeof(console), r, "console.out");
	if (mkdir(spool, 0700))
		return -errno;
	snprintf(exporters, sizeof(exporters), "file%s%s",
		 o->exporter != EXP_FILE ? "," : "",
		 o->exporter != EXP_FILE ? exporter_names[o->exporter] : "");
	argv[n++] = SIDECAR_NAME;
	argv[n++] = "--dir", argv[n++] = r->rings;
	argv[n++] = "--exporter", argv[n++] = exporters;
	argv[n++] = "--output", argv[n++] = out;
	if (o->endpoint)
		argv[n++] = o->exporter == EXP_OTLP ? "--otlp-endpoint"
						    : "--endpoint",
		argv[n++] = o->endpoint;
	argv[n++] = "--schedule-delay", argv[n++] = SCHEDULE_DELAY;
	argv[n++] = "--spool-dir", argv[n++] = spool;
	argv[n++] = "--stats-file", argv[n++] = stats;
	argv[n++] = "--log-level", argv[n++] = "warn";
	/* the private directory is in memory and thrown away */
	argv[n++] = "--fsync", argv[n++] = "no";
	argv[n] = NULL;
	r->sd_pid = sr_run_spawn_sidecar(r->sidecar, (char *const *)argv,
					 o->exporter == EXP_CONSOLE
						 ? console
						 : "/dev/null",
					 log);
	if (r->sd_pid < 0) {
		rc = r->sd_pid;
		r->sd_pid = 0;
		return rc;
	}
	rc = sr_run_wait_lock(r->rings, r->sd_pid, SR_RUN_START_TIMEOUT_MS,
			      &r->sd_status);
	if (rc == -ECHILD)
		r->sd_pid = 0;
	return rc;
}

/* --- the command's environment ------------------------------------------- */

/* LD_PRELOAD without other copies of libspanring.so, then ours. */
static int set_preload(const struct run *r)
{
	const char *old = getenv("LD_PRELOAD");
	char *copy = strdup(old ? old : ""), *tok, *save = NULL;
	size_t cap = strlen(old ? old : "") + strlen(r->lib) + 2;
	char *val = malloc(cap);
	int rc;

	if (!copy || !val) {
		free(copy);
		free(val);
		return -ENOMEM;
	}
	val[0] = 0;
	for (tok = strtok_r(copy, " :", &save); tok;
	     tok = strtok_r(NULL, " :", &save)) {
		const char *base = strrchr(tok, '/');

		if (!strcmp(base ? base + 1 : tok, LIB_NAME))
			continue;
		strcat(strcat(val, tok), ":");
	}
	strcat(val, r->lib);
	rc = setenv("LD_PRELOAD", val, 1) ? -errno : 0;
	free(copy);
	free(val);
	return rc;
}

static int set_env(const struct run *r, const struct opts *o)
{
	const char *clock = getenv("SPANRING_CLOCK");

	if (set_preload(r) || setenv("SPANRING_DIR", r->rings, 1) ||
	    (o->workflow && setenv("SPANRING_WORKFLOW", o->workflow, 1)))
		return -errno;
	/* the clock decided here, once: CMD's image need not ask */
	if ((!clock || !*clock || strcmp(clock, "auto") == 0) &&
	    setenv("SPANRING_CLOCK", sr_tsc_usable() ? "tsc" : "realtime", 1))
		return -errno;
	/* `spanring run` asks for tracing: an inherited off switch would
	 * leave the tree empty */
	unsetenv("SPANRING_DISABLE");
	return 0;
}

/* --- output ----------------------------------------------------------------
 */

/* Appends the file at `from` to out; a missing file is empty. 0 or
 * -errno. */
static int copy_to(const char *from, FILE *out)
{
	FILE *in = fopen(from, "re");
	char buf[65536];
	size_t k;
	int rc = 0;

	if (!in)
		return errno == ENOENT ? 0 : -errno;
	while ((k = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, k, out) != k)
			break;
	if (ferror(in) || fflush(out) || ferror(out))
		rc = -EIO;
	fclose(in);
	return rc;
}

static void describe_exit(FILE *f, const struct run *r, const struct opts *o,
			  bool color)
{
	const char *name = strrchr(o->cmd[0], '/');
	const char *c0 = color ? "\033[1m" : "", *c1 = color ? "\033[0m" : "";

	name = name ? name + 1 : o->cmd[0];
	if (WIFSIGNALED(r->status)) {
		int sig = WTERMSIG(r->status);
		const char *abbr = sigabbrev_np(sig);

		fprintf(f,
			"%sspanring: %s killed by signal %d (SIG%s), status %d%s\n",
			c0, name, sig, abbr ? abbr : "?", 128 + sig, c1);
	} else {
		fprintf(f, "%sspanring: %s exited with status %d%s\n", c0, name,
			WEXITSTATUS(r->status), c1);
	}
}

/* The sidecar's counters (stats.json), NULL if unreadable. */
static cJSON *read_stats(const struct run *r, const char *name)
{
	char path[PATH_MAX], buf[SR_STATS_READ_MAX + 1];
	FILE *in;
	size_t k;

	path_in(path, sizeof(path), r, name);
	in = fopen(path, "re");
	if (!in)
		return NULL;
	k = fread(buf, 1, sizeof(buf) - 1, in);
	fclose(in);
	buf[k] = 0;
	return cJSON_Parse(buf);
}

static double stat_of(const cJSON *st, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Counters that mean something was lost or failed, one line each. */
static void stats_warnings(const cJSON *st, FILE *f)
{
	static const char *const bad[] = { "drop",  "fail", "malformed", "dead",
					   "fault", "lost", "bad" };
	const cJSON *it;

	cJSON_ArrayForEach(it, st)
	{
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (cJSON_IsNumber(it) && it->valuedouble > 0 &&
			    it->string && strstr(it->string, bad[i])) {
				fprintf(f,
					"spanring: spanringd counted %s = %.0f\n",
					it->string, it->valuedouble);
				break;
			}
	}
}

/* --exporter openai|otlp: what was sent there, what is left for it (its
 * counters in the stats file's "exporters"). */
static void export_summary(const cJSON *st, const char *name, FILE *f)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(st, "exporters"), name);
	double items = stat_of(d, "items_exported");
	double reqs = stat_of(d, "http_requests");
	double left = stat_of(d, "spool_behind");

	fprintf(f,
		"spanring: spanringd exported %.0f item%s in %.0f request%s "
		"(%s exporter)\n",
		items, items == 1 ? "" : "s", reqs, reqs == 1 ? "" : "s", name);
	if (left > 0)
		fprintf(f,
			"spanring: %.0f segment%s not delivered; lost with the "
			"private directory unless --keep\n",
			left, left == 1 ? " was" : "s were");
}

static int render_file(const char *path, FILE *f, const struct sr_tree_opts *t)
{
	struct sr_tree *tree = sr_tree_new();
	FILE *in = fopen(path, "re");
	int rc = !tree ? -ENOMEM : in ? sr_tree_load(tree, in) : 0;

	/* no file: the exporter had nothing to write */
	if (!in && errno != ENOENT)
		rc = -errno;

	if (!rc) {
		if (sr_tree_spans(tree) == 0)
			fputs("spanring: no spans were recorded (a static or "
			      "setuid program is not traced)\n",
			      f);
		rc = sr_tree_render(tree, f, t);
		if (sr_tree_malformed(tree))
			fprintf(f, "spanring: %zu lines were not spans\n",
				sr_tree_malformed(tree));
		if (sr_tree_dropped(tree))
			fprintf(f, "spanring: %zu more spans not shown\n",
				sr_tree_dropped(tree));
	}
	if (in)
		fclose(in);
	sr_tree_free(tree);
	return rc;
}

static struct sr_tree_opts tree_opts(const struct opts *o, FILE *f)
{
	struct sr_tree_opts t = { .max_depth = o->depth };
	const char *nc = getenv("NO_COLOR");
	struct winsize ws;

	t.color = o->color == 1 ||
		  (o->color < 0 && isatty(fileno(f)) && !(nc && *nc));
	if (o->width_set)
		t.width = o->width;
	else if (isatty(fileno(f)) && !ioctl(fileno(f), TIOCGWINSZ, &ws))
		t.width = ws.ws_col;
	return t;
}

static void show_tree(const struct run *r, FILE *f,
		      const struct sr_tree_opts *t)
{
	char path[PATH_MAX];
	int rc;

	if (r->system_sidecar > 0)
		fprintf(f,
			"spanring: SPANRING_DIR is served by spanringd pid "
			"%ld; this run was traced in a private directory\n",
			r->system_sidecar);
	path_in(path, sizeof(path), r, "spans.jsonl");
	rc = render_file(path, f, t);
	if (rc)
		fprintf(f, "spanring: cannot show the trace: %s\n",
			strerror(-rc));
}

/* What the sidecar logged (level warn) and counted as lost or failed. */
static void sidecar_warnings(const struct run *r, FILE *f)
{
	char path[PATH_MAX];
	cJSON *st;

	path_in(path, sizeof(path), r, "spanringd.log");
	copy_to(path, f);
	st = read_stats(r, "stats.json");
	stats_warnings(st, f);
	cJSON_Delete(st);
}

/* --- the run ---------------------------------------------------------------
 */

static int exit_code(const struct run *r)
{
	if (r->exec_errno)
		return r->exec_errno == ENOENT || r->exec_errno == ENOTDIR
			       ? 127
			       : 126;
	if (WIFSIGNALED(r->status))
		return 128 + WTERMSIG(r->status);
	return WEXITSTATUS(r->status);
}

/* Stops the private sidecar: it drains the rings and flushes the file. */
static void stop_sidecar(struct run *r)
{
	int st;

	if (r->sd_pid <= 0)
		return;
	if (sr_run_stop(r->sd_pid, SR_RUN_STOP_TIMEOUT_MS, &st))
		st = 0;
	r->sd_pid = 0;
	if (sr_run_stop_signal())
		return;
	if ((WIFEXITED(st) && WEXITSTATUS(st)) ||
	    (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM)) {
		fprintf(stderr,
			"spanring: spanringd ended badly (status %#x):\n", st);
		show_log(r);
	}
}

/* --exporter console|openai|otlp: the sidecar exported to it beside the
 * file (both are done once it stopped): its console lines, or what it
 * sent. */
static void show_export(const struct run *r, const struct opts *o, FILE *f)
{
	char path[PATH_MAX];
	cJSON *st;

	if (o->exporter == EXP_CONSOLE) {
		path_in(path, sizeof(path), r, "console.out");
		copy_to(path, f);
		return;
	}
	st = read_stats(r, "stats.json");
	export_summary(st, exporter_names[o->exporter], f);
	cJSON_Delete(st);
}

static void finish(struct run *r, const struct opts *o)
{
	stop_sidecar(r);
	if (r->json && r->json != stdout && fclose(r->json))
		fprintf(stderr, "spanring: cannot write %s: %s\n", o->json,
			strerror(errno));
	r->json = NULL;
	if (!r->dir[0])
		return;
	if (o->keep)
		fprintf(stderr, "spanring: kept %s\n", r->dir);
	else if (sr_run_rmtree(r->dir))
		fprintf(stderr, "spanring: could not remove %s\n", r->dir);
}

static int prepare(struct run *r, const struct opts *o)
{
	char self[PATH_MAX];
	const char *user_dir = getenv("SPANRING_DIR");
	int rc;

	if (sr_run_self_dir(self, sizeof(self)) || find_lib(r, self) ||
	    find_sidecar(r, self))
		return EX_UNAVAILABLE;
	if (user_dir && *user_dir)
		r->system_sidecar = sr_run_lock_holder(user_dir);
	/* a --json file that cannot be written fails before the run */
	if (o->json) {
		r->json = strcmp(o->json, "-") ? fopen(o->json, "we") : stdout;
		if (!r->json) {
			fprintf(stderr, "spanring: cannot write %s: %s\n",
				o->json, strerror(errno));
			return EX_CANTCREAT;
		}
	}
	rc = sr_run_mkdtemp(r->dir, sizeof(r->dir));
	if (rc) {
		fprintf(stderr,
			"spanring: cannot create a private directory: %s\n",
			strerror(-rc));
		r->dir[0] = 0;
		return EX_OSERR;
	}
	snprintf(r->rings, sizeof(r->rings), "%s/rings", r->dir);
	/* the tree and --json come from the file exporter, the exporter
	 * asked for runs beside it in the same sidecar */
	rc = mkdir(r->rings, 0700) ? -errno : start_sidecar(r, o);
	if (rc == -EINTR)
		return 128 + sr_run_stop_signal();
	if (rc) {
		fprintf(stderr, "spanring: %s did not start: %s\n", r->sidecar,
			rc == -ECHILD ? "it exited" : strerror(-rc));
		show_log(r);
		return EX_UNAVAILABLE;
	}
	if (set_env(r, o))
		return EX_OSERR;
	return 0;
}

static void output(struct run *r, const struct opts *o)
{
	FILE *f = o->tree_stdout ? stdout : stderr;
	struct sr_tree_opts t = tree_opts(o, f);
	char path[PATH_MAX];
	int rc;

	if (r->exec_errno) {
		/* as a shell says it: a name not found in PATH vs a path */
		fprintf(stderr, "spanring: %s: %s\n", o->cmd[0],
			r->exec_errno == ENOENT && !strchr(o->cmd[0], '/')
				? "command not found"
				: strerror(r->exec_errno));
		return;
	}
	if (sr_run_stop_signal())
		return; /* asked to stop after the command: no tree */
	path_in(path, sizeof(path), r, "spans.jsonl");
	rc = r->json ? copy_to(path, r->json) : 0;
	if (rc)
		fprintf(stderr, "spanring: cannot write %s: %s\n", o->json,
			strerror(-rc));
	if (!o->no_tree)
		show_tree(r, f, &t);
	if (o->exporter != EXP_FILE && !sr_run_stop_signal())
		show_export(r, o, f);
	sidecar_warnings(r, f);
	if (!o->no_tree)
		describe_exit(f, r, o, t.color);
	fflush(f);
}

int main(int argc, char **argv)
{
	static struct run r;
	struct opts o;
	int rc = parse_opts(&o, argc, argv);

	if (rc)
		return rc < 0 ? EX_OK : rc;
	sr_run_signals_init();
	rc = prepare(&r, &o);
	if (rc == 0) {
		rc = sr_run_command(o.cmd, &r.status, &r.exec_errno);
		if (rc == -EINTR) {
			rc = 128 + sr_run_stop_signal();
		} else if (rc) {
			fprintf(stderr, "spanring: cannot start %s: %s\n",
				o.cmd[0], strerror(-rc));
			rc = EX_OSERR;
		}
	}
	if (rc == 0) {
		/* background children of the command: let short ones finish
		 * so their spans make the tree */
		sr_run_linger(SR_RUN_LINGER_MS);
		stop_sidecar(&r);
		output(&r, &o);
	}
	finish(&r, &o);
	return rc ? rc : exit_code(&r);
}
