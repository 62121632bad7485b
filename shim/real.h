/* SPDX-License-Identifier: MIT */
/*
 * real.h - the libc functions the shim interposes, resolved with
 * dlsym(RTLD_NEXT) on first use, one by one: a process pays only for the
 * hooks it calls (two dozen lookups in the constructor were ~15 us of every
 * start). Safe on first use from any context a hook can run in:
 *  - before the constructor (another library's constructor): nothing but
 *    the slot is needed;
 *  - concurrently: racing threads store the same address;
 *  - in a fork child: fork() re-initialises the loader's lock in the
 *    child, so a lock held by a vanished thread cannot block dlsym;
 *  - in a signal handler: dlsym takes the loader's recursive lock (a
 *    handler interrupting the loader on its own thread re-enters it, as
 *    lazy PLT binding does) and does not allocate for a symbol found in
 *    libc, a dependency of the shim;
 *  - errno is preserved; a symbol the next objects lack is looked up once
 *    and REAL() is NULL from then on (callers that may meet it check).
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
	int (*fclose)(FILE *);
	int (*prctl)(int, ...);
	pid_t (*wait)(int *);
	pid_t (*waitpid)(pid_t, int *, int);
	pid_t (*wait3)(int *, int, struct rusage *);
	pid_t (*wait4)(pid_t, int *, int, struct rusage *);
	int (*waitid)(idtype_t, id_t, siginfo_t *, int);
};

extern struct shim_real shim_real;

/* Looks `name` up (RTLD_NEXT) into *slot; returns it, NULL if missing.
 * errno preserved. */
void *shim_real_resolve(void **slot, const char *name)
	__attribute__((noinline, cold));
/* Its address is what a slot holds once its symbol was found missing. */
extern char shim_real_none;

static inline void *shim_real_get(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_RELAXED);

	if (__builtin_expect(p == NULL, 0))
		return shim_real_resolve(slot, name);
	return p == (void *)&shim_real_none ? NULL : p;
}

/* REAL(execve) -> the real function, resolved on first use (NULL only if
 * no object after the shim defines it). */
#define REAL(f) \
	((__typeof__(shim_real.f))shim_real_get((void **)&shim_real.f, #f))

#endif /* SR_SHIM_REAL_H */
