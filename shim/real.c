/* SPDX-License-Identifier: MIT */
#include "real.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <string.h>

struct shim_real shim_real;

/* Names in struct order; exit_ and Exit map to _exit and _Exit. */
static const char *const names[] = {
	"execve", "execvpe", "fexecve", "posix_spawn", "posix_spawnp",
	"system", "popen", "pclose", "fork", "_exit", "_Exit", "connect",
	"getaddrinfo", "close", "close_range", "closefrom", "dup2", "dup3",
	"wait", "waitpid", "wait3", "wait4", "waitid",
};

_Static_assert(sizeof(names) / sizeof(names[0]) * sizeof(void *) ==
		       sizeof(struct shim_real),
	       "one name per real function");

void *shim_real_get(void **slot, const char *name)
{
	void *p = atomic_load_explicit((_Atomic(void *) *)slot,
				       memory_order_relaxed);

	if (p)
		return p;
	if (strcmp(name, "exit_") == 0)
		name = "_exit";
	else if (strcmp(name, "Exit") == 0)
		name = "_Exit";
	p = dlsym(RTLD_NEXT, name);
	/* Racing threads resolve the same address: a plain store is fine. */
	atomic_store_explicit((_Atomic(void *) *)slot, p, memory_order_relaxed);
	return p;
}

void shim_real_init(void)
{
	void **slots = (void **)&shim_real;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		shim_real_get(&slots[i], names[i]);
}
