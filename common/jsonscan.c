/* SPDX-License-Identifier: MIT */
#include "jsonscan.h"

#include <string.h>

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Past the closing quote of the string whose opening quote is at p:
 * memchr to each quote, which is the end unless an odd run of
 * backslashes escapes it (this scans every byte the sidecar exports). */
static const char *skip_string(const char *p, const char *end)
{
	const char *start = ++p;

	while (p < end && (p = memchr(p, '"', (size_t)(end - p)))) {
		const char *b = p;

		while (b > start && b[-1] == '\\')
			b--;
		if (((p - b) & 1) == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

bool sr_json_object_framed(const char *s, size_t n)
{
	const char *end = s + n, *p = ws(s, end);

	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		end--;
	return end - p >= 2 && *p == '{' && end[-1] == '}';
}

/* One pass, no call per byte: the shim runs this on every API span. */
bool sr_json_object_ok(const char *s, size_t n)
{
	const char *end = s + n, *p = ws(s, end);
	size_t depth = 0;

	if (p >= end || *p != '{')
		return false;
	for (; p < end; p++) {
		char c = *p;

		if (c == '"') {
			/* to the closing quote, stepping over escapes */
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= end)
				return false;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && --depth == 0) {
			break;
		}
	}
	return p < end && ws(p + 1, end) == end;
}

/* Bytes that end a run the skip need not look at: in a container, the
 * structure (1); at the top, also the end of a scalar (2, NUL included as
 * strchr() matched it). */
static const unsigned char skip_stop[256] = {
	['"'] = 1, ['{'] = 1,  ['['] = 1,  ['}'] = 3,  [']'] = 3, [','] = 2,
	[' '] = 2, ['\t'] = 2, ['\r'] = 2, ['\n'] = 2, [0] = 2,
};

const char *sr_json_skip(const char *p, const char *end)
{
	int depth = 0;

	p = ws(p, end);
	if (p >= end)
		return NULL;
	do {
		if (p >= end)
			return NULL;
		if (*p == '"') {
			p = skip_string(p, end);
			if (!p)
				return NULL;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			depth--;
			p++;
		} else if (depth == 0) {
			while (p < end && !(skip_stop[(unsigned char)*p] & 2))
				p++;
		} else {
			/* a table lookup a byte: this scans every exported byte */
			p++;
			while (p < end && !(skip_stop[(unsigned char)*p] & 1))
				p++;
		}
	} while (depth > 0);
	return depth == 0 ? p : NULL;
}

const char *sr_json_find(const char *s, size_t n, const char *k, size_t m)
{
	const char *p, *end = s + n;

	if (m < 2 || n < m)
		return NULL;
	for (p = s + 1; (p = memchr(p, k[1], (size_t)(end - p))); p++) {
		if ((size_t)(end - p) < m - 1)
			return NULL;
		if (p[-1] == k[0] && !memcmp(p + 1, k + 2, m - 2))
			return p - 1;
	}
	return NULL;
}
