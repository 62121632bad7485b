/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dump - spanring-dump's record formatting on arbitrary records: the
 * JSON form must always be one valid JSON object in valid UTF-8 on one
 * line, the table form one line; the stats flattener on arbitrary text.
 */
#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonw.h"
#include "tools/dump/format.h"
#include "tools/dump/stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void valid_line(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t k = sr_utf8_seq((const unsigned char *)s + i, n - i);

		if (!k || s[i] == '\n')
			abort();
		i += k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	struct sr_record rec;
	bool bad;
	char *line;
	cJSON *j;

	if (!sink)
		sink = fopen("/dev/null", "w");
	if (size < 3)
		return 0;
	if (size > 20000)
		size = 20000;
	rec.type = (uint16_t)(data[0] % 8);
	rec.flags = data[1];
	rec.lane = data[2];
	rec.pos = size;
	rec.payload = data + 3;
	rec.len = (uint32_t)(size - 3);

	line = sr_dump_format(&rec, "r.ring", SR_DUMP_JSON, &bad);
	if (!line)
		abort();
	valid_line(line);
	j = cJSON_Parse(line);
	if (!cJSON_IsObject(j))
		abort();
	cJSON_Delete(j);
	free(line);

	line = sr_dump_format(&rec, NULL, SR_DUMP_TABLE, &bad);
	if (!line)
		abort();
	valid_line(line);
	free(line);

	(void)sr_dump_stats_text((const char *)data + 3, size - 3, sink);
	return 0;
}
