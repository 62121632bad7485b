/* SPDX-License-Identifier: MIT */
#include "encode.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/jsonscan.h"
#include "common/jsonfix.h"
#include "common/jsonw.h"
#include "common/limits.h"
#include "stats.h"

/* 9999-12-31T23:59:59: sr_fmt_iso() clamps later times. */
#define ISO_LAST_SEC 253402300799ull

/* Stats of repairs: a value the fixer changed, an item whose span_data
 * or times were impossible. */
static void count_fixes(unsigned fixes)
{
	if (fixes)
		SR_STAT_ADD(json_repaired, 1);
}

/*
 * Appends the exact, repaired copy of the object text s (jsonfix.h) to w;
 * false, w unchanged, when s is not a JSON object. The caller sized w for
 * sr_json_fix_cap(s.n).
 */
static bool put_fixed(struct sr_jw *w, struct sr_str s)
{
	unsigned fixes = 0;
	size_t n;

	if (w->overflow || w->cap - w->len < sr_json_fix_cap(s.n))
		return false;
	n = sr_json_fix_object(s.p, s.n, w->buf + w->len, &fixes);
	if (!n)
		return false;
	w->len += n;
	count_fixes(fixes);
	return true;
}

/*
 * Appends an object text of a ring: its exact repaired copy, or, when it
 * is not JSON at all, {"text":"<the bytes as a string>"} (counted in
 * json_repaired): a mangled payload is kept for a human to read, never
 * forwarded as it is, never a reason to drop its item. Sized for by
 * obj_cap().
 */
static void put_object(struct sr_jw *w, struct sr_str s)
{
	if (put_fixed(w, s))
		return;
	SR_STAT_ADD(json_repaired, 1);
	sr_jw_lit(w, "{\"text\":");
	sr_jw_str(w, s.p, s.n);
	sr_jw_lit(w, "}");
}

/* Bytes put_object() may need. */
static size_t obj_cap(struct sr_str s)
{
	size_t fix = sr_json_fix_cap(s.n), str = 6 * (size_t)s.n + 16;

	return fix > str ? fix : str;
}

/* sr_jw_raw() inlined: a dozen literals, ids and times per span, most
 * of a constant size the compiler copies without a call. */
static inline void raw(struct sr_jw *w, const char *s, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

/* A literal's bytes, without strlen (this runs for every span). */
#define LIT(w, s) raw((w), (s), sizeof(s) - 1)

/* Bytes a string may take quoted: its worst case (a byte becomes at most
 * a six-byte escape), not its exact length: the buffer is reused, room
 * costs nothing, and measuring would read every string twice. */
static size_t esc(struct sr_str s)
{
	return 6 * (size_t)s.n + 2;
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
	    sr_json_find(w->buf + at, w->len - at, ident.p,
			 (size_t)(colon - ident.p) + 1))
		return;
	w->len--;
	if (w->len - at > 1)
		sr_jw_lit(w, ",");
	sr_jw_raw(w, ident.p, ident.n);
	sr_jw_lit(w, "}");
}

/* This thread's output buffer: every item is written into it and the
 * caller copies it out, so no item costs an allocation of its worst case
 * (several KiB for a few hundred bytes written). */
static _Thread_local char *out_buf;
static _Thread_local size_t out_cap;

/* Room for an item of at most cap bytes; NULL when it cannot be had. A
 * buffer grown for a rare large item is given back on the next call
 * that needs less than SR_ENCODE_KEEP. */
static char *out_room(size_t cap)
{
	char *p;

	if (cap <= out_cap &&
	    (out_cap <= SR_ENCODE_KEEP || cap > SR_ENCODE_KEEP))
		return out_buf;
	if (cap < 4096)
		cap = 4096;
	p = malloc(cap);
	if (!p)
		return NULL;
	free(out_buf);
	out_buf = p;
	out_cap = cap;
	return p;
}

static int finish(struct sr_jw *w, const char **out, size_t *len)
{
	if (w->overflow)
		return -ENOMEM;
	sr_jw_cstr(w);
	*out = w->buf;
	*len = w->len;
	return 0;
}

int sr_encode_trace(const struct sr_trace_rec *t, const char **out, size_t *len)
{
	char id[SR_TRACE_ID_STR], *buf;
	struct sr_jw w;
	size_t cap;

	if (sr_id_is_zero(t->trace_id, 16))
		return -EBADMSG;
	cap = 160 + esc(t->workflow) + esc(t->group_id) + obj_cap(t->metadata) +
	      ident.n + 2;
	buf = out_room(cap);
	if (!buf)
		return -ENOMEM;
	sr_fmt_trace_id(id, t->trace_id);
	sr_jw_init(&w, buf, cap);
	LIT(&w, "{\"object\":\"trace\",\"id\":\"");
	raw(&w, id, SR_TRACE_ID_STR - 1);
	LIT(&w, "\",\"workflow_name\":");
	sr_jw_str(&w, t->workflow.p, t->workflow.n);
	LIT(&w, ",\"group_id\":");
	if (t->group_id.n)
		sr_jw_str(&w, t->group_id.p, t->group_id.n);
	else
		LIT(&w, "null");
	LIT(&w, ",\"metadata\":");
	if (t->metadata.n || ident.n) {
		size_t at = w.len;

		if (t->metadata.n)
			put_object(&w, t->metadata);
		else
			LIT(&w, "{}");
		put_ident(&w, at);
	} else {
		LIT(&w, "null");
	}
	LIT(&w, "}");
	return finish(&w, out, len);
}

/* span_data types of WIRE.md section 1, as compact JSON string tokens. */
static const char *const known_types[] = {
	"\"agent\"",        "\"function\"",      "\"generation\"",
	"\"response\"",     "\"handoff\"",       "\"custom\"",
	"\"guardrail\"",    "\"transcription\"", "\"speech\"",
	"\"speech_group\"", "\"mcp_tools\"",
};

/*
 * The top-level "type" of the compact object o[0..len): 1 when it is a
 * known type, 0 otherwise with *tok / *tlen the type's string token when
 * there is one (an unknown type), else NULL (no "type", or not a string).
 */
static int span_type(const char *o, size_t len, const char **tok, size_t *tlen)
{
	const char *end = o + len, *p = o + 1;

	*tok = NULL;
	while (p < end && *p == '"') {
		bool is_type = end - p > 7 && !memcmp(p, "\"type\":", 7);
		const char *v;

		p = sr_json_skip(p, end); /* key, then ':' */
		if (!p || p == end)
			return 0;
		v = ++p;
		p = sr_json_skip(p, end);
		if (!p)
			return 0;
		if (is_type) {
			if (*v != '"')
				return 0;
			for (size_t i = 0;
			     i < sizeof(known_types) / sizeof(known_types[0]);
			     i++)
				if ((size_t)(p - v) == strlen(known_types[i]) &&
				    !memcmp(v, known_types[i], (size_t)(p - v)))
					return 1;
			*tok = v;
			*tlen = (size_t)(p - v);
			return 0;
		}
		if (*p != ',')
			break;
		p++;
	}
	return 0;
}

/*
 * The caller's span_data object was written at w->buf[at..len) but has
 * no known type: it becomes the data of a custom span named after its
 * type (or "span_data" without a string type), so the item still goes
 * out and says what was wrong. Room was counted by span_cap().
 */
static void wrap_custom(struct sr_jw *w, size_t at, const char *tok,
			size_t tlen)
{
	static const char head[] = "{\"type\":\"custom\",\"name\":";
	static const char mid[] = ",\"data\":";
	const char *name = tok ? tok : "\"span_data\"";
	size_t nlen = tok ? tlen : 11, olen = w->len - at;
	size_t shift = sizeof(head) - 1 + nlen + sizeof(mid) - 1;
	size_t tok_off = tok ? (size_t)(tok - (w->buf + at)) : 0;

	memmove(w->buf + at + shift, w->buf + at, olen);
	memcpy(w->buf + at, head, sizeof(head) - 1);
	/* the type token moved with the object */
	memcpy(w->buf + at + sizeof(head) - 1,
	       tok ? w->buf + at + shift + tok_off : name, nlen);
	memcpy(w->buf + at + shift - (sizeof(mid) - 1), mid, sizeof(mid) - 1);
	w->len = at + shift + olen;
	LIT(w, "}");
	SR_STAT_ADD(spans_repaired, 1);
}

/* The caller's whole span_data object (C API spans). */
static void put_caller_data(struct sr_jw *w, struct sr_str data)
{
	size_t at = w->len, tlen = 0;
	const char *tok;

	if (!put_fixed(w, data)) {
		/* not JSON at all: kept as text under a custom span */
		SR_STAT_ADD(spans_repaired, 1);
		SR_STAT_ADD(json_repaired, 1);
		LIT(w, "{\"type\":\"custom\",\"name\":\"span_data\","
		       "\"data\":{\"text\":");
		sr_jw_str(w, data.p, data.n);
		LIT(w, "}}");
		return;
	}
	if (!span_type(w->buf + at, w->len - at, &tok, &tlen))
		wrap_custom(w, at, tok, tlen);
}

/*
 * A custom span's data with a SPAN_END's members appended (process and
 * exec spans end that way; the shim never repeats a key of the start).
 * Both objects are copied exactly; `extra` is written after `data` and
 * spliced in.
 */
static void put_merged(struct sr_jw *w, struct sr_str data, struct sr_str extra)
{
	size_t at = w->len, m;

	if (data.n)
		put_object(w, data);
	else
		LIT(w, "{}");
	m = w->len;
	put_object(w, extra);
	if (w->overflow || w->len - m <= 2)
		goto done; /* an empty extra adds nothing */
	/* "{a}{b}" -> "{a,b}" or "{}{b}" -> "{b}" */
	if (m - at > 2) {
		w->buf[m - 1] = ',';
		memmove(w->buf + m, w->buf + m + 1, w->len - m - 1);
		w->len--;
	} else {
		memmove(w->buf + at + 1, w->buf + m + 1, w->len - m - 1);
		w->len -= 2;
	}
	return;
done:
	w->len = w->overflow ? w->len : m;
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

/* {"type":"custom","name":NAME,"data":DATA} or the caller's object. */
static void put_span_data(struct sr_jw *w, const struct sr_span_rec *s,
			  struct sr_str extra)
{
	size_t at;

	if (s->flags & SR_SF_SPAN_DATA) {
		put_caller_data(w, s->data);
		return;
	}
	LIT(w, "{\"type\":\"custom\",\"name\":");
	sr_jw_str(w, s->name.p, s->name.n);
	LIT(w, ",\"data\":");
	at = w->len;
	if (extra.n)
		put_merged(w, s->data, extra);
	else if (s->data.n)
		put_object(w, s->data);
	else
		LIT(w, "{}");
	put_ident(w, at);
	LIT(w, "}");
}

/* null, or {"message":M,"data":D}: an empty message stays empty. */
static void put_error(struct sr_jw *w, const struct sr_span_rec *s)
{
	if (!s->err.n && !(s->flags & SR_SF_ERROR)) {
		LIT(w, "null");
		return;
	}
	LIT(w, "{\"message\":");
	sr_jw_str(w, s->err.p, s->err.n);
	LIT(w, ",\"data\":");
	if (s->errdata.n)
		put_object(w, s->errdata);
	else
		LIT(w, "null");
	LIT(w, "}");
}

static void put_span(struct sr_jw *w, const struct sr_span_rec *s,
		     struct sr_str extra)
{
	char id[SR_SPAN_ID_STR], pid[SR_SPAN_ID_STR], tid[SR_TRACE_ID_STR];
	char t0[SR_ISO_LEN], t1[SR_ISO_LEN];
	uint64_t end = s->end_ns ? s->end_ns : s->start_ns;

	if (end < s->start_ns) {
		/* an end before the start cannot be: a span of no length at
		 * its start, counted */
		end = s->start_ns;
		SR_STAT_ADD(spans_repaired, 1);
	}
	sr_fmt_span_id(id, s->span_id);
	sr_fmt_trace_id(tid, s->trace_id);
	LIT(w, "{\"object\":\"trace.span\",\"id\":\"");
	raw(w, id, SR_SPAN_ID_STR - 1);
	LIT(w, "\",\"trace_id\":\"");
	raw(w, tid, SR_TRACE_ID_STR - 1);
	LIT(w, "\",\"parent_id\":");
	if ((s->flags & SR_SF_ROOT) || sr_id_is_zero(s->parent_id, 12)) {
		LIT(w, "null");
	} else {
		sr_fmt_span_id(pid, s->parent_id);
		LIT(w, "\"");
		raw(w, pid, SR_SPAN_ID_STR - 1);
		LIT(w, "\"");
	}
	LIT(w, ",\"started_at\":\"");
	raw(w, iso(t0, s->start_ns), SR_ISO_LEN - 1);
	LIT(w, "\",\"ended_at\":\"");
	raw(w, iso(t1, end), SR_ISO_LEN - 1);
	LIT(w, "\",\"span_data\":");
	put_span_data(w, s, extra);
	LIT(w, ",\"error\":");
	put_error(w, s);
	LIT(w, "}");
}

/* Bytes a span item may need: the fixed part, every text at its worst,
 * the custom wrapper of wrap_custom() (a second copy of the data's size
 * bounds the moved type token), the identity members. */
static size_t span_cap(const struct sr_span_rec *s, struct sr_str extra)
{
	return 600 + esc(s->name) + 2 * obj_cap(s->data) + obj_cap(extra) +
	       esc(s->err) + obj_cap(s->errdata) + ident.n + 2;
}

int sr_encode_span(const struct sr_span_rec *s, struct sr_str extra,
		   const char **out, size_t *len)
{
	size_t cap;
	struct sr_jw w;
	char *buf;

	if (sr_id_is_zero(s->trace_id, 16) || sr_id_is_zero(s->span_id, 12))
		return -EBADMSG;
	cap = span_cap(s, extra);
	buf = out_room(cap);
	if (!buf)
		return -ENOMEM;
	sr_jw_init(&w, buf, cap);
	put_span(&w, s, extra);
	return finish(&w, out, len);
}
