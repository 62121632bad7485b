/* SPDX-License-Identifier: MIT */
#include "server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_ERROR                                                     \
	"{\"error\":{\"message\":\"injected\",\"type\":\"server_error\"," \
	"\"param\":null,\"code\":null}}"

struct sr_recv_server {
	struct MHD_Daemon *d;
	const struct sr_recv_opts *o;
	const struct sr_recv_route *routes;
	size_t nroutes;
	long nreq;             /* requests seen (server thread only) */
	unsigned long dropped; /* of o->drop so far (server thread only) */
	pthread_mutex_t lock;  /* guards held, nheld */
	struct MHD_Connection *held[SR_RECV_MAX_CONNS]; /* black-holed */
	size_t nheld;
};

/* One request in progress: its body as it arrives. */
struct req {
	char *body;
	size_t len, cap;
	bool held;      /* black-holed: suspended, closed when resumed */
	bool too_large; /* over --max-body: the rest is read and dropped */
};

static int append(struct req *r, const char *p, size_t n)
{
	if (r->cap - r->len < n) {
		size_t cap = r->cap ? r->cap : 65536;
		char *b;

		while (cap - r->len < n)
			cap *= 2;
		b = realloc(r->body, cap);
		if (!b)
			return -ENOMEM;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	return 0;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	char name[128];
	size_t i;

	(void)kind;
	for (i = 0; key[i] && i < sizeof(name) - 1; i++)
		name[i] = (char)tolower((unsigned char)key[i]);
	name[i] = 0;
	cJSON_AddStringToObject(cls, name, value ? value : "");
	return MHD_YES;
}

/* One line of the request log: n, t, method, path, headers, status,
 * items, bytes, errors, error_count. */
static void log_request(struct sr_recv_server *s, struct MHD_Connection *c,
			const struct sr_recv_request *req,
			const struct sr_recv_answer *ans)
{
	cJSON *j, *h, *errs;
	struct timespec ts;
	char *t;

	if (s->o->requests_fd < 0)
		return;
	j = cJSON_CreateObject();
	h = cJSON_CreateObject();
	errs = cJSON_CreateArray();
	clock_gettime(CLOCK_REALTIME, &ts);
	cJSON_AddNumberToObject(j, "n", (double)s->nreq);
	cJSON_AddNumberToObject(j, "t", (double)ts.tv_sec + ts.tv_nsec / 1e9);
	cJSON_AddStringToObject(j, "method", req->method);
	cJSON_AddStringToObject(j, "path", req->path);
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header, h);
	cJSON_AddItemToObject(j, "headers", h);
	cJSON_AddNumberToObject(j, "status", ans->status);
	cJSON_AddNumberToObject(j, "items", ans->items);
	cJSON_AddNumberToObject(j, "bytes", (double)req->blen);
	for (int i = 0; i < ans->err.n; i++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(ans->err.msg[i]));
	cJSON_AddItemToObject(j, "errors", errs);
	cJSON_AddNumberToObject(j, "error_count", ans->err.total);
	t = cJSON_PrintUnformatted(j);
	if (t)
		sr_recv_write_line(s->o->requests_fd, t, strlen(t));
	free(t);
	cJSON_Delete(j);
}

static enum MHD_Result respond(struct sr_recv_server *s,
			       struct MHD_Connection *c,
			       const struct sr_recv_answer *ans, bool close)
{
	const char *body = ans->body[0]        ? ans->body
			   : ans->status < 300 ? "{}"
					       : DEFAULT_ERROR;
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	if (s->o->retry_after && (ans->status == 429 || ans->status == 503))
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER,
					s->o->retry_after);
	for (int i = 0; ans->status >= 300 && i < s->o->nfault_hdr; i++)
		MHD_add_response_header(r, s->o->fault_hdr[i].name,
					s->o->fault_hdr[i].value);
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(c, (unsigned int)ans->status, r);
	MHD_destroy_response(r);
	return ok;
}

/* The status --status-seq / --cycle give the current request. */
static int scheduled_status(const struct sr_recv_server *s)
{
	long k = s->nreq - 1;

	if (!s->o->nstatus)
		return 200;
	if (s->o->cycle)
		return s->o->status_seq[k % s->o->nstatus];
	return k < s->o->nstatus ? s->o->status_seq[k] : 200;
}

static void dispatch(struct sr_recv_server *s,
		     const struct sr_recv_request *req,
		     struct sr_recv_answer *ans)
{
	for (size_t i = 0; i < s->nroutes; i++) {
		if (strcmp(s->routes[i].path, req->path))
			continue;
		if (strcmp(s->routes[i].method, req->method)) {
			sr_recv_refuse(ans, 405, "method not allowed",
				       "invalid_request_error", NULL, NULL);
			sr_recv_error(&ans->err, "%.16s: %s only", req->method,
				      s->routes[i].method);
			return;
		}
		s->routes[i].handle(req, ans);
		return;
	}
	sr_recv_refuse(ans, 404, "no endpoint at this path",
		       "invalid_request_error", NULL, NULL);
	sr_recv_error(&ans->err, "no endpoint at %.100s", req->path);
}

/* Black-holes the connection: it is suspended (never answered, nothing
 * more read) until the server stops. */
static enum MHD_Result hold(struct sr_recv_server *s, struct MHD_Connection *c,
			    struct req *r)
{
	bool room;

	pthread_mutex_lock(&s->lock);
	room = s->nheld < SR_RECV_MAX_CONNS;
	if (room)
		s->held[s->nheld++] = c;
	pthread_mutex_unlock(&s->lock);
	if (!room)
		return MHD_NO;
	r->held = true;
	MHD_suspend_connection(c);
	return MHD_YES;
}

/* A complete request: faults first, then its endpoint. */
static enum MHD_Result complete(struct sr_recv_server *s,
				struct MHD_Connection *c,
				struct sr_recv_request *req, struct req *r)
{
	struct sr_recv_answer ans = { .status = 0 };

	s->nreq++;
	req->body = r->body ? r->body : "";
	req->blen = r->len;
	if (s->dropped < s->o->drop) {
		s->dropped++;
		log_request(s, c, req, &ans);
		return MHD_NO;
	}
	if (s->o->blackhole) {
		log_request(s, c, req, &ans);
		return hold(s, c, r);
	}
	if (s->o->delay_ms) {
		struct timespec ts = { (time_t)(s->o->delay_ms / 1000),
				       (long)(s->o->delay_ms % 1000) *
					       1000000 };

		nanosleep(&ts, NULL);
	}
	ans.status = scheduled_status(s);
	dispatch(s, req, &ans);
	log_request(s, c, req, &ans);
	return respond(s, c, &ans, false);
}

/* A body over --max-body: answered 400, the connection closed. With a
 * Content-Length the answer goes at once and the body is never read;
 * libmicrohttpd takes no answer in the middle of a body, so a chunked one
 * is read to its end and dropped. */
static enum MHD_Result too_large(struct sr_recv_server *s,
				 struct MHD_Connection *c,
				 const struct sr_recv_request *req)
{
	struct sr_recv_answer ans = { .status = 0 };

	s->nreq++;
	sr_recv_refuse(&ans, 400, "body too large", "invalid_request_error",
		       NULL, NULL);
	sr_recv_error(&ans.err, "body over %zu bytes", s->o->max_body);
	log_request(s, c, req, &ans);
	return respond(s, c, &ans, true);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct sr_recv_server *s = cls;
	struct req *r = *con_cls;
	struct sr_recv_request req = {
		.method = method,
		.path = url,
		.encoding = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING),
		.content_type =
			MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_TYPE),
		.env = &s->o->env,
	};

	(void)version;
	if (!r) {
		const char *cl = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		/* libmicrohttpd has checked that the value is a number */
		if (cl && strtoull(cl, NULL, 10) > s->o->max_body)
			return too_large(s, c, &req);
		return MHD_YES;
	}
	if (r->held)
		return MHD_NO; /* resumed as the server stops: close it */
	if (*upload_size) {
		if (r->len + *upload_size > s->o->max_body)
			r->too_large = true;
		if (!r->too_large && append(r, upload, *upload_size))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_large)
		return too_large(s, c, &req);
	return complete(s, c, &req, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode why)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)c;
	(void)why;
	if (r) {
		free(r->body);
		free(r);
		*con_cls = NULL;
	}
}

struct sr_recv_server *sr_recv_server_new(const struct sr_recv_opts *opts,
					  const struct sr_recv_route *routes,
					  size_t n)
{
	struct sr_recv_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(opts->port) };

	if (!s)
		return NULL;
	s->o = opts;
	s->routes = routes;
	s->nroutes = n;
	pthread_mutex_init(&s->lock, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD |
					MHD_ALLOW_SUSPEND_RESUME |
					MHD_USE_ERROR_LOG,
				0, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
				MHD_OPTION_LISTENING_ADDRESS_REUSE,
				(unsigned int)1, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned int)SR_RECV_MAX_CONNS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				MHD_OPTION_END);
	if (!s->d) {
		int e = errno ? errno : EADDRNOTAVAIL;

		sr_recv_server_free(s);
		errno = e;
		return NULL;
	}
	return s;
}

uint16_t sr_recv_server_port(const struct sr_recv_server *s)
{
	const union MHD_DaemonInfo *i =
		MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

void sr_recv_server_free(struct sr_recv_server *s)
{
	if (!s)
		return;
	if (s->d) {
		/* suspended connections must be resumed before the daemon
		 * stops; each is then closed by on_request */
		pthread_mutex_lock(&s->lock);
		for (size_t i = 0; i < s->nheld; i++)
			MHD_resume_connection(s->held[i]);
		s->nheld = 0;
		pthread_mutex_unlock(&s->lock);
		MHD_stop_daemon(s->d);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}
