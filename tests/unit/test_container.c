/* SPDX-License-Identifier: MIT */
/*
 * Containers without an engine: the traced program and spanringd in
 * separate pid, mount, ipc, net and user namespaces (unshare), under
 * different uids and groups (setpriv), sharing one ring directory laid
 * out as Kubernetes lays out an emptyDir (0777, or 2777 of the fsGroup).
 * Needs root (to change uids and make namespaces); skipped otherwise.
 */
#include "tests/lib/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/sidecar.h"

#define WAIT_MS 20000
#define APP_UID 1000
#define SD_UID 1001
#define FS_GROUP 2000

struct box {
	char *base, *vol, *spool, *out, *log, *stats;
	char shim[PATH_MAX], sd[PATH_MAX];
	pid_t pid; /* the running sidecar */
};

static struct box B;

static bool can_run(void)
{
	return geteuid() == 0 && access("/usr/bin/unshare", X_OK) == 0 &&
	       access("/usr/bin/setpriv", X_OK) == 0;
}

static int setup(void **state)
{
	(void)state;
	memset(&B, 0, sizeof(B));
	B.pid = -1;
	if (!can_run())
		return 0;
	B.base = sr_tmpdir("ctr");
	/* other uids must reach the volumes inside */
	assert_int_equal(chmod(B.base, 0755), 0);
	B.vol = sr_strf("%s/vol", B.base);
	B.spool = sr_strf("%s/spool", B.base);
	B.out = sr_strf("%s/spool/out.jsonl", B.base);
	B.log = sr_strf("%s/sd.log", B.base);
	B.stats = sr_strf("%s/vol/.spanringd.stats.json", B.base);
	assert_non_null(realpath(sr_build_path("libspanring.so"), B.shim));
	assert_non_null(realpath(sr_build_path("spanringd"), B.sd));
	assert_int_equal(mkdir(B.vol, 0700), 0);
	assert_int_equal(mkdir(B.spool, 0700), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (B.pid > 0) {
		kill(B.pid, SIGKILL);
		waitpid(B.pid, NULL, 0);
	}
	if (B.base && getenv("SR_KEEP"))
		fprintf(stderr, "kept %s\n", B.base);
	else
		sr_tmpdir_free(B.base);
	free(B.vol);
	free(B.spool);
	free(B.out);
	free(B.log);
	free(B.stats);
	return 0;
}

#define NEED_ROOT()                                                         \
	do {                                                                \
		if (!can_run()) {                                           \
			fprintf(stderr, "skipped: needs root, unshare and " \
					"setpriv\n");                       \
			skip();                                             \
		}                                                           \
	} while (0)

/* The volume as Kubernetes makes it: mode, group. */
static void volume(mode_t mode, gid_t gid)
{
	assert_int_equal(chown(B.vol, 0, gid), 0);
	assert_int_equal(chmod(B.vol, mode), 0);
}

static void own(const char *path, uid_t uid)
{
	assert_int_equal(chown(path, uid, uid), 0);
}

/* argv: `wrap` (NULL-terminated), then `rest`. Static storage. */
static const char **join(const char *const *wrap, const char *const *rest)
{
	static const char *argv[64];
	int n = 0;

	for (int i = 0; wrap && wrap[i]; i++)
		argv[n++] = wrap[i];
	for (int i = 0; rest && rest[i]; i++)
		argv[n++] = rest[i];
	argv[n] = NULL;
	assert_true(n < 64);
	return argv;
}

/* Runs `script` under the shim with `wrap` around it; stdin from in_fd.
 * Returns the pid (not waited for). */
static pid_t app_start(const char *const *wrap, const char *script, int in_fd)
{
	static char pre[2 * PATH_MAX + 32], dir[PATH_MAX + 16];
	const char *rest[] = {
		"/usr/bin/env",
		pre,
		dir,
		sr_asan_build() ? "ASAN_OPTIONS=verify_asan_link_order=0:"
				  "detect_leaks=0"
				: "SPANRING_HOOKS=all",
		"/bin/sh",
		"-c",
		script,
		NULL,
	};

	if (sr_asan_build())
		snprintf(pre, sizeof(pre), "LD_PRELOAD=%s:%s",
			 sr_asan_runtime(), B.shim);
	else
		snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", B.shim);
	snprintf(dir, sizeof(dir), "SPANRING_DIR=%s", B.vol);
	return sr_spawn(join(wrap, rest), NULL, in_fd, -1, NULL);
}

static int app_run(const char *const *wrap, const char *script)
{
	int st = sr_wait_pid(app_start(wrap, script, -1), WAIT_MS);

	assert_true(st >= 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Starts spanringd (file exporter into the spool volume) with `wrap`
 * around it and waits for its first stats file. */
static void sd_start(const char *const *wrap, const char *const *more)
{
	const char *rest[32] = {
		B.sd,   "--dir",           B.vol,  "--exporter",
		"file", "--output",        B.out,  "--schedule-delay",
		"0.1",  "--poll-interval", "0.05",
	};
	int n = 11;

	for (int i = 0; more && more[i]; i++)
		rest[n++] = more[i];
	unlink(B.stats);
	B.pid = sr_spawn(join(wrap, rest), NULL, -1, -1, B.log);
	if (!sr_wait_contains(B.stats, "\"pid\"", WAIT_MS)) {
		char *log = sr_read_file(B.log, NULL);

		fail_msg("spanringd did not start; log:\n%s", log ? log : "");
	}
}

static int sd_stop(int sig)
{
	int st;

	assert_int_equal(kill(B.pid, sig), 0);
	st = sr_wait_pid(B.pid, WAIT_MS);
	B.pid = -1;
	assert_true(st >= 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* `spanringd --check` for the volume: its exit code, its line in *line. */
static int check(char **line)
{
	const char *argv[] = { B.sd, "--dir", B.vol, "--check", NULL };
	char *path = sr_strf("%s/check.txt", B.base);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), st;

	assert_true(fd >= 0);
	st = sr_wait_pid(sr_spawn(argv, NULL, -1, fd, NULL), WAIT_MS);
	close(fd);
	*line = sr_read_file(path, NULL);
	free(path);
	assert_true(st >= 0 && WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void assert_log_has(const char *needle)
{
	if (!sr_wait_contains(B.log, needle, WAIT_MS)) {
		char *log = sr_read_file(B.log, NULL);

		fail_msg("expected \"%s\" in the sidecar log:\n%s", needle,
			 log ? log : "");
	}
}

static void wait_out(const char *needle)
{
	if (!sr_wait_contains(B.out, needle, WAIT_MS)) {
		char *out = sr_read_file(B.out, NULL),
		     *log = sr_read_file(B.log, NULL);

		fail_msg("expected \"%s\" in the exported items:\n%s\nlog:\n%s",
			 needle, out ? out : "", log ? log : "");
	}
}

static unsigned long long own_pidns(void)
{
	struct stat st;

	assert_int_equal(stat("/proc/self/ns/pid", &st), 0);
	return (unsigned long long)st.st_ino;
}

/* The app's items: pid 1 of its own pid namespace, whose inode is in
 * every item and differs from the sidecar's; the host name too. */
static void assert_app_identity(void)
{
	char *pidns = sr_strf("\"process.pid_namespace\":\"%llu\"",
			      own_pidns());
	size_t n = 0;
	char **l;

	wait_out("\"process.exit.code\":3");
	wait_out("\"process.pid\":1,");
	l = sr_lines(B.out, &n);
	assert_true(n >= 3);
	for (size_t i = 0; i < n; i++) {
		if (!strstr(l[i], "\"host.name\":\"") ||
		    !strstr(l[i], "\"process.pid_namespace\":\"") ||
		    strstr(l[i], pidns))
			fail_msg("item %zu lacks the app's identity (host name, "
				 "its own pid namespace, not %s):\n%s",
				 i, pidns, l[i]);
	}
	sr_lines_free(l, n);
	free(pidns);
}

/* The app in its own pid, mount, ipc and net namespaces. */
#define APP_NS \
	"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--ipc", "--net"
/* The sidecar in its own mount, ipc and net namespaces. */
#define SD_NS "/usr/bin/unshare", "--mount", "--ipc", "--net"
#define AS(uid, groups) \
	"/usr/bin/setpriv", "--reuid=" #uid, "--regid=" #uid, groups
#define SCRIPT "/bin/true; exit 3"

/* emptyDir without fsGroup (root 0777): the app writes into uid-1000/,
 * 0700; a root sidecar in other namespaces reads it. */
static void container_emptydir_0777_root_sidecar(void **state)
{
	const char *app[] = { APP_NS, AS(1000, "--clear-groups"), NULL };
	const char *sd[] = { SD_NS, NULL };
	char *sub = sr_strf("%s/uid-%d", B.vol, APP_UID);
	struct stat st;

	(void)state;
	NEED_ROOT();
	volume(0777, 0);
	own(B.spool, 0);
	assert_int_equal(app_run(app, SCRIPT), 3);
	assert_int_equal(stat(sub, &st), 0);
	if (st.st_uid != APP_UID || (st.st_mode & 07777) != 0700)
		fail_msg("uid-%d: expected owner %d mode 700, got %u %o",
			 APP_UID, APP_UID, (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
	sd_start(sd, NULL);
	assert_app_identity();
	assert_int_equal(sd_stop(SIGTERM), 0);
	free(sub);
}

/* emptyDir with fsGroup (2777 of group 2000): app uid 1000 and sidecar
 * uid 1001 share the group; uid-1000/ is 2770 and rings 0660 of it. */
static void container_fsgroup_2777_sidecar_other_uid(void **state)
{
	const char *app[] = { APP_NS, AS(1000, "--groups=2000"), "--", NULL };
	const char *sd[] = { SD_NS, AS(1001, "--groups=2000"), "--", NULL };
	const char *hold[] = { APP_NS, AS(1000, "--groups=2000"), "--", NULL };
	char *sub = sr_strf("%s/uid-%d", B.vol, APP_UID), *ring = NULL;
	struct stat st;
	int in[2];
	pid_t p;

	(void)state;
	NEED_ROOT();
	volume(02777, FS_GROUP);
	own(B.spool, SD_UID);
	/* a live app: its ring is there to be looked at */
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	p = app_start(hold, "read x", in[0]);
	close(in[0]);
	for (long long end = sr_ms() + WAIT_MS; !ring && sr_ms() < end;) {
		char *cmd =
			sr_strf("ls %s 2>/dev/null | grep '\\.ring$' | head -1",
				sub);
		FILE *f = popen(cmd, "r");
		char name[256] = "";

		if (f && fgets(name, sizeof(name), f) && *name)
			ring = sr_strf("%s/%.*s", sub, (int)strcspn(name, "\n"),
				       name);
		if (f)
			pclose(f);
		free(cmd);
	}
	assert_non_null(ring);
	assert_int_equal(stat(sub, &st), 0);
	if (st.st_gid != FS_GROUP || (st.st_mode & 07777) != 02770)
		fail_msg("uid-%d: expected group %d mode 2770, got %u %o",
			 APP_UID, FS_GROUP, (unsigned)st.st_gid,
			 (unsigned)(st.st_mode & 07777));
	assert_int_equal(stat(ring, &st), 0);
	if (st.st_gid != FS_GROUP || (st.st_mode & 0777) != 0660)
		fail_msg("ring: expected group %d mode 660, got %u %o",
			 FS_GROUP, (unsigned)st.st_gid,
			 (unsigned)(st.st_mode & 0777));
	close(in[1]);
	assert_true(sr_wait_pid(p, WAIT_MS) >= 0);
	assert_int_equal(app_run(app, SCRIPT), 3);
	sd_start(sd, NULL);
	assert_app_identity();
	assert_int_equal(sd_stop(SIGTERM), 0);
	free(sub);
	free(ring);
}

/* A directory shared by group only (2770, not writable by others): the
 * rings go straight in, 0660. */
static void container_group_dir_2770(void **state)
{
	const char *app[] = { APP_NS, AS(1000, "--groups=2000"), "--", NULL };
	const char *sd[] = { SD_NS, AS(1001, "--groups=2000"), "--", NULL };

	(void)state;
	NEED_ROOT();
	volume(02770, FS_GROUP);
	own(B.spool, SD_UID);
	assert_int_equal(app_run(app, SCRIPT), 3);
	sd_start(sd, NULL);
	assert_app_identity();
	assert_int_equal(sd_stop(SIGTERM), 0);
}

/* A sidecar that may not read the app's rings says so: an error in its
 * log, the probe fails (77), and so does its exit status. */
static void container_unreadable_rings_fail_loudly(void **state)
{
	const char *app[] = { APP_NS, AS(1000, "--clear-groups"), "--", NULL };
	const char *sd[] = { SD_NS, AS(1001, "--clear-groups"), "--", NULL };
	char *line = NULL;
	int rc;

	(void)state;
	NEED_ROOT();
	volume(0777, 0);
	own(B.spool, SD_UID);
	assert_int_equal(app_run(app, SCRIPT), 3);
	sd_start(sd, NULL);
	assert_log_has("uid-1000 cannot be served");
	assert_true(
		sr_wait_contains(B.stats, "\"dirs_unreadable\":1", WAIT_MS));
	rc = check(&line);
	if (rc != 77 || !strstr(line, "cannot read"))
		fail_msg("--check: expected 77 \"cannot read\", got %d \"%s\"",
			 rc, line ? line : "");
	free(line);
	assert_int_equal(sd_stop(SIGTERM), 77);
	assert_log_has("exit 77");
	assert_int_equal(sr_count_lines(B.out), 0);
}

/* The probe: well while serving, 69 when no sidecar wrote stats. */
static void container_check_probe(void **state)
{
	const char *sd[] = { SD_NS, NULL };
	char *line = NULL;
	int rc;

	(void)state;
	NEED_ROOT();
	volume(0777, 0);
	rc = check(&line);
	if (rc != 69 || !strstr(line, "not running"))
		fail_msg("--check without a sidecar: expected 69 \"not running\", "
			 "got %d \"%s\"",
			 rc, line ? line : "");
	free(line);
	sd_start(sd, NULL);
	rc = check(&line);
	if (rc != 0 || !strstr(line, "ok"))
		fail_msg("--check: expected 0 \"ok\", got %d \"%s\"", rc,
			 line ? line : "");
	free(line);
	assert_int_equal(sd_stop(SIGTERM), 0);
}

/* The sidecar starts after the app died (killed: its process span is
 * open): the ring waited, the span is closed with an error. */
static void container_sidecar_after_app_died(void **state)
{
	const char *app[] = { APP_NS, AS(1000, "--groups=2000"), "--", NULL };
	const char *sd[] = { SD_NS, AS(1001, "--groups=2000"), "--", NULL };

	(void)state;
	NEED_ROOT();
	volume(02777, FS_GROUP);
	own(B.spool, SD_UID);
	/* pid 1 of a namespace cannot be killed from inside: its child is */
	assert_int_equal(app_run(app, "/bin/sh -c 'kill -9 $$'; exit 3"), 3);
	sd_start(sd, NULL);
	wait_out("process ended without closing the span");
	wait_out("\"process.exit.signal\":\"SIGKILL\"");
	wait_out("\"process.pid\":2,");
	assert_int_equal(sd_stop(SIGTERM), 0);
}

/* App and sidecar in user namespaces with the same mapping (uid 0 inside
 * is uid 1000 outside): uid-0/ is the app's own as both see it. */
static void container_user_namespaces(void **state)
{
	const char *app[] = { AS(1000, "--clear-groups"),
			      "--",
			      "/usr/bin/unshare",
			      "--user",
			      "--map-root-user",
			      "--pid",
			      "--fork",
			      "--mount-proc",
			      "--ipc",
			      "--net",
			      NULL };
	const char *sd[] = { AS(1000, "--clear-groups"),
			     "--",
			     "/usr/bin/unshare",
			     "--user",
			     "--map-root-user",
			     "--mount",
			     "--net",
			     NULL };
	char *sub = sr_strf("%s/uid-0", B.vol);
	struct stat st;

	(void)state;
	NEED_ROOT();
	if (system("/usr/bin/setpriv --reuid=1000 --regid=1000 --clear-groups "
		   "/usr/bin/unshare --user --map-root-user true 2>/dev/null")) {
		fprintf(stderr,
			"skipped: user namespaces are not allowed here\n");
		skip();
	}
	volume(0777, 0);
	own(B.spool, APP_UID);
	assert_int_equal(app_run(app, SCRIPT), 3);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_uid, APP_UID);
	sd_start(sd, NULL);
	assert_app_identity();
	assert_int_equal(sd_stop(SIGTERM), 0);
	free(sub);
}

/* A read-only root file system: the default spool cannot be made, so it
 * goes beside the rings; the sidecar is killed while the app runs and a
 * new one on the same volume finishes the app's open process span (the
 * spool kept it): exit code, no "ended without closing" error. */
static void container_readonly_root_spool_survives_restart(void **state)
{
	char *root = sr_strf("%s/root", B.base),
	     *spool = sr_strf("%s/.spanringd-spool", B.vol);
	char *script =
		sr_strf("mount --rbind / %s && mount -o remount,bind,ro %s && "
			"mount --bind %s %s%s && mount --bind %s %s%s && "
			"exec chroot %s \"$0\" \"$@\"",
			root, root, B.vol, root, B.vol, B.spool, root, B.spool,
			root);
	const char *sd[] = { "/usr/bin/unshare",
			     "--mount",
			     "--net",
			     "/bin/sh",
			     "-c",
			     script,
			     NULL };
	const char *app[] = { APP_NS, AS(1000, "--clear-groups"), "--", NULL };
	int in[2];
	pid_t p;

	(void)state;
	NEED_ROOT();
	assert_int_equal(mkdir(root, 0755), 0);
	volume(0777, 0);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	p = app_start(app, "read x; exit 5", in[0]);
	close(in[0]);
	sd_start(sd, NULL);
	assert_log_has("beside the rings");
	/* the process span is open: its start is saved in the spool */
	for (long long end = sr_ms() + WAIT_MS;;) {
		char *cmd = sr_strf("ls %s 2>/dev/null | grep -q '^open-sr-'",
				    spool);
		int rc = system(cmd);

		free(cmd);
		if (rc == 0)
			break;
		if (sr_ms() > end)
			fail_msg("no open-span file in %s", spool);
	}
	assert_int_equal(sd_stop(SIGKILL), 128 + SIGKILL);
	close(in[1]);
	assert_int_equal(WEXITSTATUS(sr_wait_pid(p, WAIT_MS)), 5);
	sd_start(sd, NULL);
	wait_out("\"process.exit.code\":5");
	assert_int_equal(sd_stop(SIGTERM), 0);
	assert_int_equal(sr_count_in_file(B.out, "ended without closing"), 0);
	free(root);
	free(spool);
	free(script);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

SR_TEST_MAIN(T(container_emptydir_0777_root_sidecar),
	     T(container_fsgroup_2777_sidecar_other_uid),
	     T(container_group_dir_2770),
	     T(container_unreadable_rings_fail_loudly),
	     T(container_check_probe), T(container_sidecar_after_app_died),
	     T(container_user_namespaces),
	     T(container_readonly_root_spool_survives_restart))
