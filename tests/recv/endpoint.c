/* SPDX-License-Identifier: MIT */
#include "endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/codec.h"

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

/* At most this many bytes of each string of an error answer: four of
 * them, escaped (up to 6 bytes a byte), fit sr_recv_answer.body. */
#define REFUSE_FIELD_MAX 120
_Static_assert(4 * (REFUSE_FIELD_MAX * 6 + 2) + 64 <=
		       sizeof(((struct sr_recv_answer *)0)->body),
	       "an error answer fits the answer body");

/* s as a JSON string, quotes included, into out[n]: at most
 * REFUSE_FIELD_MAX bytes of s, escaped. */
static void quote(char *out, size_t n, const char *s)
{
	size_t k = 0;

	out[k++] = '"';
	for (size_t i = 0; s[i] && i < REFUSE_FIELD_MAX && k + 8 < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			out[k++] = '\\';
			out[k++] = (char)ch;
		} else if (ch < 0x20) {
			k += (size_t)snprintf(out + k, n - k, "\\u%04x", ch);
		} else {
			out[k++] = (char)ch;
		}
	}
	out[k++] = '"';
	out[k] = 0;
}

void sr_recv_refuse(struct sr_recv_answer *ans, int status, const char *msg,
		    const char *type, const char *param, const char *code)
{
	char m[REFUSE_FIELD_MAX * 6 + 8], t[sizeof(m)], p[sizeof(m)] = "null",
							c[sizeof(m)] = "null";

	quote(m, sizeof(m), msg);
	quote(t, sizeof(t), type);
	if (param)
		quote(p, sizeof(p), param);
	if (code)
		quote(c, sizeof(c), code);
	ans->status = status;
	snprintf(ans->body, sizeof(ans->body),
		 "{\"error\":{\"message\":%s,\"type\":%s,\"param\":%s,"
		 "\"code\":%s}}",
		 m, t, p, c);
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
