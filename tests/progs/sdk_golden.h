/* SPDX-License-Identifier: MIT */
/*
 * sdk_golden.h - the texts the sdk_golden program records, shared with
 * the test that checks what is exported (the expected items are built
 * there, from the SDKs' rules, not from these texts' code paths).
 */
#ifndef SR_TEST_SDK_GOLDEN_H
#define SR_TEST_SDK_GOLDEN_H

#include <stdlib.h>
#include <string.h>

#define SDK_GOLDEN_BIG 200000u      /* bytes of input and of output text */
#define SDK_GOLDEN_META 20000u      /* bytes of the metadata's blob */
#define SDK_GOLDEN_ERROR 2000u      /* bytes of the error message */
#define SDK_GOLDEN_NAME_CHARS 3000u /* "é" after one "x": 6001 bytes */

/* model_config and usage as the OpenAI API gives them */
#define SDK_GOLDEN_MODEL_CONFIG                                           \
	"{\"temperature\":1.0,\"seed\":1733100000000000123,\"eps\":1e-7," \
	"\"big\":2.5E+30,\"top_p\":0.95}"
#define SDK_GOLDEN_USAGE                                                 \
	"{\"input_tokens\":12,\"output_tokens\":34,\"total_tokens\":46," \
	"\"input_tokens_details\":{\"cached_tokens\":0},"                \
	"\"details\":{\"note\":\"kept\"}}"
#define SDK_GOLDEN_CUSTOM_DATA \
	"{\"v\":NaN,\"w\":[Infinity,1.50],\"z\":\"a\\u0000b\"}"
#define SDK_GOLDEN_FUNCTION                                           \
	"{\"type\":\"function\",\"name\":\"lookup\",\"input\":\"q\"," \
	"\"output\":\"r\",\"mcp_data\":null,\"usage\":{\"input_tokens\":1}}"
#define SDK_GOLDEN_UNTYPED "{\"name\":\"no type\",\"n\":-0.0}"
#define SDK_GOLDEN_BURST \
	"{\"type\":\"function\",\"name\":\"burst\",\"input\":\"i\",\"output\":null}"

struct sdk_golden {
	char *workflow;    /* "x" + "é" x SDK_GOLDEN_NAME_CHARS */
	char *custom_name; /* the same */
	char *metadata;    /* {"blob":"m...m","n":1733100000000000123} */
	char *generation;  /* the generation span_data */
	char *error;       /* SDK_GOLDEN_ERROR x "e" */
	char *input;       /* SDK_GOLDEN_BIG x "a" */
	char *content;     /* SDK_GOLDEN_BIG x "b" */
};

static inline char *sdk_golden_fill(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memset(s, c, n);
		s[n] = 0;
	}
	return s;
}

static inline int sdk_golden_build(struct sdk_golden *g)
{
	size_t n = 1 + 2 * SDK_GOLDEN_NAME_CHARS, len;

	g->workflow = malloc(n + 1);
	g->custom_name = malloc(n + 1);
	g->input = sdk_golden_fill('a', SDK_GOLDEN_BIG);
	g->content = sdk_golden_fill('b', SDK_GOLDEN_BIG);
	g->error = sdk_golden_fill('e', SDK_GOLDEN_ERROR);
	g->metadata = malloc(SDK_GOLDEN_META + 64);
	len = 2 * SDK_GOLDEN_BIG + 1024;
	g->generation = malloc(len);
	if (!g->workflow || !g->custom_name || !g->input || !g->content ||
	    !g->error || !g->metadata || !g->generation)
		return -1;
	g->workflow[0] = 'x';
	for (size_t i = 0; i < SDK_GOLDEN_NAME_CHARS; i++)
		memcpy(g->workflow + 1 + 2 * i, "\xc3\xa9", 2);
	g->workflow[n] = 0;
	memcpy(g->custom_name, g->workflow, n + 1);
	memcpy(g->metadata, "{\"blob\":\"", 9);
	memset(g->metadata + 9, 'm', SDK_GOLDEN_META);
	strcpy(g->metadata + 9 + SDK_GOLDEN_META,
	       "\",\"n\":1733100000000000123}");
	snprintf(g->generation, len,
		 "{\"type\":\"generation\",\"input\":\"%s\",\"output\":"
		 "[{\"role\":\"assistant\",\"content\":\"%s\"}],\"model\":"
		 "\"gpt-4o\",\"model_config\":" SDK_GOLDEN_MODEL_CONFIG
		 ",\"usage\":" SDK_GOLDEN_USAGE "}",
		 g->input, g->content);
	return 0;
}

#endif /* SR_TEST_SDK_GOLDEN_H */
