/* SPDX-License-Identifier: MIT */
/*
 * log.h - spanringd's log: one line per event on stderr (or a file that
 * SIGHUP reopens), "<time> <level> <subsystem>: <message>", rate-limited.
 * Never pass the API key to it.
 */
#ifndef SR_SD_LOG_H
#define SR_SD_LOG_H

enum sr_log_level { SR_LOG_ERROR, SR_LOG_WARN, SR_LOG_INFO, SR_LOG_DEBUG };

/* Parses "error", "warn", "info", "debug". 0 or -EINVAL. */
int sr_log_parse_level(const char *s, enum sr_log_level *out);

/* Sets the level and the file (NULL: stderr). 0 or -errno (open failed).
 * Not thread-safe against sr_log(); call before threads start. */
int sr_log_init(enum sr_log_level level, const char *path);

/* Reopens the log file (SIGHUP, after log rotation). 0 or -errno. */
int sr_log_reopen(void);

/* Logs one line. At most SR_LOG_BURST lines a second get through; the
 * rest are counted and summed up in the next line. Thread-safe. */
void sr_log(enum sr_log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* SR_SD_LOG_H */
