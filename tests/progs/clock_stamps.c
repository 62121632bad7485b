/* SPDX-License-Identifier: MIT */
/*
 * clock_stamps - spans with the clock readings around them, for the clock
 * tests:
 *   clock_stamps SPANS GAP_US [sandbox]
 * records SPANS C API spans named "s0", "s1", ... (GAP_US microseconds
 * apart, so a long run crosses many anchor intervals), then one connect()
 * to a listener of its own on 127.0.0.1 (the shim's "connect" span).
 * For each it prints one line
 *   NAME BEFORE_START AFTER_START BEFORE_END AFTER_END
 * of CLOCK_REALTIME ns read just before and after the call that starts
 * the span and the one that ends it. Then "ok", or what failed.
 * With "sandbox", a seccomp filter installed through prctl before the
 * first span kills the process at any open or openat.
 */
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim/spanring.h"

static unsigned long long now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull +
	       (unsigned long long)ts.tv_nsec;
}

static int api_spans(long n, long gap_us)
{
	struct timespec gap = { gap_us / 1000000, gap_us % 1000000 * 1000 };

	for (long i = 0; i < n; i++) {
		unsigned long long t[4];
		char name[32];
		int rc;

		snprintf(name, sizeof(name), "s%ld", i);
		t[0] = now();
		rc = spanring_span_begin_custom(name, NULL);
		t[1] = now();
		t[2] = now();
		rc |= spanring_span_end();
		t[3] = now();
		if (rc) {
			printf("span %s: %d\n", name, rc);
			return 1;
		}
		printf("%s %llu %llu %llu %llu\n", name, t[0], t[1], t[2],
		       t[3]);
		if (gap_us)
			nanosleep(&gap, NULL);
	}
	return 0;
}

/* One connect() to a listener of our own on loopback. */
static int connect_span(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	unsigned long long t0, t1;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int rc;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &len)) {
		perror("clock_stamps: listener");
		return 1;
	}
	t0 = now();
	rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	t1 = now();
	if (rc < 0) {
		perror("clock_stamps: connect");
		return 1;
	}
	printf("connect %llu %llu %llu %llu\n", t0, t1, t0, t1);
	close(c);
	close(l);
	return 0;
}

/* From here on, open and openat kill the process. */
static int sandbox(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]),
				   .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("clock_stamps: seccomp filter");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 && !(argc == 4 && strcmp(argv[3], "sandbox") == 0)) {
		fprintf(stderr, "usage: clock_stamps SPANS GAP_US [sandbox]\n");
		return 2;
	}
	if (argc == 4 && sandbox())
		return 1;
	if (api_spans(atol(argv[1]), atol(argv[2])) || connect_span())
		return 1;
	printf("ok\n");
	return 0;
}
