/* SPDX-License-Identifier: MIT */
#include "common/limits.h"
#include "health.h"

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

static double num(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static char *read_small(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = malloc(SR_STATS_READ_MAX + 1);
	size_t n;

	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, SR_STATS_READ_MAX, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

/* Age of the file in seconds, from its modification time. */
static double age_of(const struct stat *st)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (double)(now.tv_sec - st->st_mtim.tv_sec) +
	       (double)(now.tv_nsec - st->st_mtim.tv_nsec) / 1e9;
}

static int verdict(const cJSON *j, double age, FILE *out)
{
	double rings = num(j, "rings_unreadable"),
	       dirs = num(j, "dirs_unreadable");

	if (rings > 0 || dirs > 0) {
		fprintf(out,
			"spanringd: error: pid %.0f cannot read %.0f rings and "
			"%.0f ring directories (see its log)\n",
			num(j, "pid"), rings, dirs);
		return EX_NOPERM;
	}
	if (num(j, "spool_failing") > 0) {
		fprintf(out,
			"spanringd: error: pid %.0f cannot write its spool "
			"(see its log)\n",
			num(j, "pid"));
		return EX_IOERR;
	}
	fprintf(out,
		"spanringd: ok: pid %.0f, up %.0fs, %.0f rings active, %.0f "
		"items exported, %.0f spool segments waiting, stats %.1fs old\n",
		num(j, "pid"), num(j, "uptime_s"), num(j, "rings_active"),
		num(j, "items_exported"), num(j, "spool_segments"), age);
	return 0;
}

int sr_health_check(const char *stats_file, double max_age, FILE *out)
{
	struct stat st;
	double age;
	cJSON *j;
	char *text;
	int rc;

	if (stat(stats_file, &st) < 0) {
		fprintf(out, "spanringd: not running: %s: %s\n", stats_file,
			strerror(errno));
		return EX_UNAVAILABLE;
	}
	age = age_of(&st);
	if (age > max_age) {
		fprintf(out,
			"spanringd: not running or hung: %s was written %.1fs "
			"ago (limit %gs)\n",
			stats_file, age, max_age);
		return EX_UNAVAILABLE;
	}
	text = read_small(stats_file);
	j = text ? cJSON_Parse(text) : NULL;
	free(text);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		fprintf(out, "spanringd: %s is not a stats file\n", stats_file);
		return EX_UNAVAILABLE;
	}
	rc = verdict(j, age, out);
	cJSON_Delete(j);
	return rc;
}
