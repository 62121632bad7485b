/* SPDX-License-Identifier: MIT */
#include "encode.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/jsonscan.h"
#include "common/jsonw.h"

/* 9999-12-31T23:59:59: sr_fmt_iso() clamps later times. */
#define ISO_LAST_SEC 253402300799ull

/* Parses s as one JSON object (whitespace around allowed). NULL when it is
 * anything else. An empty text gives an empty object when `empty_ok`. */
static cJSON *parse_object(struct sr_str s, int empty_ok)
{
	const char *end = NULL;
	cJSON *j;

	if (s.n == 0)
		return empty_ok ? cJSON_CreateObject() : NULL;
	j = cJSON_ParseWithLengthOpts(s.p, s.n, &end, 0);
	if (!j)
		return NULL;
	while (end && end < s.p + s.n &&
	       (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (!cJSON_IsObject(j) || end != s.p + s.n) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/* Compact text of j with invalid UTF-8 replaced by U+FFFD (cJSON copies
 * string bytes as they are). malloc'd, or NULL. */
static char *print_clean(const cJSON *j)
{
	char *p = cJSON_PrintUnformatted(j), *q;
	size_t n, i = 0, o = 0;

	if (!p)
		return NULL;
	n = strlen(p);
	for (i = 0; i < n;) {
		size_t k = sr_utf8_seq((const unsigned char *)p + i, n - i);

		if (!k)
			break;
		i += k;
	}
	if (i == n)
		return p;
	q = malloc(n * 3 + 1);
	if (!q) {
		free(p);
		return NULL;
	}
	for (i = 0; i < n;) {
		size_t k = sr_utf8_seq((const unsigned char *)p + i, n - i);

		if (k) {
			memcpy(q + o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(q + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	q[o] = 0;
	free(p);
	return q;
}

/* --- fast path: validate and compact without building a tree ----------- */

/* Nesting accepted on the fast path (deeper texts take cJSON's path). */
#define FAST_DEPTH 64

struct jc {
	const unsigned char *p, *end;
	char *out; /* compact copy */
	size_t o;
	int slow; /* valid maybe, but cJSON must normalise it */
};

static void jc_ws(struct jc *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
				 *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static void jc_put(struct jc *c, const unsigned char *from, size_t n)
{
	memcpy(c->out + c->o, from, n);
	c->o += n;
}

static bool jc_string(struct jc *c)
{
	const unsigned char *s = c->p++;

	while (c->p < c->end && *c->p != '"') {
		if (*c->p < 0x20)
			return false;
		if (*c->p == '\\') {
			if (++c->p >= c->end)
				return false;
			if (*c->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (c->p + i >= c->end ||
					    !isxdigit(c->p[i]))
						return false;
				c->p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *c->p) || !*c->p)
				return false;
			c->p++;
			continue;
		}
		if (*c->p >= 0x80) {
			size_t k = sr_utf8_seq(c->p, (size_t)(c->end - c->p));

			if (!k) {
				c->slow = 1; /* repaired by print_clean */
				k = 1;
			}
			c->p += k;
			continue;
		}
		c->p++;
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	jc_put(c, s, (size_t)(c->p - s));
	return true;
}

static bool jc_number(struct jc *c)
{
	const unsigned char *s = c->p;

	if (*c->p == '-')
		c->p++;
	if (c->p >= c->end || !isdigit(*c->p))
		return false;
	if (*c->p == '0')
		c->p++;
	else
		while (c->p < c->end && isdigit(*c->p))
			c->p++;
	if (c->p < c->end && *c->p == '.') {
		if (++c->p >= c->end || !isdigit(*c->p))
			return false;
		while (c->p < c->end && isdigit(*c->p))
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->slow = 1; /* an exponent may overflow to infinity */
		if (++c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (c->p >= c->end || !isdigit(*c->p))
			return false;
		while (c->p < c->end && isdigit(*c->p))
			c->p++;
	}
	jc_put(c, s, (size_t)(c->p - s));
	return true;
}

static bool jc_value(struct jc *c, int depth);

static bool jc_container(struct jc *c, int depth, unsigned char close)
{
	bool obj = close == '}';

	if (depth > FAST_DEPTH) {
		c->slow = 1;
		return false;
	}
	jc_put(c, c->p++, 1);
	jc_ws(c);
	if (c->p < c->end && *c->p == close) {
		jc_put(c, c->p++, 1);
		return true;
	}
	for (;;) {
		jc_ws(c);
		if (obj) {
			if (c->p >= c->end || *c->p != '"' || !jc_string(c))
				return false;
			jc_ws(c);
			if (c->p >= c->end || *c->p != ':')
				return false;
			jc_put(c, c->p++, 1);
		}
		if (!jc_value(c, depth + 1))
			return false;
		jc_ws(c);
		if (c->p >= c->end)
			return false;
		if (*c->p == close) {
			jc_put(c, c->p++, 1);
			return true;
		}
		if (*c->p != ',')
			return false;
		jc_put(c, c->p++, 1);
	}
}

static bool jc_word(struct jc *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
		return false;
	jc_put(c, c->p, n);
	c->p += n;
	return true;
}

static bool jc_value(struct jc *c, int depth)
{
	jc_ws(c);
	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{':
		return jc_container(c, depth, '}');
	case '[':
		return jc_container(c, depth, ']');
	case '"':
		return jc_string(c);
	case 't':
		return jc_word(c, "true");
	case 'f':
		return jc_word(c, "false");
	case 'n':
		return jc_word(c, "null");
	default:
		return jc_number(c);
	}
}

/*
 * Compact copy of a JSON object text without a tree: 1 and a malloc'd
 * *out when the fast path can vouch for it; 0 when cJSON must decide
 * (invalid, or needs normalising: bad UTF-8, exponents, deep nesting).
 */
static int fast_object(struct sr_str s, char **out, size_t *len)
{
	struct jc c = {(const unsigned char *)s.p,
		       (const unsigned char *)s.p + s.n, malloc(s.n + 1), 0, 0};
	bool ok;

	if (!c.out)
		return 0;
	jc_ws(&c);
	ok = c.p < c.end && *c.p == '{' && jc_container(&c, 0, '}');
	jc_ws(&c);
	if (!ok || c.slow || c.p != c.end) {
		free(c.out);
		return 0;
	}
	c.out[c.o] = 0;
	*out = c.out;
	*len = c.o;
	return 1;
}

/* Compact text of an object (*len bytes): fast path, else cJSON. NULL
 * if invalid. */
static char *object_text(struct sr_str s, size_t *len)
{
	char *t = NULL;
	cJSON *j;

	if (fast_object(s, &t, len))
		return t;
	j = parse_object(s, 0);
	if (!j)
		return NULL;
	t = print_clean(j);
	cJSON_Delete(j);
	if (t)
		*len = strlen(t);
	return t;
}

/* A literal's bytes, without strlen (this runs for every span). */
#define LIT(w, s) sr_jw_raw((w), (s), sizeof(s) - 1)

/* Moves every member of `from` into `to`, replacing same-named ones. */
static int merge(cJSON *to, cJSON *from)
{
	cJSON *m;

	while ((m = from->child)) {
		/* cJSON frees the item's own key before copying the new one,
		 * so the key must not be the item's */
		char *key = strdup(m->string ? m->string : "");
		cJSON_bool ok;

		cJSON_DetachItemViaPointer(from, m);
		if (!key) {
			cJSON_Delete(m);
			return -ENOMEM;
		}
		if (cJSON_GetObjectItemCaseSensitive(to, key))
			ok = cJSON_ReplaceItemInObjectCaseSensitive(to, key, m);
		else
			ok = cJSON_AddItemToObject(to, key, m);
		free(key);
		if (!ok) {
			cJSON_Delete(m);
			return -ENOMEM;
		}
	}
	return 0;
}

static size_t esc(struct sr_str s)
{
	return sr_json_escaped_len(s.p, s.n) + 2;
}

static int finish(struct sr_jw *w, char *buf, char **out, size_t *len)
{
	if (w->overflow) {
		free(buf);
		return -ENOMEM;
	}
	sr_jw_cstr(w);
	*out = buf;
	*len = w->len;
	return 0;
}

int sr_encode_trace(const struct sr_trace_rec *t, char **out, size_t *len)
{
	char id[SR_TRACE_ID_STR], *meta = NULL, *buf;
	struct sr_jw w;
	size_t cap, mlen = 0;
	int rc;

	if (sr_id_is_zero(t->trace_id, 16))
		return -EBADMSG;
	if (t->metadata.n) {
		meta = object_text(t->metadata, &mlen);
		if (!meta)
			return -EBADMSG;
	}
	cap = 160 + esc(t->workflow) + esc(t->group_id) + mlen;
	buf = malloc(cap);
	if (!buf) {
		free(meta);
		return -ENOMEM;
	}
	sr_fmt_trace_id(id, t->trace_id);
	sr_jw_init(&w, buf, cap);
	sr_jw_lit(&w, "{\"object\":\"trace\",\"id\":\"");
	sr_jw_lit(&w, id);
	sr_jw_lit(&w, "\",\"workflow_name\":");
	sr_jw_str(&w, t->workflow.p, t->workflow.n);
	sr_jw_lit(&w, ",\"group_id\":");
	if (t->group_id.n)
		sr_jw_str(&w, t->group_id.p, t->group_id.n);
	else
		sr_jw_lit(&w, "null");
	sr_jw_lit(&w, ",\"metadata\":");
	sr_jw_lit(&w, meta ? meta : "null");
	sr_jw_lit(&w, "}");
	free(meta);
	rc = finish(&w, buf, out, len);
	return rc;
}

/* True if the compact object text has a top-level "type" string. */
static bool has_type(const char *o, size_t len)
{
	const char *end = o + len, *p = o + 1;

	while (*p == '"') {
		bool is_type = !strncmp(p, "\"type\":", 7);

		p = sr_json_skip(p, end); /* key, then ':' */
		if (!p || p == end)
			return false;
		p++;
		if (is_type)
			return *p == '"';
		p = sr_json_skip(p, end);
		if (!p || *p != ',')
			break;
		p++;
	}
	return false;
}

/* A custom span's data with a SPAN_END's members merged in (rare: only
 * process and exec spans end that way), through cJSON. */
static char *merged_data(struct sr_str data, struct sr_str extra)
{
	cJSON *d = parse_object(data, 1), *x = parse_object(extra, 1);
	char *t = NULL;

	if (d && x && !merge(d, x))
		t = print_clean(d);
	cJSON_Delete(d);
	cJSON_Delete(x);
	return t;
}

/* The span_data text (*len bytes): the caller's whole object (C API
 * spans), or the data object of a custom span with `extra` merged in;
 * put_span_data() writes the custom span's wrapper around it. */
static char *span_data(const struct sr_span_rec *s, struct sr_str extra,
		       size_t *len)
{
	char *d;

	if (s->flags & SR_SF_SPAN_DATA) {
		d = object_text(s->data, len);
		if (d && !has_type(d, *len)) {
			free(d);
			d = NULL;
		}
		return d;
	}
	if (extra.n)
		d = merged_data(s->data, extra);
	else if (s->data.n)
		return object_text(s->data, len);
	else
		d = strdup("{}");
	if (d)
		*len = strlen(d);
	return d;
}

/* {"type":"custom","name":NAME,"data":DATA} or the caller's object. */
static void put_span_data(struct sr_jw *w, const struct sr_span_rec *s,
			  const char *d, size_t len)
{
	if (s->flags & SR_SF_SPAN_DATA) {
		sr_jw_raw(w, d, len);
		return;
	}
	LIT(w, "{\"type\":\"custom\",\"name\":");
	sr_jw_str(w, s->name.p, s->name.n);
	LIT(w, ",\"data\":");
	sr_jw_raw(w, d, len);
	LIT(w, "}");
}

/*
 * ISO text of a time. The part up to the seconds is formatted once per
 * second and reused (spans come in bursts of the same second); only
 * the microseconds are written each time. Same text as sr_fmt_iso().
 */
static const char *iso(char out[SR_ISO_LEN], uint64_t ns)
{
	static _Thread_local uint64_t sec = UINT64_MAX;
	static _Thread_local char head[SR_ISO_LEN];
	uint64_t s = ns / 1000000000ull;
	unsigned us = (unsigned)(ns % 1000000000ull / 1000);

	if (s > ISO_LAST_SEC) /* clamped by sr_fmt_iso */
		return sr_fmt_iso(out, ns);
	if (s != sec) {
		sr_fmt_iso(head, ns);
		sec = s;
	}
	memcpy(out, head, SR_ISO_LEN);
	for (int i = 25; i >= 20; i--, us /= 10)
		out[i] = (char)('0' + us % 10);
	return out;
}

static void put_error(struct sr_jw *w, const struct sr_span_rec *s,
		      const char *edata, size_t elen)
{
	if (!s->err.n && !(s->flags & SR_SF_ERROR)) {
		LIT(w, "null");
		return;
	}
	LIT(w, "{\"message\":");
	if (s->err.n)
		sr_jw_str(w, s->err.p, s->err.n);
	else
		LIT(w, "\"error\"");
	LIT(w, ",\"data\":");
	if (edata)
		sr_jw_raw(w, edata, elen);
	else
		LIT(w, "null");
	LIT(w, "}");
}

int sr_encode_span(const struct sr_span_rec *s, struct sr_str extra, char **out,
		   size_t *len)
{
	char id[SR_SPAN_ID_STR], pid[SR_SPAN_ID_STR], tid[SR_TRACE_ID_STR];
	char t0[SR_ISO_LEN], t1[SR_ISO_LEN], *sd, *ed = NULL, *buf;
	size_t cap, sdlen = 0, edlen = 0;
	struct sr_jw w;

	if (sr_id_is_zero(s->trace_id, 16) || sr_id_is_zero(s->span_id, 12))
		return -EBADMSG;
	if (s->errdata.n) {
		ed = object_text(s->errdata, &edlen);
		if (!ed)
			return -EBADMSG;
	}
	sd = span_data(s, extra, &sdlen);
	if (!sd) {
		free(ed);
		return -EBADMSG;
	}
	cap = 464 + esc(s->name) + sdlen + esc(s->err) + edlen;
	buf = malloc(cap);
	if (!buf) {
		free(sd);
		free(ed);
		return -ENOMEM;
	}
	sr_fmt_span_id(id, s->span_id);
	sr_fmt_trace_id(tid, s->trace_id);
	sr_jw_init(&w, buf, cap);
	LIT(&w, "{\"object\":\"trace.span\",\"id\":\"");
	sr_jw_raw(&w, id, SR_SPAN_ID_STR - 1);
	LIT(&w, "\",\"trace_id\":\"");
	sr_jw_raw(&w, tid, SR_TRACE_ID_STR - 1);
	LIT(&w, "\",\"parent_id\":");
	if ((s->flags & SR_SF_ROOT) || sr_id_is_zero(s->parent_id, 12)) {
		LIT(&w, "null");
	} else {
		sr_fmt_span_id(pid, s->parent_id);
		LIT(&w, "\"");
		sr_jw_raw(&w, pid, SR_SPAN_ID_STR - 1);
		LIT(&w, "\"");
	}
	LIT(&w, ",\"started_at\":\"");
	sr_jw_raw(&w, iso(t0, s->start_ns), SR_ISO_LEN - 1);
	LIT(&w, "\",\"ended_at\":\"");
	sr_jw_raw(&w, iso(t1, s->end_ns ? s->end_ns : s->start_ns),
		  SR_ISO_LEN - 1);
	LIT(&w, "\",\"span_data\":");
	put_span_data(&w, s, sd, sdlen);
	LIT(&w, ",\"error\":");
	put_error(&w, s, ed, edlen);
	LIT(&w, "}");
	free(sd);
	free(ed);
	return finish(&w, buf, out, len);
}
