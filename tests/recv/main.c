/* SPDX-License-Identifier: MIT */
/*
 * spanring-recv - the test receiver: a local HTTP server on 127.0.0.1 that
 * stands in for the traces backend (tests/recv/README.md). It accepts
 * what spanringd sends, checks it against WIRE.md, writes the items as
 * JSON lines, logs every request and injects the faults it is asked for.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "openai.h"
#include "otlp.h"
#include "server.h"

/* The endpoints, one handler each, in a file of its own. --otlp-path
 * moves the OTLP one (ROUTE_OTLP). */
enum { ROUTE_OPENAI, ROUTE_OTLP };
static struct sr_recv_route routes[] = {
	[ROUTE_OPENAI] = { "/v1/traces/ingest", "POST", sr_recv_openai_ingest },
	[ROUTE_OTLP] = { "/v1/traces", "POST", sr_recv_otlp_traces },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spanring-recv [options]\n"
		"Serves POST /v1/traces/ingest (OpenAI) and POST /v1/traces "
		"(OTLP/JSON)\n"
		"on 127.0.0.1; prints \"listening 127.0.0.1:PORT\".\n"
		"  --port N                 port, 0..65535 (default 0: any free "
		"one)\n"
		"  --output FILE            accepted items as JSON lines\n"
		"  --requests FILE          one JSON line per request\n"
		"  --status-seq S1,S2,...   statuses (100..599) of the first "
		"requests, then 200\n"
		"  --cycle                  repeat --status-seq forever\n"
		"  --delay-ms N             wait N ms before each answer\n"
		"  --retry-after V          Retry-After: V on 429 and 503 "
		"answers\n"
		"  --fault-header LINE      'Name: value' added to every "
		"answer that is not\n"
		"                           2xx (up to 4)\n"
		"  --drop-connections N     close the first N requests' "
		"connections unanswered\n"
		"  --blackhole              read requests, never answer\n"
		"  --reject-items-matching STR\n"
		"                           answer 400 naming data[i], the "
		"first item\n"
		"                           containing STR\n"
		"  --max-body BYTES         larger bodies: 400, connection "
		"closed (default 64 MiB)\n"
		"  --otlp-path PATH         the OTLP endpoint's path (default "
		"/v1/traces)\n"
		"  --otlp-reject-spans-matching STR\n"
		"                           answer OTLP bodies with "
		"partialSuccess, rejecting\n"
		"                           (not writing) the spans containing "
		"STR\n"
		"  --otlp-parents FILE      rewritten after each OTLP request: "
		"the spans\n"
		"                           whose parent was not received "
		"yet\n"
		"  --help                   this text\n"
		"Exit codes: 0 stopped by SIGTERM/SIGINT, 64 bad option, 71 "
		"cannot listen,\n"
		"73 cannot open an output file.\n");
}

/* A whole decimal number in [min, max]; -EINVAL otherwise. */
static int parse_num(const char *opt, const char *v, unsigned long long min,
		     unsigned long long max, unsigned long long *out)
{
	unsigned long long x;
	char *end;

	errno = 0;
	x = strtoull(v, &end, 10);
	/* strtoull alone takes " 5", "+5" and "-1" (as a huge number) */
	if (!isdigit((unsigned char)*v) || *end || errno || x < min ||
	    x > max) {
		fprintf(stderr,
			"spanring-recv: --%s '%s': not a number in %llu..%llu\n",
			opt, v, min, max);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

/* S1,S2,...: each a status in 100..599. */
static int parse_statuses(struct sr_recv_opts *o, const char *v)
{
	const char *p = v;

	for (o->nstatus = 0;; p++) {
		size_t n = strcspn(p, ",");
		unsigned long long st;
		char buf[16] = "";

		if (o->nstatus == SR_RECV_MAX_STATUS_SEQ) {
			fprintf(stderr,
				"spanring-recv: --status-seq: more than %d "
				"statuses\n",
				SR_RECV_MAX_STATUS_SEQ);
			return -EINVAL;
		}
		if (n < sizeof(buf))
			memcpy(buf, p, n);
		if (parse_num("status-seq", buf, 100, 599, &st))
			return -EINVAL;
		o->status_seq[o->nstatus++] = (int)st;
		p += n;
		if (!*p)
			return 0;
	}
}

/* "Name: value": the name an HTTP token, the value without CR or LF (it
 * must not end the header line); blanks after the colon are dropped. */
static int parse_header(struct sr_recv_opts *o, const char *v)
{
	const char *colon = strchr(v, ':');
	struct sr_recv_header *h;
	size_t n = colon ? (size_t)(colon - v) : 0;

	if (o->nfault_hdr == SR_RECV_MAX_FAULT_HEADERS) {
		fprintf(stderr,
			"spanring-recv: --fault-header: more than %d lines\n",
			SR_RECV_MAX_FAULT_HEADERS);
		return -EINVAL;
	}
	if (!n || n >= SR_RECV_HEADER_NAME_MAX ||
	    strspn(v, "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n ||
	    strpbrk(colon, "\r\n")) {
		fprintf(stderr,
			"spanring-recv: --fault-header '%s': not a header "
			"line 'Name: value'\n",
			v);
		return -EINVAL;
	}
	h = &o->fault_hdr[o->nfault_hdr++];
	memcpy(h->name, v, n);
	h->name[n] = 0;
	for (h->value = colon + 1; *h->value == ' ' || *h->value == '\t';
	     h->value++)
		;
	return 0;
}

/* A value that must not be empty (an empty pattern would match all). */
static int nonempty(const char *opt, const char *v)
{
	if (*v)
		return 0;
	fprintf(stderr, "spanring-recv: --%s: empty value\n", opt);
	return -EINVAL;
}

struct paths {
	const char *output, *requests;
};

enum {
	OPT_PORT = 256,
	OPT_OUTPUT,
	OPT_REQUESTS,
	OPT_STATUS_SEQ,
	OPT_CYCLE,
	OPT_DELAY,
	OPT_RETRY_AFTER,
	OPT_FAULT_HEADER,
	OPT_DROP,
	OPT_BLACKHOLE,
	OPT_REJECT,
	OPT_MAX_BODY,
	OPT_OTLP_PATH,
	OPT_OTLP_REJECT,
	OPT_OTLP_PARENTS,
	OPT_HELP
};

static const struct option long_opts[] = {
	{ "port", required_argument, NULL, OPT_PORT },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "requests", required_argument, NULL, OPT_REQUESTS },
	{ "status-seq", required_argument, NULL, OPT_STATUS_SEQ },
	{ "cycle", no_argument, NULL, OPT_CYCLE },
	{ "delay-ms", required_argument, NULL, OPT_DELAY },
	{ "retry-after", required_argument, NULL, OPT_RETRY_AFTER },
	{ "fault-header", required_argument, NULL, OPT_FAULT_HEADER },
	{ "drop-connections", required_argument, NULL, OPT_DROP },
	{ "blackhole", no_argument, NULL, OPT_BLACKHOLE },
	{ "reject-items-matching", required_argument, NULL, OPT_REJECT },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "otlp-path", required_argument, NULL, OPT_OTLP_PATH },
	{ "otlp-reject-spans-matching", required_argument, NULL,
	  OPT_OTLP_REJECT },
	{ "otlp-parents", required_argument, NULL, OPT_OTLP_PARENTS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* One option. 0, 1 for --help, or -EINVAL. */
static int apply(struct sr_recv_opts *o, struct paths *p, int c, const char *v)
{
	unsigned long long x;
	int rc = 0;

	switch (c) {
	case OPT_PORT:
		rc = parse_num("port", v, 0, 65535, &x);
		o->port = (uint16_t)x;
		break;
	case OPT_OUTPUT:
		p->output = v;
		break;
	case OPT_REQUESTS:
		p->requests = v;
		break;
	case OPT_STATUS_SEQ:
		rc = parse_statuses(o, v);
		break;
	case OPT_CYCLE:
		o->cycle = true;
		break;
	case OPT_DELAY:
		rc = parse_num("delay-ms", v, 0, 3600000, &x);
		o->delay_ms = (unsigned long)x;
		break;
	case OPT_RETRY_AFTER:
		o->retry_after = v;
		break;
	case OPT_FAULT_HEADER:
		rc = parse_header(o, v);
		break;
	case OPT_DROP:
		rc = parse_num("drop-connections", v, 0, LONG_MAX, &x);
		o->drop = (unsigned long)x;
		break;
	case OPT_BLACKHOLE:
		o->blackhole = true;
		break;
	case OPT_REJECT:
		o->env.reject = v;
		break;
	case OPT_MAX_BODY:
		rc = parse_num("max-body", v, 1, SIZE_MAX, &x);
		o->max_body = (size_t)x;
		break;
	case OPT_OTLP_PATH:
		if (v[0] != '/' || !strcmp(v, routes[ROUTE_OPENAI].path)) {
			fprintf(stderr,
				"spanring-recv: --otlp-path '%s': not a path "
				"of its own starting with '/'\n",
				v);
			return -EINVAL;
		}
		routes[ROUTE_OTLP].path = v;
		break;
	case OPT_OTLP_REJECT:
		rc = nonempty("otlp-reject-spans-matching", v);
		o->env.otlp_reject = v;
		break;
	case OPT_OTLP_PARENTS:
		rc = nonempty("otlp-parents", v);
		o->env.otlp_parents = v;
		break;
	case OPT_HELP:
		return 1;
	default:
		return -EINVAL; /* getopt_long said why */
	}
	return rc;
}

static int parse_args(int argc, char **argv, struct sr_recv_opts *o,
		      struct paths *p)
{
	int c, rc;

	opterr = 1;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		rc = apply(o, p, c, optarg);
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "spanring-recv: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int open_out(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

int main(int argc, char **argv)
{
	struct sr_recv_opts o = { .requests_fd = -1,
				  .max_body = 64u << 20,
				  .env = { .items_fd = -1 } };
	struct paths p = { NULL, NULL };
	struct sr_recv_server *s;
	sigset_t stop;
	int rc, sig;

	rc = parse_args(argc, argv, &o, &p);
	if (rc) {
		if (rc > 0) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "spanring-recv: see spanring-recv --help\n");
		return EX_USAGE;
	}
	if (p.output && (o.env.items_fd = open_out(p.output)) < 0) {
		fprintf(stderr, "spanring-recv: --output %s: %s\n", p.output,
			strerror(errno));
		return EX_CANTCREAT;
	}
	if (p.requests && (o.requests_fd = open_out(p.requests)) < 0) {
		fprintf(stderr, "spanring-recv: --requests %s: %s\n",
			p.requests, strerror(errno));
		return EX_CANTCREAT;
	}
	/* blocked before the server's thread starts, so it inherits the
	 * mask and only sigwait() below sees them */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	s = sr_recv_server_new(&o, routes, sizeof(routes) / sizeof(routes[0]));
	if (!s) {
		fprintf(stderr, "spanring-recv: listen on 127.0.0.1:%u: %s\n",
			o.port, strerror(errno));
		return EX_OSERR;
	}
	printf("listening 127.0.0.1:%u\n", sr_recv_server_port(s));
	fflush(stdout);
	sigwait(&stop, &sig);
	sr_recv_server_free(s);
	return 0;
}
