/* SPDX-License-Identifier: MIT */
/*
 * spanring-dump, run as a program on rings made with common/ring.h, on
 * damaged copies and on garbage: output, exit codes, read-only behaviour.
 */
#include "tests/lib/harness.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/reader.h"
#include "common/record.h"
#include "common/ring.h"
#include "common/ringdir.h"

#define LANE 4096u
/* layout version 4, 2 lanes: the header's 416 bytes and 3 lane anchors,
 * cache-line aligned, then 3 lane controls; data on the next page */
#define LANES_OFF 448u
#define DATA_OFF 4096u

struct run {
	int status; /* exit status, or 128 + signal */
	char *out, *err;
};

/* Runs spanring-dump with args (NULL-terminated), capturing both streams
 * in files of dir. */
static struct run dump(const char *dir, const char *const *args)
{
	char *outp = sr_strf("%s/.out", dir), *errp = sr_strf("%s/.err", dir);
	const char *argv[32] = { sr_build_path("spanring-dump") };
	struct run r;
	int st, i = 1;
	pid_t pid;

	for (; args[i - 1] && i < 31; i++)
		argv[i] = args[i - 1];
	argv[i] = NULL;
	pid = fork();
	sr_assert_cmp(pid, >=, 0);
	if (pid == 0) {
		int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(o, 1);
		dup2(e, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = sr_read_file(outp, NULL);
	r.err = sr_read_file(errp, NULL);
	assert_non_null(r.out);
	assert_non_null(r.err);
	unlink(outp);
	unlink(errp);
	free(outp);
	free(errp);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

#define DUMP(dir, ...) dump(dir, (const char *const[]){ __VA_ARGS__, NULL })

static void assert_has(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* --- rings with every record type ------------------------------------------ */

static void put(struct sr_ring *r, struct sr_producer *p, uint16_t type,
		const uint8_t *payload, uint32_t n, uint8_t flags)
{
	struct sr_resv rv;
	uint8_t *d = sr_ring_reserve(r, p, n + 8, &rv);

	assert_non_null(d);
	memcpy(d, payload, n);
	sr_ring_commit(r, p, &rv, type, flags);
}

static void put_span(struct sr_ring *r, struct sr_producer *p, uint16_t type,
		     const char *name, const char *data, const char *err)
{
	struct sr_span_rec s = { .start_ns = 1763724240769235000ull,
				 .end_ns = 1763724240770235000ull,
				 .flags = SR_SF_CLIENT };
	uint8_t buf[1024];
	bool cut = false;
	uint32_t n;

	memset(s.trace_id, 0x11, 16);
	memset(s.span_id, 0x22, 12);
	memset(s.parent_id, 0x33, 12);
	s.name = (struct sr_str){ name, (uint32_t)strlen(name) };
	s.data = (struct sr_str){ data, (uint32_t)strlen(data) };
	s.err = (struct sr_str){ err, (uint32_t)strlen(err) };
	if (*err)
		s.flags |= SR_SF_ERROR;
	n = sr_span_encode(buf, sizeof(buf), &s, &cut);
	put(r, p, type, buf, n, 0);
}

/* One of each record type, plus a span whose data is not JSON and one
 * marked truncated. */
static void fill_ring(struct sr_ring *r)
{
	struct sr_producer p = { .tid = 7 };
	struct sr_process_rec pr = { 4242,
				     1,
				     1000,
				     1763724240000000000ull,
				     { "/usr/bin/prog", 13 } };
	struct sr_trace_rec t = { .ts_ns = 1763724240000000000ull,
				  .workflow = { "wf", 2 },
				  .metadata = { "{\"k\":[1,2]}", 11 } };
	struct sr_child_rec c = { 99, 3 << 8, 1763724241000000000ull, { 0 } };
	uint8_t buf[512];
	bool cut = false;
	uint32_t n;

	memset(t.trace_id, 0x11, 16);
	memset(c.trace_id, 0x11, 16);
	n = sr_process_encode(buf, sizeof(buf), &pr, &cut);
	put(r, &p, SR_REC_PROCESS, buf, n, 0);
	n = sr_trace_encode(buf, sizeof(buf), &t, &cut);
	put(r, &p, SR_REC_TRACE, buf, n, 0);
	put_span(r, &p, SR_REC_SPAN, "connect",
		 "{\"server.address\":\"127.0.0.1\",\"server.port\":9}",
		 "Connection refused");
	put_span(r, &p, SR_REC_SPAN_START, "process", "{\"process.pid\":4242}",
		 "");
	put_span(r, &p, SR_REC_SPAN_END, "", "not json {", "");
	n = sr_child_encode(buf, sizeof(buf), &c);
	put(r, &p, SR_REC_CHILD_EXIT, buf, n, 0);
	n = sr_process_encode(buf, sizeof(buf), &pr, &cut);
	put(r, &p, SR_REC_PROCESS, buf, n, SR_RF_TRUNCATED);
	sr_producer_release(r, &p);
}

static char *make_ring(const char *dir, const char *name, struct sr_ring *r)
{
	struct sr_ring_params p = { .lanes = 2,
				    .lane_size = LANE,
				    .pid = (uint32_t)getpid(),
				    .exe = "/usr/bin/prog" };
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_int_equal(sr_ring_create(r, dirfd, name, &p), 0);
	close(dirfd);
	fill_ring(r);
	return sr_strf("%s/%s", dir, name);
}

/* Closes the ring make_ring() made and removes it with its directory. */
static void ring_done(struct sr_ring *r, char *path, char *dir)
{
	sr_ring_close(r);
	free(path);
	sr_tmpdir_free(dir);
}

/* A ring whose owner has exited. */
static char *make_dead_ring(const char *dir, const char *name)
{
	pid_t pid = fork();
	int st;

	sr_assert_cmp(pid, >=, 0);
	if (pid == 0) {
		struct sr_ring r;

		make_ring(dir, name, &r);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	sr_assert_exited(st, 0);
	return sr_strf("%s/%s", dir, name);
}

static void write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	sr_assert_cmp(fd, >=, 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

/* --- listing ---------------------------------------------------------------- */

/* A directory of mixed files: the rings are listed with their owner's
 * state, the bad ring file is reported, other files are ignored, and the
 * refused-ring count is shown. */
static void dump_lists_rings_and_reports_bad_ones(void **state)
{
	char *dir = sr_tmpdir("dumplist"), *alive, *dead, *junk;
	struct sr_ring r;
	struct run o;
	int dirfd;

	(void)state;
	alive = make_ring(dir, "sr-1-0000000000000001-16384.ring", &r);
	dead = make_dead_ring(dir, "sr-2-0000000000000002-16384.ring");
	junk = sr_strf("%s/garbage.ring", dir);
	write_file(junk, "hello, not a ring\n", 18);
	{
		char *notes = sr_strf("%s/notes.txt", dir);

		write_file(notes, "x", 1);
		free(notes);
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	sr_dir_count_refused(dirfd);
	sr_dir_count_refused(dirfd);
	close(dirfd);

	o = DUMP(dir, "--dir", dir);
	assert_int_equal(o.status, 65);
	assert_has(o.out, "sr-1-0000000000000001-16384.ring");
	assert_has(o.out, "sr-2-0000000000000002-16384.ring");
	assert_has(o.out, "alive");
	assert_has(o.out, "dead");
	assert_has(o.out, "/usr/bin/prog");
	assert_has(o.out, "rings refused (directory full): 2");
	assert_has(o.out, "2 rings");
	assert_has(o.err, "garbage.ring");
	assert_has(o.err, "not a ring");
	assert_null(strstr(o.out, "notes.txt"));
	run_free(&o);
	sr_ring_close(&r);
	free(alive);
	free(dead);
	free(junk);
	sr_tmpdir_free(dir);
}

/* --json listing: one object per ring with the counters. */
static void dump_list_json_has_counters(void **state)
{
	static const char zeros[16384];
	char *dir = sr_tmpdir("dumplistj"), *path, *young;
	struct sr_ring r;
	struct run o;
	cJSON *j;

	(void)state;
	young = sr_strf("%s/sr-6-0000000000000006-16384.ring", dir);
	/* a ring being created (header not yet written) is not an error */
	write_file(young, zeros, sizeof(zeros));
	free(young);
	path = make_ring(dir, "sr-5-0000000000000005-16384.ring", &r);
	o = DUMP(dir, "--dir", dir, "--json");
	assert_int_equal(o.status, 0);
	assert_has(o.err, "being created");
	j = cJSON_Parse(o.out);
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "owner_pid")->valueint,
			 getpid());
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "alive")));
	assert_int_equal(cJSON_GetObjectItem(j, "written")->valueint, 7);
	assert_int_equal(cJSON_GetObjectItem(j, "dropped")->valueint, 0);
	assert_int_equal(cJSON_GetObjectItem(j, "truncated")->valueint, 1);
	sr_assert_cmp(cJSON_GetObjectItem(j, "unread_bytes")->valueint, >, 0);
	cJSON_Delete(j);
	run_free(&o);
	ring_done(&r, path, dir);
}

/* --- records ---------------------------------------------------------------- */

static cJSON *line_json(char **cursor)
{
	char *nl = strchr(*cursor, '\n');
	cJSON *j;

	assert_non_null(nl);
	*nl = 0;
	j = cJSON_Parse(*cursor);
	if (!j)
		fail_msg("not JSON: %s", *cursor);
	*cursor = nl + 1;
	return j;
}

static const char *jstr(cJSON *j, const char *k)
{
	cJSON *v = cJSON_GetObjectItem(j, k);

	if (!cJSON_IsString(v))
		fail_msg("member %s is not a string", k);
	return v->valuestring;
}

/* --json: one object per record, ids in WIRE text form, ISO timestamps,
 * JSON payloads embedded, other text quoted. */
static void dump_records_json_every_type(void **state)
{
	char *dir = sr_tmpdir("dumprec"), *path, *cur;
	struct sr_ring r;
	struct run o;
	cJSON *j, *d;

	(void)state;
	path = make_ring(dir, "a.ring", &r);
	o = DUMP(dir, "--json", path);
	assert_int_equal(o.status, 0);
	cur = o.out;

	j = line_json(&cur);
	assert_string_equal(jstr(j, "type"), "process");
	assert_int_equal(cJSON_GetObjectItem(j, "pid")->valueint, 4242);
	assert_string_equal(jstr(j, "executable"), "/usr/bin/prog");
	assert_string_equal(jstr(j, "started_at"),
			    "2025-11-21T11:24:00.000000+00:00");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "truncated")));
	cJSON_Delete(j);

	j = line_json(&cur);
	assert_string_equal(jstr(j, "type"), "trace");
	assert_string_equal(jstr(j, "trace_id"),
			    "trace_11111111111111111111111111111111");
	assert_string_equal(jstr(j, "workflow_name"), "wf");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "group_id")));
	d = cJSON_GetObjectItem(j, "metadata");
	assert_true(cJSON_IsArray(cJSON_GetObjectItem(d, "k")));
	cJSON_Delete(j);

	j = line_json(&cur);
	assert_string_equal(jstr(j, "type"), "span");
	assert_string_equal(jstr(j, "span_id"),
			    "span_222222222222222222222222");
	assert_string_equal(jstr(j, "parent_id"),
			    "span_333333333333333333333333");
	assert_string_equal(jstr(j, "started_at"),
			    "2025-11-21T11:24:00.769235+00:00");
	assert_string_equal(jstr(j, "ended_at"),
			    "2025-11-21T11:24:00.770235+00:00");
	assert_string_equal(jstr(j, "name"), "connect");
	assert_string_equal(jstr(j, "error"), "Connection refused");
	d = cJSON_GetObjectItem(j, "data");
	assert_int_equal(cJSON_GetObjectItem(d, "server.port")->valueint, 9);
	d = cJSON_GetObjectItem(j, "span_flags");
	assert_string_equal(cJSON_GetArrayItem(d, 0)->valuestring, "client");
	assert_string_equal(cJSON_GetArrayItem(d, 1)->valuestring, "error");
	cJSON_Delete(j);

	j = line_json(&cur);
	assert_string_equal(jstr(j, "type"), "span_start");
	assert_null(cJSON_GetObjectItem(j, "ended_at"));
	cJSON_Delete(j);

	j = line_json(&cur);
	assert_string_equal(jstr(j, "type"), "span_end");
	assert_string_equal(jstr(j, "data"), "not json {");
	assert_null(cJSON_GetObjectItem(j, "started_at"));
	cJSON_Delete(j);

	j = line_json(&cur);
	assert_string_equal(jstr(j, "type"), "child_exit");
	assert_int_equal(cJSON_GetObjectItem(j, "child_pid")->valueint, 99);
	assert_int_equal(cJSON_GetObjectItem(j, "exit_code")->valueint, 3);
	cJSON_Delete(j);

	j = line_json(&cur);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "truncated")));
	cJSON_Delete(j);
	assert_string_equal(cur, "");
	run_free(&o);
	ring_done(&r, path, dir);
}

/* A ring of layout version 3 (the lane controls after a whole header
 * page) is still read: the same ring rewritten in that layout shows the
 * same records and passes --check. */
static void dump_reads_version3_ring(void **state)
{
	char *dir = sr_tmpdir("dumpv3"), *path;
	struct sr_ring r;
	struct run a, b, c;

	(void)state;
	path = make_ring(dir, "a.ring", &r);
	a = DUMP(dir, "--json", path);
	sr_ring_file_downgrade(path, 3);
	b = DUMP(dir, "--json", path);
	c = DUMP(dir, "--check", path);
	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
	assert_int_equal(c.status, 0);
	sr_assert_ucmp(strlen(a.out), >, 0);
	assert_string_equal(b.out, a.out);
	run_free(&a);
	run_free(&b);
	run_free(&c);
	ring_done(&r, path, dir);
}

/* The default table names the ring and shows one line per record. */
static void dump_records_table_readable(void **state)
{
	char *dir = sr_tmpdir("dumptab"), *path;
	struct sr_ring r;
	struct run o;

	(void)state;
	path = make_ring(dir, "sr-9-0000000000000009-16384.ring", &r);
	o = DUMP(dir, "--dir", dir, "--records");
	assert_int_equal(o.status, 0);
	assert_has(o.out, "# ");
	assert_has(o.out, "(alive)");
	assert_has(o.out, "TYPE");
	assert_has(o.out, "span_start");
	assert_has(o.out, "name=\"connect\"");
	assert_has(o.out, "error=\"Connection refused\"");
	assert_has(o.out, "(truncated)");
	run_free(&o);
	ring_done(&r, path, dir);
}

/* A record that does not decode is shown as such, the rest still are,
 * and the exit status says the data was bad. */
static void dump_undecodable_record_reported(void **state)
{
	char *dir = sr_tmpdir("dumpbadrec"), *path;
	struct sr_producer p = { .tid = 3 };
	struct sr_ring r;
	struct run o;

	(void)state;
	path = make_ring(dir, "b.ring", &r);
	put(&r, &p, SR_REC_SPAN, (const uint8_t *)"short", 5, 0);
	put(&r, &p, 77, (const uint8_t *)"whatever", 8, 0);
	o = DUMP(dir, "--json", path);
	assert_int_equal(o.status, 65);
	assert_has(o.out,
		   "\"decode_error\":\"payload does not decode as its type\"");
	assert_has(o.out, "\"decode_error\":\"unknown record type\"");
	assert_has(o.out, "\"name\":\"connect\"");
	assert_has(o.err, "2 record(s) do not decode");
	run_free(&o);
	ring_done(&r, path, dir);
}

/* Listing, printing, checking and stats leave the ring byte for byte as
 * it was, and records stay unconsumed. */
static void dump_is_read_only(void **state)
{
	char *dir = sr_tmpdir("dumpro"), *path, *before, *after;
	const char *modes[][3] = { { "--json", NULL },
				   { "--check", NULL },
				   { "--records", NULL },
				   { "--stats", NULL } };
	size_t n1, n2;
	struct sr_ring r;
	struct run o;

	(void)state;
	path = make_ring(dir, "sr-3-0000000000000003-16384.ring", &r);
	before = sr_read_file(path, &n1);
	for (size_t i = 0; i < 4; i++) {
		o = DUMP(dir, "--dir", dir, modes[i][0]);
		run_free(&o);
	}
	o = DUMP(dir, path);
	assert_int_equal(o.status, 0);
	run_free(&o);
	after = sr_read_file(path, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	/* the records are all still there */
	o = DUMP(dir, "--json", path);
	assert_int_equal(o.status, 0);
	assert_has(o.out, "child_exit");
	run_free(&o);
	free(before);
	free(after);
	ring_done(&r, path, dir);
}

/* --- check and damage ------------------------------------------------------- */

static void dump_check_intact_ring_ok(void **state)
{
	char *dir = sr_tmpdir("dumpok"), *path;
	struct sr_ring r;
	struct run o;

	(void)state;
	path = make_ring(dir, "ok.ring", &r);
	o = DUMP(dir, "--check", path);
	assert_int_equal(o.status, 0);
	assert_has(o.out, "ok.ring: ok");
	run_free(&o);
	ring_done(&r, path, dir);
}

static void pw(int fd, off_t at, const void *v, size_t n)
{
	assert_int_equal(pwrite(fd, v, n, at), (ssize_t)n);
}

static void pw32(int fd, off_t at, uint32_t v)
{
	pw(fd, at, &v, 4);
}

static void pw64(int fd, off_t at, uint64_t v)
{
	pw(fd, at, &v, 8);
}

/* Kinds of damage; lane 0's first record is at DATA_OFF. */
enum damage {
	BAD_MAGIC,
	WRONG_VERSION,
	LANE_COUNT,
	LANE_SIZE,
	FILE_SIZE,
	TRUNCATED,
	REC_LENGTH,
	REC_CHECK,
	HEAD_BEHIND,
	HEAD_BEYOND,
	HEAD_UNALIGNED,
	TAIL_UNALIGNED,
	DAMAGE_COUNT
};

static const struct {
	const char *fault; /* what --check must say */
	int open_err;      /* sr_reader_open() result, 0: opens */
} damage_want[DAMAGE_COUNT] = {
	[BAD_MAGIC] = { "bad magic 0x0000000000000bad: not a spanring ring",
			-EBADMSG },
	[WRONG_VERSION] = { "layout version 9, this build reads versions 2..4",
			    -EPROTONOSUPPORT },
	[LANE_COUNT] = { "lane_count 100000 out of range", -EBADMSG },
	[LANE_SIZE] = { "lane_size 5000 is not a power of two", -EBADMSG },
	[FILE_SIZE] = { "file_size 999 does not match the geometry", -EBADMSG },
	[TRUNCATED] = { "truncated: file has 12288 bytes, header says 4206592",
			-ERANGE },
	[REC_LENGTH] = { "lane 0: record at 0: length 60000 outside 8..1024",
			 0 },
	[REC_CHECK] = { "lane 0: record at 0: bad check byte", 0 },
	[HEAD_BEHIND] = { "lane 0: head 0 behind tail 64", 0 },
	[HEAD_BEYOND] = { "lane 1: head 8200 more than a lane beyond tail 0",
			  0 },
	[HEAD_UNALIGNED] = { "lane 0: head 13 not 8-byte aligned", 0 },
	[TAIL_UNALIGNED] = { "not 8-byte aligned, with tail 13", 0 },
};

static void apply_damage(int fd, enum damage d)
{
	struct sr_rec_hdr h;

	switch (d) {
	case BAD_MAGIC:
		pw64(fd, 0, 0xbad);
		break;
	case WRONG_VERSION:
		pw32(fd, 8, 9);
		break;
	case LANE_COUNT:
		pw32(fd, 16, 100000);
		break;
	case LANE_SIZE:
		pw32(fd, 20, 5000);
		break;
	case FILE_SIZE:
		pw64(fd, 48, 999);
		break;
	case TRUNCATED:
		assert_int_equal(ftruncate(fd, 12288), 0);
		break;
	case REC_LENGTH:
		/* a consistent header (check byte right) with a wrong length */
		h = (struct sr_rec_hdr){ 60000, SR_REC_PROCESS, 0,
					 sr_rec_check(60000, SR_REC_PROCESS,
						      0) };
		pw(fd, DATA_OFF, &h, sizeof(h));
		break;
	case REC_CHECK:
		pw(fd, DATA_OFF + 7, "\x01", 1);
		break;
	case HEAD_BEHIND:
		pw64(fd, LANES_OFF + 64, 64);
		pw64(fd, LANES_OFF, 0);
		break;
	case HEAD_BEYOND:
		pw64(fd, LANES_OFF + 128, LANE * 2 + 8);
		break;
	case HEAD_UNALIGNED:
		pw64(fd, LANES_OFF, 13);
		break;
	case TAIL_UNALIGNED:
		pw64(fd, LANES_OFF + 64, 13);
		break;
	default:
		break;
	}
}

/* Every kind of damage is detected by the reader and named exactly by
 * spanring-dump --check, which exits 1; the other modes exit 65 or show
 * the fault, never crash. */
static void dump_check_names_each_fault(void **state)
{
	(void)state;
	for (int d = 0; d < DAMAGE_COUNT; d++) {
		char *dir = sr_tmpdir("dumpdmg"), *path, why[256];
		struct sr_reader *rd;
		struct sr_ring r;
		struct run o;
		int fd, err;

		path = make_ring(dir, "d.ring", &r);
		fd = open(path, O_RDWR);
		sr_assert_cmp(fd, >=, 0);
		apply_damage(fd, (enum damage)d);
		close(fd);
		err = sr_reader_open(AT_FDCWD, path, SR_READER_RDONLY, &rd, why,
				     sizeof(why));
		if (err != damage_want[d].open_err)
			fail_msg("damage %d: open returned %d (%s), want %d", d,
				 err, why, damage_want[d].open_err);
		if (!err) {
			sr_assert_cmp(sr_reader_check(rd, NULL, NULL), >, 0);
			assert_has(sr_reader_fault(rd), damage_want[d].fault);
			sr_reader_free(rd);
		} else {
			assert_has(why, damage_want[d].fault);
		}
		o = DUMP(dir, "--check", path);
		if (o.status != 1)
			fail_msg("damage %d: --check exit %d\n%s%s", d,
				 o.status, o.out, o.err);
		assert_has(o.out, damage_want[d].fault);
		assert_null(strstr(o.out, ": ok"));
		run_free(&o);
		o = DUMP(dir, "--json", path);
		assert_int_equal(o.status, 65);
		run_free(&o);
		o = DUMP(dir, "--dir", dir);
		if (o.status != 0 && o.status != 65)
			fail_msg("exit %d, expected 0 or 65", o.status);
		run_free(&o);
		sr_ring_close(&r);
		free(path);
		sr_tmpdir_free(dir);
	}
}

/* --- bad input ------------------------------------------------------------------ */

static void expect(const char *dir, int status, const char *err_part,
		   const char *const *args)
{
	struct run o = dump(dir, args);

	if (o.status != status)
		fail_msg("%s: exit %d, want %d\n%s", args[0], o.status, status,
			 o.err);
	if (err_part)
		assert_has(o.err, err_part);
	run_free(&o);
}

#define EXPECT(dir, st, part, ...) \
	expect(dir, st, part, (const char *const[]){ __VA_ARGS__, NULL })

/* Missing, empty, garbage, a directory, unknown options: a clear message
 * and a sysexits status, never a crash. */
static void dump_bad_inputs_clear_errors(void **state)
{
	char *dir = sr_tmpdir("dumpbad"), *txt = sr_strf("%s/t.ring", dir),
	     *empty = sr_strf("%s/e.ring", dir),
	     *big = sr_strf("%s/g.ring", dir),
	     *missing = sr_strf("%s/nope.ring", dir),
	     *nodir = sr_strf("%s/nodir", dir);
	static char garbage[20000];

	(void)state;
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 131 + 7);
	write_file(txt, "hello\n", 6);
	write_file(empty, "", 0);
	write_file(big, garbage, sizeof(garbage));
	EXPECT(dir, 66, "nope.ring", missing);
	EXPECT(dir, 66, "nope.ring", "--check", missing);
	EXPECT(dir, 65, "smaller than a ring header", txt);
	EXPECT(dir, 65, "empty file", empty);
	EXPECT(dir, 65, "bad magic", big);
	EXPECT(dir, 65, "is a directory", dir);
	EXPECT(dir, 1, NULL, "--check", big);
	EXPECT(dir, 66, "nodir", "--dir", nodir);
	EXPECT(dir, 66, "nodir", "--dir", nodir, "--records");
	EXPECT(dir, 64, "unknown option: --bogus", "--bogus");
	EXPECT(dir, 64, "requires an argument", "--dir");
	EXPECT(dir, 64, "--interval", "--follow", "--interval", "0", txt);
	EXPECT(dir, 64, "cannot be combined", "--check", "--stats");
	EXPECT(dir, 64, "--follow applies", "--check", "--follow");
	free(txt);
	free(empty);
	free(big);
	free(missing);
	free(nodir);
	sr_tmpdir_free(dir);
}

static void dump_help_and_version(void **state)
{
	char *dir = sr_tmpdir("dumphelp");
	const char *opts[] = { "--dir",    "--json",     "--records",
			       "--follow", "--interval", "--check",
			       "--stats",  "--help",     "--version" };
	struct run o = DUMP(dir, "--help");
	char *fenced;

	(void)state;
	assert_int_equal(o.status, 0);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		assert_has(o.out, opts[i]);
	/* tools/dump/README.md shows the same text (make docs) */
	fenced = sr_strf("```text\n%s```\n", o.out);
	sr_assert_doc_block("tools/dump/README.md", "spanring-dump --help",
			    fenced);
	free(fenced);
	run_free(&o);
	o = DUMP(dir, "--version");
	assert_int_equal(o.status, 0);
	assert_has(o.out, "spanring-dump ");
	run_free(&o);
	sr_tmpdir_free(dir);
}

/* Files full of garbage under ring names, and every truncated prefix of a
 * real ring, never crash any mode. */
static void dump_garbage_never_crashes(void **state)
{
	char *dir = sr_tmpdir("dumpgarb"), *path, *bytes;
	const size_t cuts[] = { 1,    7,    8,    100,   4095,
				4096, 4097, 8192, 12000, 16383 };
	struct sr_ring r;
	size_t n;

	(void)state;
	path = make_ring(dir, "real.ring", &r);
	bytes = sr_read_file(path, &n);
	sr_ring_close(&r);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		char *cut = sr_strf("%s/cut-%zu.ring", dir, cuts[i]);

		write_file(cut, bytes, cuts[i]);
		free(cut);
	}
	/* a ring with its data area scrambled */
	for (size_t i = DATA_OFF; i < n; i += 3)
		bytes[i] ^= (char)(i * 37);
	{
		char *scr = sr_strf("%s/scrambled.ring", dir);

		write_file(scr, bytes, n);
		free(scr);
	}
	{
		const char *const modes[][4] = {
			{ "--dir", dir, NULL },
			{ "--dir", dir, "--records", NULL },
			{ "--dir", dir, "--records", "--json" },
			{ "--dir", dir, "--check", NULL },
		};

		for (size_t m = 0; m < 4; m++) {
			struct run o = dump(dir, modes[m]);

			sr_assert_cmp(o.status, <, 128);
			sr_assert_cmp(o.status, !=, 0);
			run_free(&o);
		}
	}
	free(bytes);
	free(path);
	sr_tmpdir_free(dir);
}

/* --- follow ------------------------------------------------------------------- */

/* --follow prints records as they are written and exits once the owner
 * has exited and everything was printed. */
static void dump_follow_until_owner_exits(void **state)
{
	char *dir = sr_tmpdir("dumpfollow"), *path, line[4096];
	int ready[2], cmd[2], out[2], st;
	pid_t owner, dumper;
	FILE *in;
	char c;

	(void)state;
	path = sr_strf("%s/f.ring", dir);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(cmd), 0);
	assert_int_equal(pipe(out), 0);
	owner = fork();
	sr_assert_cmp(owner, >=, 0);
	if (owner == 0) {
		struct sr_ring_params p = { .lanes = 2,
					    .lane_size = LANE,
					    .pid = (uint32_t)getpid() };
		struct sr_producer pr = { .tid = 5 };
		int dirfd = open(dir, O_RDONLY | O_DIRECTORY);
		struct sr_ring r;

		close(out[0]);
		close(out[1]);
		if (sr_ring_create(&r, dirfd, "f.ring", &p))
			_exit(2);
		put_span(&r, &pr, SR_REC_SPAN, "first", "{}", "");
		if (write(ready[1], "r", 1) != 1 || read(cmd[0], &c, 1) != 1)
			_exit(3);
		put_span(&r, &pr, SR_REC_SPAN, "second", "{}", "");
		_exit(0);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	dumper = fork();
	sr_assert_cmp(dumper, >=, 0);
	if (dumper == 0) {
		dup2(out[1], 1);
		close(out[0]);
		close(cmd[1]);
		execl(sr_build_path("spanring-dump"), "spanring-dump",
		      "--follow", "--json", "--interval", "10", path,
		      (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	in = fdopen(out[0], "r");
	assert_non_null(fgets(line, sizeof(line), in));
	assert_has(line, "\"name\":\"first\"");
	assert_int_equal(write(cmd[1], "g", 1), 1);
	assert_int_equal(waitpid(owner, &st, 0), owner);
	sr_assert_exited(st, 0);
	assert_non_null(fgets(line, sizeof(line), in));
	assert_has(line, "\"name\":\"second\"");
	assert_null(fgets(line, sizeof(line), in)); /* EOF: it exited */
	assert_int_equal(waitpid(dumper, &st, 0), dumper);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	fclose(in);
	close(ready[0]);
	close(ready[1]);
	close(cmd[0]);
	close(cmd[1]);
	free(path);
	sr_tmpdir_free(dir);
}

/* Output of a running program, read from a pipe as it comes. */
struct stream {
	int fd;
	pid_t pid;  /* the program, stopped when the wait fails */
	char *text; /* NUL-terminated, everything read so far */
	size_t len;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads until needle has been printed after text[from], within 10 s, and
 * returns the offset just past it; on failure stops the program first. */
static size_t wait_for(struct stream *s, size_t from, const char *needle)
{
	long long deadline = now_ms() + 10000;
	char *hit;

	while (!(hit = strstr(s->text + from, needle))) {
		struct pollfd pfd = { s->fd, POLLIN, 0 };
		long long left = deadline - now_ms();
		char buf[4096];
		ssize_t n;

		n = left > 0 && poll(&pfd, 1, (int)left) > 0
			    ? read(s->fd, buf, sizeof(buf))
			    : -1;
		if (n <= 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
			fail_msg("no \"%s\" in time; output so far:\n%s",
				 needle, s->text);
		}
		s->text = realloc(s->text, s->len + (size_t)n + 1);
		assert_non_null(s->text);
		memcpy(s->text + s->len, buf, (size_t)n);
		s->len += (size_t)n;
		s->text[s->len] = 0;
	}
	return (size_t)(hit - s->text) + strlen(needle);
}

/* Starts `spanring-dump --dir dir --records --follow --json` (polling
 * every 10 ms), its stdout read through s, its stderr into errp. */
static void follow_dir(struct stream *s, const char *dir, const char *errp)
{
	int out[2];

	assert_int_equal(pipe(out), 0);
	s->pid = fork();
	sr_assert_cmp(s->pid, >=, 0);
	if (s->pid == 0) {
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(out[1], 1);
		dup2(e, 2);
		close(out[0]);
		execl(sr_build_path("spanring-dump"), "spanring-dump", "--dir",
		      dir, "--records", "--follow", "--json", "--interval",
		      "10", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	s->fd = out[0];
}

/* SIGTERM ends a follow of follow_dir(): exit 0, nothing on stderr. */
static void follow_stop(struct stream *s, const char *errp)
{
	char *err;
	int st;

	assert_int_equal(kill(s->pid, SIGTERM), 0);
	assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
	sr_assert_exited(st, 0);
	err = sr_read_file(errp, NULL);
	assert_non_null(err);
	assert_string_equal(err, "");
	free(err);
	close(s->fd);
}

/* --follow over a directory also follows a ring created after it started,
 * drops a removed ring quietly, and runs until SIGTERM, then exits 0. */
static void dump_follow_dir_picks_up_new_rings(void **state)
{
	char *dir = sr_tmpdir("dumpfolldir"), *errp = sr_strf("%s/.err", dir),
	     *first, *line;
	struct sr_ring_params rp = { .lanes = 2,
				     .lane_size = LANE,
				     .pid = (uint32_t)getpid() };
	struct stream s = { .text = calloc(1, 1) };
	struct sr_producer pr = { .tid = 9 };
	struct sr_ring ra, rb;
	int dirfd;
	size_t at;

	(void)state;
	first = make_ring(dir, "sr-1-000000000000000a-16384.ring", &ra);
	follow_dir(&s, dir, errp);
	/* the ring present at start is printed: the first scan is over */
	at = wait_for(&s, 0, "\"name\":\"connect\"");
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(sr_ring_create(&rb, dirfd,
					"sr-2-000000000000000b-16384.ring",
					&rp),
			 0);
	close(dirfd);
	put_span(&rb, &pr, SR_REC_SPAN, "late", "{}", "");
	at = wait_for(&s, at, "\"name\":\"late\"");
	line = sr_line_with(s.text, "\"name\":\"late\"");
	assert_has(line, "sr-2-000000000000000b");
	free(line);
	/* the sidecar removes a ring it is done with */
	assert_int_equal(unlink(first), 0);
	put_span(&rb, &pr, SR_REC_SPAN, "later", "{}", "");
	wait_for(&s, at, "\"name\":\"later\"");
	follow_stop(&s, errp);
	free(s.text);
	free(errp);
	sr_ring_close(&rb);
	ring_done(&ra, first, dir);
}

/* --- a shared volume: rings in uid-<N>/ ------------------------------------- */

/* A Kubernetes emptyDir (0777, 1777 or 2777) where every uid writes into
 * its own uid-<N>/ (common/README.md, "Ring directory"): the listing,
 * the records and the check take the rings of the subdirectories, shown
 * below the directory; a uid-<N>/ that is not N's own is said and sets
 * the status, the others are still shown. */
static void dump_volume_lists_uid_subdirs(void **state)
{
	static const unsigned modes[] = { 0777, 01777, 02777 };
	const char *ring = "sr-5-00000000000000c5-16384.ring";

	(void)state;
	for (size_t m = 0; m < sizeof(modes) / sizeof(*modes); m++) {
		char *dir = sr_tmpdir("dumpvol"), *sub, *bad, *path, *want;
		struct sr_ring r;
		struct run o;

		assert_int_equal(chmod(dir, modes[m]), 0);
		sub = sr_strf("%s/uid-%u", dir, (unsigned)geteuid());
		assert_int_equal(mkdir(sub, 0700), 0);
		path = make_ring(sub, ring, &r);
		want = sr_strf("uid-%u/%s", (unsigned)geteuid(), ring);

		o = DUMP(dir, "--dir", dir);
		if (o.status != 0 || !strstr(o.out, want))
			fail_msg("mode %o: listing: status %d, expected 0 and %s in:\n%s%s",
				 modes[m], o.status, want, o.out, o.err);
		assert_has(o.out, "1 ring in ");
		run_free(&o);
		o = DUMP(dir, "--dir", dir, "--json");
		assert_int_equal(o.status, 0);
		free(want);
		want = sr_strf("{\"ring\":\"uid-%u/%s\"", (unsigned)geteuid(),
			       ring);
		assert_has(o.out, want);
		run_free(&o);
		o = DUMP(dir, "--dir", dir, "--records", "--json");
		assert_int_equal(o.status, 0);
		assert_has(o.out, "\"name\":\"connect\"");
		assert_has(o.out, path);
		run_free(&o);
		o = DUMP(dir, "--dir", dir, "--check");
		free(want);
		want = sr_strf("%s: ok\n", path);
		if (o.status != 0 || strcmp(o.out, want) != 0)
			fail_msg("mode %o: check: status %d, expected 0 and \"%s\", got \"%s\"",
				 modes[m], o.status, want, o.out);
		run_free(&o);

		/* planted: another uid's name, writable by anyone */
		bad = sr_strf("%s/uid-4242", dir);
		assert_int_equal(mkdir(bad, 0700), 0);
		assert_int_equal(chmod(bad, 0777), 0);
		o = DUMP(dir, "--dir", dir);
		if (o.status != 66 || !strstr(o.out, "1 ring in "))
			fail_msg("mode %o: planted uid-4242: status %d, expected 66 and the other ring listed:\n%s%s",
				 modes[m], o.status, o.out, o.err);
		assert_has(o.err, "uid-4242: owned by uid");
		assert_has(o.err, "not uid 4242's own directory");
		run_free(&o);
		assert_int_equal(rmdir(bad), 0);

		sr_ring_close(&r);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(rmdir(sub), 0);
		free(bad);
		free(path);
		free(want);
		free(sub);
		sr_tmpdir_free(dir);
	}
}

/* --follow over a volume: a uid-<N>/ made later and the rings created in
 * it are followed too, printed with their path below the volume. */
static void dump_follow_volume_picks_up_new_subdirs(void **state)
{
	char *dir = sr_tmpdir("dumpfollvol"), *errp = sr_strf("%s/.err", dir),
	     *sub = sr_strf("%s/uid-%u", dir, (unsigned)geteuid()), *line,
	     *want;
	struct sr_ring_params rp = { .lanes = 2,
				     .lane_size = LANE,
				     .pid = (uint32_t)getpid() };
	struct stream s = { .text = calloc(1, 1) };
	struct sr_producer pr = { .tid = 9 };
	struct sr_ring ra, rb;
	int subfd;
	size_t at;

	(void)state;
	assert_int_equal(chmod(dir, 02777), 0);
	follow_dir(&s, dir, errp);
	/* the shim's way: the uid's directory, then a ring in it */
	assert_int_equal(mkdir(sub, 0700), 0);
	subfd = open(sub, O_RDONLY | O_DIRECTORY);
	assert_true(subfd >= 0);
	assert_int_equal(sr_ring_create(&ra, subfd,
					"sr-3-000000000000000c-16384.ring",
					&rp),
			 0);
	put_span(&ra, &pr, SR_REC_SPAN, "in-sub", "{}", "");
	at = wait_for(&s, 0, "\"name\":\"in-sub\"");
	line = sr_line_with(s.text, "\"name\":\"in-sub\"");
	want = sr_strf("%s/sr-3-000000000000000c-16384.ring", sub);
	assert_has(line, want);
	free(line);
	free(want);
	/* a second ring of the same directory, and more of the first */
	assert_int_equal(sr_ring_create(&rb, subfd,
					"sr-4-000000000000000d-16384.ring",
					&rp),
			 0);
	close(subfd);
	put_span(&rb, &pr, SR_REC_SPAN, "second", "{}", "");
	put_span(&ra, &pr, SR_REC_SPAN, "more", "{}", "");
	wait_for(&s, at, "\"name\":\"second\"");
	wait_for(&s, at, "\"name\":\"more\"");
	follow_stop(&s, errp);
	/* each record once */
	assert_null(strstr(strstr(s.text, "\"name\":\"in-sub\"") + 1,
			   "\"name\":\"in-sub\""));
	free(s.text);
	free(errp);
	sr_ring_close(&ra);
	sr_ring_close(&rb);
	free(sub);
	sr_tmpdir_free(dir);
}

/* --- stats -------------------------------------------------------------------- */

static void dump_stats_flattened_or_absent(void **state)
{
	char *dir = sr_tmpdir("dumpstats"),
	     *file = sr_strf("%s/.spanringd.stats.json", dir),
	     *other = sr_strf("%s/other.json", dir);
	const char stats[] =
		"{\"spans_exported\":12,\"export\":{\"batches\":3,"
		"\"last_error\":\"503\",\"ok\":true},\"lanes\":[4,5]}";
	struct run o;

	(void)state;
	o = DUMP(dir, "--dir", dir, "--stats");
	assert_int_equal(o.status, 1);
	assert_has(o.err, "no sidecar stats");
	run_free(&o);
	write_file(file, stats, sizeof(stats) - 1);
	o = DUMP(dir, "--dir", dir, "--stats");
	assert_int_equal(o.status, 0);
	assert_has(o.out, "spans_exported 12\n");
	assert_has(o.out, "export.batches 3\n");
	assert_has(o.out, "export.last_error 503\n");
	assert_has(o.out, "export.ok true\n");
	assert_has(o.out, "lanes.1 5\n");
	run_free(&o);
	write_file(other, "[1,2]", 5);
	EXPECT(dir, 65, "not a stats file", "--stats", other);
	EXPECT(dir, 64, "at most one FILE", "--stats", other, other);
	free(file);
	free(other);
	sr_tmpdir_free(dir);
}

SR_TEST_MAIN(cmocka_unit_test(dump_lists_rings_and_reports_bad_ones),
	     cmocka_unit_test(dump_list_json_has_counters),
	     cmocka_unit_test(dump_records_json_every_type),
	     cmocka_unit_test(dump_reads_version3_ring),
	     cmocka_unit_test(dump_records_table_readable),
	     cmocka_unit_test(dump_undecodable_record_reported),
	     cmocka_unit_test(dump_is_read_only),
	     cmocka_unit_test(dump_check_intact_ring_ok),
	     cmocka_unit_test(dump_check_names_each_fault),
	     cmocka_unit_test(dump_bad_inputs_clear_errors),
	     cmocka_unit_test(dump_help_and_version),
	     cmocka_unit_test(dump_garbage_never_crashes),
	     cmocka_unit_test(dump_follow_until_owner_exits),
	     cmocka_unit_test(dump_follow_dir_picks_up_new_rings),
	     cmocka_unit_test(dump_volume_lists_uid_subdirs),
	     cmocka_unit_test(dump_follow_volume_picks_up_new_subdirs),
	     cmocka_unit_test(dump_stats_flattened_or_absent))
