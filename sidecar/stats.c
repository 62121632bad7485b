/* SPDX-License-Identifier: MIT */
#include "common/limits.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"

struct sr_stats sr_stats;
struct sr_dest_stats sr_dest_stats[SR_EXPORTERS_MAX];
static unsigned ndest;

int sr_stats_dest(const char *name)
{
	if (ndest >= SR_EXPORTERS_MAX)
		return -ENOSPC;
	snprintf(sr_dest_stats[ndest].name, sizeof(sr_dest_stats[ndest].name),
		 "%s", name);
	return (int)ndest++;
}

/* Appends to buf[*n, cap), never past it: *n stays <= cap, and a text
 * that does not fit leaves *n == cap (checked by the caller). */
static void __attribute__((format(printf, 4, 5)))
put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n >= cap)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	*n = k < 0 || (size_t)k >= cap - *n ? cap : *n + (size_t)k;
}

int sr_stats_write(const char *path)
{
	static uint64_t t0;
	char tmp[4200], buf[SR_STATS_TEXT_MAX];
	uint64_t in = SR_STAT_GET(bytes_in),
		 out = SR_STAT_GET(bytes_compressed);
	uint64_t ns = SR_STAT_GET(compress_ns);
	size_t n = 0;
	int fd;

	if (!t0)
		t0 = sr_mono_ns();
	put(buf, sizeof(buf), &n, "{\"pid\":%d,\"uptime_s\":%.3f",
	    (int)getpid(), (double)(sr_mono_ns() - t0) / 1e9);
#define X(name)                                          \
	put(buf, sizeof(buf), &n, ",\"" #name "\":%llu", \
	    (unsigned long long)SR_STAT_GET(name));
	SR_STATS_FIELDS(X)
#undef X
	put(buf, sizeof(buf), &n,
	    ",\"compression_ratio\":%.3f,\"compress_mb_s\":%.1f,\"exporters\":{",
	    out ? (double)in / (double)out : 0.0,
	    ns ? (double)in / 1e6 / ((double)ns / 1e9) : 0.0);
	for (unsigned d = 0; d < ndest; d++) {
		const struct sr_dest_stats *ds = &sr_dest_stats[d];
		const char *sep = "";

		put(buf, sizeof(buf), &n, "%s\"%s\":{", d ? "," : "", ds->name);
#define X(name)                                                              \
	put(buf, sizeof(buf), &n, "%s\"" #name "\":%llu", sep,               \
	    (unsigned long long)atomic_load_explicit(&ds->name,              \
						     memory_order_relaxed)); \
	sep = ",";
		SR_DEST_STATS_FIELDS(X)
#undef X
		put(buf, sizeof(buf), &n, "}");
	}
	put(buf, sizeof(buf), &n, "}}\n");
	if (n >= sizeof(buf))
		return -EOVERFLOW;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, n) != (ssize_t)n) {
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	close(fd);
	return rename(tmp, path) < 0 ? -errno : 0;
}
