/* SPDX-License-Identifier: MIT */
/*
 * validate.h - checks of received payloads against WIRE.md §1 and the
 * raw splitting of a {"data":[...]} body into its items.
 */
#ifndef SR_RECV_VALIDATE_H
#define SR_RECV_VALIDATE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Up to this many errors are kept per request. */
#define SR_RECV_MAX_ERRORS 16

struct sr_recv_errors {
	char msg[SR_RECV_MAX_ERRORS][160];
	int n;     /* kept */
	int total; /* found */
};

/* Adds an error (printf-like). */
void sr_recv_error(struct sr_recv_errors *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Checks item `i` (a trace or span object) for the exact WIRE.md shape:
 * keys and their order, id formats, timestamps, span_data, error. */
void sr_recv_check_item(const cJSON *item, int i, struct sr_recv_errors *e);

/* The ingest limits of WIRE.md section 2 the real endpoint enforces with
 * a 400: span_data.input and .output of at most this many bytes (what the
 * SDKs send), usage with
 * input_tokens, output_tokens and a details object only. */
#define SR_RECV_FIELD_MAX 100000u

/* Checks item `it` (its raw text raw[0..n), or NULL) against those
 * limits: 0, or -1 with the offending member ("span_data.usage.x") in
 * param. */
int sr_recv_check_ingest(const cJSON *it, const char *raw, size_t n,
			 char *param, size_t plen);

/* Finds the raw bytes of each element of the top-level "data" array of
 * an object text: calls fn(ctx, index, start, len). Returns the count, or
 * -1 when the text is not of that shape. */
int sr_recv_split_data(const char *text, size_t len,
		       void (*fn)(void *ctx, int i, const char *p, size_t n),
		       void *ctx);

#endif /* SR_RECV_VALIDATE_H */
