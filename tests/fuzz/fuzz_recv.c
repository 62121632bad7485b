/* SPDX-License-Identifier: MIT */
/*
 * fuzz_recv - the test receiver's handling of a request body (the HTTP
 * itself is libmicrohttpd's): decoding per Content-Encoding; at the OpenAI
 * endpoint parsing {"data":[...]}, splitting it into the items' bytes,
 * checking each item against WIRE.md and its ingest rules, rejecting
 * items; at the OTLP endpoint the strict OTLP/JSON checks, rejected spans
 * and parents across requests. The first byte picks the encoding, the
 * endpoint (0x40: OTLP) and whether items are rejected (0x80); the rest is
 * the body. Properties: no crash; the answer is 200, 400 or 415; on 200 one
 * line is written per item (OTLP: at most one per span); a refusal or a
 * partialSuccess answer is a JSON object; the error counts are consistent.
 *
 * The endpoint's modules are compiled into this target (one unit).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/recv/endpoint.c"
#include "tests/recv/openai.c"
#include "tests/recv/otlp.c"
#include "tests/recv/validate.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const encodings[] = { NULL, "lz4", "gzip", "identity",
					 "br" };

/* Lines in the first n bytes of fd, which is then emptied. */
static size_t lines_written(int fd)
{
	off_t n = lseek(fd, 0, SEEK_END);
	size_t lines = 0;
	char buf[4096];
	ssize_t k;

	if (n < 0 || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < k; i++)
			lines += buf[i] == '\n';
	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET) < 0)
		abort();
	return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int items_fd = -1;
	struct sr_recv_env env = { .items_fd = -1 };
	struct sr_recv_request req = { .method = "POST",
				       .path = "/v1/traces/ingest",
				       .env = &env };
	struct sr_recv_answer ans = { .status = 200 };
	bool otlp = data[0] & 0x40;
	size_t lines;
	cJSON *answer;
	char *body;

	if (size < 1)
		return 0;
	if (items_fd < 0) {
		items_fd = memfd_create("fuzz-recv-items", MFD_CLOEXEC);
		if (items_fd < 0)
			abort();
	}
	env.items_fd = items_fd;
	req.encoding = encodings[data[0] % 5];
	env.reject = data[0] & 0x80 ? "span_" : NULL;
	env.otlp_reject = data[0] & 0x80 ? "\"spanId\":\"0" : NULL;
	req.content_type = "application/json";
	/* a copy of its exact length: a read past it is a finding */
	body = malloc(size - 1 ? size - 1 : 1);
	if (!body)
		return 0;
	memcpy(body, data + 1, size - 1);
	req.body = body;
	req.blen = size - 1;
	if (otlp) {
		req.path = "/v1/traces";
		sr_recv_otlp_traces(&req, &ans);
	} else {
		sr_recv_openai_ingest(&req, &ans);
	}
	if (ans.status != 200 && ans.status != 400 && ans.status != 415)
		abort();
	if (ans.err.n > SR_RECV_MAX_ERRORS || ans.err.n > ans.err.total)
		abort();
	lines = lines_written(items_fd);
	if (ans.status == 200 && !otlp && lines < (size_t)ans.items)
		abort(); /* an accepted item was not written */
	if (ans.status == 200 && otlp && lines > (size_t)ans.items)
		abort(); /* more span lines than spans */
	if (ans.status != 200 && lines != 0)
		abort(); /* items of a refused request were written */
	if (ans.status >= 400 && !ans.body[0])
		abort(); /* a refusal without an error body */
	if (ans.body[0]) {
		/* error bodies quote member names of the request */
		answer = cJSON_Parse(ans.body);
		if (!cJSON_IsObject(answer))
			abort();
		cJSON_Delete(answer);
	}
	free(body);
	return 0;
}
