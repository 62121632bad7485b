/* SPDX-License-Identifier: MIT */
/*
 * hook_net.c - connect and getaddrinfo, recorded as client spans.
 *
 * connect lets go of the guard while the real call may block, so a signal
 * handler's own calls are recorded too; getaddrinfo keeps it, so the
 * connections the resolver makes on its own are not reported as the
 * program's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/clock.h"
#include "common/jsonw.h"
#include "real.h"
#include "shim.h"

static const char *transport(int fd, int family)
{
	int type = 0;
	socklen_t n = sizeof(type);

	if (family == AF_UNIX)
		return "unix";
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &n) < 0)
		return NULL;
	return type == SOCK_STREAM ? "tcp" : type == SOCK_DGRAM ? "udp" : NULL;
}

/* server.address / server.port / network.* members of a socket address. */
static void jw_addr(struct sr_jw *w, int fd, const struct sockaddr *sa,
		    socklen_t len)
{
	char host[INET6_ADDRSTRLEN + 1] = "";
	const char *tr = transport(fd, sa->sa_family);
	int port = -1;

	sr_jw_member(w, "server.address");
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6 &&
		   len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		size_t off = offsetof(struct sockaddr_un, sun_path);
		size_t max = len > off ? len - off : 0;
		char path[sizeof(un->sun_path) + 1];

		if (max > sizeof(un->sun_path))
			max = sizeof(un->sun_path);
		memcpy(path, un->sun_path, max);
		path[max] = 0;
		/* an abstract address starts with NUL: shown as '@' */
		if (max && path[0] == 0)
			path[0] = '@';
		sr_jw_str(w, path, strnlen(path, max));
	} else {
		sr_jw_cstr_val(w, host);
		sr_jw_member_i64(w, "server.port", port);
		sr_jw_member_cstr(w, "network.type",
				  sa->sa_family == AF_INET ? "ipv4" : "ipv6");
	}
	if (tr) {
		sr_jw_member_cstr(w, "network.transport", tr);
	}
}

static bool traced_family(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET || sa->sa_family == AF_INET6 ||
	       sa->sa_family == AF_UNIX;
}

SHIM_API int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	char data[512], errd[32];
	struct sr_span_rec s;
	struct sr_jw w;
	int rc, err;

	if (!sa || len < sizeof(sa_family_t) || !shim_enter(SHIM_HOOK_NET))
		return REAL(connect)(fd, sa, len);
	shim_span_open(&s, "connect", SR_SF_CLIENT);
	shim_pause();
	rc = REAL(connect)(fd, sa, len);
	err = errno;
	shim_resume();
	/* the address is read only once the kernel has: a bad pointer gets
	 * its EFAULT, not a crash in the hook */
	if ((rc < 0 && err == EFAULT) || !traced_family(sa))
		goto out;
	s.end_ns = shim_stamp();
	sr_jw_init(&w, data, sizeof(data));
	sr_jw_lit(&w, "{");
	jw_addr(&w, fd, sa, len);
	sr_jw_lit(&w, "}");
	s.data = (struct sr_str){ data, (uint32_t)w.len };
	/* a non-blocking connect under way is not a failure */
	if (rc < 0 && err != EINPROGRESS)
		shim_span_errno(&s, err, errd, sizeof(errd));
	shim_emit_span(SR_REC_SPAN, &s);
out:
	shim_leave();
	errno = err;
	return rc;
}

static size_t gai_data(char *buf, size_t n, const char *node,
		       const char *service, const struct addrinfo *res)
{
	struct sr_jw w;
	char *end;
	long port;
	int count = 0;

	for (; res; res = res->ai_next)
		count++;
	sr_jw_init(&w, buf, n);
	sr_jw_lit(&w, "{");
	sr_jw_member(&w, "dns.question.name");
	shim_jw_text(&w, node, 300);
	if (service) {
		sr_jw_member(&w, "server.port");
		port = strtol(service, &end, 10);
		if (*service && !*end)
			sr_jw_i64(&w, port);
		else
			shim_jw_text(&w, service, 64);
	}
	sr_jw_member_i64(&w, "dns.answer.count", count);
	sr_jw_lit(&w, "}");
	return w.len;
}

SHIM_API int getaddrinfo(const char *node, const char *service,
			 const struct addrinfo *hints, struct addrinfo **res)
{
	char data[512], errd[32];
	struct sr_span_rec s;
	int rc, err;

	if (!shim_enter(SHIM_HOOK_DNS))
		return REAL(getaddrinfo)(node, service, hints, res);
	shim_span_open(&s, "getaddrinfo", SR_SF_CLIENT);
	shim_ctx_lookup(node, &s);
	rc = REAL(getaddrinfo)(node, service, hints, res);
	err = errno;
	s.end_ns = shim_stamp();
	s.data.p = data;
	s.data.n = (uint32_t)gai_data(data, sizeof(data), node, service,
				      rc == 0 && res ? *res : NULL);
	if (rc) {
		s.flags |= SR_SF_ERROR;
		s.err.p = gai_strerror(rc);
		s.err.n = (uint32_t)strlen(s.err.p);
		snprintf(errd, sizeof(errd), "{\"gai_error\":%d}", rc);
		s.errdata = (struct sr_str){ errd, (uint32_t)strlen(errd) };
	}
	shim_emit_span(SR_REC_SPAN, &s);
	shim_leave();
	errno = err;
	return rc;
}
