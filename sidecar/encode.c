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
	const unsigned char *run; /* start of the input not copied yet */
	char *out;		  /* compact copy */
	size_t o;
	int slow; /* valid maybe, but cJSON must normalise it */
};

/* Copies the input read since the last copy (one memcpy per run between
 * whitespace, not one per token). */
static void jc_flush(struct jc *c, const unsigned char *to)
{
	memcpy(c->out + c->o, c->run, (size_t)(to - c->run));
	c->o += (size_t)(to - c->run);
}

static void jc_ws(struct jc *c)
{
	const unsigned char *at = c->p;

	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
				 *c->p == '\n' || *c->p == '\r'))
		c->p++;
	if (c->p != at) {
		jc_flush(c, at);
		c->run = c->p;
	}
}

/* Bytes the string loop must look at: '"', '\\', controls, non-ASCII. */
static const bool jc_special[256] = {[0x00 ... 0x1f] = true,
				     ['"'] = true,
				     ['\\'] = true,
				     [0x80 ... 0xff] = true};

static bool jc_string(struct jc *c)
{
	c->p++;

	while (c->p < c->end) {
		/* plain bytes in one table lookup each */
		while (c->p < c->end && !jc_special[*c->p])
			c->p++;
		if (c->p >= c->end || *c->p == '"')
			break;
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
		}
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	return true;
}

static bool jc_number(struct jc *c)
{
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
	c->p++;
	jc_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
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
			c->p++;
		}
		if (!jc_value(c, depth + 1))
			return false;
		jc_ws(c);
		if (c->p >= c->end)
			return false;
		if (*c->p == close) {
			c->p++;
			return true;
		}
		if (*c->p != ',')
			return false;
		c->p++;
	}
}

static bool jc_word(struct jc *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
		return false;
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
 * Compact copy of a JSON object text without a tree, appended to w:
 * true when the fast path can vouch for it; false when cJSON must decide
 * (invalid, or needs normalising: bad UTF-8, exponents, deep nesting),
 * and w is left as it was. fast_object() makes a malloc'd copy (*len
 * bytes) the same way (1, or 0).
 */
static bool put_fast(struct sr_jw *w, struct sr_str s)
{
	struct jc c = {.p = (const unsigned char *)s.p,
		       .end = (const unsigned char *)s.p + s.n,
		       .run = (const unsigned char *)s.p,
		       .out = w->buf + w->len};
	bool ok;

	/* the compact copy is never longer than the text */
	if (w->overflow || w->cap - w->len < s.n)
		return false;
	jc_ws(&c);
	ok = c.p < c.end && *c.p == '{' && jc_container(&c, 0, '}');
	jc_ws(&c);
	if (!ok || c.slow || c.p != c.end)
		return false;
	jc_flush(&c, c.p);
	w->len += c.o;
	return true;
}

static int fast_object(struct sr_str s, char **out, size_t *len)
{
	char *buf = malloc(s.n + 1);
	struct sr_jw w;

	if (!buf)
		return 0;
	sr_jw_init(&w, buf, s.n + 1);
	if (!put_fast(&w, s)) {
		free(buf);
		return 0;
	}
	sr_jw_cstr(&w);
	*out = buf;
	*len = w.len;
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

static _Thread_local struct sr_str ident;

void sr_encode_identity(struct sr_str members)
{
	ident = members;
}

/*
 * Appends the identity members inside the object just written at
 * w->buf[at..w->len) (it ends with '}'), unless it has the first
 * member's key already. The buffer has room: callers count ident.n + 1.
 */
static void put_ident(struct sr_jw *w, size_t at)
{
	const char *colon = ident.n ? memchr(ident.p, ':', ident.n) : NULL;

	if (!colon || w->overflow || w->len - at < 2 ||
	    w->buf[w->len - 1] != '}' ||
	    memmem(w->buf + at, w->len - at, ident.p,
		   (size_t)(colon - ident.p) + 1))
		return;
	w->len--;
	if (w->len - at > 1)
		sr_jw_lit(w, ",");
	sr_jw_raw(w, ident.p, ident.n);
	sr_jw_lit(w, "}");
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
	cap = 160 + esc(t->workflow) + esc(t->group_id) + mlen + ident.n + 2;
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
	if (meta || ident.n) {
		size_t at = w.len;

		sr_jw_lit(&w, meta ? meta : "{}");
		put_ident(&w, at);
	} else {
		sr_jw_lit(&w, "null");
	}
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

	if (s->flags & SR_SF_SPAN_DATA)
		return object_text(s->data, len);
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

/* An object text of a span: its bytes from the ring, or the text cJSON
 * made of them (`txt`, n bytes) when the fast path cannot vouch for them
 * or a SPAN_END's members were merged in. */
struct obj {
	struct sr_str in;
	const char *txt;
	size_t n;
};

static bool put_obj(struct sr_jw *w, const struct obj *o)
{
	if (o->txt) {
		sr_jw_raw(w, o->txt, o->n);
		return true;
	}
	return put_fast(w, o->in);
}

/* {"type":"custom","name":NAME,"data":DATA} or the caller's object, which
 * must have a "type". */
static bool put_span_data(struct sr_jw *w, const struct sr_span_rec *s,
			  const struct obj *d)
{
	size_t at = w->len;

	if (s->flags & SR_SF_SPAN_DATA)
		return put_obj(w, d) && !w->overflow &&
		       has_type(w->buf + at, w->len - at);
	LIT(w, "{\"type\":\"custom\",\"name\":");
	sr_jw_str(w, s->name.p, s->name.n);
	LIT(w, ",\"data\":");
	at = w->len;
	if (!put_obj(w, d))
		return false;
	put_ident(w, at);
	LIT(w, "}");
	return true;
}

static bool put_error(struct sr_jw *w, const struct sr_span_rec *s,
		      const struct obj *ed)
{
	if (!s->err.n && !(s->flags & SR_SF_ERROR)) {
		LIT(w, "null");
		return true;
	}
	LIT(w, "{\"message\":");
	if (s->err.n)
		sr_jw_str(w, s->err.p, s->err.n);
	else
		LIT(w, "\"error\"");
	LIT(w, ",\"data\":");
	if (s->errdata.n) {
		if (!put_obj(w, ed))
			return false;
	} else {
		LIT(w, "null");
	}
	LIT(w, "}");
	return true;
}

static bool put_span(struct sr_jw *w, const struct sr_span_rec *s,
		     const struct obj *d, const struct obj *ed)
{
	char id[SR_SPAN_ID_STR], pid[SR_SPAN_ID_STR], tid[SR_TRACE_ID_STR];
	char t0[SR_ISO_LEN], t1[SR_ISO_LEN];

	sr_fmt_span_id(id, s->span_id);
	sr_fmt_trace_id(tid, s->trace_id);
	LIT(w, "{\"object\":\"trace.span\",\"id\":\"");
	sr_jw_raw(w, id, SR_SPAN_ID_STR - 1);
	LIT(w, "\",\"trace_id\":\"");
	sr_jw_raw(w, tid, SR_TRACE_ID_STR - 1);
	LIT(w, "\",\"parent_id\":");
	if ((s->flags & SR_SF_ROOT) || sr_id_is_zero(s->parent_id, 12)) {
		LIT(w, "null");
	} else {
		sr_fmt_span_id(pid, s->parent_id);
		LIT(w, "\"");
		sr_jw_raw(w, pid, SR_SPAN_ID_STR - 1);
		LIT(w, "\"");
	}
	LIT(w, ",\"started_at\":\"");
	sr_jw_raw(w, iso(t0, s->start_ns), SR_ISO_LEN - 1);
	LIT(w, "\",\"ended_at\":\"");
	sr_jw_raw(w, iso(t1, s->end_ns ? s->end_ns : s->start_ns),
		  SR_ISO_LEN - 1);
	LIT(w, "\",\"span_data\":");
	if (!put_span_data(w, s, d))
		return false;
	LIT(w, ",\"error\":");
	if (!put_error(w, s, ed))
		return false;
	LIT(w, "}");
	return true;
}

static size_t obj_len(const struct obj *o)
{
	return o->txt ? o->n : o->in.n;
}

/* The span object in one malloc'd buffer: 0, -EAGAIN when put_span()
 * refused a text, -ENOMEM. */
static int span_item(const struct sr_span_rec *s, const struct obj *d,
		     const struct obj *ed, char **out, size_t *len)
{
	size_t cap =
	    464 + esc(s->name) + obj_len(d) + esc(s->err) + obj_len(ed) +
	    ident.n + 2;
	char *buf = malloc(cap);
	struct sr_jw w;

	if (!buf)
		return -ENOMEM;
	sr_jw_init(&w, buf, cap);
	if (!put_span(&w, s, d, ed)) {
		free(buf);
		return -EAGAIN;
	}
	return finish(&w, buf, out, len);
}

/* Texts through cJSON where needed, or merged: then the item. */
static int span_general(const struct sr_span_rec *s, struct sr_str extra,
			char **out, size_t *len)
{
	struct obj d = {0}, ed = {0};
	char *sd, *edt = NULL;
	int rc;

	if (s->errdata.n) {
		edt = object_text(s->errdata, &ed.n);
		if (!edt)
			return -EBADMSG;
		ed.txt = edt;
	}
	sd = span_data(s, extra, &d.n);
	if (!sd) {
		free(edt);
		return -EBADMSG;
	}
	d.txt = sd;
	rc = span_item(s, &d, &ed, out, len);
	free(sd);
	free(edt);
	return rc == -EAGAIN ? -EBADMSG : rc;
}

int sr_encode_span(const struct sr_span_rec *s, struct sr_str extra, char **out,
		   size_t *len)
{
	struct obj d = {s->data, NULL, 0}, ed = {s->errdata, NULL, 0};
	int rc;

	if (sr_id_is_zero(s->trace_id, 16) || sr_id_is_zero(s->span_id, 12))
		return -EBADMSG;
	if (!extra.n) {
		/* the usual case: texts copied by the fast path straight
		 * into the item, no other buffer */
		if (!s->data.n && !(s->flags & SR_SF_SPAN_DATA))
			d = (struct obj){s->data, "{}", 2};
		rc = span_item(s, &d, &ed, out, len);
		if (rc != -EAGAIN)
			return rc;
	}
	return span_general(s, extra, out, len);
}
