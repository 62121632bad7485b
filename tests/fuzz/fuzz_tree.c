/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tree - the trace tree of `spanring run` on arbitrary lines (what
 * an exporter file or a console holds is untrusted): every line is added,
 * the tree rendered without colour at a width the input picks, and a time
 * parsed. Properties: no crash; rendering succeeds; the output holds no
 * control character but '\n' (text is cleaned before it reaches a
 * terminal); each line is valid UTF-8.
 *
 * The renderer is compiled into this target (one unit).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/run/tree.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_output(const char *out, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)out[i];
		size_t k;

		if (c == '\n') {
			i++;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			abort(); /* a control character reached the output */
		k = sr_utf8_seq((const unsigned char *)out + i, n - i);
		if (!k)
			abort(); /* invalid UTF-8 in the output */
		i += k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sr_tree_opts o = { 0 };
	struct sr_tree *t;
	char *text, *out = NULL;
	size_t outlen = 0;
	FILE *f;

	if (size < 1)
		return 0;
	/* the first byte: a width (0 is none) and a fold limit */
	o.width = data[0] & 0x80 ? 20u + (data[0] & 0x7f) : 0;
	o.max_depth = data[0] & 0x40 ? 1u + (data[0] & 7) : 0;
	o.max_children = data[0] & 0x20 ? 1u + (data[0] >> 3 & 3) : 0;
	data++;
	size--;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	(void)sr_tree_parse_time(text);
	t = sr_tree_new();
	if (!t) {
		free(text);
		return 0;
	}
	for (size_t i = 0; i < size;) {
		char *nl = memchr(text + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - text) - i : size - i;
		/* a copy of its exact length: a read past it is a finding */
		char *line = malloc(len ? len : 1);

		if (!line)
			break;
		memcpy(line, text + i, len);
		(void)sr_tree_add_line(t, line, len);
		free(line);
		i += len + 1;
	}
	f = open_memstream(&out, &outlen);
	if (!f)
		abort();
	if (sr_tree_render(t, f, &o) != 0)
		abort();
	fclose(f);
	check_output(out, outlen);
	free(out);
	sr_tree_free(t);
	free(text);
	return 0;
}
