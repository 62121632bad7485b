/* SPDX-License-Identifier: MIT */
/*
 * spanring-recv - a local HTTP/1.1 receiver for tests and for seeing what
 * would be sent (tools/recv/README.md). One process, poll-based,
 * keep-alive, Content-Length bodies; accepts OpenAI {"data":[...]} and
 * OTLP/JSON {"resourceSpans":[...]} payloads, lz4 or gzip encoded, on any
 * path; validates them; writes items as JSON lines; injects faults.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/codec.h"
#include "otlp.h"
#include "validate.h"

#define MAX_CONNS 64
#define MAX_HEADER 16384u
#define MAX_STATUS_SEQ 64

struct opts {
	int port;
	const char *output, *requests, *reject;
	long status_seq[MAX_STATUS_SEQ];
	int nstatus;
	bool cycle, blackhole;
	long delay_ms;
	const char *retry_after;
	const char *fault_hdr[4]; /* --fault-header: lines on non-2xx answers */
	int nfault_hdr;
	long drop_connections;
	size_t max_body;
};

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	bool dead; /* black-holed: read and ignored until closed */
};

static struct opts o = {.max_body = 64u << 20};
static int out_fd = -1, req_fd = -1;
static long nreq;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spanring-recv [options]\n"
		"  --port N                 listen on 127.0.0.1:N (0: any; "
		"printed as\n"
		"                           \"listening 127.0.0.1:PORT\" on "
		"stdout)\n"
		"  --output FILE            received items as JSON lines "
		"(default: none)\n"
		"  --requests FILE          one JSON line per request "
		"(default: none)\n"
		"  --status-seq S1,S2,...   statuses of the first requests, "
		"then 200\n"
		"  --cycle                  repeat --status-seq forever\n"
		"  --delay-ms N             wait before each answer\n"
		"  --retry-after V          Retry-After value sent with 429 "
		"and 503\n"
		"  --fault-header LINE      header line ('Name: value') sent "
		"with every\n"
		"                           answer that is not 2xx (up to 4)\n"
		"  --drop-connections N     close the first N requests' "
		"connections unanswered\n"
		"  --blackhole              accept requests and never answer\n"
		"  --reject-items-matching STR  answer 400 naming data[i] for "
		"the first\n"
		"                           item containing STR\n"
		"  --max-body BYTES         largest body accepted (default 64 "
		"MiB)\n"
		"  --otlp-reject-spans-matching STR  answer OTLP bodies with "
		"partialSuccess,\n"
		"                           rejecting spans containing STR\n"
		"  --otlp-parents FILE      spans whose parent was not "
		"received yet\n"
		"  --help\n");
}

static int parse_statuses(const char *v)
{
	char *end;

	for (o.nstatus = 0; *v && o.nstatus < MAX_STATUS_SEQ;) {
		long s = strtol(v, &end, 10);

		if (end == v || s < 100 || s > 599)
			return -1;
		o.status_seq[o.nstatus++] = s;
		v = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(a, "--blackhole")) {
			o.blackhole = true;
			continue;
		}
		if (!strcmp(a, "--cycle")) {
			o.cycle = true;
			continue;
		}
		switch (sr_recv_otlp_option(a, v)) {
		case -1:
			return -1;
		case 1:
			i++;
			continue;
		}
		if (!v) {
			fprintf(stderr,
				"spanring-recv: %s: missing value or unknown "
				"option\n",
				a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--port"))
			o.port = atoi(v);
		else if (!strcmp(a, "--output"))
			o.output = v;
		else if (!strcmp(a, "--requests"))
			o.requests = v;
		else if (!strcmp(a, "--delay-ms"))
			o.delay_ms = atol(v);
		else if (!strcmp(a, "--retry-after"))
			o.retry_after = v;
		else if (!strcmp(a, "--fault-header") && o.nfault_hdr < 4 &&
			 strlen(v) < 200 && !strpbrk(v, "\r\n"))
			o.fault_hdr[o.nfault_hdr++] = v;
		else if (!strcmp(a, "--drop-connections"))
			o.drop_connections = atol(v);
		else if (!strcmp(a, "--reject-items-matching"))
			o.reject = v;
		else if (!strcmp(a, "--max-body"))
			o.max_body = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--status-seq")) {
			if (parse_statuses(v)) {
				fprintf(
				    stderr,
				    "spanring-recv: bad --status-seq '%s'\n",
				    v);
				return -1;
			}
		} else {
			fprintf(stderr, "spanring-recv: unknown option %s\n",
				a);
			return -1;
		}
	}
	return 0;
}

static void write_line(int fd, const char *p, size_t n)
{
	if (fd < 0)
		return;
	/* one write per line: readers polling the file see whole lines */
	char *b = malloc(n + 1);

	if (!b)
		return;
	memcpy(b, p, n);
	b[n] = '\n';
	if (write(fd, b, n + 1) < 0) {
		/* tests notice missing lines */
	}
	free(b);
}

/* --- one request -------------------------------------------------------- */

struct req {
	char method[16], path[512];
	const char *headers; /* raw header block */
	size_t hlen;
	const char *body;
	size_t blen;
	char encoding[32];
};

struct result {
	int status;
	int items;
	char answer[1024];
	struct sr_recv_errors err;
	cJSON *hdrs;
};

static const char *header(const struct req *r, const char *name, char *v,
			  size_t vn)
{
	size_t nl = strlen(name);

	for (const char *p = r->headers, *end = r->headers + r->hlen;
	     p < end;) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);

		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl + 1 && !strncasecmp(p, name, nl) &&
		    p[nl] == ':') {
			const char *s = p + nl + 1;

			while (s < eol && (*s == ' ' || *s == '\t'))
				s++;
			snprintf(v, vn, "%.*s", (int)(eol - s), s);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

static cJSON *headers_json(const struct req *r)
{
	cJSON *h = cJSON_CreateObject();

	for (const char *p = r->headers, *end = r->headers + r->hlen;
	     p < end;) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2),
			   *colon;
		char name[128], val[1024];

		if (!eol)
			eol = end;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon && colon - p < (long)sizeof(name)) {
			size_t n = (size_t)(colon - p);
			const char *s = colon + 1;

			for (size_t i = 0; i < n; i++)
				name[i] = (char)tolower((unsigned char)p[i]);
			name[n] = 0;
			while (s < eol && *s == ' ')
				s++;
			snprintf(val, sizeof(val), "%.*s", (int)(eol - s), s);
			cJSON_AddStringToObject(h, name, val);
		}
		p = eol + 2;
	}
	return h;
}

struct split_ctx {
	struct result *res;
	const char **raw;
	size_t *rawn;
	int cap;
};

static void on_item(void *ctx, int i, const char *p, size_t n)
{
	struct split_ctx *s = ctx;

	if (i < s->cap) {
		s->raw[i] = p;
		s->rawn[i] = n;
	}
}

/* OpenAI payload: validates every item; writes them (raw bytes) when
 * the answer is 2xx. */
static void openai_items(const char *text, size_t len, cJSON *data,
			 struct result *res)
{
	int n = cJSON_GetArraySize(data), i = 0;
	struct split_ctx s = {res, calloc((size_t)n + 1, sizeof(char *)),
			      calloc((size_t)n + 1, sizeof(size_t)), n};
	const cJSON *it;
	bool raw =
	    s.raw && s.rawn && sr_recv_split_data(text, len, on_item, &s) == n;

	cJSON_ArrayForEach(it, data) sr_recv_check_item(it, i++, &res->err);
	i = 0;
	cJSON_ArrayForEach(it, data)
	{
		char param[96];

		if (res->status < 300 &&
		    sr_recv_check_ingest(it, raw ? s.raw[i] : NULL,
					 raw ? s.rawn[i] : 0, param,
					 sizeof(param))) {
			res->status = 400;
			snprintf(res->answer, sizeof(res->answer),
				 "{\"error\":{\"message\":\"Unknown or "
				 "oversized parameter: '%s'.\",\"type\":"
				 "\"invalid_request_error\",\"param\":"
				 "\"data[%d].%s\",\"code\":"
				 "\"unknown_parameter\"}}",
				 param, i, param);
			sr_recv_error(&res->err, "data[%d].%s: refused by the "
				      "ingest rules", i, param);
		}
		i++;
	}
	for (i = 0; o.reject && raw && i < n; i++) {
		if (memmem(s.raw[i], s.rawn[i], o.reject, strlen(o.reject))) {
			res->status = 400;
			snprintf(
			    res->answer, sizeof(res->answer),
			    "{\"error\":{\"message\":\"item "
			    "rejected\",\"type\":\"invalid_request_error\","
			    "\"param\":\"data[%d]\",\"code\":\"rejected\"}}",
			    i);
			break;
		}
	}
	res->items = n;
	if (res->status < 300) {
		i = 0;
		cJSON_ArrayForEach(it, data)
		{
			if (raw) {
				write_line(out_fd, s.raw[i], s.rawn[i]);
			} else {
				char *t = cJSON_PrintUnformatted(it);

				if (t)
					write_line(out_fd, t, strlen(t));
				free(t);
			}
			i++;
		}
	}
	free(s.raw);
	free(s.rawn);
}

static void otlp_line(const char *p, size_t n)
{
	write_line(out_fd, p, n);
}

static void handle_body(const struct req *r, struct result *res)
{
	enum sr_codec c = SR_CODEC_NONE;
	void *plain = NULL;
	size_t plen = r->blen;
	const char *text = r->body;
	cJSON *root;

	if (!strcasecmp(r->encoding, "lz4"))
		c = SR_CODEC_LZ4;
	else if (!strcasecmp(r->encoding, "gzip"))
		c = SR_CODEC_GZIP;
	else if (r->encoding[0] && strcasecmp(r->encoding, "identity")) {
		res->status = 415;
		sr_recv_error(&res->err, "unsupported Content-Encoding %s",
			      r->encoding);
		return;
	}
	if (c != SR_CODEC_NONE) {
		if (sr_codec_decompress(c, r->body, r->blen, &plain, &plen)) {
			res->status = 400;
			sr_recv_error(&res->err,
				      "body does not decompress as %s",
				      r->encoding);
			return;
		}
		text = plain;
	}
	root = cJSON_ParseWithLength(text, plen);
	if (!cJSON_IsObject(root)) {
		res->status = 400;
		sr_recv_error(&res->err, "body is not a JSON object");
	} else if (cJSON_IsArray(
		       cJSON_GetObjectItemCaseSensitive(root, "data"))) {
		openai_items(text, plen,
			     cJSON_GetObjectItemCaseSensitive(root, "data"),
			     res);
	} else if (cJSON_GetObjectItemCaseSensitive(root, "resourceSpans")) {
		char ct[128];

		res->items = sr_recv_otlp(
		    root, header(r, "Content-Type", ct, sizeof(ct)),
		    res->status < 300, &res->err, otlp_line, res->answer,
		    sizeof(res->answer));
	} else {
		res->status = 400;
		sr_recv_error(
		    &res->err,
		    "neither {\"data\":[...]} nor {\"resourceSpans\":...}");
	}
	cJSON_Delete(root);
	free(plain);
}

static void log_request(const struct req *r, const struct result *res)
{
	cJSON *j = cJSON_CreateObject(), *errs = cJSON_CreateArray();
	struct timespec ts;
	char *t;

	clock_gettime(CLOCK_REALTIME, &ts);
	cJSON_AddNumberToObject(j, "n", (double)nreq);
	cJSON_AddNumberToObject(j, "t", (double)ts.tv_sec + ts.tv_nsec / 1e9);
	cJSON_AddStringToObject(j, "method", r->method);
	cJSON_AddStringToObject(j, "path", r->path);
	cJSON_AddItemToObject(j, "headers", headers_json(r));
	cJSON_AddNumberToObject(j, "status", res->status);
	cJSON_AddNumberToObject(j, "items", res->items);
	cJSON_AddNumberToObject(j, "bytes", (double)r->blen);
	for (int i = 0; i < res->err.n; i++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(res->err.msg[i]));
	cJSON_AddItemToObject(j, "errors", errs);
	cJSON_AddNumberToObject(j, "error_count", res->err.total);
	t = cJSON_PrintUnformatted(j);
	if (t)
		write_line(req_fd, t, strlen(t));
	free(t);
	cJSON_Delete(j);
}

static const char *reason(int s)
{
	switch (s) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 408:
		return "Request Timeout";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

static void respond(int fd, const struct result *res)
{
	char buf[2048], extra[1024] = "";
	const char *body =
	    res->answer[0] ? res->answer
	    : res->status < 300
		? "{}"
		: "{\"error\":{\"message\":\"injected\",\"type\":\"server_"
		  "error\",\"param\":null,\"code\":null}}";
	int n;

	for (int i = 0; res->status >= 300 && i < o.nfault_hdr; i++) {
		strcat(extra, o.fault_hdr[i]);
		strcat(extra, "\r\n");
	}
	n = snprintf(
	    buf, sizeof(buf),
	    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n%s%s%s%s%s\r\n%s",
	    res->status, reason(res->status), strlen(body), extra,
	    o.retry_after && (res->status == 429 || res->status == 503)
		? "Retry-After: "
		: "",
	    o.retry_after && (res->status == 429 || res->status == 503)
		? o.retry_after
		: "",
	    o.retry_after && (res->status == 429 || res->status == 503) ? "\r\n"
									: "",
	    "Connection: keep-alive\r\n", body);

	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0) {
		/* the client went away */
	}
}

static int scheduled_status(void)
{
	long k = nreq - 1;

	if (!o.nstatus)
		return 200;
	if (o.cycle)
		return (int)o.status_seq[k % o.nstatus];
	return k < o.nstatus ? (int)o.status_seq[k] : 200;
}

/* Handles a complete request; returns false to close the connection. */
static bool handle(struct conn *c, struct req *r)
{
	struct result res = {.status = 0};
	char v[32];

	nreq++;
	if (o.drop_connections > 0) {
		o.drop_connections--;
		log_request(r, &res);
		return false;
	}
	if (o.blackhole) {
		log_request(r, &res);
		c->dead = true;
		return true;
	}
	if (o.delay_ms > 0) {
		struct timespec ts = {o.delay_ms / 1000,
				      (o.delay_ms % 1000) * 1000000};

		nanosleep(&ts, NULL);
	}
	res.status = scheduled_status();
	if (header(r, "Content-Encoding", v, sizeof(v)))
		memcpy(r->encoding, v, sizeof(r->encoding));
	if (res.status < 300 || !strcmp(r->method, "POST"))
		handle_body(r, &res);
	log_request(r, &res);
	respond(c->fd, &res);
	return true;
}

/* --- connections -------------------------------------------------------- */

static void bad_request(struct conn *c, const char *why)
{
	struct result res = {.status = 400};
	struct req r = {.method = "?", .path = "?"};

	nreq++;
	sr_recv_error(&res.err, "%s", why);
	snprintf(res.answer, sizeof(res.answer),
		 "{\"error\":{\"message\":\"%s\",\"type\":\"invalid_request_"
		 "error\",\"param\":null,\"code\":null}}",
		 why);
	log_request(&r, &res);
	respond(c->fd, &res);
}

/* Parses as many complete requests as the buffer holds. Returns false
 * when the connection must be closed. */
static bool process(struct conn *c)
{
	for (;;) {
		char *hend =
		    c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
		struct req r = {0};
		char v[64], *line_end, *sp1, *sp2;
		size_t hsize, clen = 0;

		if (!hend) {
			if (c->len > MAX_HEADER) {
				bad_request(c, "header too large");
				return false;
			}
			return true;
		}
		hsize = (size_t)(hend - c->buf) + 4;
		line_end = memmem(c->buf, hsize, "\r\n", 2);
		sp1 = memchr(c->buf, ' ', (size_t)(line_end - c->buf));
		sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1))
			  : NULL;
		if (!sp2 || sp1 - c->buf >= (long)sizeof(r.method)) {
			bad_request(c, "malformed request line");
			return false;
		}
		snprintf(r.method, sizeof(r.method), "%.*s",
			 (int)(sp1 - c->buf), c->buf);
		snprintf(r.path, sizeof(r.path), "%.*s", (int)(sp2 - sp1 - 1),
			 sp1 + 1);
		r.headers = line_end + 2;
		r.hlen = (size_t)(hend + 2 - r.headers);
		if (header(&r, "Transfer-Encoding", v, sizeof(v))) {
			bad_request(c, "chunked bodies are not supported");
			return false;
		}
		if (header(&r, "Content-Length", v, sizeof(v))) {
			char *end;

			clen = strtoull(v, &end, 10);
			if (*end || end == v) {
				bad_request(c, "bad Content-Length");
				return false;
			}
		}
		if (clen > o.max_body) {
			bad_request(c, "body too large");
			return false;
		}
		if (c->len < hsize + clen) {
			if (c->cap < hsize + clen) {
				char *b = realloc(c->buf, hsize + clen);

				if (!b)
					return false;
				c->buf = b;
				c->cap = hsize + clen;
			}
			return true;
		}
		r.body = c->buf + hsize;
		r.blen = clen;
		if (!handle(c, &r))
			return false;
		memmove(c->buf, c->buf + hsize + clen, c->len - hsize - clen);
		c->len -= hsize + clen;
	}
}

static bool on_readable(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 4096) {
			char *b = realloc(c->buf, c->cap ? c->cap * 2 : 65536);

			if (!b)
				return false;
			c->buf = b;
			c->cap = c->cap ? c->cap * 2 : 65536;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0)
			return false;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (c->dead)
			continue;
		c->len += (size_t)n;
		if (!process(c))
			return false;
		if (c->dead)
			c->len = 0;
	}
}

static int listen_on(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	socklen_t al = sizeof(a);
	int one = 1,
	    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		perror("spanring-recv: listen");
		close(fd);
		return -1;
	}
	printf("listening 127.0.0.1:%u\n", ntohs(a.sin_port));
	fflush(stdout);
	return fd;
}

static void accept_all(int lfd, struct conn *cs, int *n)
{
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
	       0) {
		if (*n == MAX_CONNS) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		cs[(*n)++] = (struct conn){.fd = fd};
	}
}

static int open_out(const char *path)
{
	return path
		   ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)
		   : -1;
}

int main(int argc, char **argv)
{
	static struct conn cs[MAX_CONNS];
	struct pollfd p[MAX_CONNS + 1];
	struct sigaction sa = {.sa_handler = on_term};
	int lfd, n = 0;

	if (parse_args(argc, argv)) {
		usage(stderr);
		return 64;
	}
	out_fd = open_out(o.output);
	req_fd = open_out(o.requests);
	if ((o.output && out_fd < 0) || (o.requests && req_fd < 0)) {
		perror("spanring-recv: output");
		return 73;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(o.port);
	if (lfd < 0)
		return 71;
	while (!stop) {
		p[0] = (struct pollfd){lfd, POLLIN, 0};
		for (int i = 0; i < n; i++)
			p[i + 1] = (struct pollfd){cs[i].fd, POLLIN, 0};
		if (poll(p, (nfds_t)n + 1, 1000) <= 0)
			continue;
		for (int i = n - 1; i >= 0; i--) {
			if (!p[i + 1].revents || on_readable(&cs[i]))
				continue;
			close(cs[i].fd);
			free(cs[i].buf);
			cs[i] = cs[--n];
		}
		if (p[0].revents)
			accept_all(lfd, cs, &n);
	}
	for (int i = 0; i < n; i++) {
		close(cs[i].fd);
		free(cs[i].buf);
	}
	close(lfd);
	return 0;
}
