/* SPDX-License-Identifier: MIT */
/*
 * ingest.c - a small tree over the item's text (scalars keep their bytes,
 * nothing is converted), the rules on it, and the text written back.
 */
#include "ingest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonscan.h"
#include "common/limits.h"

struct jn {
	char kind; /* 'o' object, 'a' array, 's' string, 'v' other */
	bool removed;
	const char *key; /* member key token, quotes included (objects) */
	size_t keyn;
	const char *raw; /* scalar token as written (or `own`) */
	size_t rawn;
	char *own; /* a cut string, owned */
	struct jn *kids;
	size_t nkids, cap;
	size_t size; /* compact bytes of the value */
};

struct parser {
	const char *p, *end;
	unsigned depth;
	bool bad;
};

static void ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

/* End of the string token starting at p (its opening quote). */
static const char *string_end(const char *p, const char *end)
{
	for (p++; p < end && *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p < end ? p + 1 : NULL;
}

static void node_free(struct jn *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_free(&n->kids[i]);
	free(n->kids);
	free(n->own);
}

static bool parse_value(struct parser *ps, struct jn *n);

static struct jn *add_kid(struct parser *ps, struct jn *n)
{
	if (n->nkids == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 4;
		struct jn *k = realloc(n->kids, cap * sizeof(*k));

		if (!k) {
			ps->bad = true;
			return NULL;
		}
		n->kids = k;
		n->cap = cap;
	}
	memset(&n->kids[n->nkids], 0, sizeof(*n->kids));
	return &n->kids[n->nkids++];
}

static bool parse_container(struct parser *ps, struct jn *n, char close)
{
	if (++ps->depth > SR_JSON_DEPTH_MAX + 1)
		return false;
	n->kind = close == '}' ? 'o' : 'a';
	ps->p++;
	ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return true;
	}
	for (;;) {
		struct jn *k = add_kid(ps, n);
		const char *ke;

		if (!k)
			return false;
		ws(ps);
		if (close == '}') {
			if (ps->p >= ps->end || *ps->p != '"' ||
			    !(ke = string_end(ps->p, ps->end)))
				return false;
			k->key = ps->p;
			k->keyn = (size_t)(ke - ps->p);
			ps->p = ke;
			ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return false;
			ps->p++;
		}
		if (!parse_value(ps, k))
			return false;
		ws(ps);
		if (ps->p >= ps->end)
			return false;
		if (*ps->p == close) {
			ps->p++;
			ps->depth--;
			return true;
		}
		if (*ps->p++ != ',')
			return false;
	}
}

static bool parse_value(struct parser *ps, struct jn *n)
{
	const char *e;

	ws(ps);
	if (ps->p >= ps->end)
		return false;
	if (*ps->p == '{' || *ps->p == '[')
		return parse_container(ps, n, *ps->p == '{' ? '}' : ']');
	if (*ps->p == '"') {
		e = string_end(ps->p, ps->end);
		if (!e)
			return false;
		n->kind = 's';
	} else {
		/* numbers and words: the bytes up to the next delimiter */
		e = ps->p;
		while (e < ps->end && !strchr(",]} \t\r\n", *e))
			e++;
		if (e == ps->p)
			return false;
		n->kind = 'v';
	}
	n->raw = ps->p;
	n->rawn = (size_t)(e - ps->p);
	ps->p = e;
	return true;
}

/* --- sizes and the text ------------------------------------------------ */

static size_t size_of(struct jn *n)
{
	size_t s, k = 0;

	if (n->kind == 's' || n->kind == 'v')
		return n->size = n->rawn;
	s = 2;
	for (size_t i = 0; i < n->nkids; i++) {
		struct jn *c = &n->kids[i];

		if (c->removed)
			continue;
		s += (k++ ? 1 : 0) + size_of(c) +
		     (n->kind == 'o' ? c->keyn + 1 : 0);
	}
	return n->size = s;
}

static char *put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

static char *write_node(char *o, const struct jn *n)
{
	bool first = true;

	if (n->kind == 's' || n->kind == 'v')
		return put(o, n->raw, n->rawn);
	*o++ = n->kind == 'o' ? '{' : '[';
	for (size_t i = 0; i < n->nkids; i++) {
		const struct jn *c = &n->kids[i];

		if (c->removed)
			continue;
		if (!first)
			*o++ = ',';
		first = false;
		if (n->kind == 'o') {
			o = put(o, c->key, c->keyn);
			*o++ = ':';
		}
		o = write_node(o, c);
	}
	*o++ = n->kind == 'o' ? '}' : ']';
	return o;
}

static struct jn *member(struct jn *o, const char *key)
{
	size_t kn = strlen(key);

	if (!o || o->kind != 'o')
		return NULL;
	/* the last one wins, as JSON parsers read duplicates */
	for (size_t i = o->nkids; i-- > 0;) {
		struct jn *c = &o->kids[i];

		if (!c->removed && c->keyn == kn + 2 &&
		    !memcmp(c->key + 1, key, kn))
			return c;
	}
	return NULL;
}

/* --- input / output: the JS exporter's cut ---------------------------- */

/* Longest cut of a string token's content (raw without quotes, n bytes)
 * at most max bytes: never inside an escape (a \u escape of a high
 * surrogate keeps its pair) nor inside a UTF-8 sequence. */
static size_t string_cut(const char *s, size_t n, size_t max)
{
	size_t i = 0, ok = 0;

	while (i < n) {
		size_t step = 1;

		if (s[i] == '\\') {
			step = s[i + 1] == 'u' ? 6 : 2;
			/* a surrogate pair is one character */
			if (step == 6 && i + 12 <= n &&
			    (s[i + 2] | 0x20) == 'd' &&
			    strchr("89abAB", s[i + 3]) && s[i + 6] == '\\' &&
			    s[i + 7] == 'u')
				step = 12;
		} else if ((unsigned char)s[i] >= 0x80) {
			while (i + step < n &&
			       ((unsigned char)s[i + step] & 0xc0) == 0x80)
				step++;
		}
		if (i + step > max)
			break;
		i += step;
		ok = i;
	}
	return ok;
}

static bool shrink(struct jn *n, size_t budget);

static bool shrink_string(struct jn *n, size_t budget)
{
	static const char sfx[] = SR_INGEST_CUT_SUFFIX;
	size_t fixed = 2 + sizeof(sfx) - 1, cut;
	char *t;

	if (budget < fixed)
		return false;
	cut = string_cut(n->raw + 1, n->rawn - 2, budget - fixed);
	t = malloc(cut + fixed);
	if (!t)
		return false;
	t[0] = '"';
	memcpy(t + 1, n->raw + 1, cut);
	memcpy(t + 1 + cut, sfx, sizeof(sfx) - 1);
	t[cut + fixed - 1] = '"';
	free(n->own);
	n->own = t;
	n->raw = t;
	n->rawn = cut + fixed;
	n->size = n->rawn;
	return true;
}

/* An object or array: its largest member shrunk to what the others leave
 * it, or removed when it cannot shrink, until the whole fits. */
static bool shrink_container(struct jn *n, size_t budget)
{
	while (size_of(n) > budget) {
		struct jn *big = NULL;
		size_t rest;

		for (size_t i = 0; i < n->nkids; i++)
			if (!n->kids[i].removed &&
			    (!big || n->kids[i].size > big->size))
				big = &n->kids[i];
		if (!big)
			return false; /* "{}" itself does not fit */
		rest = n->size - big->size;
		if (rest >= budget || !shrink(big, budget - rest))
			big->removed = true;
	}
	return true;
}

static bool shrink(struct jn *n, size_t budget)
{
	if (size_of(n) <= budget)
		return true;
	if (n->kind == 's')
		return shrink_string(n, budget);
	if (n->kind == 'o' || n->kind == 'a')
		return shrink_container(n, budget);
	return false;
}

static bool cut_field(struct jn *sd, const char *key)
{
	struct jn *f = member(sd, key);

	if (!f || size_of(f) <= SR_INGEST_FIELD_MAX)
		return false;
	if (!shrink(f, SR_INGEST_FIELD_MAX)) {
		/* a scalar larger than the budget (a huge number): null */
		node_free(f);
		f->kids = NULL;
		f->nkids = f->cap = 0;
		f->own = NULL;
		f->kind = 'v';
		f->raw = "null";
		f->rawn = 4;
	}
	return true;
}

/* --- usage ------------------------------------------------------------ */

static bool is_number(const struct jn *n)
{
	return n && n->kind == 'v' &&
	       (n->raw[0] == '-' || (n->raw[0] >= '0' && n->raw[0] <= '9'));
}

static bool key_is(const struct jn *c, const char *key)
{
	size_t kn = strlen(key);

	return c->keyn == kn + 2 && !memcmp(c->key + 1, key, kn);
}

/*
 * usage = {input_tokens, output_tokens, details: {existing details...,
 * other members...}} as a new object node built in place of `u`; the
 * kids move (no copy of their text). -ENOMEM, or 0.
 */
static int usage_rebuild(struct jn *u)
{
	struct jn *in = member(u, "input_tokens"),
		  *out = member(u, "output_tokens");
	struct jn *det = member(u, "details");
	struct jn nu = { .kind = 'o' }, nd = { .kind = 'o' };
	int rc = -ENOMEM;

	nu.kids = calloc(3, sizeof(*nu.kids));
	nd.cap = u->nkids + (det && det->kind == 'o' ? det->nkids : 0) + 1;
	nd.kids = calloc(nd.cap, sizeof(*nd.kids));
	if (!nu.kids || !nd.kids)
		goto out;
	nu.cap = 3;
	if (det && det->kind == 'o')
		for (size_t i = 0; i < det->nkids; i++)
			if (!det->kids[i].removed) {
				nd.kids[nd.nkids++] = det->kids[i];
				det->kids[i].removed = true;
			}
	for (size_t i = 0; i < u->nkids; i++) {
		struct jn *c = &u->kids[i];

		if (c->removed || c == in || c == out || key_is(c, "details") ||
		    key_is(c, "input_tokens") || key_is(c, "output_tokens"))
			continue;
		/* a same-named member of details is replaced */
		for (size_t j = 0; j < nd.nkids; j++)
			if (!nd.kids[j].removed && nd.kids[j].keyn == c->keyn &&
			    !memcmp(nd.kids[j].key, c->key, c->keyn))
				nd.kids[j].removed = true;
		nd.kids[nd.nkids++] = *c;
		c->removed = true;
	}
	nu.kids[nu.nkids++] = *in;
	in->removed = true;
	nu.kids[nu.nkids++] = *out;
	out->removed = true;
	if (nd.nkids) {
		nd.key = "\"details\"";
		nd.keyn = 9;
		nu.kids[nu.nkids++] = nd;
		nd.kids = NULL;
	}
	/* the moved kids are owned by the new nodes now: free only the
	 * old containers' arrays (their removed entries are shallow) */
	if (det && det->kind == 'o') {
		free(det->kids);
		det->kids = NULL;
		det->nkids = 0;
	}
	nu.key = u->key;
	nu.keyn = u->keyn;
	for (size_t i = 0; i < u->nkids; i++)
		if (!u->kids[i].removed)
			node_free(&u->kids[i]);
	free(u->kids);
	*u = nu;
	nu.kids = NULL;
	rc = 0;
out:
	free(nu.kids);
	free(nd.kids);
	return rc;
}

/* 1 when usage changed, 0, or -ENOMEM. */
static int usage_rules(struct jn *sd)
{
	struct jn *type = member(sd, "type"), *u = member(sd, "usage");
	bool gen = type && type->kind == 's' && type->rawn == 12 &&
		   !memcmp(type->raw, "\"generation\"", 12);
	struct jn *in, *out;
	bool only_counts = true;

	if (!u)
		return 0;
	in = member(u, "input_tokens");
	out = member(u, "output_tokens");
	if (!gen || u->kind != 'o' || !is_number(in) || !is_number(out)) {
		u->removed = true;
		return 1;
	}
	for (size_t i = 0; i < u->nkids; i++) {
		struct jn *c = &u->kids[i];

		if (c->removed || c == in || c == out)
			continue;
		only_counts = false;
	}
	if (only_counts && u->nkids == 2)
		return 0;
	return usage_rebuild(u) ? -ENOMEM : 1;
}

/* --- the item --------------------------------------------------------- */

/* Cheap test: could a rule apply? Only span items with a usage member or
 * with more bytes than a field may hold. */
static bool may_apply(const char *item, size_t n)
{
	return n >= 22 && !memcmp(item, "{\"object\":\"trace.span\"", 22) &&
	       (n > SR_INGEST_FIELD_MAX ||
		sr_json_find(item, n, "\"usage\"", 7));
}

int sr_ingest_item(const char *item, size_t n, char **out, size_t *len)
{
	struct parser ps = { item, item + n, 0, false };
	struct jn root = { 0 }, *sd;
	int changed = 0, rc;
	char *t, *e;

	if (!may_apply(item, n))
		return 0;
	if (!parse_value(&ps, &root) || root.kind != 'o') {
		node_free(&root);
		return ps.bad ? -ENOMEM : 0;
	}
	sd = member(&root, "span_data");
	if (!sd || sd->kind != 'o') {
		node_free(&root);
		return 0;
	}
	changed |= cut_field(sd, "input");
	changed |= cut_field(sd, "output");
	rc = usage_rules(sd);
	if (rc < 0) {
		node_free(&root);
		return rc;
	}
	changed |= rc;
	if (!changed) {
		node_free(&root);
		return 0;
	}
	t = malloc(size_of(&root) + 1);
	if (!t) {
		node_free(&root);
		return -ENOMEM;
	}
	e = write_node(t, &root);
	*e = 0;
	*len = (size_t)(e - t);
	*out = t;
	node_free(&root);
	return 1;
}
