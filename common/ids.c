/* SPDX-License-Identifier: MIT */
#include "ids.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "siphash.h"

#define TLS __thread __attribute__((tls_model("initial-exec")))

static _Atomic uint64_t seed_epoch = 1; /* bumped by every reseed */
/* Written at every start of a traced image: in .data beside the rest of
 * its start state (see SHIM_START_DATA in shim/shim.h), not a page of
 * .bss of their own. */
#define START_DATA __attribute__((section(".data")))
static _Atomic uint64_t seed_base[2] START_DATA; /* from the kernel */
static _Atomic uint64_t thread_counter START_DATA;
static _Atomic uint64_t reseeds START_DATA; /* makes every seed's input
					       unique */

static TLS uint64_t rng[4];
static TLS uint64_t rng_epoch;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The seed without a system call: SipHash-2-4 keyed with the 16 random
 * bytes the kernel gave this image at exec (AT_RANDOM) over (pid, wall and
 * monotonic time, a per-process count, which half). Those bytes are also
 * glibc's stack protector and pointer guard: only PRF outputs derived
 * from them are ever used, and they reveal nothing about the key. A fork
 * child shares the key but not the pid; two seeds of one process differ
 * by the count. false when the kernel gave no AT_RANDOM. */
static bool seed_from_auxv(uint32_t pid, uint64_t b[2])
{
	const uint8_t *key = (const uint8_t *)getauxval(AT_RANDOM);
	struct timespec rt, mono;
	uint64_t m[5];

	if (!key)
		return false;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	m[0] = pid;
	m[1] = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	m[2] = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
	m[3] = atomic_fetch_add_explicit(&reseeds, 1, memory_order_relaxed);
	for (int i = 0; i < 2; i++) {
		m[4] = (uint64_t)i;
		b[i] = sr_siphash24(key, m, sizeof(m));
	}
	return true;
}

void sr_ids_reseed(void)
{
	sr_ids_reseed_pid((uint32_t)getpid());
}

void sr_ids_reseed_pid(uint32_t pid)
{
	int saved = errno;
	uint64_t b[2];
	struct timespec ts;

	if (!seed_from_auxv(pid, b) &&
	    getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		b[0] = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32;
		b[1] = (uint64_t)pid * 0x9e3779b97f4a7c15ull ^
		       (uint64_t)(uintptr_t)&ts;
	}
	atomic_store_explicit(&seed_base[0], b[0], memory_order_relaxed);
	atomic_store_explicit(&seed_base[1], b[1], memory_order_relaxed);
	/* Pairs with the load-acquire of seed_epoch in ids.c:next and
	 * ids.c:thread_seed: a thread that sees the new epoch sees the new
	 * seed. */
	atomic_fetch_add_explicit(&seed_epoch, 1, memory_order_release);
	errno = saved;
}

static __attribute__((noinline)) void thread_seed(uint64_t epoch)
{
	uint64_t x, y;

	if (epoch == 1) { /* never seeded in this process */
		sr_ids_reseed();
		/* Pairs with the release increment of seed_epoch in
		 * ids.c:sr_ids_reseed. */
		epoch = atomic_load_explicit(&seed_epoch, memory_order_acquire);
	}
	y = atomic_load_explicit(&seed_base[1], memory_order_relaxed);
	x = atomic_load_explicit(&seed_base[0], memory_order_relaxed) ^
	    splitmix(&y) ^
	    atomic_fetch_add_explicit(&thread_counter, 1,
				      memory_order_relaxed) *
		    0xd1b54a32d192ed03ull;
	for (int i = 0; i < 4; i++)
		rng[i] = splitmix(&x);
	rng_epoch = epoch;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static inline __attribute__((always_inline)) uint64_t next(void)
{
	/* Pairs with the release increment of seed_epoch in
	 * ids.c:sr_ids_reseed (a fork child's reseed, or the first). */
	uint64_t epoch = atomic_load_explicit(&seed_epoch,
					      memory_order_acquire);
	uint64_t r, t;

	if (rng_epoch != epoch)
		thread_seed(epoch);
	r = rotl(rng[1] * 5, 7) * 9;
	t = rng[1] << 17;
	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return r;
}

/* Writes the first n (< 8) bytes of v with fixed-size stores (no library
 * call); returns what was written, for the zero test. */
static uint64_t put_tail(uint8_t *out, size_t n, uint64_t v)
{
	uint64_t acc = 0;
	size_t i = 0;

	if (n >= 4) {
		uint32_t w = (uint32_t)v;

		memcpy(out, &w, 4);
		acc = w;
		v >>= 32;
		i = 4;
	}
	for (; i < n; i++, v >>= 8) {
		out[i] = (uint8_t)v;
		acc |= (uint8_t)v;
	}
	return acc;
}

void sr_id_random(uint8_t *out, size_t n)
{
	uint64_t acc;

	/* on the span path: word copies, zero tested on the values written */
	do {
		size_t i = 0;

		for (acc = 0; i + 8 <= n; i += 8) {
			uint64_t v = next();

			memcpy(out + i, &v, 8);
			acc |= v;
		}
		if (i < n)
			acc |= put_tail(out + i, n - i, next());
	} while (acc == 0 && n);
}

bool sr_id_is_zero(const uint8_t *id, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, id + i, 8);
		acc |= w;
	}
	if (i + 4 <= n) {
		uint32_t w;

		memcpy(&w, id + i, 4);
		acc |= w;
		i += 4;
	}
	for (; i < n; i++)
		acc |= id[i];
	return acc == 0;
}

void sr_hex(char *dst, const uint8_t *src, size_t n)
{
	/* two digits per byte from one lookup: the sidecar formats three
	 * ids per exported span */
	static const char pairs[513] = "000102030405060708090a0b0c0d0e0f"
				       "101112131415161718191a1b1c1d1e1f"
				       "202122232425262728292a2b2c2d2e2f"
				       "303132333435363738393a3b3c3d3e3f"
				       "404142434445464748494a4b4c4d4e4f"
				       "505152535455565758595a5b5c5d5e5f"
				       "606162636465666768696a6b6c6d6e6f"
				       "707172737475767778797a7b7c7d7e7f"
				       "808182838485868788898a8b8c8d8e8f"
				       "909192939495969798999a9b9c9d9e9f"
				       "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
				       "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
				       "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
				       "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
				       "e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
				       "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

	for (size_t i = 0; i < n; i++)
		memcpy(dst + 2 * i, pairs + 2 * src[i], 2);
	dst[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool sr_unhex(uint8_t *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(src[2 * i]), lo;

		if (hi < 0)
			return false;
		lo = hexval(src[2 * i + 1]);
		if (lo < 0)
			return false;
		dst[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static void fmt_prefixed(char *out, const char *prefix, const uint8_t *id,
			 size_t n)
{
	size_t p = strlen(prefix);

	memcpy(out, prefix, p);
	sr_hex(out + p, id, n);
}

void sr_fmt_trace_id(char out[SR_TRACE_ID_STR], const uint8_t id[16])
{
	fmt_prefixed(out, "trace_", id, 16);
}

void sr_fmt_span_id(char out[SR_SPAN_ID_STR], const uint8_t id[12])
{
	fmt_prefixed(out, "span_", id, 12);
}
