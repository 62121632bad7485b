/* SPDX-License-Identifier: MIT */
#include "otlp.h"

static bool identity_key(const char *k);

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/jsonw.h"
#include "common/limits.h"

/* --- a growing text buffer ----------------------------------------------- */

struct sb {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb_need(struct sb *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->oom || b->n + more + 1 <= b->cap)
		return;
	while (cap < b->n + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void sb_raw(struct sb *b, const char *s, size_t n)
{
	sb_need(b, n);
	if (b->oom || !n)
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void sb_lit(struct sb *b, const char *s)
{
	sb_raw(b, s, strlen(s));
}

/* pre, the decimal digits of v, post. */
static void sb_u64(struct sb *b, const char *pre, unsigned long long v,
		   const char *post)
{
	char t[32];
	int n = snprintf(t, sizeof(t), "%llu", v);

	sb_lit(b, pre);
	sb_raw(b, t, (size_t)n);
	sb_lit(b, post);
}

/* Bytes of the first `limit` code points of s[0..n) (0: all). */
static size_t utf8_prefix(const char *s, size_t n, uint32_t limit)
{
	uint32_t cps = 0;

	if (!limit)
		return n;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && cps++ == limit)
			return i;
	return n;
}

/* s[0..n) as a JSON string, cut to `limit` code points (0: no cut). */
static void sb_str(struct sb *b, const char *s, size_t n, uint32_t limit)
{
	struct sr_jw w;
	size_t e;

	n = utf8_prefix(s, n, limit);
	e = sr_json_escaped_len(s, n);
	sb_need(b, e + 2);
	if (b->oom)
		return;
	sr_jw_init(&w, b->p + b->n, e + 3);
	sr_jw_str(&w, s, n);
	b->n += w.len;
	b->p[b->n] = 0;
}

static void sb_cstr(struct sb *b, const char *s)
{
	sb_str(b, s, strlen(s), 0);
}

/* --- attribute lists ------------------------------------------------------ */

/* An attribute: its key and its value, an encoded AnyValue. */
struct kv {
	char *key;
	char *val;
};

struct alist {
	struct kv *v;
	size_t n, cap;
	bool oom;
};

static bool al_has(const struct alist *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->v[i].key, key))
			return true;
	return false;
}

/* Adds key = the AnyValue text in val (taken over). The first value of a
 * key wins: attribute keys are unique. */
static void al_put(struct alist *a, const char *key, struct sb *val)
{
	struct kv *v;

	if (val->oom || !val->p || al_has(a, key)) {
		a->oom |= val->oom;
		free(val->p);
		*val = (struct sb){0};
		return;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;

		v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->oom = true;
			free(val->p);
			*val = (struct sb){0};
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n].key = strdup(key);
	if (!a->v[a->n].key) {
		a->oom = true;
		free(val->p);
	} else {
		a->v[a->n++].val = val->p;
	}
	*val = (struct sb){0};
}

static void al_free(struct alist *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].key);
		free(a->v[i].val);
	}
	free(a->v);
	*a = (struct alist){0};
}

/* Writes [{"key":…,"value":…},…] of at most `max` entries (0: all);
 * returns how many were left out. */
static size_t al_write(struct sb *b, const struct alist *a, size_t max)
{
	size_t n = max && a->n > max ? max : a->n;

	sb_lit(b, "[");
	for (size_t i = 0; i < n; i++) {
		sb_lit(b, i ? ",{\"key\":" : "{\"key\":");
		sb_cstr(b, a->v[i].key);
		sb_lit(b, ",\"value\":");
		sb_lit(b, a->v[i].val);
		sb_lit(b, "}");
	}
	sb_lit(b, "]");
	return a->n - n;
}

/* --- AnyValue ------------------------------------------------------------- */

static void any_string(struct sb *b, const char *s, size_t n, uint32_t lim)
{
	sb_lit(b, "{\"stringValue\":");
	sb_str(b, s, n, lim);
	sb_lit(b, "}");
}

static bool integral(double d)
{
	/* beyond 2^53 a JSON number has lost its digits already */
	return d == floor(d) && fabs(d) < 9007199254740992.0;
}

static void any_number(struct sb *b, double d, bool as_double)
{
	char t[40];

	if (!as_double && integral(d)) {
		snprintf(t, sizeof(t), "{\"intValue\":\"%lld\"}",
			 (long long)d);
	} else {
		/* the shortest text that reads back as the same double */
		snprintf(t, sizeof(t), "%.15g", d);
		if (strtod(t, NULL) != d)
			snprintf(t, sizeof(t), "%.17g", d);
		sb_lit(b, "{\"doubleValue\":");
		sb_lit(b, t);
		sb_lit(b, "}");
		return;
	}
	sb_lit(b, t);
}

/* A homogeneous array of strings, booleans or numbers (an attribute
 * array in OpenTelemetry); others are written as JSON text. */
static bool homogeneous(const cJSON *j, bool *doubles)
{
	const cJSON *e;
	int type = -1;

	*doubles = false;
	cJSON_ArrayForEach(e, j)
	{
		int t = cJSON_IsString(e)   ? 0
			: cJSON_IsBool(e)   ? 1
			: cJSON_IsNumber(e) ? 2
					    : 3;

		if (t == 3 || (type >= 0 && t != type))
			return false;
		type = t;
		if (t == 2 && !integral(e->valuedouble))
			*doubles = true;
	}
	return true;
}

static void any_value(struct sb *b, const cJSON *j, uint32_t lim,
		      bool as_double);

static void any_json(struct sb *b, const cJSON *j, uint32_t lim)
{
	char *t = cJSON_PrintUnformatted(j);

	if (!t) {
		b->oom = true;
		return;
	}
	any_string(b, t, strlen(t), lim);
	free(t);
}

static void any_value(struct sb *b, const cJSON *j, uint32_t lim,
		      bool as_double)
{
	const cJSON *e;
	bool doubles, first = true;

	if (cJSON_IsString(j)) {
		any_string(b, j->valuestring, strlen(j->valuestring), lim);
	} else if (cJSON_IsBool(j)) {
		sb_lit(b, cJSON_IsTrue(j) ? "{\"boolValue\":true}"
					  : "{\"boolValue\":false}");
	} else if (cJSON_IsNumber(j)) {
		any_number(b, j->valuedouble, as_double);
	} else if (cJSON_IsArray(j) && homogeneous(j, &doubles)) {
		sb_lit(b, "{\"arrayValue\":{\"values\":[");
		cJSON_ArrayForEach(e, j)
		{
			if (!first)
				sb_lit(b, ",");
			first = false;
			any_value(b, e, lim, doubles || as_double);
		}
		sb_lit(b, "]}}");
	} else {
		any_json(b, j, lim);
	}
}

/* --- the object ----------------------------------------------------------- */

struct trace_slot {
	uint8_t id[16];
	bool used;
	char *workflow;	   /* heap */
	struct alist attrs; /* the trace's attributes for its spans */
	struct alist res;   /* identity members of its metadata: resource */
};

struct sr_otlp {
	const struct sr_config *c;
	char host[256];
	struct alist res;  /* resource attributes of the configuration */
	struct alist hdrs; /* extra headers (decoded) */
	struct trace_slot *traces;
};

static int hexval(int ch)
{
	return isdigit(ch) ? ch - '0' : tolower(ch) - 'a' + 10;
}

/* Percent-decodes s[0..n) into out (NUL-terminated); false on a bad
 * escape, a control character, or no room. */
static bool url_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '%') {
			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return false;
			ch = hexval((unsigned char)s[i + 1]) * 16 +
			     hexval((unsigned char)s[i + 2]);
			i += 2;
		}
		if (ch < 0x20 || ch == 0x7f || o + 1 >= cap)
			return false;
		out[o++] = (char)ch;
	}
	out[o] = 0;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s))
		(*s)++, (*n)--;
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/*
 * Parses "k=v,k2=v2" (W3C baggage-like, values percent-encoded) calling
 * fn(ctx, key, value) per entry. -EINVAL on an entry without '=', an
 * empty key, or a bad value.
 */
static int parse_pairs(const char *list,
		       int (*fn)(void *ctx, const char *k, const char *v),
		       void *ctx)
{
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ','), *eq;
		size_t n = end ? (size_t)(end - p) : strlen(p), kn;
		char key[256], val[4096];
		int rc;

		eq = memchr(p, '=', n);
		if (!eq) {
			const char *s = p;
			size_t m = n;

			trim(&s, &m);
			if (m)
				return -EINVAL;
			p += n + (end ? 1 : 0);
			continue;
		}
		kn = (size_t)(eq - p);
		{
			const char *k = p, *v = eq + 1;
			size_t vn = n - kn - 1;

			trim(&k, &kn);
			trim(&v, &vn);
			if (!kn || kn >= sizeof(key) ||
			    !url_decode(k, kn, key, sizeof(key)) ||
			    !url_decode(v, vn, val, sizeof(val)))
				return -EINVAL;
		}
		rc = fn(ctx, key, val);
		if (rc)
			return rc;
		p += n + (end ? 1 : 0);
	}
	return 0;
}

static int check_pair(void *ctx, const char *k, const char *v)
{
	(void)ctx;
	for (const char *s = k; *s; s++)
		if (*s == ':' || isspace((unsigned char)*s))
			return -EINVAL;
	(void)v;
	return 0;
}

/* A value set by a later source replaces an earlier one of the same key,
 * so entries are kept in a list where the last wins. */
static int put_string(void *ctx, const char *k, const char *v)
{
	struct alist *a = ctx;
	struct sb s = {0};

	for (size_t i = 0; i < a->n; i++) {
		if (!strcmp(a->v[i].key, k)) {
			char *d = strdup(v);

			if (!d)
				return -ENOMEM;
			free(a->v[i].val);
			a->v[i].val = d;
			return 0;
		}
	}
	sb_lit(&s, v);
	if (!s.p)
		sb_lit(&s, "");
	al_put(a, k, &s);
	return a->oom ? -ENOMEM : 0;
}

/* --- configuration -------------------------------------------------------- */

static const char *env2(const char *traces, const char *generic)
{
	const char *v = getenv(traces);

	if (!v || !*v)
		v = getenv(generic);
	return v && *v ? v : NULL;
}

static int bad_var(const char *name, const char *v, const char *why)
{
	fprintf(stderr, "spanringd: environment %s: invalid value '%s' (%s)\n",
		name, v, why);
	return SR_EX_CONFIG;
}

static int parse_limit(const char *traces, const char *generic,
		       uint32_t *out)
{
	const char *v = env2(traces, generic);
	char *end;
	unsigned long long u;

	if (*out || !v)
		return 0;
	errno = 0;
	u = strtoull(v, &end, 10);
	if (errno || end == v || *end || !isdigit((unsigned char)*v) ||
	    u < 1 || u > 1000000)
		return bad_var(getenv(traces) && *getenv(traces) ? traces
								 : generic,
			       v, "a count from 1 to 1000000");
	*out = (uint32_t)u;
	return 0;
}

static int resolve_endpoint(struct sr_config *c)
{
	const char *v = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	const char *g = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	size_t n;

	if (!c->otlp_endpoint[0] && v && *v) {
		if (strlen(v) >= sizeof(c->otlp_endpoint))
			return bad_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", v,
				       "too long");
		snprintf(c->otlp_endpoint, sizeof(c->otlp_endpoint), "%s", v);
	} else if (!c->otlp_endpoint[0] && g && *g) {
		n = strlen(g);
		while (n && g[n - 1] == '/')
			n--;
		if (n + 11 >= sizeof(c->otlp_endpoint))
			return bad_var("OTEL_EXPORTER_OTLP_ENDPOINT", g,
				       "too long");
		snprintf(c->otlp_endpoint, sizeof(c->otlp_endpoint),
			 "%.*s/v1/traces", (int)n, g);
	} else if (!c->otlp_endpoint[0]) {
		snprintf(c->otlp_endpoint, sizeof(c->otlp_endpoint),
			 "http://localhost:4318/v1/traces");
	}
	if (strncmp(c->otlp_endpoint, "http://", 7) &&
	    strncmp(c->otlp_endpoint, "https://", 8)) {
		fprintf(stderr,
			"spanringd: otlp endpoint '%s' is not an http:// or "
			"https:// URL\n",
			c->otlp_endpoint);
		return SR_EX_USAGE;
	}
	return 0;
}

/* Joins the variables' lists and the flag's (later entries win). */
static int resolve_list(char *field, size_t cap, const char *name1,
			const char *name2, const char *what)
{
	const char *vars[2] = {name1, name2};
	char flag[8192];
	size_t o = 0;

	snprintf(flag, sizeof(flag), "%s", field);
	field[0] = 0;
	for (int i = 0; i < 2; i++) {
		const char *v = vars[i] ? getenv(vars[i]) : NULL;

		if (!v || !*v)
			continue;
		if (parse_pairs(v, check_pair, NULL))
			return bad_var(vars[i], v, what);
		o += (size_t)snprintf(field + o, cap - o, "%s%s",
				      o ? "," : "", v);
		if (o >= cap)
			return bad_var(vars[i], v, "too long");
	}
	if (flag[0]) {
		if (parse_pairs(flag, check_pair, NULL)) {
			fprintf(stderr,
				"spanringd: invalid value '%s' for %s (%s)\n",
				flag, name1, what);
			return SR_EX_USAGE;
		}
		o += (size_t)snprintf(field + o, cap - o, "%s%s",
				      o ? "," : "", flag);
		if (o >= cap)
			return SR_EX_USAGE;
	}
	return 0;
}

static int resolve_compression(struct sr_config *c)
{
	const char *v = c->otlp_compression[0]
			    ? c->otlp_compression
			    : env2("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
				   "OTEL_EXPORTER_OTLP_COMPRESSION");

	if (!v || !strcmp(v, "none"))
		c->otlp_codec = SR_CODEC_NONE;
	else if (!strcmp(v, "gzip"))
		c->otlp_codec = SR_CODEC_GZIP;
	else if (!strcmp(v, "lz4"))
		c->otlp_codec = SR_CODEC_LZ4;
	else if (c->otlp_compression[0]) {
		fprintf(stderr,
			"spanringd: invalid value '%s' for --otlp-compression "
			"(gzip | lz4 | none)\n",
			v);
		return SR_EX_USAGE;
	} else {
		return bad_var("OTEL_EXPORTER_OTLP_COMPRESSION", v,
			       "gzip | lz4 | none");
	}
	return 0;
}

static int resolve_timeout(struct sr_config *c)
{
	const char *v = env2("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
			     "OTEL_EXPORTER_OTLP_TIMEOUT");
	char *end;
	double ms;

	if (c->otlp_timeout >= 0)
		return 0;
	c->otlp_timeout = 10;
	if (!v)
		return 0;
	errno = 0;
	ms = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(ms) || ms <= 0 ||
	    ms > 86400000)
		return bad_var("OTEL_EXPORTER_OTLP_TIMEOUT", v,
			       "milliseconds, > 0");
	c->otlp_timeout = ms / 1000;
	return 0;
}

int sr_otlp_config(struct sr_config *c)
{
	const char *v;
	int rc;

	if ((rc = resolve_endpoint(c)) || (rc = resolve_compression(c)) ||
	    (rc = resolve_timeout(c)))
		return rc;
	rc = resolve_list(c->otlp_headers, sizeof(c->otlp_headers),
			  "OTEL_EXPORTER_OTLP_HEADERS",
			  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
			  "header list k=v,k2=v2 with URL-encoded values");
	if (!rc)
		rc = resolve_list(c->resource_attributes,
				  sizeof(c->resource_attributes),
				  "OTEL_RESOURCE_ATTRIBUTES", NULL,
				  "attribute list k=v,k2=v2 with URL-encoded "
				  "values");
	if (rc)
		return rc;
	if (!c->service_name[0] && (v = getenv("OTEL_SERVICE_NAME")) && *v)
		snprintf(c->service_name, sizeof(c->service_name), "%s", v);
	if ((rc = parse_limit("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
			      "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
			      &c->attr_value_length_limit)) ||
	    (rc = parse_limit("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
			      "OTEL_ATTRIBUTE_COUNT_LIMIT",
			      &c->span_attr_count_limit)))
		return rc;
	if (!c->span_attr_count_limit)
		c->span_attr_count_limit = SR_OTLP_ATTR_COUNT_DEFAULT;
	if (!c->otlp_max_body)
		c->otlp_max_body = SR_OTLP_BODY_MAX;
	return 0;
}

/* --- construction --------------------------------------------------------- */

static int res_string(struct alist *a, const char *k, const char *v)
{
	struct sb s = {0};

	any_string(&s, v, strlen(v), 0);
	al_put(a, k, &s);
	return a->oom ? -ENOMEM : 0;
}

static int res_pair(void *ctx, const char *k, const char *v)
{
	struct alist *a = ctx;

	for (size_t i = 0; i < a->n; i++) {
		if (!strcmp(a->v[i].key, k)) {
			struct sb s = {0};

			any_string(&s, v, strlen(v), 0);
			if (s.oom)
				return -ENOMEM;
			free(a->v[i].val);
			a->v[i].val = s.p;
			return 0;
		}
	}
	return res_string(a, k, v);
}

struct sr_otlp *sr_otlp_new(const struct sr_config *c)
{
	struct sr_otlp *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->c = c;
	o->traces = calloc(SR_OTLP_TRACE_SLOTS, sizeof(*o->traces));
	if (gethostname(o->host, sizeof(o->host) - 1))
		o->host[0] = 0;
	if (!o->traces || parse_pairs(c->otlp_headers, put_string, &o->hdrs) ||
	    (o->host[0] && res_string(&o->res, "host.name", o->host)) ||
	    res_string(&o->res, "telemetry.sdk.name", "spanring") ||
	    res_string(&o->res, "telemetry.sdk.version", SR_VERSION) ||
	    parse_pairs(c->resource_attributes, res_pair, &o->res)) {
		sr_otlp_free(o);
		errno = ENOMEM;
		return NULL;
	}
	return o;
}

void sr_otlp_free(struct sr_otlp *o)
{
	if (!o)
		return;
	for (size_t i = 0; o->traces && i < SR_OTLP_TRACE_SLOTS; i++) {
		free(o->traces[i].workflow);
		al_free(&o->traces[i].attrs);
		al_free(&o->traces[i].res);
	}
	free(o->traces);
	al_free(&o->res);
	al_free(&o->hdrs);
	free(o);
}

int sr_otlp_headers(const struct sr_otlp *o,
		    int (*add)(void *ctx, const char *line), void *ctx)
{
	char line[4608];
	int rc = add(ctx, "Content-Type: application/json");

	if (!rc)
		rc = add(ctx, "User-Agent: spanring/" SR_VERSION);
	for (size_t i = 0; !rc && i < o->hdrs.n; i++) {
		snprintf(line, sizeof(line), "%s: %s", o->hdrs.v[i].key,
			 o->hdrs.v[i].val);
		rc = add(ctx, line);
	}
	explicit_bzero(line, sizeof(line));
	return rc;
}

enum sr_verdict sr_otlp_verdict(long status)
{
	if (status >= 200 && status < 300)
		return SR_V_OK;
	if (status == 0 || status == 429 || status == 502 || status == 503 ||
	    status == 504)
		return SR_V_RETRY;
	return SR_V_REJECT;
}

uint64_t sr_otlp_rejected(const char *answer, char *msg, size_t n)
{
	cJSON *j = cJSON_Parse(answer);
	cJSON *ps = cJSON_GetObjectItemCaseSensitive(j, "partialSuccess");
	cJSON *r = cJSON_GetObjectItemCaseSensitive(ps, "rejectedSpans");
	cJSON *m = cJSON_GetObjectItemCaseSensitive(ps, "errorMessage");
	uint64_t v = 0;

	if (n)
		msg[0] = 0;
	if (cJSON_IsString(r))
		v = strtoull(r->valuestring, NULL, 10);
	else if (cJSON_IsNumber(r) && r->valuedouble > 0)
		v = (uint64_t)r->valuedouble;
	if (cJSON_IsString(m) && n)
		snprintf(msg, n, "%s", m->valuestring);
	cJSON_Delete(j);
	return v;
}

/* --- items ---------------------------------------------------------------- */

/* The members of an object; NULL for anything else. */
static const cJSON *members(const cJSON *j)
{
	return cJSON_IsObject(j) ? j->child : NULL;
}

static const char *str_of(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* "<prefix><hex digits>" → the hex digits, checked. */
static const char *id_hex(const char *s, const char *prefix, size_t hex)
{
	size_t p = strlen(prefix);

	if (!s || strncmp(s, prefix, p) || strlen(s) != p + hex)
		return NULL;
	for (size_t i = p; i < p + hex; i++)
		if (!isxdigit((unsigned char)s[i]))
			return NULL;
	return s + p;
}

static bool trace_key(const char *tid, uint8_t id[16], size_t *slot)
{
	uint64_t h = 0;

	for (int i = 0; i < 16; i++) {
		id[i] = (uint8_t)(hexval((unsigned char)tid[2 * i]) * 16 +
				  hexval((unsigned char)tid[2 * i + 1]));
		h = h * 31 + id[i];
	}
	*slot = (size_t)(h % SR_OTLP_TRACE_SLOTS);
	return true;
}

bool sr_otlp_is_trace(const struct sr_otlp_item *it)
{
	static const char k[] = "{\"object\":\"trace\"";

	return it->n >= sizeof(k) - 1 && !memcmp(it->p, k, sizeof(k) - 1);
}

static void put_value(struct alist *a, const char *key, const cJSON *v,
		      uint32_t lim, bool as_double)
{
	struct sb s = {0};

	if (!v || cJSON_IsNull(v) || al_has(a, key))
		return;
	any_value(&s, v, lim, as_double);
	al_put(a, key, &s);
}

static void put_str(struct alist *a, const char *key, const char *v)
{
	struct sb s = {0};

	if (!v || al_has(a, key))
		return;
	any_string(&s, v, strlen(v), 0);
	al_put(a, key, &s);
}

/* As put_value, but a non-string value goes as its JSON text (message
 * lists, tool arguments: what the conventions keep as JSON strings). */
static void put_text(struct alist *a, const char *key, const cJSON *v,
		     uint32_t lim)
{
	struct sb s = {0};

	if (!v || cJSON_IsNull(v) || al_has(a, key))
		return;
	if (cJSON_IsString(v))
		any_string(&s, v->valuestring, strlen(v->valuestring), lim);
	else
		any_json(&s, v, lim);
	al_put(a, key, &s);
}

void sr_otlp_note_trace(struct sr_otlp *o, const struct sr_otlp_item *it)
{
	cJSON *j = cJSON_ParseWithLength(it->p, it->n), *md;
	const cJSON *e;
	const char *tid = id_hex(str_of(j, "id"), "trace_", 32);
	uint32_t lim = o->c->attr_value_length_limit;
	struct trace_slot *t;
	uint8_t id[16];
	size_t slot;
	char key[300];

	if (!tid || !trace_key(tid, id, &slot)) {
		cJSON_Delete(j);
		return;
	}
	t = &o->traces[slot];
	free(t->workflow);
	al_free(&t->attrs);
	al_free(&t->res);
	memcpy(t->id, id, 16);
	t->used = true;
	t->workflow = str_of(j, "workflow_name") ? strdup(str_of(j, "workflow_name"))
						 : NULL;
	put_value(&t->attrs, "openai.agents.trace.workflow_name",
		  cJSON_GetObjectItemCaseSensitive(j, "workflow_name"), lim,
		  false);
	put_value(&t->attrs, "openai.agents.trace.group_id",
		  cJSON_GetObjectItemCaseSensitive(j, "group_id"), lim, false);
	put_value(&t->attrs, "gen_ai.conversation.id",
		  cJSON_GetObjectItemCaseSensitive(j, "group_id"), lim, false);
	md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
	for (e = members(md); e; e = e->next)
	{
		/* where it came from is the resource's (identity.h) */
		if (identity_key(e->string)) {
			put_value(&t->res, e->string, e, 0, false);
			continue;
		}
		snprintf(key, sizeof(key), "openai.agents.trace.metadata.%s",
			 e->string);
		put_value(&t->attrs, key, e, lim, false);
	}
	cJSON_Delete(j);
}

static const struct trace_slot *trace_of(const struct sr_otlp *o,
					 const char *tid)
{
	uint8_t id[16];
	size_t slot;
	const struct trace_slot *t;

	trace_key(tid, id, &slot);
	t = &o->traces[slot];
	return t->used && !memcmp(t->id, id, 16) ? t : NULL;
}

/* "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" → ns since the epoch. */
static bool iso_ns(const char *s, uint64_t *ns)
{
	int y, mo, d, h, mi, se, len = 0;
	unsigned long us;
	long long days, era, yoe, doy, doe;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6lu+00:00%n", &y, &mo,
			 &d, &h, &mi, &se, &us, &len) != 7 ||
	    len != 32 || mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1970)
		return false;
	/* days from civil (H. Hinnant) */
	y -= mo <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	*ns = ((uint64_t)days * 86400 + (uint64_t)h * 3600 +
	       (uint64_t)mi * 60 + (uint64_t)se) *
		  1000000000ull +
	      (uint64_t)us * 1000ull;
	return true;
}

/* --- the mapping ---------------------------------------------------------- */

struct span {
	char name[512];
	int kind; /* 1 internal, 3 client */
	struct alist attrs;
	struct alist res; /* identity attributes for the resource */
};

static bool is_double_key(const char *k)
{
	static const char *const keys[] = {
	    "temperature",	 "top_p",		   "frequency_penalty",
	    "presence_penalty", "process.cpu.user_time", "process.cpu.system_time",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = strlen(keys[i]), kn = strlen(k);

		if (kn >= n && !strcmp(k + kn - n, keys[i]))
			return true;
	}
	return false;
}

/* The fields of span_data not mapped to a convention:
 * openai.agents.<type>.<field>. */
static void rest(struct span *s, const cJSON *sd, const char *type,
		 const char *const *mapped, uint32_t lim)
{
	const cJSON *e;
	char key[300];

	cJSON_ArrayForEach(e, sd)
	{
		bool skip = !strcmp(e->string, "type");

		for (int i = 0; mapped[i] && !skip; i++)
			skip = !strcmp(e->string, mapped[i]);
		if (skip)
			continue;
		snprintf(key, sizeof(key), "openai.agents.%s.%s", type,
			 e->string);
		put_value(&s->attrs, key, e, lim, is_double_key(e->string));
	}
}

static void name2(struct span *s, const char *op, const char *what)
{
	if (what && *what)
		snprintf(s->name, sizeof(s->name), "%s %s", op, what);
	else
		snprintf(s->name, sizeof(s->name), "%s", op);
}

static void usage(struct span *s, const cJSON *u, uint32_t lim)
{
	const cJSON *e;
	char key[300];

	for (e = members(u); e; e = e->next)
	{
		snprintf(key, sizeof(key), "gen_ai.usage.%s", e->string);
		put_value(&s->attrs, key, e, lim, false);
	}
}

static void map_generation(struct span *s, const cJSON *sd, const char *type,
			   uint32_t lim)
{
	static const char *const mapped[] = {"model",  "model_config", "usage",
					     "input",  "output",
					     "response_id", NULL};
	const cJSON *mc = cJSON_GetObjectItemCaseSensitive(sd, "model_config");
	const cJSON *e;
	char key[300];

	name2(s, "chat", str_of(sd, "model"));
	s->kind = 3;
	put_str(&s->attrs, "gen_ai.operation.name", "chat");
	put_str(&s->attrs, "gen_ai.provider.name", "openai");
	put_value(&s->attrs, "gen_ai.request.model",
		  cJSON_GetObjectItemCaseSensitive(sd, "model"), lim, false);
	put_value(&s->attrs, "gen_ai.response.id",
		  cJSON_GetObjectItemCaseSensitive(sd, "response_id"), lim,
		  false);
	usage(s, cJSON_GetObjectItemCaseSensitive(sd, "usage"), lim);
	for (e = members(mc); e; e = e->next)
	{
		snprintf(key, sizeof(key), "gen_ai.request.%s", e->string);
		if (cJSON_IsObject(e))
			put_text(&s->attrs, key, e, lim);
		else
			put_value(&s->attrs, key, e, lim,
				  is_double_key(e->string));
	}
	put_text(&s->attrs, "gen_ai.input.messages",
		 cJSON_GetObjectItemCaseSensitive(sd, "input"), lim);
	put_text(&s->attrs, "gen_ai.output.messages",
		 cJSON_GetObjectItemCaseSensitive(sd, "output"), lim);
	rest(s, sd, type, mapped, lim);
}

static void map_agent(struct span *s, const cJSON *sd, uint32_t lim)
{
	static const char *const mapped[] = {"name", NULL};

	name2(s, "invoke_agent", str_of(sd, "name"));
	put_str(&s->attrs, "gen_ai.operation.name", "invoke_agent");
	put_str(&s->attrs, "gen_ai.provider.name", "openai");
	put_value(&s->attrs, "gen_ai.agent.name",
		  cJSON_GetObjectItemCaseSensitive(sd, "name"), lim, false);
	rest(s, sd, "agent", mapped, lim);
}

static void map_function(struct span *s, const cJSON *sd, uint32_t lim)
{
	static const char *const mapped[] = {"name", "input", "output", NULL};

	name2(s, "execute_tool", str_of(sd, "name"));
	put_str(&s->attrs, "gen_ai.operation.name", "execute_tool");
	put_value(&s->attrs, "gen_ai.tool.name",
		  cJSON_GetObjectItemCaseSensitive(sd, "name"), lim, false);
	put_str(&s->attrs, "gen_ai.tool.type", "function");
	put_text(&s->attrs, "gen_ai.tool.call.arguments",
		 cJSON_GetObjectItemCaseSensitive(sd, "input"), lim);
	put_text(&s->attrs, "gen_ai.tool.call.result",
		 cJSON_GetObjectItemCaseSensitive(sd, "output"), lim);
	rest(s, sd, "function", mapped, lim);
}

/* Where a span came from (sidecar/identity.h): resource attributes. */
static bool identity_key(const char *k)
{
	return !strncmp(k, "container.", 10) || !strncmp(k, "k8s.", 4) ||
	       !strncmp(k, "host.", 5) || !strcmp(k, "process.pid_namespace");
}

/* custom: span_data.data members are attributes as they are (the shim's
 * own already carry convention names); identity keys go to the resource. */
static void map_custom(struct span *s, const cJSON *sd, uint32_t lim)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(sd, "data"), *e;
	static const char *const mapped[] = {"name", "data", NULL};

	name2(s, str_of(sd, "name") ? str_of(sd, "name") : "custom", NULL);
	for (e = members(data); e; e = e->next)
	{
		if (identity_key(e->string)) {
			put_value(&s->res, e->string, e, 0, false);
			continue;
		}
		put_value(&s->attrs, e->string, e, lim,
			  is_double_key(e->string));
		if (!strcmp(e->string, "server.address") ||
		    !strcmp(e->string, "dns.question.name"))
			s->kind = 3;
	}
	rest(s, sd, "custom", mapped, lim);
}

static void map_span_data(struct span *s, const cJSON *sd, uint32_t lim)
{
	const char *type = str_of(sd, "type");
	static const char *const by_name[] = {"name", NULL};
	static const char *const none[] = {NULL};

	s->kind = 1;
	if (!type)
		type = "custom";
	if (strcmp(type, "custom"))
		put_str(&s->attrs, "openai.agents.span.type", type);
	if (!strcmp(type, "agent")) {
		map_agent(s, sd, lim);
	} else if (!strcmp(type, "function")) {
		map_function(s, sd, lim);
	} else if (!strcmp(type, "generation") || !strcmp(type, "response")) {
		map_generation(s, sd, type, lim);
	} else if (!strcmp(type, "custom")) {
		map_custom(s, sd, lim);
	} else if (!strcmp(type, "handoff")) {
		name2(s, "handoff", str_of(sd, "to_agent"));
		rest(s, sd, type, none, lim);
	} else if (!strcmp(type, "guardrail")) {
		name2(s, "guardrail", str_of(sd, "name"));
		rest(s, sd, type, none, lim);
	} else if (!strcmp(type, "mcp_tools")) {
		name2(s, "mcp_tools", str_of(sd, "server"));
		s->kind = 3;
		put_str(&s->attrs, "mcp.method.name", "tools/list");
		rest(s, sd, type, none, lim);
	} else {
		/* transcription, speech, speech_group and types to come */
		name2(s, type, str_of(sd, "model") ? str_of(sd, "model")
						   : str_of(sd, "name"));
		put_value(&s->attrs, "gen_ai.request.model",
			  cJSON_GetObjectItemCaseSensitive(sd, "model"), lim,
			  false);
		rest(s, sd, type, by_name, lim);
	}
}

/* Error data as attributes: error.type (the errno name when the data
 * holds one, else the message) and error.data.<key>. */
static void map_error(struct span *s, const cJSON *err, uint32_t lim)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(err, "data"), *e;
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(data, "errno");
	const char *type = NULL;
	char key[300];

	if (cJSON_IsNumber(en) && en->valuedouble > 0 &&
	    en->valuedouble < 4096)
		type = strerrorname_np((int)en->valuedouble);
	if (!type)
		type = str_of(err, "message");
	put_str(&s->attrs, "error.type", type ? type : "_OTHER");
	for (e = members(data); e; e = e->next)
	{
		snprintf(key, sizeof(key), "error.data.%s", e->string);
		put_value(&s->attrs, key, e, lim, false);
	}
}

/* The resource of a span: service.name, then its identity attributes,
 * then the configured ones. */
static void write_resource(struct sb *r, const struct sr_otlp *o,
			   const struct trace_slot *t, struct span *s)
{
	const char *svc = o->c->service_name;

	if (!svc[0] && al_has(&o->res, "service.name"))
		svc = NULL;
	else if (!svc[0])
		svc = t && t->workflow ? t->workflow
				       : "unknown_service:spanringd";
	if (svc) {
		struct sb v = {0};
		struct alist a = {0};

		any_string(&v, svc, strlen(svc), 0);
		al_put(&a, "service.name", &v);
		for (size_t i = 0; i < s->res.n; i++)
			if (!al_has(&a, s->res.v[i].key)) {
				struct sb c = {0};

				sb_lit(&c, s->res.v[i].val);
				al_put(&a, s->res.v[i].key, &c);
			}
		for (size_t i = 0; i < o->res.n; i++)
			if (!al_has(&a, o->res.v[i].key)) {
				struct sb c = {0};

				sb_lit(&c, o->res.v[i].val);
				al_put(&a, o->res.v[i].key, &c);
			}
		al_write(r, &a, 0);
		r->oom |= a.oom;
		al_free(&a);
		return;
	}
	/* service.name from OTEL_RESOURCE_ATTRIBUTES: keep their order */
	{
		struct alist a = {0};

		for (size_t i = 0; i < o->res.n; i++) {
			struct sb c = {0};

			sb_lit(&c, o->res.v[i].val);
			al_put(&a, o->res.v[i].key, &c);
		}
		for (size_t i = 0; i < s->res.n; i++) {
			struct sb c = {0};

			sb_lit(&c, s->res.v[i].val);
			al_put(&a, s->res.v[i].key, &c);
		}
		al_write(r, &a, 0);
		r->oom |= a.oom;
		al_free(&a);
	}
}

/* One span object → its OTLP span (out) and resource attributes (res).
 * -EINVAL when the item is not a span object. */
static int encode_span(struct sr_otlp *o, const struct sr_otlp_item *it,
		       struct sb *out, struct sb *res)
{
	cJSON *j = cJSON_ParseWithLength(it->p, it->n);
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(j, "span_data");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	const char *tid = id_hex(str_of(j, "trace_id"), "trace_", 32);
	const char *sid = id_hex(str_of(j, "id"), "span_", 24);
	const char *pid = id_hex(str_of(j, "parent_id"), "span_", 24);
	uint32_t lim = o->c->attr_value_length_limit;
	const struct trace_slot *t;
	struct span s = {.kind = 1};
	uint64_t start, end;
	size_t dropped;

	if (!tid || !sid || !cJSON_IsObject(sd) ||
	    !iso_ns(str_of(j, "started_at"), &start) ||
	    !iso_ns(str_of(j, "ended_at"), &end)) {
		cJSON_Delete(j);
		return -EINVAL;
	}
	if (end < start)
		end = start; /* a stepped clock: OTLP wants end >= start */
	map_span_data(&s, sd, lim);
	if (cJSON_IsObject(err))
		map_error(&s, err, lim);
	t = trace_of(o, tid);
	for (size_t i = 0; t && i < t->attrs.n; i++) {
		struct sb c = {0};

		if (al_has(&s.attrs, t->attrs.v[i].key))
			continue;
		sb_lit(&c, t->attrs.v[i].val);
		al_put(&s.attrs, t->attrs.v[i].key, &c);
	}
	for (size_t i = 0; t && i < t->res.n; i++) {
		struct sb c = {0};

		if (al_has(&s.res, t->res.v[i].key))
			continue;
		sb_lit(&c, t->res.v[i].val);
		al_put(&s.res, t->res.v[i].key, &c);
	}
	/* W3C span id: the last 16 hex of the OpenAI id (WIRE.md §4) */
	sb_lit(out, "{\"traceId\":\"");
	for (int i = 0; i < 32; i++)
		sb_raw(out, (char[]){(char)tolower((unsigned char)tid[i])}, 1);
	sb_lit(out, "\",\"spanId\":\"");
	for (int i = 8; i < 24; i++)
		sb_raw(out, (char[]){(char)tolower((unsigned char)sid[i])}, 1);
	sb_lit(out, "\"");
	if (pid) {
		sb_lit(out, ",\"parentSpanId\":\"");
		for (int i = 8; i < 24; i++)
			sb_raw(out,
			       (char[]){(char)tolower((unsigned char)pid[i])},
			       1);
		sb_lit(out, "\"");
	}
	sb_lit(out, ",\"name\":");
	sb_str(out, s.name, strlen(s.name), 0);
	sb_u64(out, ",\"kind\":", (unsigned long long)s.kind, "");
	sb_u64(out, ",\"startTimeUnixNano\":\"", start, "\"");
	sb_u64(out, ",\"endTimeUnixNano\":\"", end, "\"");
	sb_lit(out, ",\"attributes\":");
	dropped = al_write(out, &s.attrs, o->c->span_attr_count_limit);
	sb_u64(out, ",\"droppedAttributesCount\":", dropped, "");
	sb_lit(out, ",\"events\":[],\"droppedEventsCount\":0,\"status\":");
	if (cJSON_IsObject(err)) {
		const char *m = str_of(err, "message");

		sb_lit(out, "{\"code\":2,\"message\":");
		sb_str(out, m ? m : "", m ? strlen(m) : 0, 0);
		sb_lit(out, "}");
	} else {
		sb_lit(out, "{\"code\":0}");
	}
	sb_lit(out, ",\"links\":[],\"droppedLinksCount\":0,\"flags\":1}");
	write_resource(res, o, t, &s);
	out->oom |= s.attrs.oom || s.res.oom;
	al_free(&s.attrs);
	al_free(&s.res);
	cJSON_Delete(j);
	return out->oom || res->oom ? -ENOMEM : 0;
}

struct group {
	struct sb res;	 /* resource attributes text */
	struct sb spans; /* spans, comma-separated */
};

int sr_otlp_body(struct sr_otlp *o, const struct sr_otlp_item *it, size_t n,
		 char **body, size_t *len, size_t *skipped)
{
	struct group *g = calloc(n + 1, sizeof(*g));
	size_t ng = 0;
	struct sb b = {0};
	int rc = 0;

	*skipped = 0;
	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		struct sb s = {0}, r = {0};
		size_t k;

		if (sr_otlp_is_trace(&it[i])) {
			sr_otlp_note_trace(o, &it[i]);
			(*skipped)++;
			continue;
		}
		rc = encode_span(o, &it[i], &s, &r);
		if (rc == -EINVAL) {
			(*skipped)++;
			rc = 0;
			free(s.p);
			free(r.p);
			continue;
		}
		for (k = 0; !rc && k < ng; k++)
			if (g[k].res.n == r.n && !memcmp(g[k].res.p, r.p, r.n))
				break;
		if (!rc && k == ng)
			g[ng++].res = r;
		else
			free(r.p);
		if (!rc) {
			if (g[k].spans.n)
				sb_lit(&g[k].spans, ",");
			sb_raw(&g[k].spans, s.p, s.n);
			rc = g[k].spans.oom ? -ENOMEM : 0;
		}
		free(s.p);
	}
	sb_lit(&b, "{\"resourceSpans\":[");
	for (size_t k = 0; k < ng; k++) {
		if (k)
			sb_lit(&b, ",");
		sb_lit(&b, "{\"resource\":{\"attributes\":");
		sb_raw(&b, g[k].res.p, g[k].res.n);
		sb_lit(&b, ",\"droppedAttributesCount\":0},\"scopeSpans\":[{"
			   "\"scope\":{\"name\":\"spanring\",\"version\":\"" SR_VERSION
			   "\"},\"spans\":[");
		sb_raw(&b, g[k].spans.p, g[k].spans.n);
		sb_lit(&b, "]}]}");
		free(g[k].res.p);
		free(g[k].spans.p);
	}
	sb_lit(&b, "]}");
	free(g);
	if (rc || b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*body = b.p;
	*len = b.n;
	return 0;
}
