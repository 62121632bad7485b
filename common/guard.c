/* SPDX-License-Identifier: MIT */
#include "guard.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* The handler's way back; the signal fences keep the compiler from moving
 * the guarded access outside the window where it is set. */
static __thread sigjmp_buf *guard_jmp;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (guard_jmp)
		siglongjmp(*guard_jmp, 1);
	/* Not ours: die as the default action would. */
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Back from the handler. SA_NODEFER keeps SIGBUS unblocked, but a runtime
 * that wraps handlers (ThreadSanitizer) may block it while its own handler
 * runs, and a SIGBUS that arrives blocked kills the process: unblock it
 * here, on the rare fault path, instead of saving the mask on every call. */
static int fault_return(void)
{
	sigset_t set;

	guard_jmp = NULL;
	sigemptyset(&set);
	sigaddset(&set, SIGBUS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return -EFAULT;
}

static int install_rc;

static void guard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	/* SA_NODEFER: we leave the handler by siglongjmp without restoring the
	 * mask (that would cost a syscall per guarded call), so SIGBUS must not
	 * stay blocked afterwards. */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	install_rc = sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

int sr_guard_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	(void)pthread_once(&once, guard_install);
	return install_rc;
}

int sr_guard_copy(void *dst, const void *src, size_t n)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return fault_return();
	guard_jmp = &jb;
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, src, n);
	atomic_signal_fence(memory_order_seq_cst);
	guard_jmp = NULL;
	return 0;
}

int sr_guard_load_acquire(const void *p, uint64_t *out)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return fault_return();
	guard_jmp = &jb;
	atomic_signal_fence(memory_order_seq_cst);
	*out = atomic_load_explicit((const _Atomic uint64_t *)p,
				    memory_order_acquire);
	atomic_signal_fence(memory_order_seq_cst);
	guard_jmp = NULL;
	return 0;
}

int sr_guard_store_release(void *p, uint64_t v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 0))
		return fault_return();
	guard_jmp = &jb;
	atomic_signal_fence(memory_order_seq_cst);
	atomic_store_explicit((_Atomic uint64_t *)p, v, memory_order_release);
	atomic_signal_fence(memory_order_seq_cst);
	guard_jmp = NULL;
	return 0;
}
