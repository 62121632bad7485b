/* SPDX-License-Identifier: MIT */
#include "otlp.h"

#include "identity.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/jsonscan.h"
#include "common/jsonw.h"
#include "common/limits.h"

/* --- a growing text buffer ----------------------------------------------- */

struct sb {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb_grow(struct sb *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

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

/* Room for `more` bytes and a NUL; the growth out of line (this is called
 * for every piece of every span). */
static inline void sb_need(struct sb *b, size_t more)
{
	if (!b->oom && b->n + more + 1 > b->cap)
		sb_grow(b, more);
}

static void sb_raw_slow(struct sb *b, const char *s, size_t n)
{
	sb_need(b, n);
	if (b->oom || !n)
		return;
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

/* Appends s[0..n) and a NUL. Inline: most pieces are literals whose copy
 * the compiler turns into a few moves. */
static inline void sb_raw(struct sb *b, const char *s, size_t n)
{
	if (b->oom || b->n + n + 1 > b->cap) {
		sb_raw_slow(b, s, n);
		return;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void sb_lit(struct sb *b, const char *s)
{
	sb_raw(b, s, strlen(s));
}

/* A string literal, its length known when compiling. */
#define SB_LIT(b, lit) sb_raw(b, "" lit, sizeof(lit) - 1)

/* The decimal digits of v. */
static void sb_dec(struct sb *b, unsigned long long v)
{
	char t[24];
	size_t i = sizeof(t);

	/* digits from the end: no printf on a path taken per field */
	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i);
	sb_raw(b, t + i, sizeof(t) - i);
}

/* pre (a literal), the decimal digits of v, post (a literal). */
#define SB_U64(b, pre, v, post)  \
	do {                     \
		SB_LIT(b, pre);  \
		sb_dec(b, v);    \
		SB_LIT(b, post); \
	} while (0)

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
		*val = (struct sb){ 0 };
		return;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 16;

		v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->oom = true;
			free(val->p);
			*val = (struct sb){ 0 };
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
	*val = (struct sb){ 0 };
}

static void al_free(struct alist *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].key);
		free(a->v[i].val);
	}
	free(a->v);
	*a = (struct alist){ 0 };
}

/* --- a view of validated JSON text ---------------------------------------- */

/*
 * Items are the compact JSON that encode.c wrote and checked: the mapping
 * walks their text with sr_json_skip() and copies strings as they are
 * (already escaped), never building a tree. A value is [p, e); p NULL:
 * absent.
 */
struct jv {
	const char *p, *e;
};

static void skip_ws(const char **p, const char *e)
{
	while (*p < e &&
	       (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
		(*p)++;
}

/* Members of an object, or elements of an array: *at walks [p, e). */
struct jit {
	const char *p, *e;
};

static bool jv_is(struct jv v, char c)
{
	return v.p && *v.p == c;
}

static bool jv_null(struct jv v)
{
	return !v.p || *v.p == 'n';
}

static bool it_begin(struct jv v, char open, struct jit *it)
{
	if (!jv_is(v, open) || v.e - v.p < 2)
		return false;
	it->p = v.p + 1;
	it->e = v.e - 1;
	return true;
}

/* Next element (key NULL) or member; false at the end or on text that is
 * not what it should be. A key is the raw (escaped) text between the
 * quotes. */
static bool it_next(struct jit *it, struct jv *key, struct jv *val)
{
	const char *p = it->p, *q;

	skip_ws(&p, it->e);
	if (p < it->e && *p == ',')
		p++;
	skip_ws(&p, it->e);
	if (p >= it->e)
		return false;
	if (key) {
		if (*p != '"' || !(q = sr_json_skip(p, it->e)))
			return false;
		key->p = p + 1;
		key->e = q - 1;
		p = q;
		skip_ws(&p, it->e);
		if (p >= it->e || *p != ':')
			return false;
		p++;
		skip_ws(&p, it->e);
	}
	q = sr_json_skip(p, it->e);
	if (!q || q == p)
		return false;
	val->p = p;
	val->e = q;
	it->p = q;
	return true;
}

/* Inline with the first byte compared first: the member lookups of every
 * span go through it, with literal names (strlen folded). */
static inline bool raw_eq(struct jv k, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(k.e - k.p) == n && (!n || *k.p == *s) &&
	       !memcmp(k.p, s, n);
}

/* The member `name` of object o (an unescaped key), or absent. */
static struct jv jv_get(struct jv o, const char *name)
{
	struct jit it;
	struct jv k, v;

	if (it_begin(o, '{', &it))
		while (it_next(&it, &k, &v))
			if (raw_eq(k, name))
				return v;
	return (struct jv){ 0 };
}

/* The members of an object, read in one pass: looking up a member does
 * not scan the text again. Objects with more members than JO_MAX are
 * looked up in their text. */
#define JO_MAX 48
struct jobj {
	struct jv self;
	struct jv k[JO_MAX], v[JO_MAX];
	size_t n;
	bool more; /* members beyond JO_MAX */
};

static void jo_index(struct jobj *o, struct jv v)
{
	struct jit it;
	struct jv k, val;

	o->self = v;
	o->n = 0;
	o->more = false;
	if (!it_begin(v, '{', &it))
		return;
	while (it_next(&it, &k, &val)) {
		if (o->n == JO_MAX) {
			o->more = true;
			return;
		}
		o->k[o->n] = k;
		o->v[o->n++] = val;
	}
}

static struct jv jo_get(const struct jobj *o, const char *name)
{
	for (size_t i = 0; i < o->n; i++)
		if (raw_eq(o->k[i], name))
			return o->v[i];
	return o->more ? jv_get(o->self, name) : (struct jv){ 0 };
}

/* The raw content of a string value, or absent. */
static struct jv jv_str(struct jv v)
{
	if (!jv_is(v, '"') || v.e - v.p < 2)
		return (struct jv){ 0 };
	return (struct jv){ v.p + 1, v.e - 1 };
}

static size_t jv_len(struct jv v)
{
	return (size_t)(v.e - v.p);
}

/* A number's value; false when v is no number. */
static bool jv_num(struct jv v, double *d)
{
	char t[64], *end;
	size_t n = jv_len(v);

	if (!v.p || !(*v.p == '-' || (*v.p >= '0' && *v.p <= '9')) ||
	    n >= sizeof(t))
		return false;
	memcpy(t, v.p, n);
	t[n] = 0;
	*d = strtod(t, &end);
	return end == t + n;
}

/* Bytes of raw (escaped) string content s[0..n) holding its first
 * `limit` code points (0: all): an escape is one code point, a UTF-16
 * surrogate pair too. */
static size_t raw_prefix(const char *s, size_t n, uint32_t limit)
{
	uint32_t cps = 0;
	size_t i = 0;

	if (!limit)
		return n;
	while (i < n && cps < limit) {
		if (s[i] == '\\') {
			size_t k = i + 1 < n && s[i + 1] == 'u' ? 6 : 2;

			/* \uD8xx\uDCxx: one code point */
			if (k == 6 && i + 12 <= n && s[i + 6] == '\\' &&
			    s[i + 7] == 'u' &&
			    (s[i + 2] == 'd' || s[i + 2] == 'D') &&
			    strchr("89abAB", s[i + 3]))
				k = 12;
			i += k;
		} else {
			i++;
			while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
				i++;
		}
		cps++;
	}
	return i < n ? i : n;
}

/* --- AnyValue ------------------------------------------------------------- */

static void any_string(struct sb *b, const char *s, size_t n, uint32_t lim)
{
	SB_LIT(b, "{\"stringValue\":");
	sb_str(b, s, n, lim);
	SB_LIT(b, "}");
}

/* A string value from raw (escaped) content, copied as it is. */
static void any_raw(struct sb *b, struct jv raw, uint32_t lim)
{
	SB_LIT(b, "{\"stringValue\":\"");
	sb_raw(b, raw.p, raw_prefix(raw.p, jv_len(raw), lim));
	SB_LIT(b, "\"}");
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
		snprintf(t, sizeof(t), "{\"intValue\":\"%lld\"}", (long long)d);
	} else {
		/* the shortest text that reads back as the same double */
		snprintf(t, sizeof(t), "%.15g", d);
		if (strtod(t, NULL) != d)
			snprintf(t, sizeof(t), "%.17g", d);
		SB_LIT(b, "{\"doubleValue\":");
		sb_lit(b, t);
		SB_LIT(b, "}");
		return;
	}
	sb_lit(b, t);
}

/* A homogeneous array of strings, booleans or numbers (an attribute
 * array in OpenTelemetry); others are written as JSON text. */
static bool homogeneous(struct jv a, bool *doubles)
{
	struct jit it;
	struct jv e;
	int type = -1;
	double d;

	*doubles = false;
	if (!it_begin(a, '[', &it))
		return false;
	while (it_next(&it, NULL, &e)) {
		int t = *e.p == '"'                  ? 0
			: *e.p == 't' || *e.p == 'f' ? 1
			: jv_num(e, &d)              ? 2
						     : 3;

		if (t == 3 || (type >= 0 && t != type))
			return false;
		type = t;
		if (t == 2 && !integral(d))
			*doubles = true;
	}
	return true;
}

/* A value as its JSON text: objects, mixed arrays. */
static void any_json(struct sb *b, struct jv v, uint32_t lim)
{
	any_string(b, v.p, jv_len(v), lim);
}

static void any_value(struct sb *b, struct jv v, uint32_t lim, bool as_double)
{
	struct jit it;
	struct jv e;
	bool doubles, first = true;
	double d;

	if (jv_is(v, '"')) {
		any_raw(b, jv_str(v), lim);
	} else if (jv_is(v, 't') || jv_is(v, 'f')) {
		sb_lit(b, *v.p == 't' ? "{\"boolValue\":true}"
				      : "{\"boolValue\":false}");
	} else if (jv_num(v, &d)) {
		any_number(b, d, as_double);
	} else if (jv_is(v, '[') && homogeneous(v, &doubles) &&
		   it_begin(v, '[', &it)) {
		SB_LIT(b, "{\"arrayValue\":{\"values\":[");
		while (it_next(&it, NULL, &e)) {
			if (!first)
				SB_LIT(b, ",");
			first = false;
			any_value(b, e, lim, doubles || as_double);
		}
		SB_LIT(b, "]}}");
	} else {
		any_json(b, v, lim);
	}
}

/* --- the attributes of one span ------------------------------------------- */

/* An attribute: its key (JSON string content, escaped) and its AnyValue
 * text, both in the list's buffers. */
struct attr {
	size_t koff, klen, voff, vlen;
};

/* Attribute lists reused from span to span: no allocation once warm. */
struct attrs {
	struct attr *v;
	size_t n, cap;
	struct sb keys, vals;
	bool oom;
};

static void at_reset(struct attrs *a)
{
	a->n = 0;
	a->keys.n = 0;
	a->vals.n = 0;
	a->oom = false;
}

static void at_free(struct attrs *a)
{
	free(a->v);
	free(a->keys.p);
	free(a->vals.p);
	*a = (struct attrs){ 0 };
}

static bool at_has(const struct attrs *a, const char *k, size_t n)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].klen == n &&
		    !memcmp(a->keys.p + a->v[i].koff, k, n))
			return true;
	return false;
}

/*
 * Starts attribute `key` (escaped JSON string content, pieces joined):
 * true when it is new (then write its AnyValue into a->vals and call
 * at_end), false when the key is there already (the first value of a key
 * wins) or memory ran out.
 */
static bool at_begin(struct attrs *a, const char *p1, size_t n1, const char *p2,
		     size_t n2, const char *p3, size_t n3)
{
	size_t koff = a->keys.n;

	sb_raw(&a->keys, p1, n1);
	sb_raw(&a->keys, p2, n2);
	sb_raw(&a->keys, p3, n3);
	if (a->keys.oom || at_has(a, a->keys.p + koff, a->keys.n - koff)) {
		a->oom |= a->keys.oom;
		a->keys.n = koff;
		return false;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		struct attr *v = realloc(a->v, cap * sizeof(*v));

		if (!v) {
			a->oom = true;
			a->keys.n = koff;
			return false;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n] = (struct attr){ koff, a->keys.n - koff, a->vals.n, 0 };
	return true;
}

static void at_end(struct attrs *a)
{
	struct attr *t = &a->v[a->n++];

	t->vlen = a->vals.n - t->voff;
	a->oom |= a->vals.oom;
}

/* Copies attribute i of `from` into a unless its key is there. */
static void at_copy(struct attrs *a, const struct attrs *from, size_t i)
{
	const struct attr *f = &from->v[i];

	if (!at_begin(a, from->keys.p + f->koff, f->klen, "", 0, "", 0))
		return;
	sb_raw(&a->vals, from->vals.p + f->voff, f->vlen);
	at_end(a);
}

/* Writes [{"key":…,"value":…},…] of at most `max` entries (0: all);
 * returns how many were left out. */
static size_t at_write(struct sb *b, const struct attrs *a, size_t max)
{
	size_t n = max && a->n > max ? max : a->n;

	SB_LIT(b, "[");
	for (size_t i = 0; i < n; i++) {
		sb_lit(b, i ? ",{\"key\":\"" : "{\"key\":\"");
		sb_raw(b, a->keys.p + a->v[i].koff, a->v[i].klen);
		SB_LIT(b, "\",\"value\":");
		sb_raw(b, a->vals.p + a->v[i].voff, a->v[i].vlen);
		SB_LIT(b, "}");
	}
	SB_LIT(b, "]");
	b->oom |= a->oom;
	return a->n - n;
}

/* A key from an item (raw, escaped): escapes are spelled out the same way
 * as the configuration's keys, so one key has one form. `buf` receives
 * it when it had to be rewritten. */
static struct jv key_form(struct jv k, char *buf, size_t cap)
{
	cJSON *j;
	size_t n = jv_len(k);

	if (!memchr(k.p, '\\', n) || n + 3 > cap)
		return k;
	/* rare: an escaped key; cJSON decodes it, jsonw escapes it */
	buf[0] = '"';
	memcpy(buf + 1, k.p, n);
	buf[n + 1] = '"';
	j = cJSON_ParseWithLength(buf, n + 2);
	if (cJSON_IsString(j)) {
		struct sr_jw w;

		sr_jw_init(&w, buf, cap);
		sr_jw_str(&w, j->valuestring, strlen(j->valuestring));
		if (w.len >= 2 && w.len < cap && !w.overflow) {
			cJSON_Delete(j);
			return (struct jv){ buf + 1, buf + w.len - 1 };
		}
	}
	cJSON_Delete(j);
	return k;
}

/* key = p1 + raw member name; value v (nulls left out). */
static void put_value(struct attrs *a, const char *p1, struct jv name,
		      struct jv v, uint32_t lim, bool as_double)
{
	char buf[512];

	if (jv_null(v))
		return;
	name = key_form(name, buf, sizeof(buf));
	if (!at_begin(a, p1, strlen(p1), name.p, jv_len(name), "", 0))
		return;
	any_value(&a->vals, v, lim, as_double);
	at_end(a);
}

/* A fixed key (no escapes needed) and value v. */
static void put_key(struct attrs *a, const char *key, struct jv v, uint32_t lim,
		    bool as_double)
{
	if (jv_null(v) || !at_begin(a, key, strlen(key), "", 0, "", 0))
		return;
	any_value(&a->vals, v, lim, as_double);
	at_end(a);
}

static void put_str(struct attrs *a, const char *key, const char *v)
{
	if (!v || !at_begin(a, key, strlen(key), "", 0, "", 0))
		return;
	any_string(&a->vals, v, strlen(v), 0);
	at_end(a);
}

/* As put_key, but a non-string value goes as its JSON text (message
 * lists, tool arguments: what the conventions keep as JSON strings). */
static void put_text(struct attrs *a, const char *key, struct jv v,
		     uint32_t lim)
{
	if (jv_null(v) || !at_begin(a, key, strlen(key), "", 0, "", 0))
		return;
	if (jv_is(v, '"'))
		any_raw(&a->vals, jv_str(v), lim);
	else
		any_json(&a->vals, v, lim);
	at_end(a);
}

/* --- the object ----------------------------------------------------------- */

struct trace_slot {
	uint8_t id[16];
	bool used, has_wf;
	struct sb wf;       /* workflow name, escaped, NUL-terminated */
	struct attrs attrs; /* the trace's attributes for its spans */
};

struct sr_otlp {
	const struct sr_config *c;
	char host[256];
	struct alist res;  /* resource attributes of the configuration */
	struct alist hdrs; /* extra headers (decoded) */
	struct trace_slot *traces;
	/* reused from span to span and request to request */
	struct attrs cres;    /* res, keys escaped */
	bool res_has_service; /* res holds service.name */
	struct attrs sattrs, sres, rtmp;
	struct sb name, rkey;
	struct jobj top, sd; /* the item being mapped and its span_data */
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
	struct sb s = { 0 };

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
		SB_LIT(&s, "");
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

static int parse_limit(const char *traces, const char *generic, bool given,
		       uint32_t *out)
{
	const char *v = env2(traces, generic);
	char *end;
	unsigned long long u;

	if (given || !v)
		return 0;
	errno = 0;
	u = strtoull(v, &end, 10);
	if (errno || end == v || *end || !isdigit((unsigned char)*v) || u < 1 ||
	    u > 1000000)
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
	bool given = sr_config_given(c, "otlp-endpoint");
	size_t n;

	if (!given && v && *v) {
		if (strlen(v) >= sizeof(c->otlp_endpoint))
			return bad_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", v,
				       "too long");
		snprintf(c->otlp_endpoint, sizeof(c->otlp_endpoint), "%s", v);
	} else if (!given && g && *g) {
		n = strlen(g);
		while (n && g[n - 1] == '/')
			n--;
		if (n + 11 >= sizeof(c->otlp_endpoint))
			return bad_var("OTEL_EXPORTER_OTLP_ENDPOINT", g,
				       "too long");
		snprintf(c->otlp_endpoint, sizeof(c->otlp_endpoint),
			 "%.*s/v1/traces", (int)n, g);
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
	const char *vars[2] = { name1, name2 };
	char flag[SR_OTLP_HEADERS_MAX]; /* the larger of the two lists */
	size_t o = 0;

	snprintf(flag, sizeof(flag), "%s", field);
	field[0] = 0;
	for (int i = 0; i < 2; i++) {
		const char *v = vars[i] ? getenv(vars[i]) : NULL;

		if (!v || !*v)
			continue;
		if (parse_pairs(v, check_pair, NULL))
			return bad_var(vars[i], v, what);
		o += (size_t)snprintf(field + o, cap - o, "%s%s", o ? "," : "",
				      v);
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
		o += (size_t)snprintf(field + o, cap - o, "%s%s", o ? "," : "",
				      flag);
		if (o >= cap)
			return SR_EX_USAGE;
	}
	return 0;
}

static int resolve_compression(struct sr_config *c)
{
	bool given = sr_config_given(c, "otlp-compression");
	const char *v = given ? NULL
			      : env2("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
				     "OTEL_EXPORTER_OTLP_COMPRESSION");

	if (!v)
		v = c->otlp_compression; /* the flag's, or the default */
	if (!strcmp(v, "none"))
		c->otlp_codec = SR_CODEC_NONE;
	else if (!strcmp(v, "gzip"))
		c->otlp_codec = SR_CODEC_GZIP;
	else if (!strcmp(v, "lz4"))
		c->otlp_codec = SR_CODEC_LZ4;
	else if (v == c->otlp_compression) {
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

	if (sr_config_given(c, "otlp-timeout") || !v)
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
			      sr_config_given(c, "attribute-value-length-limit"),
			      &c->attr_value_length_limit)) ||
	    (rc = parse_limit("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
			      "OTEL_ATTRIBUTE_COUNT_LIMIT",
			      sr_config_given(c, "span-attribute-count-limit"),
			      &c->span_attr_count_limit)))
		return rc;
	return 0;
}

/* --- construction --------------------------------------------------------- */

static int res_string(struct alist *a, const char *k, const char *v)
{
	struct sb s = { 0 };

	any_string(&s, v, strlen(v), 0);
	al_put(a, k, &s);
	return a->oom ? -ENOMEM : 0;
}

static int res_pair(void *ctx, const char *k, const char *v)
{
	struct alist *a = ctx;

	for (size_t i = 0; i < a->n; i++) {
		if (!strcmp(a->v[i].key, k)) {
			struct sb s = { 0 };

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

/* The configured resource attributes as the mapping writes them: keys
 * escaped once. */
static int escape_res(struct sr_otlp *o)
{
	char key[600];

	for (size_t i = 0; i < o->res.n; i++) {
		struct sr_jw w;
		const char *v = o->res.v[i].val;

		sr_jw_init(&w, key, sizeof(key));
		sr_jw_str(&w, o->res.v[i].key, strlen(o->res.v[i].key));
		if (w.overflow || w.len < 2)
			return -EINVAL;
		if (!at_begin(&o->cres, key + 1, w.len - 2, "", 0, "", 0))
			continue;
		sb_lit(&o->cres.vals, v);
		at_end(&o->cres);
		if (!strcmp(o->res.v[i].key, "service.name"))
			o->res_has_service = true;
	}
	return o->cres.oom ? -ENOMEM : 0;
}

/* Where every span comes from (identity.h: host, pod, node, container
 * when configured) as resource attributes, unless --identity no. */
static int identity_res(struct sr_otlp *o)
{
	const struct sr_ident_attr *a;
	size_t n;

	if (!o->c->identity)
		return 0;
	n = sr_identity_attrs(&a);
	for (size_t i = 0; i < n; i++)
		if (!al_has(&o->res, a[i].key) &&
		    res_string(&o->res, a[i].key, a[i].value))
			return -ENOMEM;
	return 0;
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
	    identity_res(o) ||
	    (o->host[0] && !al_has(&o->res, "host.name") &&
	     res_string(&o->res, "host.name", o->host)) ||
	    res_string(&o->res, "telemetry.sdk.name", "spanring") ||
	    res_string(&o->res, "telemetry.sdk.version", SR_VERSION) ||
	    parse_pairs(c->resource_attributes, res_pair, &o->res) ||
	    escape_res(o)) {
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
		free(o->traces[i].wf.p);
		at_free(&o->traces[i].attrs);
	}
	at_free(&o->cres);
	at_free(&o->sattrs);
	at_free(&o->sres);
	at_free(&o->rtmp);
	free(o->name.p);
	free(o->rkey.p);
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

/* A hex digit's value, -1 for another byte (ASCII: no locale lookup on a
 * path taken for every id). */
static int hex_digit(unsigned char c)
{
	if ((unsigned)(c - '0') < 10)
		return c - '0';
	c |= 0x20;
	return (unsigned)(c - 'a') < 6 ? c - 'a' + 10 : -1;
}

/* "<prefix><hex digits>" string value → its hex digits, checked. */
static const char *id_hex(struct jv v, const char *prefix, size_t hex)
{
	struct jv s = jv_str(v);
	size_t p = strlen(prefix);

	if (!s.p || jv_len(s) != p + hex || memcmp(s.p, prefix, p))
		return NULL;
	for (size_t i = p; i < p + hex; i++)
		if (hex_digit((unsigned char)s.p[i]) < 0)
			return NULL;
	return s.p + p;
}

static void trace_key(const char *tid, uint8_t id[16], size_t *slot)
{
	uint64_t h = 0;

	for (int i = 0; i < 16; i++) {
		id[i] = (uint8_t)(hex_digit((unsigned char)tid[2 * i]) * 16 +
				  hex_digit((unsigned char)tid[2 * i + 1]));
		h = h * 31 + id[i];
	}
	*slot = (size_t)(h % SR_OTLP_TRACE_SLOTS);
}

bool sr_otlp_is_trace(const struct sr_otlp_item *it)
{
	static const char k[] = "{\"object\":\"trace\"";

	return it->n >= sizeof(k) - 1 && !memcmp(it->p, k, sizeof(k) - 1);
}

/* Where a span came from (sidecar/identity.h): resource attributes. */
static bool identity_key(struct jv k)
{
	size_t n = jv_len(k);

	return (n > 10 && !memcmp(k.p, "container.", 10)) ||
	       (n > 4 && !memcmp(k.p, "k8s.", 4)) ||
	       (n > 5 && !memcmp(k.p, "host.", 5)) ||
	       raw_eq(k, "process.pid_namespace");
}

void sr_otlp_note_trace(struct sr_otlp *o, const struct sr_otlp_item *it)
{
	struct jv j = { it->p, it->p + it->n }, k, v, wf;
	const char *tid = id_hex(jv_get(j, "id"), "trace_", 32);
	uint32_t lim = o->c->attr_value_length_limit;
	struct trace_slot *t;
	struct jit m;
	uint8_t id[16];
	size_t slot;

	if (!tid)
		return;
	trace_key(tid, id, &slot);
	t = &o->traces[slot];
	at_reset(&t->attrs);
	t->wf.n = 0;
	memcpy(t->id, id, 16);
	t->used = true;
	t->has_wf = false;
	wf = jv_get(j, "workflow_name");
	if (jv_is(wf, '"')) {
		struct jv s = jv_str(wf);

		sb_raw(&t->wf, s.p, jv_len(s));
		sb_need(&t->wf, 1);
		if (t->wf.p && !t->wf.oom) {
			t->wf.p[t->wf.n] = 0;
			t->has_wf = true;
		}
	}
	put_key(&t->attrs, "openai.agents.trace.workflow_name", wf, lim, false);
	v = jv_get(j, "group_id");
	put_key(&t->attrs, "openai.agents.trace.group_id", v, lim, false);
	put_key(&t->attrs, "gen_ai.conversation.id", v, lim, false);
	if (it_begin(jv_get(j, "metadata"), '{', &m))
		while (it_next(&m, &k, &v))
			/* where it came from is the resource's (identity.h) */
			if (!identity_key(k))
				put_value(&t->attrs,
					  "openai.agents.trace.metadata.", k, v,
					  lim, false);
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

/* n decimal digits at s; -1 if one is not a digit. */
/* "YYYY-MM-DDTHH:MM:SS.ffffff+00:00" → ns since the epoch. */
static bool iso_ns(struct jv v, uint64_t *ns)
{
	struct jv r = jv_str(v);

	return r.p && sr_parse_iso(r.p, jv_len(r), ns);
}

/* --- the mapping ---------------------------------------------------------- */

/* One span being mapped: its name (escaped JSON string content), kind,
 * attributes and identity (resource) attributes; reused. */
struct span {
	struct sb name;
	int kind; /* 1 internal, 3 client */
	struct attrs *attrs, *res;
	uint32_t lim;
};

static bool is_double_key(struct jv k)
{
	static const char *const keys[] = {
		"temperature",           "top_p",
		"frequency_penalty",     "presence_penalty",
		"process.cpu.user_time", "process.cpu.system_time",
	};
	size_t kn = jv_len(k);

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t n = strlen(keys[i]);

		if (kn >= n && !memcmp(k.e - n, keys[i], n))
			return true;
	}
	return false;
}

/* The fields of span_data not mapped to a convention:
 * openai.agents.<type>.<field>. */
static void rest_one(struct span *s, const char *pre, struct jv k, struct jv v,
		     const char *const *mapped)
{
	bool skip = raw_eq(k, "type");

	for (int i = 0; mapped[i] && !skip; i++)
		skip = raw_eq(k, mapped[i]);
	if (!skip)
		put_value(s->attrs, pre, k, v, s->lim, is_double_key(k));
}

static void rest(struct span *s, const struct jobj *sd, struct jv type,
		 const char *const *mapped)
{
	struct jit it;
	struct jv k, v;
	char pre[300];

	if (jv_len(type) > 200)
		return;
	memcpy(pre, "openai.agents.", 14);
	memcpy(pre + 14, type.p, jv_len(type));
	memcpy(pre + 14 + jv_len(type), ".", 2);
	for (size_t i = 0; i < sd->n; i++)
		rest_one(s, pre, sd->k[i], sd->v[i], mapped);
	if (!sd->more || !it_begin(sd->self, '{', &it))
		return;
	for (size_t i = 0; i < sd->n && it_next(&it, &k, &v); i++)
		;
	while (it_next(&it, &k, &v))
		rest_one(s, pre, k, v, mapped);
}

/* The span's name: op, then " " and `what` (a string value) if any. */
static void name2(struct span *s, const char *op, struct jv what)
{
	struct jv w = jv_str(what);

	sb_lit(&s->name, op);
	if (w.p && w.e > w.p) {
		SB_LIT(&s->name, " ");
		sb_raw(&s->name, w.p, jv_len(w));
	}
}

static void map_generation(struct span *s, const struct jobj *sd,
			   struct jv type)
{
	static const char *const mapped[] = { "model",  "model_config",
					      "usage",  "input",
					      "output", "response_id",
					      NULL };
	struct jit it;
	struct jv k, v;

	name2(s, "chat", jo_get(sd, "model"));
	s->kind = 3;
	put_str(s->attrs, "gen_ai.operation.name", "chat");
	put_str(s->attrs, "gen_ai.provider.name", "openai");
	put_key(s->attrs, "gen_ai.request.model", jo_get(sd, "model"), s->lim,
		false);
	put_key(s->attrs, "gen_ai.response.id", jo_get(sd, "response_id"),
		s->lim, false);
	if (it_begin(jo_get(sd, "usage"), '{', &it))
		while (it_next(&it, &k, &v))
			put_value(s->attrs, "gen_ai.usage.", k, v, s->lim,
				  false);
	if (it_begin(jo_get(sd, "model_config"), '{', &it))
		while (it_next(&it, &k, &v)) {
			if (jv_is(v, '{')) {
				char buf[512], key[600];
				struct jv f = key_form(k, buf, sizeof(buf));

				if (jv_len(f) > 500)
					continue;
				snprintf(key, sizeof(key),
					 "gen_ai.request.%.*s", (int)jv_len(f),
					 f.p);
				put_text(s->attrs, key, v, s->lim);
			} else {
				put_value(s->attrs, "gen_ai.request.", k, v,
					  s->lim, is_double_key(k));
			}
		}
	put_text(s->attrs, "gen_ai.input.messages", jo_get(sd, "input"),
		 s->lim);
	put_text(s->attrs, "gen_ai.output.messages", jo_get(sd, "output"),
		 s->lim);
	rest(s, sd, type, mapped);
}

static void map_agent(struct span *s, const struct jobj *sd, struct jv type)
{
	static const char *const mapped[] = { "name", NULL };

	name2(s, "invoke_agent", jo_get(sd, "name"));
	put_str(s->attrs, "gen_ai.operation.name", "invoke_agent");
	put_str(s->attrs, "gen_ai.provider.name", "openai");
	put_key(s->attrs, "gen_ai.agent.name", jo_get(sd, "name"), s->lim,
		false);
	rest(s, sd, type, mapped);
}

static void map_function(struct span *s, const struct jobj *sd, struct jv type)
{
	static const char *const mapped[] = { "name", "input", "output", NULL };

	name2(s, "execute_tool", jo_get(sd, "name"));
	put_str(s->attrs, "gen_ai.operation.name", "execute_tool");
	put_key(s->attrs, "gen_ai.tool.name", jo_get(sd, "name"), s->lim,
		false);
	put_str(s->attrs, "gen_ai.tool.type", "function");
	put_text(s->attrs, "gen_ai.tool.call.arguments", jo_get(sd, "input"),
		 s->lim);
	put_text(s->attrs, "gen_ai.tool.call.result", jo_get(sd, "output"),
		 s->lim);
	rest(s, sd, type, mapped);
}

/* custom: span_data.data members are attributes as they are (the shim's
 * own already carry convention names); identity keys go to the resource. */
static void map_custom(struct span *s, const struct jobj *sd, struct jv type)
{
	static const char *const mapped[] = { "name", "data", NULL };
	struct jv name = jo_get(sd, "name"), k, v;
	struct jit it;

	if (jv_is(name, '"'))
		sb_raw(&s->name, jv_str(name).p, jv_len(jv_str(name)));
	else
		SB_LIT(&s->name, "custom");
	if (it_begin(jo_get(sd, "data"), '{', &it))
		while (it_next(&it, &k, &v)) {
			if (identity_key(k)) {
				put_value(s->res, "", k, v, 0, false);
				continue;
			}
			put_value(s->attrs, "", k, v, s->lim, is_double_key(k));
			if (raw_eq(k, "server.address") ||
			    raw_eq(k, "dns.question.name"))
				s->kind = 3;
		}
	rest(s, sd, type, mapped);
}

static void map_span_data(struct span *s, const struct jobj *sd)
{
	static const char *const by_name[] = { "name", NULL };
	static const char *const none[] = { NULL };
	static const char custom[] = "custom";
	struct jv tv = jo_get(sd, "type"), type = jv_str(tv);

	s->kind = 1;
	if (!type.p)
		type = (struct jv){ custom, custom + sizeof(custom) - 1 };
	if (!raw_eq(type, "custom"))
		put_key(s->attrs, "openai.agents.span.type", tv, 0, false);
	if (raw_eq(type, "agent")) {
		map_agent(s, sd, type);
	} else if (raw_eq(type, "function")) {
		map_function(s, sd, type);
	} else if (raw_eq(type, "generation") || raw_eq(type, "response")) {
		map_generation(s, sd, type);
	} else if (raw_eq(type, "custom")) {
		map_custom(s, sd, type);
	} else if (raw_eq(type, "handoff")) {
		name2(s, "handoff", jo_get(sd, "to_agent"));
		rest(s, sd, type, none);
	} else if (raw_eq(type, "guardrail")) {
		name2(s, "guardrail", jo_get(sd, "name"));
		rest(s, sd, type, none);
	} else if (raw_eq(type, "mcp_tools")) {
		name2(s, "mcp_tools", jo_get(sd, "server"));
		s->kind = 3;
		put_str(s->attrs, "mcp.method.name", "tools/list");
		rest(s, sd, type, none);
	} else {
		/* transcription, speech, speech_group and types to come */
		struct jv m = jo_get(sd, "model");
		char op[256];

		snprintf(op, sizeof(op), "%.*s", (int)jv_len(type), type.p);
		name2(s, op, jv_is(m, '"') ? m : jo_get(sd, "name"));
		put_key(s->attrs, "gen_ai.request.model", m, s->lim, false);
		rest(s, sd, type, by_name);
	}
}

/* Error data as attributes: error.type (the errno name when the data
 * holds one, else the message) and error.data.<key>. */
static void map_error(struct span *s, struct jv err)
{
	struct jv data = jv_get(err, "data"), msg = jv_get(err, "message"), k,
		  v;
	const char *type = NULL;
	struct jit it;
	double en;

	if (jv_num(jv_get(data, "errno"), &en) && en > 0 && en < 4096)
		type = strerrorname_np((int)en);
	if (type) {
		put_str(s->attrs, "error.type", type);
	} else if (jv_is(msg, '"')) {
		if (at_begin(s->attrs, "error.type", 10, "", 0, "", 0)) {
			any_raw(&s->attrs->vals, jv_str(msg), 0);
			at_end(s->attrs);
		}
	} else {
		put_str(s->attrs, "error.type", "_OTHER");
	}
	if (it_begin(data, '{', &it))
		while (it_next(&it, &k, &v))
			put_value(s->attrs, "error.data.", k, v, s->lim, false);
}

/* Service name of a span's resource: --service-name, else none when
 * OTEL_RESOURCE_ATTRIBUTES has one, else the trace's workflow name, else
 * unknown_service. *raw: the text is escaped JSON string content. */
static const char *service_of(const struct sr_otlp *o,
			      const struct trace_slot *t, bool *raw)
{
	*raw = false;
	if (o->c->service_name[0])
		return o->c->service_name;
	if (o->res_has_service)
		return NULL;
	if (t && t->has_wf) {
		*raw = true;
		return t->wf.p;
	}
	return "unknown_service:spanringd";
}

/* The resource of a span: service.name, then its identity attributes,
 * then the configured ones; or, when the configured ones name the
 * service, those first, then the identity attributes. */
static void write_resource(struct sr_otlp *o, struct sb *r, const char *svc,
			   bool raw)
{
	struct attrs *a = &o->rtmp;

	at_reset(a);
	if (!svc) {
		for (size_t i = 0; i < o->cres.n; i++)
			at_copy(a, &o->cres, i);
		for (size_t i = 0; i < o->sres.n; i++)
			at_copy(a, &o->sres, i);
	} else {
		if (at_begin(a, "service.name", 12, "", 0, "", 0)) {
			if (raw)
				any_raw(&a->vals,
					(struct jv){ svc, svc + strlen(svc) },
					0);
			else
				any_string(&a->vals, svc, strlen(svc), 0);
			at_end(a);
		}
		for (size_t i = 0; i < o->sres.n; i++)
			at_copy(a, &o->sres, i);
		for (size_t i = 0; i < o->cres.n; i++)
			at_copy(a, &o->cres, i);
	}
	at_write(r, a, 0);
}

/* What makes a span's resource, as text: the service name and the
 * identity attributes; spans with the same key share one resource. */
static void resource_key(struct sr_otlp *o, const char *svc, bool raw)
{
	struct sb *k = &o->rkey;

	k->n = 0;
	sb_lit(k, svc ? (raw ? "r" : "c") : "-");
	if (svc)
		sb_raw(k, svc, strlen(svc) + 1);
	for (size_t i = 0; i < o->sres.n; i++) {
		const struct attr *t = &o->sres.v[i];

		sb_raw(k, o->sres.keys.p + t->koff, t->klen);
		sb_raw(k, "\n", 1);
		sb_raw(k, o->sres.vals.p + t->voff, t->vlen);
		sb_raw(k, "\n", 1);
	}
}

static void hex_lower(struct sb *b, const char *h, size_t n)
{
	char t[32];

	for (size_t i = 0; i < n && i < sizeof(t); i++)
		t[i] = h[i] >= 'A' && h[i] <= 'Z' ? (char)(h[i] | 0x20) : h[i];
	sb_raw(b, t, n < sizeof(t) ? n : sizeof(t));
}

/* Maps span object j into o->span (attributes) and o->sres (identity):
 * -EINVAL when it is not a span object. */
static int map_span(struct sr_otlp *o, const struct jobj *j, struct jobj *sd,
		    struct span *s, const char **tid, const char **sid,
		    const char **pid, uint64_t *start, uint64_t *end,
		    const struct trace_slot **t)
{
	struct jv err;

	jo_index(sd, jo_get(j, "span_data"));
	*tid = id_hex(jo_get(j, "trace_id"), "trace_", 32);
	*sid = id_hex(jo_get(j, "id"), "span_", 24);
	*pid = id_hex(jo_get(j, "parent_id"), "span_", 24);
	if (!*tid || !*sid || !jv_is(sd->self, '{') ||
	    !iso_ns(jo_get(j, "started_at"), start) ||
	    !iso_ns(jo_get(j, "ended_at"), end))
		return -EINVAL;
	if (*end < *start)
		*end = *start; /* a stepped clock: OTLP wants end >= start */
	map_span_data(s, sd);
	err = jo_get(j, "error");
	if (jv_is(err, '{'))
		map_error(s, err);
	*t = trace_of(o, *tid);
	for (size_t i = 0; *t && i < (*t)->attrs.n; i++)
		at_copy(s->attrs, &(*t)->attrs, i);
	return s->attrs->oom || s->res->oom || s->name.oom ? -ENOMEM : 0;
}

/* Writes the mapped span into out. */
static void write_span(struct sr_otlp *o, struct sb *out, const struct jobj *j,
		       const struct span *s, const char *tid, const char *sid,
		       const char *pid, uint64_t start, uint64_t end)
{
	struct jv err = jo_get(j, "error");
	size_t dropped;

	if (out->n)
		SB_LIT(out, ",");
	/* W3C span id: the last 16 hex of the OpenAI id (WIRE.md §4) */
	SB_LIT(out, "{\"traceId\":\"");
	hex_lower(out, tid, 32);
	SB_LIT(out, "\",\"spanId\":\"");
	hex_lower(out, sid + 8, 16);
	if (pid) {
		SB_LIT(out, "\",\"parentSpanId\":\"");
		hex_lower(out, pid + 8, 16);
	}
	SB_LIT(out, "\",\"name\":\"");
	sb_raw(out, s->name.p ? s->name.p : "", s->name.n);
	SB_U64(out, "\",\"kind\":", (unsigned long long)s->kind, "");
	SB_U64(out, ",\"startTimeUnixNano\":\"", start, "\"");
	SB_U64(out, ",\"endTimeUnixNano\":\"", end, "\"");
	SB_LIT(out, ",\"attributes\":");
	dropped = at_write(out, s->attrs, o->c->span_attr_count_limit);
	SB_U64(out, ",\"droppedAttributesCount\":", dropped, "");
	SB_LIT(out, ",\"events\":[],\"droppedEventsCount\":0,\"status\":");
	if (jv_is(err, '{')) {
		struct jv m = jv_str(jv_get(err, "message"));

		SB_LIT(out, "{\"code\":2,\"message\":\"");
		if (m.p)
			sb_raw(out, m.p, jv_len(m));
		SB_LIT(out, "\"}");
	} else {
		SB_LIT(out, "{\"code\":0}");
	}
	SB_LIT(out, ",\"links\":[],\"droppedLinksCount\":0,\"flags\":1}");
}

struct group {
	struct sb key;   /* resource_key() */
	struct sb res;   /* resource attributes text */
	struct sb spans; /* spans, comma-separated */
};

/* One span object into its resource's group (made when new). -EINVAL:
 * not a span object. */
static int encode_span(struct sr_otlp *o, const struct sr_otlp_item *it,
		       struct group *g, size_t *ng)
{
	struct jv j = { it->p, it->p + it->n };
	struct jobj *top = &o->top, *sd = &o->sd;
	struct span s = { .kind = 1,
			  .attrs = &o->sattrs,
			  .res = &o->sres,
			  .lim = o->c->attr_value_length_limit };
	const struct trace_slot *t = NULL;
	const char *tid, *sid, *pid, *svc;
	uint64_t start, end;
	bool raw;
	size_t k;
	int rc;

	at_reset(&o->sattrs);
	at_reset(&o->sres);
	s.name = o->name;
	s.name.n = 0;
	jo_index(top, j);
	rc = map_span(o, top, sd, &s, &tid, &sid, &pid, &start, &end, &t);
	o->name = s.name; /* keeps its buffer for the next span */
	if (rc)
		return rc;
	svc = service_of(o, t, &raw);
	resource_key(o, svc, raw);
	if (o->rkey.oom)
		return -ENOMEM;
	for (k = 0; k < *ng; k++)
		if (g[k].key.n == o->rkey.n &&
		    !memcmp(g[k].key.p, o->rkey.p, o->rkey.n))
			break;
	if (k == *ng) {
		/* a resource is built once per request */
		sb_raw(&g[k].key, o->rkey.p, o->rkey.n);
		write_resource(o, &g[k].res, svc, raw);
		(*ng)++;
	}
	write_span(o, &g[k].spans, top, &s, tid, sid, pid, start, end);
	return g[k].spans.oom || g[k].res.oom || g[k].key.oom ? -ENOMEM : 0;
}

int sr_otlp_body(struct sr_otlp *o, const struct sr_otlp_item *it, size_t n,
		 char **body, size_t *len, size_t *skipped)
{
	struct group *g = calloc(n + 1, sizeof(*g));
	size_t ng = 0, need = 64;
	struct sb b = { 0 };
	int rc = 0;

	*skipped = 0;
	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		if (sr_otlp_is_trace(&it[i])) {
			sr_otlp_note_trace(o, &it[i]);
			(*skipped)++;
			continue;
		}
		rc = encode_span(o, &it[i], g, &ng);
		if (rc == -EINVAL) {
			(*skipped)++;
			rc = 0;
		}
	}
	for (size_t k = 0; k < ng; k++)
		need += g[k].res.n + g[k].spans.n + 160;
	sb_need(&b, need);
	SB_LIT(&b, "{\"resourceSpans\":[");
	for (size_t k = 0; k < ng; k++) {
		if (k)
			SB_LIT(&b, ",");
		SB_LIT(&b, "{\"resource\":{\"attributes\":");
		sb_raw(&b, g[k].res.p, g[k].res.n);
		SB_LIT(&b,
		       ",\"droppedAttributesCount\":0},\"scopeSpans\":[{"
		       "\"scope\":{\"name\":\"spanring\",\"version\":\"" SR_VERSION
		       "\"},\"spans\":[");
		sb_raw(&b, g[k].spans.p, g[k].spans.n);
		SB_LIT(&b, "]}]}");
	}
	SB_LIT(&b, "]}");
	for (size_t k = 0; k < ng; k++) {
		free(g[k].key.p);
		free(g[k].res.p);
		free(g[k].spans.p);
	}
	free(g);
	if (rc || b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*body = b.p;
	*len = b.n;
	return 0;
}
