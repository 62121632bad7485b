/* SPDX-License-Identifier: MIT */
/*
 * config.h - spanringd's options: command-line flags, each also settable
 * by an environment variable (flags win), validated at start.
 */
#ifndef SR_SD_CONFIG_H
#define SR_SD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

#include "common/codec.h"
#include "common/limits.h"
#include "log.h"

enum sr_exporter_kind {
	SR_EXP_OPENAI,
	SR_EXP_CONSOLE,
	SR_EXP_FILE,
	SR_EXP_NULL,
	SR_EXP_OTLP
};

struct sr_config {
	char dir[PATH_MAX]; /* ring directory */
	/* destinations, in the order given, each kind at most once */
	enum sr_exporter_kind exporters[SR_EXPORTERS_MAX];
	unsigned n_exporters;
	char endpoint[SR_URL_MAX];
	char output[PATH_MAX];          /* file exporter: path or "-" */
	uint32_t max_batch_size;        /* items per export */
	double schedule_delay;          /* s */
	double export_trigger_ratio;    /* (0, 1] */
	uint32_t max_queue_size;        /* items held in memory */
	uint32_t max_retries;           /* total attempts per export round */
	double base_delay, max_delay;   /* s */
	enum sr_codec compression;      /* spool segments */
	enum sr_codec wire_compression; /* request bodies */
	char spool_dir[PATH_MAX];
	uint64_t spool_max_bytes;
	double shutdown_timeout; /* s */
	char stats_file[PATH_MAX];
	char dead_letter[PATH_MAX];
	char log_file[PATH_MAX]; /* empty: stderr */
	enum sr_log_level log_level;
	double poll_interval;         /* s between ring polls */
	double orphan_grace;          /* s between noticing death and closing */
	bool fsync;                   /* fsync spool segments */
	char api_key[SR_API_KEY_MAX]; /* never logged */
	char org_id[SR_OPENAI_ID_MAX], project_id[SR_OPENAI_ID_MAX];
	/* otlp exporter (otlp.c): resolved from OTEL_* where no flag says */
	char otlp_endpoint[SR_URL_MAX];         /* traces URL, used as is */
	char otlp_headers[SR_OTLP_HEADERS_MAX]; /* "k=v,…", URL-encoded */
	char otlp_compression[16];              /* gzip | lz4 | none */
	double otlp_timeout;                    /* s */
	char service_name[SR_SERVICE_NAME_MAX]; /* resource service.name */
	char resource_attributes[SR_OTLP_RESOURCE_MAX]; /* "k=v,…", URL-encoded */
	uint32_t attr_value_length_limit; /* code points, 0: none */
	uint32_t span_attr_count_limit;   /* attributes per span */
	uint64_t otlp_max_body;           /* bytes per request body */
	enum sr_codec otlp_codec;         /* resolved otlp_compression */
	bool identity;        /* add where items come from (identity.h) */
	double check_max_age; /* s: --check fails on older stats */
	bool help, help_markdown, version, check;
	uint64_t given; /* bit i: option i of the table set by a flag or
			 * a variable (sr_config_given) */
};

/* Exit codes of spanringd: those of <sysexits.h>. */
#define SR_EX_USAGE EX_USAGE             /* 64 bad flag or value */
#define SR_EX_DATAERR EX_DATAERR         /* 65 bad content of the key file */
#define SR_EX_NOINPUT EX_NOINPUT         /* 66 unreadable key file */
#define SR_EX_UNAVAILABLE EX_UNAVAILABLE /* 69 not healthy (--check) */
#define SR_EX_SOFTWARE EX_SOFTWARE       /* 70 internal */
#define SR_EX_OSERR EX_OSERR             /* 71 system resources */
#define SR_EX_CANTCREAT EX_CANTCREAT     /* 73 a directory or file unusable */
#define SR_EX_IOERR EX_IOERR       /* 74 spool cannot be written (--check) */
#define SR_EX_TEMPFAIL EX_TEMPFAIL /* 75 already served */
#define SR_EX_NOPERM EX_NOPERM     /* 77 rings that cannot be read */
#define SR_EX_CONFIG EX_CONFIG     /* 78 bad value in a variable */

/*
 * Fills *c from defaults, then the environment, then argv. Returns 0, or
 * a sysexits code after printing one line naming the bad value to stderr.
 * Directories are not touched here (main checks them).
 */
int sr_config_load(struct sr_config *c, int argc, char **argv);

/* Prints --help: every option, its variable and its default. */
void sr_config_help(FILE *out);

/* Prints --help-markdown: the same as a Markdown table (flag, variable,
 * default, meaning), the one README.md and sidecar/README.md hold between
 * their "spanringd --help-markdown" markers (`make docs` writes them). */
void sr_config_help_markdown(FILE *out);

/* True when option `flag` (without "--") was set by a flag or its
 * variable, false when it holds its default. */
bool sr_config_given(const struct sr_config *c, const char *flag);

/* "openai", "console", "file", "null" or "otlp". */
const char *sr_exporter_kind_name(enum sr_exporter_kind k);

/* True when `k` is one of the destinations. */
bool sr_config_has(const struct sr_config *c, enum sr_exporter_kind k);

/* The dead-letter file of destination `k`: --dead-letter as is, except
 * when both openai and otlp are destinations: then each has its own,
 * "-<name>" inserted before a ".jsonl" suffix (else appended). */
void sr_config_dead_letter(const struct sr_config *c, enum sr_exporter_kind k,
			   char *buf, size_t n);

#endif /* SR_SD_CONFIG_H */
