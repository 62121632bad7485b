/* SPDX-License-Identifier: MIT */
/*
 * endpoint.h - what the receiver's endpoints share: the request as a
 * handler sees it, the answer it fills in, decoding a body and writing
 * accepted items. No HTTP here: server.c does the protocol, each endpoint
 * (openai.c, ...) one path's payload.
 */
#ifndef SR_RECV_ENDPOINT_H
#define SR_RECV_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "validate.h"

/* What endpoints are told about the run (set from the options). */
struct sr_recv_env {
	int items_fd;             /* accepted items, one line each; -1: none */
	const char *reject;       /* --reject-items-matching, or NULL */
	const char *otlp_reject;  /* --otlp-reject-spans-matching, or NULL */
	const char *otlp_parents; /* --otlp-parents file, or NULL */
};

/* One complete request. */
struct sr_recv_request {
	const char *method;
	const char *path;
	const char *encoding;     /* Content-Encoding, or NULL */
	const char *content_type; /* Content-Type, or NULL */
	const char *body;         /* blen bytes, not NUL-terminated */
	size_t blen;
	const struct sr_recv_env *env;
};

/* The answer a handler fills in. status arrives as scheduled by the
 * fault options (200 unless --status-seq says otherwise); a handler
 * lowers it to a 4xx for a request it refuses. Items are written only
 * when the final status is 2xx. */
struct sr_recv_answer {
	int status;
	int items;                 /* items in the request */
	char body[4096];           /* answer body; "" for the status' default */
	struct sr_recv_errors err; /* shape errors, logged with the request */
};

/* Handles one request to the endpoint's path. */
typedef void sr_recv_handler(const struct sr_recv_request *req,
			     struct sr_recv_answer *ans);

/* The body as text: decompressed per Content-Encoding (lz4, gzip,
 * identity or none). On success returns 0, *text and *len the plain
 * text and *plain what to free() (NULL when the body was not encoded).
 * On failure sets the answer (415 unknown encoding, 400 a body that does
 * not decompress), records why and returns -1. */
int sr_recv_decode(const struct sr_recv_request *req,
		   struct sr_recv_answer *ans, const char **text, size_t *len,
		   void **plain);

/* Sets a WIRE-style error answer: status and
 * {"error":{"message":msg,"type":type,"param":param|null,"code":code|null}},
 * each string JSON-escaped (param and msg may quote a member name of the
 * request) and cut at 120 bytes. */
void sr_recv_refuse(struct sr_recv_answer *ans, int status, const char *msg,
		    const char *type, const char *param, const char *code);

/* Writes n bytes and a newline to fd in one write(2) (readers polling the
 * file see whole lines); nothing when fd is -1. */
void sr_recv_write_line(int fd, const char *p, size_t n);

#endif /* SR_RECV_ENDPOINT_H */
