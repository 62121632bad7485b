/* SPDX-License-Identifier: MIT */
/*
 * The ring under concurrency and failure: many producer threads with a
 * consumer in another process or thread, producers SIGKILLed mid-stream,
 * a ring truncated while it is read, owner liveness across exit and exec.
 */
#include "tests/lib/harness.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/reader.h"
#include "common/record.h"
#include "common/ring.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define PER_THREAD 4000u
#else
#define PER_THREAD 20000u
#endif
#define THREADS 6u /* 4 owned lanes + 2 threads on the shared lanes */
#define LANES 6u
#define DEADLINE_NS (60ull * 1000000000ull)

/* --- checksummed records: thread id, sequence, length, sum -------------- */

struct mt_hdr {
	uint32_t thread, seq, len, sum;
};

static uint8_t pattern(uint32_t thread, uint32_t seq, uint32_t i)
{
	return (uint8_t)(thread * 31 + seq * 7 + i * 13);
}

static uint32_t body_len(uint32_t thread, uint32_t seq)
{
	return (thread * 17 + seq * 29) % 300;
}

static void fill_body(uint8_t *p, uint32_t thread, uint32_t seq)
{
	struct mt_hdr h = { thread, seq, body_len(thread, seq), 0 };

	for (uint32_t i = 0; i < h.len; i++) {
		p[sizeof(h) + i] = pattern(thread, seq, i);
		h.sum = h.sum * 31 + p[sizeof(h) + i];
	}
	memcpy(p, &h, sizeof(h));
}

/* Returns the header if the record is intact, else thread = UINT32_MAX. */
static struct mt_hdr check_body(const struct sr_record *rec)
{
	struct mt_hdr h, bad = { UINT32_MAX, 0, 0, 0 };
	uint32_t sum = 0;

	if (rec->len < sizeof(h))
		return bad;
	memcpy(&h, rec->payload, sizeof(h));
	if (h.len != body_len(h.thread, h.seq) ||
	    rec->len != sizeof(h) + h.len || rec->type != SR_REC_SPAN)
		return bad;
	for (uint32_t i = 0; i < h.len; i++) {
		uint8_t b = rec->payload[sizeof(h) + i];

		if (b != pattern(h.thread, h.seq, i))
			return bad;
		sum = sum * 31 + b;
	}
	return sum == h.sum ? h : bad;
}

/* Writes one record, retrying while the ring is full. */
static void put_retry(struct sr_ring *r, struct sr_producer *p, uint32_t thread,
		      uint32_t seq)
{
	uint32_t len = (uint32_t)sizeof(struct mt_hdr) + body_len(thread, seq);
	struct sr_resv rv;
	uint8_t *d;

	while (!(d = sr_ring_reserve(r, p, len + 8, &rv)))
		sched_yield();
	fill_body(d, thread, seq);
	sr_ring_commit(r, p, &rv, SR_REC_SPAN, 0);
}

/* --- the consumer: every record exactly once and intact ----------------- */

struct tally {
	uint8_t *seen; /* THREADS * PER_THREAD flags */
	uint64_t got, dup, bad;
};

static int tally_rec(void *ctx, const struct sr_record *rec)
{
	struct tally *t = ctx;
	struct mt_hdr h = check_body(rec);

	if (h.thread >= THREADS || h.seq >= PER_THREAD) {
		t->bad++;
		return 0;
	}
	if (t->seen[h.thread * PER_THREAD + h.seq]++)
		t->dup++;
	t->got++;
	return 0;
}

/* Consumes until every record arrived or the deadline; returns a
 * description of what went wrong, or NULL. */
static const char *consume_all(struct sr_reader *rd, struct tally *t)
{
	static char msg[256];
	uint64_t want = (uint64_t)THREADS * PER_THREAD;
	uint64_t end = sr_mono_ns() + DEADLINE_NS;

	while (t->got < want && sr_mono_ns() < end) {
		int n = sr_reader_poll(rd, SIZE_MAX, tally_rec, t);

		if (n < 0 || sr_reader_commit(rd))
			return "poll or commit failed";
		if (n == 0)
			sched_yield();
	}
	snprintf(msg, sizeof(msg),
		 "got %llu of %llu, %llu duplicates, %llu damaged, %llu faults (%s)",
		 (unsigned long long)t->got, (unsigned long long)want,
		 (unsigned long long)t->dup, (unsigned long long)t->bad,
		 (unsigned long long)sr_reader_faults(rd), sr_reader_fault(rd));
	if (t->got != want || t->dup || t->bad || sr_reader_faults(rd))
		return msg;
	return NULL;
}

struct mt {
	char *dir;
	int dirfd;
	struct sr_ring ring;
	pthread_barrier_t go;
};

struct producer_arg {
	struct mt *m;
	uint32_t thread;
};

static void *producer_main(void *arg)
{
	struct producer_arg *a = arg;
	struct sr_producer p = { .tid = 1000 + a->thread };

	pthread_barrier_wait(&a->m->go);
	for (uint32_t seq = 0; seq < PER_THREAD; seq++)
		put_retry(&a->m->ring, &p, a->thread, seq);
	sr_producer_release(&a->m->ring, &p);
	return NULL;
}

static void run_producers(struct mt *m)
{
	struct producer_arg a[THREADS];
	pthread_t t[THREADS];

	pthread_barrier_init(&m->go, NULL, THREADS);
	for (uint32_t i = 0; i < THREADS; i++) {
		a[i] = (struct producer_arg){ m, i };
		assert_int_equal(pthread_create(&t[i], NULL, producer_main,
						&a[i]),
				 0);
	}
	for (uint32_t i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&m->go);
}

static void mt_open(struct mt *m, uint32_t lane_size)
{
	struct sr_ring_params p = { .lanes = LANES,
				    .lane_size = lane_size,
				    .pid = (uint32_t)getpid() };

	memset(m, 0, sizeof(*m));
	m->dir = sr_tmpdir("ringmt");
	m->dirfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	sr_assert_cmp(m->dirfd, >=, 0);
	assert_int_equal(sr_ring_create(&m->ring, m->dirfd, "mt.ring", &p), 0);
}

static void mt_close(struct mt *m)
{
	sr_ring_close(&m->ring);
	close(m->dirfd);
	sr_tmpdir_free(m->dir);
}

/* The consumer process: opens the ring itself, reports through its exit
 * status and stderr. */
static void consumer_child(int dirfd)
{
	struct tally t = { calloc(THREADS * PER_THREAD, 1), 0, 0, 0 };
	struct sr_reader *rd;
	const char *err;
	char why[256];

	if (sr_reader_open(dirfd, "mt.ring", 0, &rd, why, sizeof(why))) {
		fprintf(stderr, "consumer: open: %s\n", why);
		_exit(2);
	}
	err = consume_all(rd, &t);
	if (err) {
		fprintf(stderr, "consumer: %s\n", err);
		_exit(1);
	}
	sr_reader_free(rd);
	free(t.seen);
	_exit(0);
}

/* THREADS producers x PER_THREAD records on a small ring (it fills and
 * wraps many times); a consumer process gets every record exactly once
 * and intact. */
static void ring_mt_threads_consumer_process(void **state)
{
	struct mt m;
	pid_t pid;
	int st;

	(void)state;
	mt_open(&m, 8192);
	pid = fork();
	sr_assert_cmp(pid, >=, 0);
	if (pid == 0)
		consumer_child(m.dirfd);
	run_producers(&m);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	mt_close(&m);
}

struct consumer_thread {
	struct sr_reader *rd;
	struct tally t;
	const char *err;
};

static void *consumer_thread_main(void *arg)
{
	struct consumer_thread *c = arg;

	c->err = consume_all(c->rd, &c->t);
	return NULL;
}

/* Opens ring `name` of dirfd as a reader; fails the test, saying why,
 * when it cannot. */
static struct sr_reader *open_reader(int dirfd, const char *name, int flags)
{
	struct sr_reader *rd = NULL;
	char why[256];
	int rc = sr_reader_open(dirfd, name, flags, &rd, why, sizeof(why));

	if (rc)
		print_error("open %s: %s\n", name, why);
	assert_int_equal(rc, 0);
	return rd;
}

/* The same with the consumer as a thread of the producing process, so
 * ThreadSanitizer sees both sides of every head and tail exchange. */
static void ring_mt_threads_consumer_thread(void **state)
{
	struct consumer_thread c = { .t = { .seen = calloc(THREADS * PER_THREAD,
							   1) } };
	struct sr_ring_info *info;
	pthread_t t;
	struct mt m;

	(void)state;
	mt_open(&m, 4096);
	c.rd = open_reader(m.dirfd, "mt.ring", 0);
	assert_int_equal(pthread_create(&t, NULL, consumer_thread_main, &c), 0);
	run_producers(&m);
	pthread_join(t, NULL);
	if (c.err)
		fail_msg("%s", c.err);
	info = malloc(sr_reader_info_size(c.rd));
	assert_int_equal(sr_reader_info(c.rd, info), 0);
	assert_int_equal(info->written, THREADS * PER_THREAD);
	assert_int_equal(info->unread_bytes, 0);
	free(info);
	free(c.t.seen);
	sr_reader_free(c.rd);
	mt_close(&m);
}

/* --- producers killed mid-stream ----------------------------------------- */

#define KILL_ROUNDS 30
#define KILL_LANES 4u

/* The child: creates its ring, says so, writes as fast as it can on two
 * lanes, each record numbered per lane, until killed. */
static void writer_child(int dirfd, int ready)
{
	struct sr_ring_params p = { .lanes = KILL_LANES,
				    .lane_size = 8192,
				    .pid = (uint32_t)getpid() };
	struct sr_producer prod[2] = { { .tid = 1 }, { .tid = 2 } };
	uint32_t seq[2] = { 0, 0 };
	struct sr_ring r;

	if (sr_ring_create(&r, dirfd, "kill.ring", &p))
		_exit(2);
	if (write(ready, "r", 1) != 1)
		_exit(3);
	for (uint32_t i = 0;; i++) {
		uint32_t k = i & 1, len = 16 + body_len(k, seq[k]);
		struct sr_resv rv;
		uint8_t *d = sr_ring_reserve(&r, &prod[k], len + 8, &rv);

		if (!d)
			continue; /* full: the parent is behind */
		fill_body(d, k, seq[k]);
		sr_ring_commit(&r, &prod[k], &rv, SR_REC_SPAN, 0);
		seq[k]++;
	}
}

struct kill_tally {
	uint32_t next[KILL_LANES]; /* expected sequence per lane */
	uint32_t thread_of[KILL_LANES];
	uint64_t got, bad, order;
};

static int kill_rec(void *ctx, const struct sr_record *rec)
{
	struct kill_tally *t = ctx;
	struct mt_hdr h = check_body(rec);

	if (h.thread > 1 || rec->lane >= KILL_LANES) {
		t->bad++;
		return 0;
	}
	if (t->next[rec->lane] == 0)
		t->thread_of[rec->lane] = h.thread;
	if (h.seq != t->next[rec->lane] || h.thread != t->thread_of[rec->lane])
		t->order++;
	t->next[rec->lane] = h.seq + 1;
	t->got++;
	return 0;
}

static void kill_round(int dirfd, uint32_t round)
{
	struct kill_tally t = { { 0 }, { 0 }, 0, 0, 0 };
	uint64_t stop_after = 1 + (round * 7919u) % 6000, end;
	struct sr_ring_info *info;
	struct sr_reader *rd;
	int ready[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	sr_assert_cmp(pid, >=, 0);
	if (pid == 0) {
		close(ready[0]);
		writer_child(dirfd, ready[1]);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	rd = open_reader(dirfd, "kill.ring", 0);
	assert_true(sr_reader_owner_alive(rd));
	/* read while it writes, then kill it at a point that varies */
	end = sr_mono_ns() + DEADLINE_NS;
	while (t.got < stop_after && sr_mono_ns() < end) {
		sr_assert_cmp(sr_reader_poll(rd, SIZE_MAX, kill_rec, &t), >=,
			      0);
		assert_int_equal(sr_reader_commit(rd), 0);
	}
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_false(sr_reader_owner_alive(rd));
	/* everything published before death arrives, then nothing */
	end = sr_mono_ns() + DEADLINE_NS;
	do {
		sr_assert_cmp(sr_reader_poll(rd, SIZE_MAX, kill_rec, &t), >=,
			      0);
		assert_int_equal(sr_reader_commit(rd), 0);
	} while (!sr_reader_drained(rd) && sr_mono_ns() < end);
	assert_true(sr_reader_drained(rd));
	assert_int_equal(sr_reader_poll(rd, SIZE_MAX, kill_rec, &t), 0);
	assert_int_equal(t.bad, 0);
	assert_int_equal(t.order, 0);
	assert_int_equal(sr_reader_faults(rd), 0);
	info = malloc(sr_reader_info_size(rd));
	assert_int_equal(sr_reader_info(rd, info), 0);
	for (uint32_t l = 0; l < KILL_LANES; l++) {
		/* each record up to the last published head arrived; the
		 * written counter may be one ahead when death came between
		 * counting and publishing */
		sr_assert_ucmp(info->lanes[l].written, >=, t.next[l]);
		sr_assert_ucmp(info->lanes[l].written, <=, t.next[l] + 1);
		sr_assert_ucmp(info->lanes[l].head, ==, info->lanes[l].tail);
	}
	sr_assert_ucmp(t.got, >=, stop_after);
	free(info);
	sr_reader_free(rd);
	assert_int_equal(unlinkat(dirfd, "kill.ring", 0), 0);
}

/* A producer process SIGKILLed at many points: the consumer never hangs,
 * every record it gets is intact and in sequence per lane, and it loses
 * nothing that was published. */
static void ring_kill_producer_mid_stream(void **state)
{
	char *dir = sr_tmpdir("ringkill");
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	(void)state;
	sr_assert_cmp(dirfd, >=, 0);
	for (uint32_t round = 0; round < KILL_ROUNDS; round++)
		kill_round(dirfd, round);
	close(dirfd);
	sr_tmpdir_free(dir);
}

/* --- a ring truncated under the reader ------------------------------------ */

static int count_rec(void *ctx, const struct sr_record *rec)
{
	(void)rec;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* Another process truncates the ring to `size` while the reader reads it
 * in a loop: the reader gets -EFAULT, never SIGBUS. */
static void truncate_under_reader(off_t size)
{
	struct sr_ring_params p = { .lanes = 2,
				    .lane_size = 64 * 1024,
				    .pid = (uint32_t)getpid() };
	struct sr_producer prod[2] = { { .tid = 1 }, { .tid = 2 } };
	char *dir = sr_tmpdir("ringtrunc"), go = 'g';
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), cmd[2], rc;
	uint64_t n = 0, end;
	struct sr_reader *rd;
	struct sr_ring r;
	pid_t pid;

	assert_int_equal(sr_ring_create(&r, dirfd, "t.ring", &p), 0);
	for (uint32_t i = 0; i < 400; i++)
		put_retry(&r, &prod[i & 1], i & 1, i);
	rd = open_reader(dirfd, "t.ring", 0);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	pid = fork();
	sr_assert_cmp(pid, >=, 0);
	if (pid == 0) {
		int fd = openat(dirfd, "t.ring", O_RDWR);

		close(cmd[1]);
		if (fd < 0 || read(cmd[0], &go, 1) != 1)
			_exit(2);
		_exit(ftruncate(fd, size) ? 3 : 0);
	}
	close(cmd[0]);
	end = sr_mono_ns() + DEADLINE_NS;
	for (uint64_t i = 0; sr_mono_ns() < end; i++) {
		int st;

		if (i == 50)
			assert_int_equal(write(cmd[1], &go, 1), 1);
		rc = sr_reader_poll(rd, SIZE_MAX, count_rec, &n);
		if (rc < 0)
			break;
		sr_reader_rewind(rd); /* read the same pages again */
		if (i > 50 && waitpid(pid, &st, WNOHANG) == pid) {
			sr_assert_exited(st, 0);
			pid = 0;
			/* the file is short now: the next poll must see it */
			rc = sr_reader_poll(rd, SIZE_MAX, count_rec, &n);
			break;
		}
	}
	assert_int_equal(rc, -EFAULT);
	sr_assert_cmp(n, >, 0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	close(cmd[1]);
	sr_reader_free(rd);
	sr_ring_close(&r);
	close(dirfd);
	sr_tmpdir_free(dir);
}

static void ring_truncated_while_read_faults_not_dies(void **state)
{
	(void)state;
	truncate_under_reader(0);
	truncate_under_reader(4096);         /* header only */
	truncate_under_reader(8192 + 40000); /* inside lane 0's records */
}

static int truncate_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = ftruncate(fd, 0);
	close(fd);
	return rc;
}

/* After truncation every other call reports -EFAULT too. */
static void ring_truncated_info_and_check_fault(void **state)
{
	struct sr_ring_params p = { .lanes = 2,
				    .lane_size = 4096,
				    .pid = (uint32_t)getpid() };
	struct sr_producer prod = { .tid = 1 };
	char *dir = sr_tmpdir("ringtrunc2"), why[256];
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct sr_ring_info *info;
	struct sr_reader *rd;
	struct sr_ring r;

	(void)state;
	assert_int_equal(sr_ring_create(&r, dirfd, "t.ring", &p), 0);
	put_retry(&r, &prod, 0, 0);
	rd = open_reader(dirfd, "t.ring", 0);
	assert_int_equal(truncate_at(dirfd, "t.ring"), 0);
	info = malloc(sr_reader_info_size(rd));
	assert_int_equal(sr_reader_info(rd, info), -EFAULT);
	assert_int_equal(sr_reader_check(rd, NULL, NULL), -EFAULT);
	assert_int_equal(sr_reader_poll(rd, SIZE_MAX, NULL, NULL), -EFAULT);
	/* a new open sees a file that is not a ring any more */
	sr_reader_free(rd);
	sr_assert_cmp(sr_reader_open(dirfd, "t.ring", 0, &rd, why, sizeof(why)),
		      <, 0);
	assert_null(rd);
	free(info);
	sr_ring_close(&r);
	close(dirfd);
	sr_tmpdir_free(dir);
}

/* --- owner liveness ------------------------------------------------------- */

/* Descriptors open in this process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* The child creates a ring, reports through `ready`, then waits for one
 * byte on `cmd`: 'x' exits, 'e' execs cat (which lives on, reading the
 * rest of cmd). */
static void owner_child(int dirfd, int ready, int cmd)
{
	struct sr_ring_params p = { .lanes = 2,
				    .lane_size = 4096,
				    .pid = (uint32_t)getpid() };
	int fds = count_fds();
	struct sr_ring r;
	char c;

	if (sr_ring_create(&r, dirfd, "o.ring", &p))
		_exit(2);
	/* the owner keeps no descriptor: the mapping holds the lock */
	if (count_fds() != fds)
		_exit(4);
	if (write(ready, "r", 1) != 1 || read(cmd, &c, 1) != 1)
		_exit(3);
	if (c == 'e') {
		dup2(cmd, 0);
		execl("/bin/cat", "cat", (char *)NULL);
		_exit(5);
	}
	_exit(0);
}

static pid_t start_owner(int dirfd, int *ready_rd, int *cmd_wr)
{
	int ready[2], cmd[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	pid = fork();
	sr_assert_cmp(pid, >=, 0);
	if (pid == 0) {
		close(ready[0]);
		close(cmd[1]);
		owner_child(dirfd, ready[1], cmd[0]);
	}
	close(ready[1]);
	close(cmd[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	*ready_rd = ready[0];
	*cmd_wr = cmd[1];
	return pid;
}

/* Alive while the creating process lives, dead once it exited. */
static void ring_owner_alive_until_exit(void **state)
{
	char *dir = sr_tmpdir("ringlive");
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rd_fd, cmd;
	struct sr_reader *rd, *rd2;
	int st;
	pid_t pid;

	(void)state;
	pid = start_owner(dirfd, &rd_fd, &cmd);
	rd = open_reader(dirfd, "o.ring", SR_READER_RDONLY);
	rd2 = open_reader(dirfd, "o.ring", 0);
	/* probing twice, from two readers, never disturbs the owner */
	assert_true(sr_reader_owner_alive(rd));
	assert_true(sr_reader_owner_alive(rd2));
	assert_true(sr_reader_owner_alive(rd));
	assert_int_equal(write(cmd, "x", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	sr_assert_exited(st, 0);
	assert_false(sr_reader_owner_alive(rd));
	assert_false(sr_reader_owner_alive(rd2));
	sr_reader_free(rd);
	sr_reader_free(rd2);
	close(rd_fd);
	close(cmd);
	close(dirfd);
	sr_tmpdir_free(dir);
}

/* An exec replaces the image: the ring's owner is gone although the
 * process lives on (the lock descriptor is close-on-exec). */
static void ring_owner_dead_after_exec(void **state)
{
	char *dir = sr_tmpdir("ringexec"), c;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rd_fd, cmd;
	struct sr_reader *rd;
	uint64_t end;
	int st;
	pid_t pid;

	(void)state;
	pid = start_owner(dirfd, &rd_fd, &cmd);
	rd = open_reader(dirfd, "o.ring", SR_READER_RDONLY);
	assert_true(sr_reader_owner_alive(rd));
	assert_int_equal(write(cmd, "e", 1), 1);
	/* EOF on `ready` (close-on-exec) means the exec happened */
	assert_int_equal(read(rd_fd, &c, 1), 0);
	/* the kernel drops the lock when it releases the ring file, in work
	 * deferred to the end of exec that may run after the pipe's: wait for
	 * that external effect with a deadline */
	end = sr_mono_ns() + DEADLINE_NS;
	while (sr_reader_owner_alive(rd) && sr_mono_ns() < end)
		sched_yield();
	assert_false(sr_reader_owner_alive(rd));
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* cat still runs */
	close(cmd); /* cat reads EOF and exits */
	assert_int_equal(waitpid(pid, &st, 0), pid);
	sr_assert_exited(st, 0);
	sr_reader_free(rd);
	close(rd_fd);
	close(dirfd);
	sr_tmpdir_free(dir);
}

SR_TEST_MAIN(cmocka_unit_test(ring_mt_threads_consumer_process),
	     cmocka_unit_test(ring_mt_threads_consumer_thread),
	     cmocka_unit_test(ring_kill_producer_mid_stream),
	     cmocka_unit_test(ring_truncated_while_read_faults_not_dies),
	     cmocka_unit_test(ring_truncated_info_and_check_fault),
	     cmocka_unit_test(ring_owner_alive_until_exit),
	     cmocka_unit_test(ring_owner_dead_after_exec))
