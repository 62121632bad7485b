/* SPDX-License-Identifier: MIT */
#include "jsonw.h"

#include <string.h>

#include "dec.h"

void sr_jw_init(struct sr_jw *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap ? cap - 1 : 0; /* room for sr_jw_cstr()'s NUL */
	w->len = 0;
	w->overflow = false;
}

static bool room(struct sr_jw *w, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return false;
	}
	return true;
}

void sr_jw_raw(struct sr_jw *w, const char *s, size_t n)
{
	if (!room(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

void sr_jw_lit(struct sr_jw *w, const char *s)
{
	sr_jw_raw(w, s, strlen(s));
}

size_t sr_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF are invalid */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Writes the escape of one unit at s (or counts it when out is NULL);
 * returns bytes consumed from s and sets *outn to bytes produced. */
static size_t escape_one(const unsigned char *s, size_t n, char *out,
			 size_t *outn)
{
	static const char hex[] = "0123456789abcdef";
	unsigned c = s[0];
	size_t seq;
	char tmp[6];
	const char *e = NULL;

	switch (c) {
	case '"':
		e = "\\\"";
		break;
	case '\\':
		e = "\\\\";
		break;
	case '\n':
		e = "\\n";
		break;
	case '\r':
		e = "\\r";
		break;
	case '\t':
		e = "\\t";
		break;
	case '\b':
		e = "\\b";
		break;
	case '\f':
		e = "\\f";
		break;
	default:
		break;
	}
	if (e) {
		*outn = 2;
		if (out)
			memcpy(out, e, 2);
		return 1;
	}
	if (c < 0x20) {
		tmp[0] = '\\', tmp[1] = 'u', tmp[2] = '0', tmp[3] = '0';
		tmp[4] = hex[c >> 4], tmp[5] = hex[c & 15];
		*outn = 6;
		if (out)
			memcpy(out, tmp, 6);
		return 1;
	}
	seq = sr_utf8_seq(s, n);
	if (!seq) {
		/* U+FFFD for a byte that starts no valid sequence */
		*outn = 3;
		if (out)
			memcpy(out, "\xef\xbf\xbd", 3);
		return 1;
	}
	*outn = seq;
	if (out)
		memcpy(out, s, seq);
	return seq;
}

size_t sr_json_escaped_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, total = 0, k;

	while (i < n) {
		i += escape_one(u + i, n - i, NULL, &k);
		total += k;
	}
	return total;
}

void sr_jw_str(struct sr_jw *w, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, need = sr_json_escaped_len(s, n) + 2;

	if (!room(w, need))
		return;
	w->buf[w->len++] = '"';
	while (i < n) {
		i += escape_one(u + i, n - i, w->buf + w->len, &k);
		w->len += k;
	}
	w->buf[w->len++] = '"';
}

void sr_jw_cstr_val(struct sr_jw *w, const char *s)
{
	if (!s)
		sr_jw_lit(w, "null");
	else
		sr_jw_str(w, s, strlen(s));
}

void sr_jw_u64(struct sr_jw *w, uint64_t v)
{
	char tmp[SR_DEC_MAX];

	sr_jw_raw(w, tmp, sr_dec_fmt(tmp, v));
}

void sr_jw_i64(struct sr_jw *w, int64_t v)
{
	if (v < 0) {
		size_t m = sr_jw_mark(w);

		sr_jw_raw(w, "-", 1);
		sr_jw_u64(w, (uint64_t)0 - (uint64_t)v);
		if (w->overflow)
			sr_jw_rollback(w, m), w->overflow = true;
		return;
	}
	sr_jw_u64(w, (uint64_t)v);
}

void sr_jw_member(struct sr_jw *w, const char *key)
{
	char last = w->len ? w->buf[w->len - 1] : '{';

	if (last != '{' && last != '[')
		sr_jw_raw(w, ",", 1);
	sr_jw_str(w, key, strlen(key));
	sr_jw_raw(w, ":", 1);
}

void sr_jw_member_str(struct sr_jw *w, const char *key, const char *s, size_t n)
{
	sr_jw_member(w, key);
	sr_jw_str(w, s, n);
}

void sr_jw_member_cstr(struct sr_jw *w, const char *key, const char *s)
{
	sr_jw_member(w, key);
	sr_jw_cstr_val(w, s);
}

void sr_jw_member_i64(struct sr_jw *w, const char *key, int64_t v)
{
	sr_jw_member(w, key);
	sr_jw_i64(w, v);
}

void sr_jw_member_u64(struct sr_jw *w, const char *key, uint64_t v)
{
	sr_jw_member(w, key);
	sr_jw_u64(w, v);
}

void sr_jw_member_raw(struct sr_jw *w, const char *key, const char *s, size_t n)
{
	sr_jw_member(w, key);
	sr_jw_raw(w, s, n);
}

void sr_jw_member_lit(struct sr_jw *w, const char *key, const char *s)
{
	sr_jw_member(w, key);
	sr_jw_lit(w, s);
}

size_t sr_jw_mark(const struct sr_jw *w)
{
	return w->len;
}

void sr_jw_rollback(struct sr_jw *w, size_t mark)
{
	if (mark <= w->len)
		w->len = mark;
	w->overflow = false;
}

const char *sr_jw_cstr(struct sr_jw *w)
{
	w->buf[w->len] = 0;
	return w->buf;
}
