/* SPDX-License-Identifier: MIT */
/*
 * server.h - the receiver's HTTP side, on libmicrohttpd: one thread
 * answers requests one at a time, routes them by path to an endpoint's
 * handler, injects the faults the options ask for and logs every request.
 */
#ifndef SR_RECV_SERVER_H
#define SR_RECV_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

/* An endpoint: requests with this exact path and method go to handle. */
struct sr_recv_route {
	const char *path;
	const char *method;
	sr_recv_handler *handle;
};

/* Longest --status-seq. */
#define SR_RECV_MAX_STATUS_SEQ 64
/* Connections served at once; more wait in the listen backlog. */
#define SR_RECV_MAX_CONNS 64
/* --fault-header lines, and the longest header name. */
#define SR_RECV_MAX_FAULT_HEADERS 4
#define SR_RECV_HEADER_NAME_MAX 64

/* A header line of the answer: "Name: value". */
struct sr_recv_header {
	char name[SR_RECV_HEADER_NAME_MAX];
	const char *value;
};

/* How the server behaves (from the options). */
struct sr_recv_opts {
	uint16_t port;   /* on 127.0.0.1; 0 picks one */
	int requests_fd; /* request log; -1: none */
	int status_seq[SR_RECV_MAX_STATUS_SEQ];
	int nstatus;             /* entries of status_seq */
	bool cycle;              /* repeat status_seq forever */
	unsigned long delay_ms;  /* before each answer */
	const char *retry_after; /* with 429 and 503 answers, or NULL */
	struct sr_recv_header fault_hdr[SR_RECV_MAX_FAULT_HEADERS];
	int nfault_hdr;         /* with every answer that is not 2xx */
	unsigned long drop;     /* requests closed unanswered */
	bool blackhole;         /* never answer */
	size_t max_body;        /* larger bodies: 400, connection closed */
	struct sr_recv_env env; /* what endpoints are told */
};

struct sr_recv_server;

/*
 * Listens on 127.0.0.1:opts->port and serves the n routes from a thread
 * of its own; opts and routes must outlive the server. Returns NULL with
 * errno set when it cannot listen.
 */
struct sr_recv_server *sr_recv_server_new(const struct sr_recv_opts *opts,
					  const struct sr_recv_route *routes,
					  size_t n);

/* The port it listens on. */
uint16_t sr_recv_server_port(const struct sr_recv_server *s);

/* Stops serving, closes every connection (black-holed ones too) and
 * frees s. NULL is a no-op. */
void sr_recv_server_free(struct sr_recv_server *s);

#endif /* SR_RECV_SERVER_H */
