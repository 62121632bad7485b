/* SPDX-License-Identifier: MIT */
/*
 * agents_sdk - a trace with one span of every Agents SDK type through the
 * C API, as an agent run would record it, plus a DNS lookup of localhost
 * and a TCP connect to 127.0.0.1:PORT (client spans of the shim):
 *   agents_sdk PORT
 * Prints "ok" when every call returned 0 (or -ENODEV for all when the
 * shim is not recording).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim/spanring.h"

static int failures;

static void ok(int rc, const char *what)
{
	if (rc && !(rc == -ENODEV && !spanring_enabled())) {
		printf("%s returned %d\n", what, rc);
		failures++;
	}
}

static void span(const char *data)
{
	ok(spanring_span_begin(data), data);
	ok(spanring_span_end(), "end");
}

static void network(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	struct addrinfo *ai = NULL;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (getaddrinfo("localhost", NULL, NULL, &ai) == 0)
		freeaddrinfo(ai);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		printf("connect: %d\n", errno);
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	ok(spanring_trace_begin("support agent",
				"group_0123456789abcdef01234567",
				"{\"user\":\"u1\",\"tier\":3,\"beta\":true}"),
	   "trace_begin");
	ok(spanring_span_begin(
		   "{\"type\":\"agent\",\"name\":\"Planner\","
		   "\"handoffs\":[\"Writer\"],\"tools\":[\"search\","
		   "\"scan\"],\"output_type\":\"str\"}"),
	   "agent");
	span("{\"type\":\"generation\",\"input\":[{\"role\":\"user\","
	     "\"content\":\"hi\"}],\"output\":[{\"role\":\"assistant\","
	     "\"content\":\"hello\"}],\"model\":\"gpt-4o\",\"model_config\":"
	     "{\"temperature\":0.2,\"top_p\":1,\"max_tokens\":256},\"usage\":"
	     "{\"input_tokens\":12,\"output_tokens\":34}}");
	span("{\"type\":\"response\",\"response_id\":\"resp_123\"}");
	ok(spanring_span_begin("{\"type\":\"function\",\"name\":\"scan\","
			       "\"input\":\"{\\\"path\\\":\\\"/tmp\\\"}\","
			       "\"output\":null,\"mcp_data\":null}"),
	   "function");
	ok(spanring_span_set_error("tool failed", "{\"errno\":2}"),
	   "set_error");
	ok(spanring_span_end(), "end function");
	span("{\"type\":\"handoff\",\"from_agent\":\"Planner\","
	     "\"to_agent\":\"Writer\"}");
	span("{\"type\":\"guardrail\",\"name\":\"no_secrets\","
	     "\"triggered\":false}");
	span("{\"type\":\"mcp_tools\",\"server\":\"files\",\"result\":"
	     "[\"read\",\"write\"]}");
	ok(spanring_span_begin_custom("checkpoint", "{\"step\":2,\"ok\":true}"),
	   "custom");
	ok(spanring_span_end(), "end custom");
	span("{\"type\":\"transcription\",\"input\":{\"data\":\"…\","
	     "\"format\":\"pcm\"},\"output\":\"hello\",\"model\":\"whisper-1\","
	     "\"model_config\":{}}");
	network(argc > 1 ? atoi(argv[1]) : 9);
	ok(spanring_span_end(), "end agent");
	ok(spanring_trace_end(), "trace_end");
	if (!failures)
		printf("ok\n");
	return failures ? 1 : 0;
}
