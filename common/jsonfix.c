/* SPDX-License-Identifier: MIT */
#include "jsonfix.h"

#include <stdbool.h>
#include <string.h>

#include "jsonscan.h"
#include "jsonw.h"
#include "limits.h"

struct jf {
	const unsigned char *p, *end;
	const unsigned char *run; /* start of the input not copied yet */
	char *out;
	size_t o;
	unsigned fixes;
};

/* Copies the input read since the last copy: one memcpy per run of
 * tokens, not one per token. */
static void jf_flush(struct jf *c, const unsigned char *to)
{
	memcpy(c->out + c->o, c->run, (size_t)(to - c->run));
	c->o += (size_t)(to - c->run);
}

/* Writes `rep` in place of input [from, c->p): the repair. */
static void jf_replace(struct jf *c, const unsigned char *from, const char *rep,
		       size_t n, unsigned fix)
{
	jf_flush(c, from);
	memcpy(c->out + c->o, rep, n);
	c->o += n;
	c->run = c->p;
	c->fixes |= fix;
}

static bool ws_byte(unsigned char b)
{
	return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}

static void jf_ws(struct jf *c)
{
	const unsigned char *at = c->p;

	while (c->p < c->end && ws_byte(*c->p))
		c->p++;
	if (c->p != at) {
		jf_flush(c, at);
		c->run = c->p;
	}
}

/* Bytes the string loop must look at: '"', '\\', controls, non-ASCII. */
static const bool special[256] = { [0x00 ... 0x1f] = true,
				   ['"'] = true,
				   ['\\'] = true,
				   [0x80 ... 0xff] = true };

static bool hex(unsigned char b)
{
	return (b >= '0' && b <= '9') ||
	       ((b | 0x20) >= 'a' && (b | 0x20) <= 'f');
}

static bool jf_string(struct jf *c)
{
	c->p++;
	for (;;) {
		/* plain bytes in one table lookup each */
		while (c->p < c->end && !special[*c->p])
			c->p++;
		if (c->p >= c->end || *c->p < 0x20)
			return false;
		if (*c->p == '"')
			break;
		if (*c->p == '\\') {
			if (++c->p >= c->end)
				return false;
			if (*c->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (c->p + i >= c->end || !hex(c->p[i]))
						return false;
				c->p += 5;
				continue;
			}
			if (!memchr("\"\\/bfnrt", *c->p, 8))
				return false;
			c->p++;
			continue;
		}
		{
			size_t k = sr_utf8_seq(c->p, (size_t)(c->end - c->p));
			const unsigned char *at = c->p;

			if (k) {
				c->p += k;
				continue;
			}
			c->p++;
			jf_replace(c, at, "\xef\xbf\xbd", 3, SR_JFIX_UTF8);
		}
	}
	c->p++;
	return true;
}

static bool digit(unsigned char b)
{
	return b >= '0' && b <= '9';
}

/* A number, kept as written (RFC 8259 grammar). */
static bool jf_number(struct jf *c)
{
	if (*c->p == '-')
		c->p++;
	if (c->p >= c->end || !digit(*c->p))
		return false;
	if (*c->p == '0')
		c->p++;
	else
		while (c->p < c->end && digit(*c->p))
			c->p++;
	if (c->p < c->end && *c->p == '.') {
		if (++c->p >= c->end || !digit(*c->p))
			return false;
		while (c->p < c->end && digit(*c->p))
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		if (++c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (c->p >= c->end || !digit(*c->p))
			return false;
		while (c->p < c->end && digit(*c->p))
			c->p++;
	}
	return true;
}

static bool jf_word(struct jf *c, const char *w, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
		return false;
	c->p += n;
	return true;
}

/* NaN, Infinity, -Infinity: null. */
static bool jf_nonfinite(struct jf *c)
{
	const unsigned char *at = c->p;

	if (!jf_word(c, "NaN", 3) && !jf_word(c, "Infinity", 8) &&
	    !jf_word(c, "-Infinity", 9))
		return false;
	jf_replace(c, at, "null", 4, SR_JFIX_NONFINITE);
	return true;
}

static bool jf_value(struct jf *c, unsigned depth);

static bool jf_container(struct jf *c, unsigned depth, unsigned char close)
{
	bool obj = close == '}';

	if (depth > SR_JSON_DEPTH_MAX) {
		const unsigned char *at = c->p;
		const char *e = sr_json_skip((const char *)c->p,
					     (const char *)c->end);

		if (!e)
			return false;
		c->p = (const unsigned char *)e;
		jf_replace(c, at, "null", 4, SR_JFIX_DEPTH);
		return true;
	}
	c->p++;
	jf_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		return true;
	}
	for (;;) {
		jf_ws(c);
		if (obj) {
			if (c->p >= c->end || *c->p != '"' || !jf_string(c))
				return false;
			jf_ws(c);
			if (c->p >= c->end || *c->p != ':')
				return false;
			c->p++;
		}
		if (!jf_value(c, depth))
			return false;
		jf_ws(c);
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

static bool jf_value(struct jf *c, unsigned depth)
{
	jf_ws(c);
	if (c->p >= c->end)
		return false;
	switch (*c->p) {
	case '{':
		return jf_container(c, depth + 1, '}');
	case '[':
		return jf_container(c, depth + 1, ']');
	case '"':
		return jf_string(c);
	case 't':
		return jf_word(c, "true", 4);
	case 'f':
		return jf_word(c, "false", 5);
	case 'n':
		return jf_word(c, "null", 4);
	case 'N':
	case 'I':
		return jf_nonfinite(c);
	case '-':
		if (c->p + 1 < c->end && c->p[1] == 'I')
			return jf_nonfinite(c);
		return jf_number(c);
	default:
		return jf_number(c);
	}
}

size_t sr_json_fix_object(const char *s, size_t n, char *out, unsigned *fixes)
{
	struct jf c = { .p = (const unsigned char *)s,
			.end = (const unsigned char *)s + n,
			.run = (const unsigned char *)s,
			.out = out };
	bool ok;

	jf_ws(&c);
	ok = c.p < c.end && *c.p == '{' && jf_container(&c, 1, '}');
	jf_ws(&c);
	if (!ok || c.p != c.end)
		return 0;
	jf_flush(&c, c.p);
	*fixes |= c.fixes;
	return c.o;
}
