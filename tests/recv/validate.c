/* SPDX-License-Identifier: MIT */
#include "validate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/jsonscan.h"

void sr_recv_error(struct sr_recv_errors *e, const char *fmt, ...)
{
	va_list ap;

	e->total++;
	if (e->n == SR_RECV_MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(e->msg[e->n++], sizeof(e->msg[0]), fmt, ap);
	va_end(ap);
}

static bool hex_id(const char *s, const char *prefix, size_t hex)
{
	size_t p = strlen(prefix);

	if (strncmp(s, prefix, p) || strlen(s) != p + hex)
		return false;
	for (size_t i = p; i < p + hex; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SS.ffffff+00:00": the one form sr_fmt_iso writes. */
static bool iso_ts(const char *s)
{
	uint64_t ns;

	return strlen(s) == SR_ISO_LEN - 1 && sr_parse_iso(s, strlen(s), &ns) &&
	       s[19] == '.' && !strcmp(s + 26, "+00:00");
}

static bool keys_are(const cJSON *o, const char *const *keys, int n)
{
	const cJSON *c = o->child;

	for (int i = 0; i < n; i++, c = c->next)
		if (!c || !c->string || strcmp(c->string, keys[i]))
			return false;
	return c == NULL;
}

static void check_trace(const cJSON *it, int i, struct sr_recv_errors *e)
{
	static const char *const keys[] = { "object", "id", "workflow_name",
					    "group_id", "metadata" };
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
	const cJSON *g = cJSON_GetObjectItemCaseSensitive(it, "group_id");
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "metadata");

	if (!keys_are(it, keys, 5))
		sr_recv_error(e,
			      "data[%d]: trace keys not "
			      "object,id,workflow_name,group_id,metadata",
			      i);
	if (!cJSON_IsString(id) || !hex_id(id->valuestring, "trace_", 32))
		sr_recv_error(e, "data[%d].id: not trace_ + 32 lowercase hex",
			      i);
	if (!cJSON_IsString(
		    cJSON_GetObjectItemCaseSensitive(it, "workflow_name")))
		sr_recv_error(e, "data[%d].workflow_name: not a string", i);
	if (!cJSON_IsNull(g) && !cJSON_IsString(g))
		sr_recv_error(e, "data[%d].group_id: not a string or null", i);
	if (!cJSON_IsNull(m) && !cJSON_IsObject(m))
		sr_recv_error(e, "data[%d].metadata: not an object or null", i);
}

static void check_error(const cJSON *err, int i, struct sr_recv_errors *e)
{
	static const char *const keys[] = { "message", "data" };
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(err, "data");

	if (cJSON_IsNull(err))
		return;
	if (!cJSON_IsObject(err) || !keys_are(err, keys, 2) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(err, "message")) ||
	    (!cJSON_IsNull(d) && !cJSON_IsObject(d)))
		sr_recv_error(e,
			      "data[%d].error: not null or {message: string, "
			      "data: object|null}",
			      i);
}

static void check_span(const cJSON *it, int i, struct sr_recv_errors *e)
{
	static const char *const keys[] = { "object",     "id",
					    "trace_id",   "parent_id",
					    "started_at", "ended_at",
					    "span_data",  "error" };
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
	const cJSON *tid = cJSON_GetObjectItemCaseSensitive(it, "trace_id");
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(it, "parent_id");
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(it, "span_data");
	const char *ts[2] = { "started_at", "ended_at" };

	if (!keys_are(it, keys, 8))
		sr_recv_error(e, "data[%d]: span keys not in WIRE.md order", i);
	if (!cJSON_IsString(id) || !hex_id(id->valuestring, "span_", 24))
		sr_recv_error(e, "data[%d].id: not span_ + 24 lowercase hex",
			      i);
	if (!cJSON_IsString(tid) || !hex_id(tid->valuestring, "trace_", 32))
		sr_recv_error(e,
			      "data[%d].trace_id: not trace_ + 32 lowercase hex",
			      i);
	if (!cJSON_IsNull(pid) &&
	    (!cJSON_IsString(pid) || !hex_id(pid->valuestring, "span_", 24)))
		sr_recv_error(e, "data[%d].parent_id: not null or a span id",
			      i);
	for (int k = 0; k < 2; k++) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, ts[k]);

		if (!cJSON_IsString(t) || !iso_ts(t->valuestring))
			sr_recv_error(
				e,
				"data[%d].%s: not YYYY-MM-DDTHH:MM:SS.ffffff+00:00",
				i, ts[k]);
	}
	if (!cJSON_IsObject(sd) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sd, "type")))
		sr_recv_error(e,
			      "data[%d].span_data: not an object with a type",
			      i);
	check_error(cJSON_GetObjectItemCaseSensitive(it, "error"), i, e);
}

void sr_recv_check_item(const cJSON *it, int i, struct sr_recv_errors *e)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(it, "object");

	if (!cJSON_IsObject(it) || !cJSON_IsString(o))
		sr_recv_error(e, "data[%d]: not an object with \"object\"", i);
	else if (!strcmp(o->valuestring, "trace"))
		check_trace(it, i, e);
	else if (!strcmp(o->valuestring, "trace.span"))
		check_span(it, i, e);
	else
		sr_recv_error(e, "data[%d].object: unknown \"%.40s\"", i,
			      o->valuestring);
}

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

int sr_recv_split_data(const char *text, size_t len,
		       void (*fn)(void *ctx, int i, const char *p, size_t n),
		       void *ctx)
{
	const char *end = text + len, *p = ws(text, end);
	int n = 0;

	if (p + 9 > end || strncmp(p, "{\"data\":", 8))
		return -1;
	p = ws(p + 8, end);
	if (p >= end || *p != '[')
		return -1;
	p = ws(p + 1, end);
	if (p < end && *p == ']')
		return 0;
	while (p < end) {
		const char *q = sr_json_skip(p, end);

		if (!q)
			return -1;
		fn(ctx, n++, p, (size_t)(q - p));
		p = ws(q, end);
		if (p < end && *p == ',') {
			p = ws(p + 1, end);
			continue;
		}
		return p < end && *p == ']' ? n : -1;
	}
	return -1;
}

/* The raw bytes of member `key` of the object text starting at p (compact
 * or not): its value's start and length, or NULL. */
static const char *raw_member(const char *p, const char *end, const char *key,
			      size_t *n)
{
	size_t kn = strlen(key);

	p = ws(p, end);
	if (p >= end || *p != '{')
		return NULL;
	p = ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *k = p, *v, *q;

		p = sr_json_skip(p, end);
		if (!p)
			return NULL;
		p = ws(p, end);
		if (p >= end || *p != ':')
			return NULL;
		v = ws(p + 1, end);
		q = sr_json_skip(v, end);
		if (!q)
			return NULL;
		if ((size_t)(p - k) >= kn + 2 && !strncmp(k + 1, key, kn) &&
		    k[kn + 1] == '"') {
			*n = (size_t)(q - v);
			return v;
		}
		p = ws(q, end);
		if (p < end && *p == ',')
			p = ws(p + 1, end);
		else
			break;
	}
	return NULL;
}

int sr_recv_check_ingest(const cJSON *it, const char *raw, size_t n,
			 char *param, size_t plen)
{
	static const char *const fields[] = { "input", "output" };
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(it, "span_data");
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(sd, "usage"), *m;
	const char *rsd, *f;
	size_t sdn, fn;

	if (u) {
		if (!cJSON_IsObject(u)) {
			snprintf(param, plen, "span_data.usage");
			return -1;
		}
		cJSON_ArrayForEach(m, u)
		{
			if (strcmp(m->string, "input_tokens") &&
			    strcmp(m->string, "output_tokens") &&
			    (strcmp(m->string, "details") ||
			     !cJSON_IsObject(m))) {
				snprintf(param, plen, "span_data.usage.%.60s",
					 m->string);
				return -1;
			}
		}
	}
	rsd = raw ? raw_member(raw, raw + n, "span_data", &sdn) : NULL;
	for (int k = 0; rsd && k < 2; k++) {
		f = raw_member(rsd, rsd + sdn, fields[k], &fn);
		if (f && fn > SR_RECV_FIELD_MAX) {
			snprintf(param, plen, "span_data.%s", fields[k]);
			return -1;
		}
	}
	return 0;
}
