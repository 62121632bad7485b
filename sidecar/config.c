/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ringdir.h"
#include "otlp.h"

enum opt_type {
	T_STR,
	T_EXPORTER,
	T_CODEC,
	T_U32,
	T_U64,
	T_SECS,
	T_RATIO,
	T_BOOL,
	T_LEVEL,
	T_KEYFILE,
	T_FLAG
};

struct opt {
	const char *flag; /* without "--" */
	const char *env;  /* NULL: SPANRINGD_<FLAG> */
	enum opt_type type;
	size_t off;  /* field in struct sr_config */
	size_t size; /* for strings */
	/* The default: a value parsed like the flag's before the environment
	 * and argv are read; NULL when there is none or it is worked out at
	 * start (then `note` says how). The only place a default is
	 * written: --help and --help-markdown (the READMEs' tables) show it. */
	const char *def;
	const char *note; /* how a default is found, or what it means */
	const char *help;
};

#define F(f) offsetof(struct sr_config, f), sizeof(((struct sr_config *)0)->f)

static const struct opt opts[] = {
	{ "dir", "SPANRING_DIR", T_STR, F(dir), NULL,
	  "/dev/shm/spanring-<euid> (created 0700)",
	  "ring directory to serve, and its uid-<N>/ subdirectories" },
	{ "exporter", NULL, T_EXPORTER, F(exporters), NULL,
	  "otlp if OTEL_TRACES_EXPORTER=otlp, else openai if a key or endpoint "
	  "is set, else file",
	  "openai | otlp | console | file, or several: openai,otlp,file "
	  "(each its own progress, retries, dead letter and counters)" },
	{ "endpoint", NULL, T_STR, F(endpoint),
	  "https://api.openai.com/v1/traces/ingest", NULL,
	  "openai: URL (http or https)" },
	{ "output", NULL, T_STR, F(output), "-", "(stdout)",
	  "file exporter: JSON lines file" },
	{ "max-batch-size", NULL, T_U32, F(max_batch_size), "128", NULL,
	  "items per export request" },
	{ "schedule-delay", NULL, T_SECS, F(schedule_delay), "5", NULL,
	  "seconds an item may wait before its export starts" },
	{ "export-trigger-ratio", NULL, T_RATIO, F(export_trigger_ratio), "0.7",
	  NULL, "queue or ring fill (0,1] that triggers an export at once" },
	{ "max-queue-size", NULL, T_U32, F(max_queue_size), "8192", NULL,
	  "items held in memory before they go to the spool" },
	{ "max-retries", NULL, T_U32, F(max_retries), "3", NULL,
	  "attempts per export round" },
	{ "base-delay", NULL, T_SECS, F(base_delay), "1", NULL,
	  "first retry delay, seconds (doubles)" },
	{ "max-delay", NULL, T_SECS, F(max_delay), "30", NULL,
	  "largest retry delay, seconds (also caps a server's hint)" },
	{ "compression", NULL, T_CODEC, F(compression), "lz4", NULL,
	  "spool segments: lz4 | gzip | none" },
	{ "wire-compression", NULL, T_CODEC, F(wire_compression), "none", NULL,
	  "request bodies (Content-Encoding): lz4 | gzip | none" },
	{ "spool-dir", NULL, T_STR, F(spool_dir), NULL,
	  "$XDG_STATE_HOME/spanring/spool, else ~/.local/state/spanring/spool, "
	  "/var/lib/spanring/spool as root; <dir>/.spanringd-spool when that "
	  "cannot be made (read-only root, no home)",
	  "durable queue directory; must persist as long as the rings" },
	{ "spool-max-bytes", NULL, T_U64, F(spool_max_bytes), "256M", NULL,
	  "spool size bound (K, M, G suffixes; 0: none); oldest dropped "
	  "beyond" },
	{ "shutdown-timeout", NULL, T_SECS, F(shutdown_timeout), "5", NULL,
	  "seconds SIGTERM may take to drain and flush" },
	{ "stats-file", NULL, T_STR, F(stats_file), NULL,
	  "<dir>/.spanringd.stats.json", "counters, rewritten every second" },
	{ "dead-letter", NULL, T_STR, F(dead_letter), NULL,
	  "<spool-dir>/dead-letter.jsonl",
	  "items the server rejected (with openai and otlp both: one file "
	  "each, -<name> before .jsonl)" },
	{ "log-file", NULL, T_STR, F(log_file), NULL, "stderr",
	  "log file (SIGHUP reopens it)" },
	{ "log-level", NULL, T_LEVEL, F(log_level), "info", NULL,
	  "error | warn | info | debug" },
	{ "poll-interval", NULL, T_SECS, F(poll_interval), "0.1", NULL,
	  "seconds between polls of live rings" },
	{ "orphan-grace", NULL, T_SECS, F(orphan_grace), "0.15", NULL,
	  "seconds between noticing a dead owner and closing its spans" },
	{ "fsync", NULL, T_BOOL, F(fsync), "yes", NULL,
	  "fsync spool segments before rings are committed (yes | no)" },
	{ "api-key-file", NULL, T_KEYFILE, F(api_key), NULL,
	  "OPENAI_API_KEY (also OPENAI_ORG_ID, OPENAI_PROJECT_ID)",
	  "file holding the API key" },
	{ "otlp-endpoint", NULL, T_STR, F(otlp_endpoint),
	  "http://localhost:4318/v1/traces",
	  "unless OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is) or "
	  "OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces) is set",
	  "otlp: traces URL, used as is" },
	{ "otlp-headers", NULL, T_STR, F(otlp_headers), NULL,
	  "OTEL_EXPORTER_OTLP_HEADERS + OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	  "otlp: extra headers k=v,k2=v2 (URL-encoded values; added last)" },
	{ "otlp-compression", NULL, T_STR, F(otlp_compression), "none",
	  "unless OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION is set",
	  "otlp: request bodies gzip | lz4 | none" },
	{ "otlp-timeout", NULL, T_SECS, F(otlp_timeout), "10",
	  "unless OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT (ms) is set",
	  "otlp: seconds a request may take" },
	/* The Collector's gRPC receiver refuses messages over 4 MiB and HTTP
	 * receivers in front of backends often stop near there. */
	{ "otlp-max-body", NULL, T_U64, F(otlp_max_body), "4M", NULL,
	  "otlp: largest request body (K, M, G suffixes); bigger batches are "
	  "sent in halves" },
	{ "service-name", NULL, T_STR, F(service_name), NULL,
	  "OTEL_SERVICE_NAME, else service.name of OTEL_RESOURCE_ATTRIBUTES, "
	  "else the trace's workflow name",
	  "otlp: resource service.name" },
	{ "resource-attributes", NULL, T_STR, F(resource_attributes), NULL,
	  "OTEL_RESOURCE_ATTRIBUTES",
	  "otlp: resource attributes k=v,… (URL-encoded values; added last)" },
	{ "attribute-value-length-limit", NULL, T_U32,
	  F(attr_value_length_limit), NULL,
	  "OTEL_[SPAN_]ATTRIBUTE_VALUE_LENGTH_LIMIT, else none",
	  "otlp: longest attribute string, in characters" },
	/* the OpenTelemetry SDKs' default */
	{ "span-attribute-count-limit", NULL, T_U32, F(span_attr_count_limit),
	  "128", "unless OTEL_[SPAN_]ATTRIBUTE_COUNT_LIMIT is set",
	  "otlp: attributes per span (the rest counted as dropped)" },
	{ "identity", NULL, T_BOOL, F(identity), "yes", NULL,
	  "add host, pod and pid namespace to trace metadata and custom span "
	  "data (yes | no)" },
	{ "check-max-age", NULL, T_SECS, F(check_max_age), "10", NULL,
	  "--check: seconds the stats file may be old" },
	{ "check", "", T_FLAG, F(check), NULL, NULL,
	  "health probe: exit 0 if the running spanringd is well (stats file)" },
	{ "help", "", T_FLAG, F(help), NULL, NULL, "this text" },
	{ "help-markdown", "", T_FLAG, F(help_markdown), NULL, NULL,
	  "the options as a Markdown table (the READMEs' tables)" },
	{ "version", "", T_FLAG, F(version), NULL, NULL, "print the version" },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* The bit of option `flag` in a given mask (0 for no such option). */
static uint64_t opt_bit(const char *flag)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (!strcmp(opts[i].flag, flag))
			return 1ull << i;
	return 0;
}

bool sr_config_given(const struct sr_config *c, const char *flag)
{
	return c->given & opt_bit(flag);
}

static void env_name(const struct opt *o, char *buf, size_t n)
{
	size_t i = 0;

	if (o->env) {
		snprintf(buf, n, "%s", o->env);
		return;
	}
	i = (size_t)snprintf(buf, n, "SPANRINGD_");
	for (const char *p = o->flag; *p && i + 1 < n; p++)
		buf[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	buf[i] = 0;
}

_Static_assert(NOPTS <= 64, "struct sr_config's given has a bit an option");

/* The default as --help shows it: the value, what it depends on, or
 * both. */
static void print_default(FILE *out, const struct opt *o, const char *quote)
{
	if (o->def)
		fprintf(out, "%s%s%s%s%s", quote, o->def, quote,
			o->note ? " " : "", o->note ? o->note : "");
	else
		fprintf(out, "%s", o->note ? o->note : "none");
}

static const char help_tail[] =
	"OPENAI_API_KEY, OPENAI_ORG_ID, OPENAI_PROJECT_ID: credentials and "
	"headers of the openai exporter.\n"
	"Signals: TERM/INT drain and exit, USR1 flush and cut every wait, HUP "
	"reopen\nthe log.\n"
	"Exit codes: 0 ok, 64 usage, 65 bad key file, 66 no input, 69 --check: "
	"not\nrunning or stale, 71 system resources, 73 cannot create, 74 "
	"--check: spool\nfailing, 75 already running, 77 rings or ring "
	"directories it could not read,\n78 config.\n";

void sr_config_help(FILE *out)
{
	char env[64];

	fprintf(out,
		"usage: spanringd [options]\n"
		"Drains spanring rings, assembles spans, batches, spools and "
		"exports them.\nEach option can also be set by the variable "
		"shown (flags win).\n\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		env_name(o, env, sizeof(env));
		fprintf(out, "  --%-22s %s\n", o->flag, o->help);
		if (o->type == T_FLAG)
			continue;
		fprintf(out, "  %-24s   env %s, default ", "", env);
		print_default(out, o, "");
		fputc('\n', out);
	}
	fprintf(out, "\n%s", help_tail);
}

/* Text in a Markdown table cell: '|' escaped, and '<' outside code spans
 * ("<dir>" is not an HTML tag). */
static void md_cell(FILE *out, const char *s)
{
	bool code = false;

	for (; *s; s++) {
		if (*s == '`')
			code = !code;
		if (*s == '|' || (*s == '<' && !code))
			fputc('\\', out);
		fputc(*s, out);
	}
}

void sr_config_help_markdown(FILE *out)
{
	char env[64], *text;
	size_t len;
	FILE *cell;

	fprintf(out, "| flag | variable | default | meaning |\n"
		     "|---|---|---|---|\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt *o = &opts[i];

		env_name(o, env, sizeof(env));
		fprintf(out, "| `--%s` | ", o->flag);
		cell = open_memstream(&text, &len);
		if (!cell)
			return;
		if (o->type == T_FLAG)
			fprintf(cell, "—");
		else
			print_default(cell, o, "`");
		fclose(cell);
		if (o->type == T_FLAG)
			fprintf(out, "— | ");
		else
			fprintf(out, "`%s` | ", env);
		md_cell(out, text);
		fprintf(out, " | ");
		md_cell(out, o->help);
		fprintf(out, " |\n");
		free(text);
	}
}

/* Seconds: decimal digits with an optional fraction ("5", "0.25",
 * ".5"), at most a day. No sign, exponent, hex, inf or nan. */
static int parse_secs(const char *s, double *out)
{
	const char *p = s;
	bool digits = false;
	char *end;
	double v;

	while (isdigit((unsigned char)*p))
		p++, digits = true;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits = true;
	if (!digits || *p)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

/* An http(s) URL libcurl accepts as a whole: a host, a port in range.
 * 0, or -EINVAL with the reason in why. */
static int check_url(const char *v, char *why, size_t n)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	CURLUcode uc;
	int rc = 0;

	if (!u) {
		snprintf(why, n, "out of memory");
		return -ENOMEM;
	}
	uc = curl_url_set(u, CURLUPART_URL, v, 0);
	if (uc) {
		snprintf(why, n, "%s", curl_url_strerror(uc));
		rc = -EINVAL;
	} else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
		   (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		snprintf(why, n, "not an http:// or https:// URL");
		rc = -EINVAL;
	} else if (curl_url_get(u, CURLUPART_HOST, &host, 0) || !*host) {
		snprintf(why, n, "no host");
		rc = -EINVAL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* Header values (API key, organization, project) must not carry control
 * characters: they would end the header line. */
static bool header_safe(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return false;
	return true;
}

/* Binary shift of a size suffix: 10, 20, 30 for K, M, G (either case),
 * 0 for anything else. */
static unsigned suffix_shift(char c)
{
	static const char units[] = "KMG";
	const char *u = c ? strchr(units, toupper((unsigned char)c)) : NULL;

	return u ? 10 * (unsigned)(u - units + 1) : 0;
}

static int parse_u64(const char *s, uint64_t *out, bool suffix)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (suffix && *end && !end[1] && suffix_shift(*end)) {
		mul = 1ull << suffix_shift(*end);
		end++;
	}
	if (*end || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int read_key_file(const char *path, char *key, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -errno;
	got = read(fd, key, n - 1);
	close(fd);
	if (got < 0)
		return -EIO;
	key[got] = 0;
	while (got > 0 && isspace((unsigned char)key[got - 1]))
		key[--got] = 0;
	return got > 0 ? 0 : -ENODATA;
}

static const char *const kind_names[] = { "openai", "console", "file", "null",
					  "otlp" };

const char *sr_exporter_kind_name(enum sr_exporter_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0])
		       ? kind_names[k]
		       : "?";
}

bool sr_config_has(const struct sr_config *c, enum sr_exporter_kind k)
{
	for (unsigned i = 0; i < c->n_exporters; i++)
		if (c->exporters[i] == k)
			return true;
	return false;
}

void sr_config_dead_letter(const struct sr_config *c, enum sr_exporter_kind k,
			   char *buf, size_t n)
{
	const char *p = c->dead_letter;
	size_t len = strlen(p);

	if (!sr_config_has(c, SR_EXP_OPENAI) ||
	    !sr_config_has(c, SR_EXP_OTLP)) {
		snprintf(buf, n, "%s", p);
		return;
	}
	if (len > 6 && !strcmp(p + len - 6, ".jsonl"))
		snprintf(buf, n, "%.*s-%s.jsonl", (int)(len - 6), p,
			 sr_exporter_kind_name(k));
	else
		snprintf(buf, n, "%s-%s", p, sr_exporter_kind_name(k));
}

/* "a,b,…": each a known exporter, at most once. */
static int set_exporters(const char *v, struct sr_config *c)
{
	const size_t nk = sizeof(kind_names) / sizeof(kind_names[0]);
	unsigned n = 0;

	for (const char *p = v;;) {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; i < nk; i++)
			if (strlen(kind_names[i]) == len &&
			    !strncmp(p, kind_names[i], len))
				break;
		if (i == nk || n == SR_EXPORTERS_MAX)
			return -EINVAL;
		for (unsigned j = 0; j < n; j++)
			if (c->exporters[j] == (enum sr_exporter_kind)i)
				return -EINVAL;
		c->exporters[n++] = (enum sr_exporter_kind)i;
		if (!p[len])
			break;
		p += len + 1;
	}
	c->n_exporters = n;
	return 0;
}

static int set_bool(const char *v, bool *b)
{
	if (!strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "true"))
		*b = true;
	else if (!strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "false"))
		*b = false;
	else
		return -EINVAL;
	return 0;
}

/* Stores value v of option o; returns 0 or a sysexits code (message
 * printed). `src` names where the value came from. */
static int set_opt(struct sr_config *c, const struct opt *o, const char *v,
		   const char *src)
{
	void *field = (char *)c + o->off;
	uint64_t u;
	double d;
	int rc = 0;

	switch (o->type) {
	case T_STR:
		if (!*v || strlen(v) >= o->size)
			rc = -EINVAL;
		else
			memcpy(field, v, strlen(v) + 1);
		break;
	case T_EXPORTER:
		rc = set_exporters(v, c);
		break;
	case T_CODEC:
		rc = sr_codec_parse(v, field);
		break;
	case T_U32:
		rc = parse_u64(v, &u, false);
		if (!rc && (u == 0 || u > 1000000))
			rc = -ERANGE;
		if (!rc)
			*(uint32_t *)field = (uint32_t)u;
		break;
	case T_U64:
		rc = parse_u64(v, field, true);
		break;
	case T_SECS:
		rc = parse_secs(v, field);
		break;
	case T_RATIO:
		rc = parse_secs(v, &d);
		if (!rc && (d <= 0 || d > 1))
			rc = -ERANGE;
		if (!rc)
			*(double *)field = d;
		break;
	case T_BOOL:
		rc = set_bool(v, field);
		break;
	case T_LEVEL:
		rc = sr_log_parse_level(v, field);
		break;
	case T_KEYFILE:
		rc = read_key_file(v, c->api_key, sizeof(c->api_key));
		if (rc) {
			fprintf(stderr,
				"spanringd: %s: cannot read key file %s: %s\n",
				src, v, strerror(-rc));
			return SR_EX_NOINPUT;
		}
		if (!header_safe(c->api_key)) {
			fprintf(stderr,
				"spanringd: %s: key file %s holds control "
				"characters inside the key\n",
				src, v);
			return SR_EX_DATAERR;
		}
		return 0;
	case T_FLAG:
		*(bool *)field = true;
		break;
	}
	if (rc) {
		fprintf(stderr,
			"spanringd: %s: invalid value '%s' for --%s (%s)\n",
			src, v, o->flag, o->help);
		return SR_EX_USAGE;
	}
	return 0;
}

static const struct opt *find_opt(const char *flag, size_t n)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(opts[i].flag) == n &&
		    !strncmp(opts[i].flag, flag, n))
			return &opts[i];
	return NULL;
}

/* The table's defaults, then those worked out at start. */
static int defaults(struct sr_config *c)
{
	const char *home = getenv("HOME"), *xdg = getenv("XDG_STATE_HOME");

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NOPTS; i++)
		if (opts[i].def && set_opt(c, &opts[i], opts[i].def, "default"))
			return SR_EX_SOFTWARE;
	if (sr_dir_default(c->dir, sizeof(c->dir)))
		c->dir[0] = 0;
	if (geteuid() == 0)
		snprintf(c->spool_dir, sizeof(c->spool_dir),
			 "/var/lib/spanring/spool");
	else if (xdg && *xdg == '/')
		snprintf(c->spool_dir, sizeof(c->spool_dir),
			 "%s/spanring/spool", xdg);
	else if (home && *home == '/')
		snprintf(c->spool_dir, sizeof(c->spool_dir),
			 "%s/.local/state/spanring/spool", home);
	else
		snprintf(c->spool_dir, sizeof(c->spool_dir),
			 "/tmp/spanring-spool-%u", (unsigned)geteuid());
	return 0;
}

/* The variables; the options they set go into *bits. */
static int load_env(struct sr_config *c, uint64_t *bits)
{
	char env[64], src[80];
	const char *v;
	int rc;

	for (size_t i = 0; i < NOPTS; i++) {
		if (opts[i].type == T_FLAG)
			continue;
		env_name(&opts[i], env, sizeof(env));
		v = getenv(env);
		if (!v || !*v)
			continue;
		snprintf(src, sizeof(src), "environment %s", env);
		rc = set_opt(c, &opts[i], v, src);
		if (rc)
			return rc == SR_EX_USAGE ? SR_EX_CONFIG : rc;
		*bits |= 1ull << i;
	}
	return 0;
}

/* The command line; the options it sets go into *bits. */
static int load_argv(struct sr_config *c, int argc, char **argv, uint64_t *bits)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *v;
		const struct opt *o;
		size_t n;
		int rc;

		if (strncmp(a, "--", 2) != 0) {
			fprintf(stderr,
				"spanringd: unexpected argument '%s' (see "
				"--help)\n",
				a);
			return SR_EX_USAGE;
		}
		a += 2;
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		o = find_opt(a, n);
		if (!o) {
			fprintf(stderr,
				"spanringd: unknown option '%s' (see --help)\n",
				argv[i]);
			return SR_EX_USAGE;
		}
		if (o->type == T_FLAG) {
			*(bool *)((char *)c + o->off) = true;
			continue;
		}
		if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			fprintf(stderr, "spanringd: --%s needs a value\n",
				o->flag);
			return SR_EX_USAGE;
		}
		rc = set_opt(c, o, v, "command line");
		if (rc)
			return rc;
		*bits |= 1ull << (o - opts);
	}
	return 0;
}

/* Checks relations between values once all are known. `endpoint_set`:
 * 0 default, 1 from the environment, 2 from a flag. */
static int finish(struct sr_config *c, int endpoint_set)
{
	const char *v;
	int rc;

	static const struct {
		const char *var;
		size_t off, size;
	} creds[] = {
		{ "OPENAI_API_KEY", F(api_key) },
		{ "OPENAI_ORG_ID", F(org_id) },
		{ "OPENAI_PROJECT_ID", F(project_id) },
	};
	char why[256];

	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		char *field = (char *)c + creds[i].off;

		v = getenv(creds[i].var);
		if (!v || (i == 0 && field[0]))
			continue; /* the key file wins */
		if (strlen(v) >= creds[i].size || !header_safe(v)) {
			/* the value itself is never printed: it may be a key */
			fprintf(stderr, "spanringd: environment %s: %s\n",
				creds[i].var,
				strlen(v) >= creds[i].size
					? "too long"
					: "holds control characters");
			return SR_EX_CONFIG;
		}
		snprintf(field, creds[i].size, "%s", v);
	}
	if (!c->n_exporters) {
		v = getenv("OTEL_TRACES_EXPORTER");
		c->exporters[0] = v && !strcmp(v, "otlp") ? SR_EXP_OTLP
				  : endpoint_set || c->api_key[0]
					  ? SR_EXP_OPENAI
					  : SR_EXP_FILE;
		c->n_exporters = 1;
	}
	if (sr_config_has(c, SR_EXP_FILE) && sr_config_has(c, SR_EXP_CONSOLE) &&
	    !strcmp(c->output, "-")) {
		fprintf(stderr, "spanringd: exporters file and console would "
				"both write to stdout: give the file exporter "
				"--output PATH\n");
		return SR_EX_USAGE;
	}
	if (check_url(c->endpoint, why, sizeof(why))) {
		fprintf(stderr, "spanringd: endpoint '%s' is not usable: %s\n",
			c->endpoint, why);
		return endpoint_set == 1 ? SR_EX_CONFIG : SR_EX_USAGE;
	}
	if (c->max_delay < c->base_delay) {
		fprintf(stderr,
			"spanringd: --max-delay %g is below --base-delay %g\n",
			c->max_delay, c->base_delay);
		return SR_EX_USAGE;
	}
	if (c->schedule_delay <= 0 || c->poll_interval <= 0) {
		fprintf(stderr, "spanringd: --schedule-delay and "
				"--poll-interval must be > 0\n");
		return SR_EX_USAGE;
	}
	if (!c->otlp_max_body) {
		fprintf(stderr, "spanringd: --otlp-max-body must be > 0\n");
		return SR_EX_USAGE;
	}
	if (!c->dir[0]) {
		fprintf(stderr, "spanringd: no ring directory (set --dir)\n");
		return SR_EX_USAGE;
	}
	if (sr_config_has(c, SR_EXP_OTLP) && (rc = sr_otlp_config(c)))
		return rc;
	if (!c->stats_file[0] && snprintf(c->stats_file, sizeof(c->stats_file),
					  "%s/.spanringd.stats.json",
					  c->dir) >= (int)sizeof(c->stats_file))
		return SR_EX_USAGE;
	if (!c->dead_letter[0] &&
	    snprintf(c->dead_letter, sizeof(c->dead_letter),
		     "%s/dead-letter.jsonl",
		     c->spool_dir) >= (int)sizeof(c->dead_letter))
		return SR_EX_USAGE;
	return 0;
}

int sr_config_load(struct sr_config *c, int argc, char **argv)
{
	uint64_t env = 0, flags = 0, ep = opt_bit("endpoint");
	int rc;

	rc = defaults(c);
	if (!rc)
		rc = load_env(c, &env);
	if (!rc)
		rc = load_argv(c, argc, argv, &flags);
	c->given = env | flags;
	if (!rc && !c->help && !c->help_markdown && !c->version)
		rc = finish(c, flags & ep ? 2 : env & ep ? 1 : 0);
	return rc;
}
