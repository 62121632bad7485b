/* SPDX-License-Identifier: MIT */
/*
 * `spanring run`, end to end: the real spanring, shim and sidecar. The
 * private directory is made under the test's own XDG_RUNTIME_DIR (on tmpfs,
 * as a real one is) so the clean-up can be checked; the test is a child subreaper, so a process
 * spanring left behind would become its child and be seen.
 */
#include "tests/lib/harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "common/clock.h"
#include "tests/lib/sidecar.h"

extern char **environ;

struct proc {
	pid_t pid;
	int in, out, err; /* pipe ends, -1 once closed */
	int status;
	char *o, *e; /* captured stdout / stderr */
	size_t olen, elen;
};

static bool have_parts(void)
{
	return access(sr_build_path("spanring"), X_OK) == 0 &&
	       access(sr_build_path("spanringd"), X_OK) == 0 &&
	       access(sr_build_path("libspanring.so"), R_OK) == 0;
}

#define NEED_PARTS()                                                   \
	do {                                                           \
		if (!have_parts()) {                                   \
			fprintf(stderr, "spanring, spanringd or "      \
					"libspanring.so not built\n"); \
			skip();                                        \
		}                                                      \
	} while (0)

static bool dropped_var(const char *e)
{
	static const char *const drop[] = {
		"LD_PRELOAD=",   "SPANRING",  "TRACEPARENT=",
		"ASAN_OPTIONS=", "NO_COLOR=", "XDG_RUNTIME_DIR=",
		"COLUMNS=",
	};

	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (!strncmp(e, drop[i], strlen(drop[i])))
			return true;
	return false;
}

/* spanring's environment: ours without spanring's variables, the private
 * directory's base, the ASan bits, then extra (NULL-terminated). */
/* The test's own XDG_RUNTIME_DIR: on tmpfs, as a real one is (a ring
 * directory on disk would make spanringd warn about it). */
static char *runtime_tmpdir(void)
{
	char *d = sr_strf("/dev/shm/spanring-test-run-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static char **make_env(const char *runtime_dir, const char *const *extra)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 16, sizeof(*env));
	assert_non_null(env);
	for (size_t i = 0; environ[i]; i++)
		if (!dropped_var(environ[i]))
			env[k++] = environ[i];
	env[k++] = sr_strf("XDG_RUNTIME_DIR=%s", runtime_dir);
	if (sr_asan_build()) {
		env[k++] = sr_strf("LD_PRELOAD=%s", sr_asan_runtime());
		env[k++] = (char *)"ASAN_OPTIONS=verify_asan_link_order=0:"
				   "detect_leaks=0";
	}
	for (size_t i = 0; extra && extra[i] && k < n + 15; i++)
		env[k++] = (char *)extra[i];
	env[k] = NULL;
	return env;
}

/* Starts `spanring args…` in its own process group with piped stdio;
 * stderr goes to the terminal tty instead when tty >= 0. */
static void start_on(struct proc *p, const char *runtime_dir,
		     const char *const *extra, const char *const args[],
		     int tty)
{
	int in[2], out[2], err[2];
	char *argv[64];
	char **env = make_env(runtime_dir, extra);
	size_t n = 0;

	argv[n++] = (char *)sr_build_path("spanring");
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	memset(p, 0, sizeof(*p));
	p->pid = fork();
	sr_assert_cmp(p->pid, >=, 0);
	if (p->pid == 0) {
		/* a failed test must not leave it running */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(tty >= 0 ? tty : err[1], 2);
		execve(argv[0], argv, env);
		_exit(120);
	}
	setpgid(p->pid, p->pid);
	close(in[0]), close(out[1]), close(err[1]);
	p->in = in[1], p->out = out[0], p->err = err[0];
	for (size_t i = 0; env[i]; i++)
		if (!strncmp(env[i], "XDG_RUNTIME_DIR=", 16) ||
		    (!strncmp(env[i], "LD_PRELOAD=", 11) && sr_asan_build()))
			free(env[i]);
	free(env);
}

static void start(struct proc *p, const char *runtime_dir,
		  const char *const *extra, const char *const args[])
{
	start_on(p, runtime_dir, extra, args, -1);
}

static void append(char **buf, size_t *len, const char *data, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = 0;
}

/* Reads stdout and stderr until stdout holds `until` (NULL: both closed).
 * Fails after 60 s (the runner's timeout would catch a hang anyway). */
static void pump(struct proc *p, const char *until)
{
	time_t deadline = time(NULL) + 60;

	while ((p->out >= 0 || p->err >= 0) &&
	       !(until && p->o && strstr(p->o, until))) {
		struct pollfd pf[2] = { { p->out, POLLIN, 0 },
					{ p->err, POLLIN, 0 } };
		char buf[4096];
		int r = poll(pf, 2, 1000);

		sr_assert_cmp(time(NULL), <, deadline);
		if (r < 0 && errno == EINTR)
			continue;
		sr_assert_cmp(r, >=, 0);
		for (int i = 0; i < 2; i++) {
			ssize_t k;
			int *fd = i ? &p->err : &p->out;

			if (*fd < 0 || !pf[i].revents)
				continue;
			k = read(*fd, buf, sizeof(buf));
			if (k > 0)
				append(i ? &p->e : &p->o,
				       i ? &p->elen : &p->olen, buf, (size_t)k);
			else {
				close(*fd);
				*fd = -1;
			}
		}
	}
}

/* Writes stdin text (NULL: none), closes stdin, reads all, waits. */
static void finish(struct proc *p, const char *input)
{
	if (input)
		assert_int_equal(write(p->in, input, strlen(input)),
				 (ssize_t)strlen(input));
	if (p->in >= 0)
		close(p->in);
	p->in = -1;
	pump(p, NULL);
	assert_int_equal(waitpid(p->pid, &p->status, 0), p->pid);
	if (!p->o)
		append(&p->o, &p->olen, "", 0);
	if (!p->e)
		append(&p->e, &p->elen, "", 0);
}

/* After a signal: stdin stays open until spanring has ended, so the
 * command can only end by the signal, never by an EOF on its stdin. */
static void finish_signalled(struct proc *p)
{
	pump(p, NULL);
	close(p->in);
	p->in = -1;
	finish(p, NULL);
}

static void proc_free(struct proc *p)
{
	free(p->o);
	free(p->e);
}

/* Runs spanring to the end. Returns its exit code (-1 if killed). */
static int run(struct proc *p, const char *rt, const char *input,
	       const char *const args[])
{
	start(p, rt, NULL, args);
	finish(p, input);
	return WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;
}

/* true if dir has no entries. */
static bool dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

/* No descendant is left: as a subreaper we would have inherited it. */
static void assert_no_children(void)
{
	int st;

	assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* No descendant and nothing in rt is left behind; removes rt. */
static void assert_left_clean(char *rt)
{
	assert_no_children();
	assert_true(dir_empty(rt));
	sr_tmpdir_free(rt);
}

/* CMD gets the clock decided by spanring (its image asks nothing), or
 * the one the caller asked for. */
static void run_decides_the_clock_for_its_command(void **state)
{
	const char *const args[] = { "run", "--no-tree",
				     "--",  "sh",
				     "-c",  "echo \"$SPANRING_CLOCK\"",
				     NULL };
	const char *const asked[] = { "SPANRING_CLOCK=realtime", NULL };
	const char *const *extra[] = { NULL, asked };
	const char *want[] = { sr_tsc_usable() ? "tsc\n" : "realtime\n",
			       "realtime\n" };
	char *rt = runtime_tmpdir();

	(void)state;
	NEED_PARTS();
	for (int i = 0; i < 2; i++) {
		struct proc p;

		start(&p, rt, extra[i], args);
		finish(&p, NULL);
		sr_assert_exited(p.status, 0);
		assert_string_equal(p.o, want[i]);
		proc_free(&p);
	}
	sr_tmpdir_free(rt);
}

static void run_keeps_exit_code(void **state)
{
	char *rt = runtime_tmpdir();
	struct proc p;

	(void)state;
	NEED_PARTS();
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "run", "--no-tree", "--", "sh",
					       "-c", "exit 0", NULL }),
			 0);
	proc_free(&p);
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "run", "--no-tree", "--", "sh",
					       "-c", "exit 7", NULL }),
			 7);
	proc_free(&p);
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "run", "--", "sh", "-c",
					       "kill -TERM $$", NULL }),
			 128 + SIGTERM);
	assert_non_null(
		strstr(p.e, "killed by signal 15 (SIGTERM), status 143"));
	proc_free(&p);
	sr_tmpdir_free(rt);
}

static void run_reports_missing_command(void **state)
{
	char *rt = runtime_tmpdir();
	char *noexec = sr_strf("%s/noexec.sh", rt);
	struct proc p;
	int fd;

	(void)state;
	NEED_PARTS();
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "run", "--",
					       "no-such-command-here", NULL }),
			 127);
	assert_non_null(strstr(p.e, "no-such-command-here: command not found"));
	proc_free(&p);
	fd = open(noexec, O_WRONLY | O_CREAT, 0600);
	sr_assert_cmp(fd, >=, 0);
	close(fd);
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "run", "--", noexec, NULL }),
			 126);
	assert_non_null(strstr(p.e, "Permission denied"));
	proc_free(&p);
	unlink(noexec);
	free(noexec);
	assert_true(dir_empty(rt));
	sr_tmpdir_free(rt);
}

/* `spanring --help` exits 0 and is what tools/run/README.md shows (make
 * docs writes it there). */
static void run_help_documented(void **state)
{
	char *rt = runtime_tmpdir(), *fenced;
	struct proc p;

	(void)state;
	NEED_PARTS();
	assert_int_equal(run(&p, rt, NULL, (const char *[]){ "--help", NULL }),
			 0);
	assert_non_null(strstr(p.o, "--depth N"));
	fenced = sr_strf("```text\n%s```\n", p.o);
	sr_assert_doc_block("tools/run/README.md", "spanring --help", fenced);
	free(fenced);
	proc_free(&p);
	sr_tmpdir_free(rt);
}

static void run_rejects_bad_options(void **state)
{
	const char *const bad[][6] = {
		{ "run", "--exporter", "carrier-pigeon", "--", "true", NULL },
		{ "run", "--width", "wide", "--", "true", NULL },
		{ "run", "--bogus", "--", "true", NULL },
		{ "run", "--endpoint", "http://127.0.0.1:1/", "--exporter",
		  "console", NULL },
		{ "run", "--no-tree", NULL },
		{ "walk", "--", "true", NULL },
	};
	char *rt = runtime_tmpdir();
	struct proc p;

	(void)state;
	NEED_PARTS();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(run(&p, rt, NULL, bad[i]), 64);
		assert_non_null(strstr(p.e, "spanring"));
		assert_int_equal(p.olen, 0);
		proc_free(&p);
	}
	/* an unwritable --json fails before the command runs */
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "run", "--json",
					       "/nonexistent-dir/x.json", "--",
					       "sh", "-c", "echo ran", NULL }),
			 73);
	assert_int_equal(p.olen, 0);
	assert_non_null(strstr(p.e, "cannot write /nonexistent-dir/x.json"));
	proc_free(&p);
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "--version", NULL }),
			 0);
	assert_non_null(strstr(p.o, "spanring "));
	proc_free(&p);
	sr_tmpdir_free(rt);
}

/* What sh prints when run directly, for comparison. */
static void direct(const char *script, const char *input, char **out,
		   char **err)
{
	const char *args[] = { "sh", "-c", script, NULL };
	int in[2], o[2], e[2];
	struct proc p = { 0 };

	assert_int_equal(pipe2(in, O_CLOEXEC) | pipe2(o, O_CLOEXEC) |
				 pipe2(e, O_CLOEXEC),
			 0);
	p.pid = fork();
	if (p.pid == 0) {
		dup2(in[0], 0), dup2(o[1], 1), dup2(e[1], 2);
		execvp("sh", (char *const *)args);
		_exit(120);
	}
	close(in[0]), close(o[1]), close(e[1]);
	p.in = in[1], p.out = o[0], p.err = e[0];
	finish(&p, input);
	*out = p.o;
	*err = p.e;
}

static void run_passes_stdio_through(void **state)
{
	const char *script = "cat; echo to-stderr >&2; printf '%s' \"$X\"";
	const char *input = "line one\nline two\n\001binary\377\n";
	char *rt = runtime_tmpdir(), *out, *err;
	struct proc p;

	(void)state;
	NEED_PARTS();
	direct(script, input, &out, &err);
	assert_int_equal(run(&p, rt, input,
			     (const char *[]){ "run", "--no-tree", "--", "sh",
					       "-c", script, NULL }),
			 0);
	assert_string_equal(p.o, out);
	assert_string_equal(p.e, err);
	proc_free(&p);
	/* with the tree: stdout stays clean, the tree follows on stderr */
	assert_int_equal(run(&p, rt, input,
			     (const char *[]){ "run", "--", "sh", "-c", script,
					       NULL }),
			 0);
	assert_string_equal(p.o, out);
	assert_memory_equal(p.e, err, strlen(err));
	assert_non_null(strstr(p.e + strlen(err), "process sh -c"));
	proc_free(&p);
	free(out);
	free(err);
	sr_tmpdir_free(rt);
}

#define WAIT_SCRIPT(sig, code)                                                 \
	"trap 'echo got-" sig "; exit " code "' " sig "; echo ready; read x; " \
	"echo not-signalled"

/* Runs `spanring run -- sh -c script` (script prints "ready" and then
 * waits), sends sig to spanring (group: to its whole process group, as a
 * terminal does) once ready, and waits for the end. */
static void signal_when_ready(struct proc *p, const char *rt,
			      const char *script, int sig, bool group)
{
	start(p, rt, NULL,
	      (const char *[]){ "run", "--", "sh", "-c", script, NULL });
	pump(p, "ready\n");
	assert_int_equal(kill(group ? -p->pid : p->pid, sig), 0);
	finish_signalled(p);
}

static void run_forwards_sigterm(void **state)
{
	char *rt = runtime_tmpdir();
	struct proc p;

	(void)state;
	NEED_PARTS();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	signal_when_ready(&p, rt, WAIT_SCRIPT("TERM", "42"), SIGTERM, false);
	assert_true(WIFEXITED(p.status));
	assert_int_equal(WEXITSTATUS(p.status), 42);
	assert_string_equal(p.o, "ready\ngot-TERM\n");
	assert_non_null(strstr(p.e, "exited with status 42"));
	proc_free(&p);
	/* without a trap the command dies of it, and spanring says so */
	signal_when_ready(&p, rt, "echo ready; read x", SIGTERM, false);
	assert_int_equal(WEXITSTATUS(p.status), 128 + SIGTERM);
	assert_non_null(strstr(p.e, "killed by signal 15 (SIGTERM)"));
	proc_free(&p);
	assert_left_clean(rt);
}

static void run_sigint_to_group_reaches_command(void **state)
{
	char *rt = runtime_tmpdir();
	struct proc p;

	(void)state;
	NEED_PARTS();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	/* as Ctrl-C does: the whole foreground group gets SIGINT */
	signal_when_ready(&p, rt, WAIT_SCRIPT("INT", "43"), SIGINT, true);
	/* spanring survived it, and reports the command's own exit */
	assert_true(WIFEXITED(p.status));
	assert_int_equal(WEXITSTATUS(p.status), 43);
	assert_string_equal(p.o, "ready\ngot-INT\n");
	proc_free(&p);
	signal_when_ready(&p, rt, "echo ready; read x", SIGINT, true);
	assert_true(WIFEXITED(p.status));
	assert_int_equal(WEXITSTATUS(p.status), 128 + SIGINT);
	assert_non_null(strstr(p.e, "killed by signal 2 (SIGINT)"));
	proc_free(&p);
	assert_left_clean(rt);
}

static void run_leaves_nothing_behind(void **state)
{
	char *rt = runtime_tmpdir();
	struct proc p;
	char *kept, *path, *nl;

	(void)state;
	NEED_PARTS();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	/* a background child outliving the command is not spanring's */
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "run", "--", "sh", "-c",
					       "ls / >/dev/null; exit 5",
					       NULL }),
			 5);
	proc_free(&p);
	assert_no_children();
	assert_true(dir_empty(rt));
	/* --keep: the directory stays, with the trace in it */
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "run", "--keep", "--", "true",
					       NULL }),
			 0);
	kept = strstr(p.e, "spanring: kept ");
	assert_non_null(kept);
	kept += strlen("spanring: kept ");
	nl = strchr(kept, '\n');
	assert_non_null(nl);
	*nl = 0;
	assert_int_equal(strncmp(kept, rt, strlen(rt)), 0);
	path = sr_strf("%s/spans.jsonl", kept);
	assert_int_equal(access(path, R_OK), 0);
	free(path);
	proc_free(&p);
	assert_no_children();
	sr_tmpdir_free(rt);
}

/* A spanringd serving dir, as a system one would. Returns its pid. */
static pid_t start_system_sidecar(const char *dir, const char *out)
{
	char *lock = sr_strf("%s/.spanringd.lock", dir);
	char *spool = sr_strf("%s.spool", out);
	const char *argv[] = { sr_build_path("spanringd"),
			       "--dir",
			       dir,
			       "--exporter",
			       "file",
			       "--output",
			       out,
			       "--spool-dir",
			       spool,
			       "--log-level",
			       "error",
			       NULL };
	time_t deadline = time(NULL) + 20;
	pid_t pid;
	bool up = false;

	pid = fork();
	sr_assert_cmp(pid, >=, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("SPANRING_DISABLE", "1", 1);
		execv(argv[0], (char *const *)argv);
		_exit(120);
	}
	/* up once it wrote its pid into the lock it holds */
	while (!up && time(NULL) < deadline) {
		char *pidtxt = sr_read_file(lock, NULL);

		up = pidtxt && atoi(pidtxt) == pid;
		free(pidtxt);
		if (!up) {
			assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
			usleep(2000); /* polling an external effect */
		}
	}
	assert_true(up);
	free(lock);
	free(spool);
	return pid;
}

static void run_beside_system_sidecar(void **state)
{
	char *rt = runtime_tmpdir(), *sys = sr_tmpdir("sysdir");
	char *out = sr_strf("%s/system.jsonl", rt);
	char *dirvar = sr_strf("SPANRING_DIR=%s", sys);
	const char *extra[] = { dirvar, NULL };
	struct proc p;
	pid_t sd;
	int st;

	(void)state;
	NEED_PARTS();
	sd = start_system_sidecar(sys, out);
	start(&p, rt, extra,
	      (const char *[]){ "run", "--", "sh", "-c", "exit 4", NULL });
	finish(&p, NULL);
	assert_int_equal(WEXITSTATUS(p.status), 4);
	assert_non_null(strstr(p.e, "is served by spanringd pid"));
	assert_non_null(strstr(p.e, "process sh -c 'exit 4'"));
	/* the system sidecar is undisturbed: alive, still the lock holder */
	assert_int_equal(waitpid(sd, &st, WNOHANG), 0);
	{
		char *lock = sr_strf("%s/.spanringd.lock", sys);
		int fd = open(lock, O_RDONLY | O_CLOEXEC);

		sr_assert_cmp(fd, >=, 0);
		assert_int_equal(flock(fd, LOCK_SH | LOCK_NB), -1);
		assert_int_equal(errno, EWOULDBLOCK);
		close(fd);
		free(lock);
	}
	proc_free(&p);
	assert_int_equal(kill(sd, SIGTERM), 0);
	assert_int_equal(waitpid(sd, &st, 0), sd);
	sr_assert_exited(st, 0);
	free(out), free(dirvar);
	sr_tmpdir_free(sys);
	sr_tmpdir_free(rt);
}

/* --- the tree against the spans of --json -------------------------------- */

static cJSON *load_spans(const char *path)
{
	char *text = sr_read_file(path, NULL), *line, *save = NULL;
	cJSON *arr = cJSON_CreateArray();

	assert_non_null(text);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		cJSON *o = cJSON_Parse(line);
		const cJSON *kind = cJSON_GetObjectItem(o, "object");

		assert_non_null(o);
		if (cJSON_IsString(kind) &&
		    !strcmp(kind->valuestring, "trace.span"))
			cJSON_AddItemToArray(arr, o);
		else
			cJSON_Delete(o);
	}
	free(text);
	return arr;
}

static const char *sval(const cJSON *o, const char *path1, const char *path2)
{
	const cJSON *v = cJSON_GetObjectItem(o, path1);

	if (path2)
		v = cJSON_GetObjectItem(v, path2);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The process span whose argv[0] is argv0. */
static const cJSON *process_of(const cJSON *spans, const char *argv0,
			       const char *argv1)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, spans)
	{
		const cJSON *d =
			cJSON_GetObjectItem(cJSON_GetObjectItem(s, "span_data"),
					    "data");
		const cJSON *argv = cJSON_GetObjectItem(d,
							"process.command_args");
		const cJSON *code = cJSON_GetObjectItem(d, "process.exit.code");

		if (strcmp(sval(s, "span_data", "name"), "process") ||
		    !cJSON_IsNumber(code) || cJSON_GetArraySize(argv) < 2)
			continue;
		if (!strcmp(cJSON_GetArrayItem(argv, 0)->valuestring, argv0) &&
		    !strcmp(cJSON_GetArrayItem(argv, 1)->valuestring, argv1))
			return s;
	}
	return NULL;
}

static const cJSON *by_id(const cJSON *spans, const char *id)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, spans) if (id && !strcmp(sval(s, "id", NULL),
						       id)) return s;
	return NULL;
}

static void run_tree_matches_json(void **state)
{
	char *rt = runtime_tmpdir(), *json = sr_strf("%s/spans.json", rt);
	const cJSON *sh, *ls, *up;
	char *shl, *lsl, *count;
	cJSON *spans;
	struct proc p;
	int hops = 0;

	(void)state;
	NEED_PARTS();
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){
				     "run", "--json", json, "--", "sh", "-c",
				     "true; ls /nonexistent; exit 3", NULL }),
			 3);
	spans = load_spans(json);
	sh = process_of(spans, "sh", "-c");
	ls = process_of(spans, "ls", "/nonexistent");
	assert_non_null(sh);
	assert_non_null(ls);
	/* ls descends from sh: spawn ← sh (dash starts it with vfork) */
	for (up = ls; up && up != sh; hops++)
		up = by_id(spans, sval(up, "parent_id", NULL));
	assert_ptr_equal(up, sh);
	sr_assert_cmp(hops, >=, 1);
	/* the tree shows one line per span, nested the same way */
	assert_non_null(strstr(p.e, "\nspanring: sh exited with status 3\n"));
	shl = sr_line_with(p.e,
			   "process sh -c 'true; ls /nonexistent; exit 3'");
	lsl = sr_line_with(p.e, "process ls /nonexistent");
	assert_non_null(strstr(shl, "exit 3"));
	assert_non_null(strstr(lsl, "exit 2"));
	assert_int_equal(sr_label_col(lsl),
			 sr_label_col(shl) + 3 * (size_t)hops);
	assert_non_null(strstr(p.e, "spawn ls /nonexistent"));
	count = sr_strf("  %d spans\n", cJSON_GetArraySize(spans));
	assert_non_null(strstr(p.e, count));
	free(count), free(shl), free(lsl);
	cJSON_Delete(spans);
	proc_free(&p);
	free(json);
	sr_tmpdir_free(rt);
}

static void run_waits_for_background_children(void **state)
{
	char *rt = runtime_tmpdir(), *line;
	struct proc p;

	(void)state;
	NEED_PARTS();
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	/* sh ends at once; its background child waits for our "go" */
	start(&p, rt, NULL,
	      (const char *[]){ "run", "--", "sh", "-c",
				"(read x; ls / >/dev/null) & echo started",
				NULL });
	pump(&p, "started\n");
	finish(&p, "go\n");
	assert_int_equal(WEXITSTATUS(p.status), 0);
	line = sr_line_with(p.e, "process ls /");
	assert_non_null(strstr(line, "exit 0"));
	free(line);
	proc_free(&p);
	assert_left_clean(rt);
}

static void run_console_exporter_shows_lines_and_tree(void **state)
{
	char *rt = runtime_tmpdir();
	struct proc p;

	(void)state;
	NEED_PARTS();
	assert_int_equal(run(&p, rt, NULL,
			     (const char *[]){ "run", "--exporter", "console",
					       "--", "sh", "-c", "exit 6",
					       NULL }),
			 6);
	assert_non_null(strstr(p.e, "[Exporter] Export trace_id=trace_"));
	assert_non_null(strstr(p.e, "[Exporter] Export span: {"));
	assert_non_null(strstr(p.e, "process sh -c 'exit 6'"));
	assert_int_equal(p.olen, 0);
	proc_free(&p);
	assert_true(dir_empty(rt));
	sr_tmpdir_free(rt);
}

/* Starts spanring-recv on a free loopback port; returns its pid. */
static pid_t start_receiver(const char *items, int *port)
{
	const char *argv[] = { sr_build_path("spanring-recv"),
			       "--port",
			       "0",
			       "--output",
			       items,
			       NULL };
	int out[2];
	char buf[256] = "", *at;
	size_t n = 0;
	pid_t pid;

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	sr_assert_cmp(pid, >=, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], 1);
		execv(argv[0], (char *const *)argv);
		_exit(120);
	}
	close(out[1]);
	/* it prints "listening 127.0.0.1:PORT" once it listens */
	while (!strchr(buf, '\n') && n < sizeof(buf) - 1) {
		ssize_t k = read(out[0], buf + n, sizeof(buf) - 1 - n);

		sr_assert_cmp(k, >, 0);
		n += (size_t)k;
		buf[n] = 0;
	}
	close(out[0]);
	at = strstr(buf, "127.0.0.1:");
	assert_non_null(at);
	*port = atoi(at + strlen("127.0.0.1:"));
	sr_assert_cmp(*port, >, 0);
	return pid;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of a file, sorted, as one string (the order of export may
 * differ from the order in the file). */
static char *sorted_lines(const char *path)
{
	char *text = sr_read_file(path, NULL), *save = NULL, *l, *out;
	char **v = NULL;
	size_t n = 0, len = 0;

	assert_non_null(text);
	for (l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		v = realloc(v, (n + 1) * sizeof(*v));
		assert_non_null(v);
		v[n++] = l;
		len += strlen(l) + 1;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	out = calloc(1, len + 1);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++)
		strcat(strcat(out, v[i]), "\n");
	free(v);
	free(text);
	return out;
}

static void run_openai_exporter_sends_to_endpoint(void **state)
{
	char *rt = runtime_tmpdir(), *items = sr_strf("%s/items.jsonl", rt);
	char *json = sr_strf("%s/trace.jsonl", rt), *endpoint, *got, *want;
	const char *key[] = { "OPENAI_API_KEY=sk-test-not-a-key", NULL };
	struct proc p;
	pid_t recv;
	int port, st;

	(void)state;
	NEED_PARTS();
	if (access(sr_build_path("spanring-recv"), X_OK))
		skip();
	recv = start_receiver(items, &port);
	endpoint = sr_strf("http://127.0.0.1:%d/v1/traces/ingest", port);
	start(&p, rt, key,
	      (const char *[]){ "run", "--endpoint", endpoint, "--json", json,
				"--", "sh", "-c", "ls /nonexistent; exit 2",
				NULL });
	finish(&p, NULL);
	assert_int_equal(WEXITSTATUS(p.status), 2);
	/* the tree, and the same items at the endpoint as in the file */
	assert_non_null(strstr(p.e, "process ls /nonexistent"));
	got = sorted_lines(items);
	want = sorted_lines(json);
	assert_string_equal(got, want);
	{
		size_t n = 0;
		char *said;

		for (const char *c = want; *c; c++)
			n += *c == '\n';
		/* the sidecar exports while CMD runs, hand-off by hand-off:
		 * one request or a few */
		said = sr_strf("spanringd exported %zu items in ", n);
		assert_non_null(strstr(p.e, said));
		assert_non_null(strstr(p.e, "(openai exporter)"));
		free(said);
	}
	assert_non_null(strstr(got, "\"object\":\"trace\""));
	free(got), free(want);
	proc_free(&p);
	assert_int_equal(kill(recv, SIGTERM), 0);
	assert_int_equal(waitpid(recv, &st, 0), recv);
	free(endpoint), free(items), free(json);
	sr_tmpdir_free(rt);
}

/* --exporter otlp: the same spans reach an OTLP receiver (one line per
 * span there; trace objects travel as attributes), while the tree and
 * --json come from the file exporter of the same sidecar. */
static void run_otlp_exporter_sends_to_collector(void **state)
{
	char *rt = runtime_tmpdir(), *items = sr_strf("%s/items.jsonl", rt);
	char *json = sr_strf("%s/trace.jsonl", rt), *endpoint, *text, *said;
	struct proc p;
	size_t spans = 0, got = 0, n;
	char **lines;
	pid_t recv;
	int port, st;

	(void)state;
	NEED_PARTS();
	if (access(sr_build_path("spanring-recv"), X_OK))
		skip();
	recv = start_receiver(items, &port);
	endpoint = sr_strf("http://127.0.0.1:%d/v1/traces", port);
	start(&p, rt, NULL,
	      (const char *[]){ "run", "--exporter", "otlp", "--endpoint",
				endpoint, "--json", json, "--", "sh", "-c",
				"true; exit 4", NULL });
	finish(&p, NULL);
	assert_int_equal(WEXITSTATUS(p.status), 4);
	assert_non_null(strstr(p.e, "process sh -c 'true; exit 4'"));
	lines = sr_lines(json, &n);
	text = sr_read_file(items, NULL);
	assert_non_null(text);
	for (size_t i = 0; i < n; i++) {
		const char *id = strstr(lines[i], "\"id\":\"span_");

		if (!strstr(lines[i], "\"object\":\"trace.span\"") || !id)
			continue;
		spans++;
		/* OTLP's spanId is the last 16 hex of the span id */
		said = sr_strf("\"spanId\":\"%.16s\"",
			       id + strlen("\"id\":\"span_") + 8);
		got += strstr(text, said) != NULL;
		free(said);
	}
	assert_true(spans >= 1);
	if (got != spans || sr_count_lines(items) != spans)
		fail_msg("otlp receiver: expected the %zu spans of --json, found %zu of "
			 "them in %zu lines",
			 spans, got, sr_count_lines(items));
	said = sr_strf("spanringd exported %zu items in ", n);
	assert_non_null(strstr(p.e, said));
	assert_non_null(strstr(p.e, "(otlp exporter)"));
	free(said);
	sr_lines_free(lines, n);
	free(text);
	proc_free(&p);
	assert_int_equal(kill(recv, SIGTERM), 0);
	assert_int_equal(waitpid(recv, &st, 0), recv);
	free(endpoint), free(items), free(json);
	sr_tmpdir_free(rt);
}

/* Runs spanring with stderr on a 70-column terminal; returns what the
 * terminal showed (without the \r the line discipline adds). */
static char *on_terminal(const char *rt, const char *const *extra,
			 const char *const args[])
{
	struct winsize ws = { .ws_row = 24, .ws_col = 70 };
	int master, slave;
	struct proc p;
	char *text;
	size_t k = 0;

	assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
	start_on(&p, rt, extra, args, slave);
	close(slave);
	close(p.err); /* unused pipe: the terminal replaces it */
	p.err = master;
	finish(&p, NULL);
	assert_int_equal(WEXITSTATUS(p.status), 0);
	text = p.e;
	for (size_t i = 0; text[i]; i++)
		if (text[i] != '\r')
			text[k++] = text[i];
	text[k] = 0;
	free(p.o);
	return text;
}

static void run_colours_and_cuts_on_a_terminal(void **state)
{
	const char *args[] = { "run",
			       "--",
			       "sh",
			       "-c",
			       "exit 0",
			       "demo",
			       "an-argument-long-enough-to-be-cut-at-the-width-"
			       "of-the-terminal",
			       NULL };
	const char *no_color[] = { "NO_COLOR=1", NULL };
	char *rt = runtime_tmpdir(), *out, *line;

	(void)state;
	NEED_PARTS();
	out = on_terminal(rt, NULL, args);
	assert_non_null(strstr(out, "\033[1mprocess\033[0m"));
	assert_non_null(strstr(out, "\033[32mexit 0\033[0m"));
	free(out);
	out = on_terminal(rt, no_color, args);
	assert_null(strchr(out, '\033'));
	sr_assert_ucmp(sr_widest_line(out), <=, 70);
	line = strstr(out, "process sh -c");
	assert_non_null(line);
	/* argv cut with an ellipsis, pid and exit code kept */
	assert_non_null(strstr(line, "…  pid "));
	assert_non_null(strstr(line, "exit 0\n"));
	free(out);
	sr_tmpdir_free(rt);
}

SR_TEST_MAIN(cmocka_unit_test(run_keeps_exit_code),
	     cmocka_unit_test(run_decides_the_clock_for_its_command),
	     cmocka_unit_test(run_reports_missing_command),
	     cmocka_unit_test(run_help_documented),
	     cmocka_unit_test(run_rejects_bad_options),
	     cmocka_unit_test(run_passes_stdio_through),
	     cmocka_unit_test(run_forwards_sigterm),
	     cmocka_unit_test(run_sigint_to_group_reaches_command),
	     cmocka_unit_test(run_leaves_nothing_behind),
	     cmocka_unit_test(run_beside_system_sidecar),
	     cmocka_unit_test(run_tree_matches_json),
	     cmocka_unit_test(run_waits_for_background_children),
	     cmocka_unit_test(run_console_exporter_shows_lines_and_tree),
	     cmocka_unit_test(run_openai_exporter_sends_to_endpoint),
	     cmocka_unit_test(run_otlp_exporter_sends_to_collector),
	     cmocka_unit_test(run_colours_and_cuts_on_a_terminal))
