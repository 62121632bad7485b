/* SPDX-License-Identifier: MIT */
/*
 * real.h - the libc functions the shim interposes, resolved with
 * dlsym(RTLD_NEXT). All are resolved once by the constructor (before any
 * signal handler of the program can run); a hook called before that (from
 * another library's constructor) resolves its symbol on first use.
 */
#ifndef SR_SHIM_REAL_H
#define SR_SHIM_REAL_H

#include <netdb.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/wait.h>

struct shim_real {
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
	int (*posix_spawn)(pid_t *, const char *,
			   const posix_spawn_file_actions_t *,
			   const posix_spawnattr_t *, char *const[],
			   char *const[]);
	int (*posix_spawnp)(pid_t *, const char *,
			    const posix_spawn_file_actions_t *,
			    const posix_spawnattr_t *, char *const[],
			    char *const[]);
	int (*system)(const char *);
	FILE *(*popen)(const char *, const char *);
	int (*pclose)(FILE *);
	pid_t (*fork)(void);
	void (*exit_)(int) __attribute__((noreturn));
	void (*Exit)(int) __attribute__((noreturn));
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
			   struct addrinfo **);
	int (*close)(int);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	pid_t (*wait)(int *);
	pid_t (*waitpid)(pid_t, int *, int);
	pid_t (*wait3)(int *, int, struct rusage *);
	pid_t (*wait4)(pid_t, int *, int, struct rusage *);
	int (*waitid)(idtype_t, id_t, siginfo_t *, int);
};

extern struct shim_real shim_real;

/* Resolves every symbol. Called by the constructor. */
void shim_real_init(void);

/* Resolves one symbol by name into *slot if still unset; returns it. */
void *shim_real_get(void **slot, const char *name);

/* REAL(execve) -> the resolved pointer (resolving it if needed). */
#define REAL(f)                                                              \
	((__typeof__(shim_real.f))(                                          \
		shim_real.f ? (void *)shim_real.f                            \
			    : shim_real_get((void **)&shim_real.f, #f)))

#endif /* SR_SHIM_REAL_H */
