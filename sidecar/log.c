/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/limits.h"

static enum sr_log_level log_level = SR_LOG_INFO;
static const char *log_path;
static int log_fd = 2;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t win_start;   /* second of the current rate window */
static unsigned win_lines; /* lines written in it */
static unsigned long suppressed;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int sr_log_parse_level(const char *s, enum sr_log_level *out)
{
	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum sr_log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = SR_LOG_WARN;
		return 0;
	}
	return -EINVAL;
}

static int open_log(void)
{
	int fd;

	if (!log_path)
		return 2;
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int sr_log_init(enum sr_log_level level, const char *path)
{
	int fd;

	log_level = level;
	log_path = path;
	fd = open_log();
	if (fd < 0)
		return fd;
	log_fd = fd;
	return 0;
}

int sr_log_reopen(void)
{
	int fd, old;

	if (!log_path)
		return 0;
	fd = open_log();
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&log_lock);
	old = log_fd;
	log_fd = fd;
	pthread_mutex_unlock(&log_lock);
	close(old);
	return 0;
}

/* Under log_lock: true if this line may be written now. */
static int rate_ok(time_t now)
{
	if (now != win_start) {
		win_start = now;
		win_lines = 0;
	}
	return ++win_lines <= SR_LOG_BURST;
}

void sr_log(enum sr_log_level level, const char *subsys, const char *fmt, ...)
{
	char line[SR_LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&log_lock);
	if (!rate_ok(ts.tv_sec)) {
		suppressed++;
		pthread_mutex_unlock(&log_lock);
		return;
	}
	n = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += snprintf(line + n, sizeof(line) - (size_t)n,
		      ".%03ldZ %s %s: ", ts.tv_nsec / 1000000,
		      level_names[level], subsys);
	if (suppressed && n < (int)sizeof(line)) {
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      "(%lu lines suppressed) ", suppressed);
		suppressed = 0;
	}
	va_start(ap, fmt);
	if (n < (int)sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(log_fd, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
	pthread_mutex_unlock(&log_lock);
}
