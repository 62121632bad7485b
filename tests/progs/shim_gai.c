/* SPDX-License-Identifier: MIT */
/*
 * shim_gai - getaddrinfo of each name given, for the shim tests:
 *   shim_gai NAME...   prints "NAME ok" or "NAME fail"
 * A name ending in ".invalid" is looked up only with a private resolver:
 * in a private mount namespace /etc/resolv.conf is replaced by one naming
 * 127.0.0.1, so the query never leaves the machine. Without the privilege
 * for that the name is reported "skipped".
 */
#include <netdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static int private_resolver(void)
{
	char path[] = "/tmp/shim_gai-resolv-XXXXXX";
	int fd, rc;

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	rc = write(fd, "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n",
		   51) == 51
		     ? mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL)
		     : -1;
	close(fd);
	unlink(path);
	return rc;
}

int main(int argc, char **argv)
{
	int private = -2;

	for (int i = 1; i < argc; i++) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
		size_t n = strlen(argv[i]);

		if (n > 8 && !strcmp(argv[i] + n - 8, ".invalid")) {
			if (private == -2)
			private = private_resolver();
			if (private < 0) {
				printf("%s skipped\n", argv[i]);
				continue;
			}
		}
		if (getaddrinfo(argv[i], "80", &hints, &res) == 0) {
			printf("%s ok\n", argv[i]);
			freeaddrinfo(res);
		} else {
			printf("%s fail\n", argv[i]);
		}
	}
	return 0;
}
