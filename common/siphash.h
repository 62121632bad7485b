/* SPDX-License-Identifier: MIT */
/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein, 2012), the keyed
 * pseudo-random function the id generator is seeded with (ids.c).
 */
#ifndef SR_SIPHASH_H
#define SR_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of `len` bytes at `msg` under the 16-byte `key`: the 64-bit
 * result, whose little-endian bytes are the reference implementation's
 * output. Outputs reveal nothing usable about the key (PRF security). */
uint64_t sr_siphash24(const uint8_t key[16], const void *msg, size_t len);

#endif /* SR_SIPHASH_H */
