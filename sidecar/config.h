/* SPDX-License-Identifier: MIT */
/*
 * config.h - spanringd's options: command-line flags, each also settable
 * by an environment variable (flags win), validated at start.
 */
#ifndef SR_SD_CONFIG_H
#define SR_SD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

enum sr_exporter_kind {
	SR_EXP_OPENAI,
	SR_EXP_CONSOLE,
	SR_EXP_FILE,
	SR_EXP_NULL
};
enum sr_codec { SR_CODEC_NONE, SR_CODEC_LZ4, SR_CODEC_GZIP };

struct sr_config {
	char dir[4096]; /* ring directory */
	enum sr_exporter_kind exporter;
	char endpoint[2048];
	char output[4096];		/* file exporter: path or "-" */
	uint32_t max_batch_size;	/* items per export */
	double schedule_delay;		/* s */
	double export_trigger_ratio;	/* (0, 1] */
	uint32_t max_queue_size;	/* items held in memory */
	uint32_t max_retries;		/* total attempts per export round */
	double base_delay, max_delay;	/* s */
	enum sr_codec compression;	/* spool segments */
	enum sr_codec wire_compression; /* request bodies */
	char spool_dir[4096];
	uint64_t spool_max_bytes;
	double shutdown_timeout; /* s */
	char stats_file[4096];
	char dead_letter[4096];
	char log_file[4096]; /* empty: stderr */
	enum sr_log_level log_level;
	double poll_interval; /* s between ring polls */
	double orphan_grace;  /* s between noticing death and closing */
	bool fsync;	      /* fsync spool segments */
	char api_key[512];    /* never logged */
	char org_id[256], project_id[256];
	bool spool_dir_set;   /* --spool-dir given (else a default) */
	bool identity;        /* add where items come from (identity.h) */
	double check_max_age; /* s: --check fails on older stats */
	bool help, version, check;
};

/* Exit codes of sysexits.h used by spanringd. */
#define SR_EX_USAGE 64
#define SR_EX_NOINPUT 66
#define SR_EX_UNAVAILABLE 69
#define SR_EX_SOFTWARE 70
#define SR_EX_OSERR 71
#define SR_EX_CANTCREAT 73
#define SR_EX_IOERR 74
#define SR_EX_TEMPFAIL 75
#define SR_EX_NOPERM 77
#define SR_EX_CONFIG 78

/*
 * Fills *c from defaults, then the environment, then argv. Returns 0, or
 * a sysexits code after printing one line naming the bad value to stderr.
 * Directories are not touched here (main checks them).
 */
int sr_config_load(struct sr_config *c, int argc, char **argv);

/* Prints --help: every option, its variable and its default. */
void sr_config_help(FILE *out);

const char *sr_codec_name(enum sr_codec c);

#endif /* SR_SD_CONFIG_H */
