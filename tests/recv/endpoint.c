/* SPDX-License-Identifier: MIT */
#include "endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sidecar/codec.h"

int sr_recv_decode(const struct sr_recv_request *req,
		   struct sr_recv_answer *ans, const char **text, size_t *len,
		   void **plain)
{
	enum sr_codec c;

	*plain = NULL;
	*text = req->body;
	*len = req->blen;
	if (!req->encoding || !req->encoding[0] ||
	    !strcasecmp(req->encoding, "identity"))
		return 0;
	if (!strcasecmp(req->encoding, "lz4")) {
		c = SR_CODEC_LZ4;
	} else if (!strcasecmp(req->encoding, "gzip")) {
		c = SR_CODEC_GZIP;
	} else {
		sr_recv_refuse(ans, 415, "unsupported Content-Encoding",
			       "invalid_request_error", NULL, NULL);
		sr_recv_error(&ans->err, "unsupported Content-Encoding %.64s",
			      req->encoding);
		return -1;
	}
	if (sr_codec_decompress(c, req->body, req->blen, plain, len)) {
		sr_recv_refuse(ans, 400, "body does not decompress",
			       "invalid_request_error", NULL, NULL);
		sr_recv_error(&ans->err, "body does not decompress as %s",
			      req->encoding);
		return -1;
	}
	*text = *plain;
	return 0;
}

void sr_recv_refuse(struct sr_recv_answer *ans, int status, const char *msg,
		    const char *type, const char *param, const char *code)
{
	char p[96] = "null", c[96] = "null";

	if (param)
		snprintf(p, sizeof(p), "\"%.80s\"", param);
	if (code)
		snprintf(c, sizeof(c), "\"%.80s\"", code);
	ans->status = status;
	snprintf(ans->body, sizeof(ans->body),
		 "{\"error\":{\"message\":\"%.200s\",\"type\":\"%.80s\","
		 "\"param\":%s,\"code\":%s}}",
		 msg, type, p, c);
}

void sr_recv_write_line(int fd, const char *p, size_t n)
{
	char *b;

	if (fd < 0)
		return;
	b = malloc(n + 1);
	if (!b)
		return;
	memcpy(b, p, n);
	b[n] = '\n';
	if (write(fd, b, n + 1) < 0) {
		/* the tests notice a missing line */
	}
	free(b);
}
