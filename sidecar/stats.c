/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/clock.h"

struct sr_stats sr_stats;

int sr_stats_write(const char *path)
{
	static uint64_t t0;
	char tmp[4200], buf[4096];
	uint64_t in = SR_STAT_GET(bytes_in),
		 out = SR_STAT_GET(bytes_compressed);
	uint64_t ns = SR_STAT_GET(compress_ns);
	int n, fd;

	if (!t0)
		t0 = sr_mono_ns();
	n = snprintf(buf, sizeof(buf), "{\"pid\":%d,\"uptime_s\":%.3f",
		     (int)getpid(), (double)(sr_mono_ns() - t0) / 1e9);
#define X(name)                                                                \
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, ",\"" #name "\":%llu", \
		      (unsigned long long)SR_STAT_GET(name));
	SR_STATS_FIELDS(X)
#undef X
	n += snprintf(buf + n, sizeof(buf) - (size_t)n,
		      ",\"compression_ratio\":%.3f,\"compress_mb_s\":%.1f}\n",
		      out ? (double)in / (double)out : 0.0,
		      ns ? (double)in / 1e6 / ((double)ns / 1e9) : 0.0);
	if (n >= (int)sizeof(buf))
		return -EOVERFLOW;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		unlink(tmp);
		return -EIO;
	}
	close(fd);
	return rename(tmp, path) < 0 ? -errno : 0;
}
