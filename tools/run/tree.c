/* SPDX-License-Identifier: MIT */
/*
 * tree.c - the trace tree of `spanring run` (see tree.h).
 *
 * Lines are parsed with cJSON into compact nodes (ids, times, and the
 * already-cleaned text of the line to print), the cJSON tree is freed at
 * once. Linking sorts the nodes by id and finds parents by binary search,
 * so a tree of n spans costs O(n log n) and no recursion deeper than the
 * depth shown.
 */
#include "tree.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "common/clock.h"
#include "common/jsonw.h"
#include "common/limits.h"

#define NONE SIZE_MAX
#define DETAIL_MIN_COLS 12u /* a shortened summary keeps at least this */
#define CONSOLE_SPAN "[Exporter] Export span: "
#define CONSOLE_TRACE "[Exporter] Export trace_id="

enum cls { C_PLAIN, C_DIM, C_NAME, C_PROC, C_OK, C_BAD, C_HEAD };

struct node {
	char *id, *parent, *trace; /* owned; parent may be NULL */
	uint64_t start, end;       /* ns since the epoch; 0: unknown */
	char *label;               /* span name or type (clean text) */
	char *detail;              /* argv, address, … (clean text) */
	char *extra;               /* "pid 42", "tcp", … */
	char *status;              /* "exit 3", "signal SIGSEGV" */
	char *error;               /* error message */
	char *exe;                 /* process: executable name */
	bool status_bad, is_proc;
	/* set by link_tree() */
	size_t up;   /* parent node, or NONE: top of its trace */
	size_t tr;   /* trace index */
	size_t kids; /* first child in t->order */
	size_t nkids;
	size_t ndesc;   /* descendants */
	unsigned depth; /* 0 for a top span */
	uint8_t mark;   /* cycle walk state */
};

struct trace {
	char *id;   /* owned */
	char *name; /* workflow name (clean text), NULL when unknown */
	uint64_t start;
	size_t tops, ntops; /* run in t->order */
	size_t nspans;
};

struct sr_tree {
	struct node *n;
	size_t nn, ncap;
	struct trace *tr;
	size_t ntr, trcap;
	size_t *order; /* node indices grouped by parent, by start time */
	size_t malformed, dropped;
	bool linked;
};

/* --- growable strings --------------------------------------------------- */

struct sb {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sb_add(struct sb *s, const char *t, size_t len)
{
	if (s->oom)
		return;
	if (s->n + len + 1 > s->cap) {
		size_t cap = (s->n + len + 1) * 2;
		char *p = realloc(s->p, cap);

		if (!p) {
			s->oom = true;
			return;
		}
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->n, t, len);
	s->n += len;
	s->p[s->n] = 0;
}

static void sb_str(struct sb *s, const char *t)
{
	sb_add(s, t, strlen(t));
}

static void sb_fmt(struct sb *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_fmt(struct sb *s, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (k > 0)
		sb_add(s, buf,
		       (size_t)k < sizeof(buf) ? (size_t)k : sizeof(buf) - 1);
}

/* Returns the string (NULL if empty or out of memory). */
static char *sb_take(struct sb *s)
{
	if (s->oom || s->n == 0) {
		free(s->p);
		return NULL;
	}
	return s->p;
}

/* --- text for a terminal ------------------------------------------------ */

/* Decodes the code point of a valid UTF-8 sequence of k bytes. */
static uint32_t utf8_cp(const unsigned char *s, size_t k)
{
	static const unsigned char lead[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = s[0] & lead[k];

	for (size_t i = 1; i < k; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

/*
 * Appends s[0..n) with control characters (C0, DEL, C1) and invalid UTF-8
 * escaped, so span data can never drive the terminal; stops after max
 * bytes with "…".
 */
static void sb_cleann(struct sb *o, const char *s, size_t n, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t start = o->n;

	for (size_t i = 0; i < n;) {
		size_t k = sr_utf8_seq(p + i, n - i);
		uint32_t cp = k ? utf8_cp(p + i, k) : p[i];

		if (o->n - start >= max) {
			sb_str(o, "…");
			return;
		}
		if (k == 0)
			sb_fmt(o, "\\x%02x", p[i]);
		else if (cp == '\n')
			sb_str(o, "\\n");
		else if (cp == '\t')
			sb_str(o, "\\t");
		else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			sb_fmt(o, "\\u%04x", (unsigned)cp);
		else
			sb_add(o, (const char *)p + i, k);
		i += k ? k : 1;
	}
}

static void sb_clean(struct sb *o, const char *s, size_t max)
{
	sb_cleann(o, s, strlen(s), max);
}

static char *clean_dup(const char *s)
{
	struct sb o = { 0 };

	sb_clean(&o, s, SR_TREE_DETAIL_MAX);
	return sb_take(&o);
}

/* Display columns: one per code point (wide East Asian characters are
 * counted as one; spans rarely hold them and wcwidth needs a locale). */
static size_t cols(const char *s)
{
	size_t c = 0;

	for (; s && *s; s++)
		c += ((unsigned char)*s & 0xc0) != 0x80;
	return c;
}

/* --- JSON helpers -------------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jnum(const cJSON *o, const char *k, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble ||
	    v->valuedouble > 9e18 || v->valuedouble < -9e18)
		return false;
	*out = (long long)v->valuedouble;
	return true;
}

/* A shell word needs no quotes when made of these only. */
static bool plain_word(const char *w)
{
	if (!*w)
		return false;
	for (; *w; w++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_@%+=:,./-",
			    *w))
			return false;
	return true;
}

/* Appends argv as a shell would read it: words quoted where needed. */
static void sb_argv(struct sb *o, const cJSON *argv)
{
	const cJSON *a;
	bool first = true;

	cJSON_ArrayForEach(a, argv)
	{
		if (!cJSON_IsString(a) || o->n >= SR_TREE_DETAIL_MAX)
			continue;
		if (!first)
			sb_str(o, " ");
		first = false;
		if (plain_word(a->valuestring)) {
			sb_str(o, a->valuestring);
			continue;
		}
		/* single quotes, each ' inside as '\'' */
		sb_str(o, "'");
		for (const char *c = a->valuestring;;) {
			const char *q = strchr(c, '\'');

			sb_cleann(o, c, q ? (size_t)(q - c) : strlen(c),
				  SR_TREE_DETAIL_MAX);
			if (!q)
				break;
			sb_str(o, "'\\''");
			c = q + 1;
		}
		sb_str(o, "'");
	}
}

/* argv of the span data, else the first string key present. */
static char *argv_or(const cJSON *d, const char *k1, const char *k2)
{
	const cJSON *argv =
		cJSON_GetObjectItemCaseSensitive(d, "process.command_args");
	struct sb o = { 0 };
	const char *s;

	if (cJSON_IsArray(argv) && cJSON_GetArraySize(argv) > 0)
		sb_argv(&o, argv);
	else if ((s = jstr(d, k1)) || (k2 && (s = jstr(d, k2))))
		sb_clean(&o, s, SR_TREE_DETAIL_MAX);
	return sb_take(&o);
}

/* --- span summaries ------------------------------------------------------ */

/* pre, the number, post: "pid 42", "3 answers". */
static char *num_dup(const char *pre, long long v, const char *post)
{
	struct sb o = { 0 };

	sb_fmt(&o, "%s%lld%s", pre, v, post);
	return sb_take(&o);
}

/* exit code or signal of a process / system / popen span. */
static void sum_exit(struct node *n, const cJSON *d)
{
	const char *sig = jstr(d, "process.exit.signal");
	long long v;

	if (sig) {
		struct sb o = { 0 };

		sb_str(&o, "signal ");
		sb_clean(&o, sig, 32);
		n->status = sb_take(&o);
		n->status_bad = true;
	} else if (jnum(d, "process.exit.code", &v)) {
		n->status = num_dup("exit ", v, "");
		n->status_bad = v != 0;
	}
}

static void sum_connect(struct node *n, const cJSON *d)
{
	const char *addr = jstr(d, "server.address");
	const char *net = jstr(d, "network.type");
	const char *tr = jstr(d, "network.transport");
	struct sb o = { 0 };
	long long port;
	bool v6 = (net && !strcmp(net, "ipv6")) || (addr && strchr(addr, ':'));

	if (addr) {
		sb_str(&o, v6 ? "[" : "");
		sb_clean(&o, addr, 512);
		sb_str(&o, v6 ? "]" : "");
	}
	if (jnum(d, "server.port", &port) && !(tr && !strcmp(tr, "unix")))
		sb_fmt(&o, ":%lld", port);
	n->detail = sb_take(&o);
	if (tr)
		n->extra = clean_dup(tr);
}

static void sum_dns(struct node *n, const cJSON *d)
{
	const char *name = jstr(d, "dns.question.name");
	struct sb o = { 0 };
	long long v;

	if (name)
		sb_clean(&o, name, 512);
	if (jnum(d, "server.port", &v))
		sb_fmt(&o, ":%lld", v);
	else if (jstr(d, "server.port")) {
		sb_str(&o, ":");
		sb_clean(&o, jstr(d, "server.port"), 64);
	}
	n->detail = sb_take(&o);
	if (jnum(d, "dns.answer.count", &v))
		n->extra = num_dup("", v, v == 1 ? " answer" : " answers");
}

/* The other custom spans: their data as compact JSON. */
static void sum_data(struct node *n, const cJSON *d)
{
	char *js;

	if (!cJSON_IsObject(d) || !d->child)
		return;
	js = cJSON_PrintUnformatted(d);
	if (js) {
		n->detail = clean_dup(js);
		free(js);
	}
}

static void sum_custom(struct node *n, const char *name, const cJSON *d)
{
	long long v;

	n->label = clean_dup(name && *name ? name : "custom");
	if (!strcmp(name, "process")) {
		n->is_proc = true;
		n->detail = argv_or(d, "process.executable.name",
				    "process.executable.path");
		if (jstr(d, "process.executable.name"))
			n->exe = clean_dup(jstr(d, "process.executable.name"));
		if (jnum(d, "process.pid", &v))
			n->extra = num_dup("pid ", v, "");
		sum_exit(n, d);
	} else if (!strcmp(name, "exec")) {
		n->detail = argv_or(d, "process.executable.path", NULL);
	} else if (!strcmp(name, "fork") || !strcmp(name, "spawn")) {
		if (name[0] == 's')
			n->detail = argv_or(d, "process.executable.path", NULL);
		if (jnum(d, "process.child_pid", &v))
			n->extra = num_dup("→ pid ", v, "");
	} else if (!strcmp(name, "system") || !strcmp(name, "popen")) {
		n->detail = argv_or(d, "process.command_line", NULL);
		sum_exit(n, d);
	} else if (!strcmp(name, "connect")) {
		sum_connect(n, d);
	} else if (!strcmp(name, "getaddrinfo")) {
		sum_dns(n, d);
	} else {
		sum_data(n, d);
	}
}

/* Spans of the OpenAI span types: type, then the field that names it. */
static void sum_typed(struct node *n, const char *type, const cJSON *sd)
{
	static const char *const keys[] = { "name", "model", "response_id",
					    "server" };
	const char *from = jstr(sd, "from_agent"), *to = jstr(sd, "to_agent");
	struct sb o = { 0 };

	n->label = clean_dup(type && *type ? type : "span");
	if (from || to) {
		sb_clean(&o, from ? from : "?", 256);
		sb_str(&o, " → ");
		sb_clean(&o, to ? to : "?", 256);
		n->detail = sb_take(&o);
		return;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (jstr(sd, keys[i])) {
			n->detail = clean_dup(jstr(sd, keys[i]));
			return;
		}
}

static void summarize(struct node *n, const cJSON *sd, const cJSON *err)
{
	const char *type = jstr(sd, "type");
	const char *msg;

	if (type && !strcmp(type, "custom") && jstr(sd, "name"))
		sum_custom(n, jstr(sd, "name"),
			   cJSON_GetObjectItemCaseSensitive(sd, "data"));
	else
		sum_typed(n, type ? type : "span", sd);
	if (cJSON_IsObject(err)) {
		msg = jstr(err, "message");
		n->error = clean_dup(msg && *msg ? msg : "error");
	}
}

/* --- parsing -------------------------------------------------------------- */

/*
 * "2026-11-21T11:24:00.769235+00:00" (or with Z, or without fraction) to ns
 * since the epoch; 0 if it is not such a time.
 */
uint64_t sr_tree_parse_time(const char *s)
{
	uint64_t ns = 0;

	return s && sr_parse_iso(s, strlen(s), &ns) ? ns : 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void node_free(struct node *n)
{
	free(n->id);
	free(n->parent);
	free(n->trace);
	free(n->label);
	free(n->detail);
	free(n->extra);
	free(n->status);
	free(n->error);
	free(n->exe);
}

/* Room for element n of arr (cap elements of size bytes): arr itself when
 * there is, else arr reallocated to twice cap (first when empty) with
 * *cap updated. NULL when out of memory (arr is then left as it was). */
static void *grow(void *arr, size_t *cap, size_t n, size_t size, size_t first)
{
	size_t c = *cap ? *cap * 2 : first;
	void *p;

	if (n < *cap)
		return arr;
	p = realloc(arr, c * size);
	if (p)
		*cap = c;
	return p;
}

static int add_trace(struct sr_tree *t, const char *id, const char *name)
{
	struct trace *tr;

	tr = grow(t->tr, &t->trcap, t->ntr, sizeof(*tr), 16);
	if (!tr)
		return -ENOMEM;
	t->tr = tr;
	tr = &t->tr[t->ntr];
	memset(tr, 0, sizeof(*tr));
	tr->id = strdup(id);
	tr->name = name ? clean_dup(name) : NULL;
	if (!tr->id) {
		free(tr->name);
		return -ENOMEM;
	}
	t->ntr++;
	return 0;
}

static int add_span(struct sr_tree *t, const cJSON *o)
{
	const char *id = jstr(o, "id"), *trace = jstr(o, "trace_id");
	const cJSON *sd = cJSON_GetObjectItemCaseSensitive(o, "span_data");
	struct node *n;

	if (!id || !trace || !cJSON_IsObject(sd))
		return -EINVAL;
	if (t->nn >= SR_TREE_MAX_SPANS) {
		t->dropped++;
		return -E2BIG;
	}
	n = grow(t->n, &t->ncap, t->nn, sizeof(*n), 64);
	if (!n)
		return -ENOMEM;
	t->n = n;
	n = &t->n[t->nn];
	memset(n, 0, sizeof(*n));
	n->id = strdup(id);
	n->trace = strdup(trace);
	n->parent = dup_or_null(jstr(o, "parent_id"));
	n->start = sr_tree_parse_time(jstr(o, "started_at"));
	n->end = sr_tree_parse_time(jstr(o, "ended_at"));
	summarize(n, sd, cJSON_GetObjectItemCaseSensitive(o, "error"));
	if (!n->id || !n->trace || !n->label) {
		node_free(n);
		return -ENOMEM;
	}
	t->nn++;
	return 0;
}

static int add_item(struct sr_tree *t, const cJSON *o)
{
	const char *kind = jstr(o, "object");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
	const cJSON *it;
	int rc = 0;

	if (kind && !strcmp(kind, "trace") && jstr(o, "id"))
		return add_trace(t, jstr(o, "id"), jstr(o, "workflow_name"));
	if (kind && !strcmp(kind, "trace.span"))
		return add_span(t, o);
	if (!kind && cJSON_IsArray(data)) {
		/* a whole payload, {"data":[…]}, as a receiver writes it */
		cJSON_ArrayForEach(it, data)
		{
			int r = cJSON_IsObject(it) ? add_item(t, it) : -EINVAL;

			if (r == -EINVAL)
				t->malformed++;
			else if (r < 0 && !rc)
				rc = r;
		}
		return rc == -E2BIG ? 0 : rc;
	}
	return -EINVAL;
}

/* "[Exporter] Export trace_id=ID, name=NAME" */
static int add_console_trace(struct sr_tree *t, const char *s, size_t len)
{
	char id[128], *name;
	const char *comma = memchr(s, ',', len);
	size_t k = comma ? (size_t)(comma - s) : len;
	int rc;

	if (k == 0 || k >= sizeof(id))
		return -EINVAL;
	memcpy(id, s, k);
	id[k] = 0;
	name = comma && len - k > 7 && !strncmp(comma, ", name=", 7)
		       ? strndup(comma + 7, len - k - 7)
		       : NULL;
	rc = add_trace(t, id, name);
	free(name);
	return rc;
}

int sr_tree_add_line(struct sr_tree *t, const char *line, size_t len)
{
	cJSON *o;
	int rc;

	if (t->linked)
		return -EBUSY;
	while (len && strchr(" \t\r\n", line[len - 1]))
		len--;
	while (len && strchr(" \t", *line))
		line++, len--;
	if (len == 0)
		return 0;
	if (len > strlen(CONSOLE_TRACE) &&
	    !strncmp(line, CONSOLE_TRACE, strlen(CONSOLE_TRACE)))
		return add_console_trace(t, line + strlen(CONSOLE_TRACE),
					 len - strlen(CONSOLE_TRACE));
	if (len > strlen(CONSOLE_SPAN) &&
	    !strncmp(line, CONSOLE_SPAN, strlen(CONSOLE_SPAN))) {
		line += strlen(CONSOLE_SPAN);
		len -= strlen(CONSOLE_SPAN);
	}
	o = cJSON_ParseWithLength(line, len);
	rc = cJSON_IsObject(o) ? add_item(t, o) : -EINVAL;
	cJSON_Delete(o);
	if (rc == -EINVAL)
		t->malformed++;
	return rc;
}

/* Skips the rest of a line that did not fit. */
static void skip_line(FILE *f, char *buf, size_t cap)
{
	size_t k;

	while (fgets(buf, (int)cap, f)) {
		k = strlen(buf);
		if (k && buf[k - 1] == '\n')
			return;
	}
}

int sr_tree_load(struct sr_tree *t, FILE *f)
{
	/* one buffer of the longest line we take, the newline, the NUL */
	size_t cap = SR_TREE_LINE_MAX + 2;
	char *line = malloc(cap);
	int rc = 0;

	if (!line)
		return -ENOMEM;
	while (!rc && fgets(line, (int)cap, f)) {
		size_t k = strlen(line);

		if (k == cap - 1 && line[k - 1] != '\n') {
			t->malformed++;
			skip_line(f, line, cap);
			continue;
		}
		rc = sr_tree_add_line(t, line, k);
		if (rc == -EINVAL || rc == -E2BIG)
			rc = 0;
	}
	if (!rc && ferror(f))
		rc = -EIO;
	free(line);
	return rc;
}

struct sr_tree *sr_tree_new(void)
{
	return calloc(1, sizeof(struct sr_tree));
}

void sr_tree_free(struct sr_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nn; i++)
		node_free(&t->n[i]);
	for (size_t i = 0; i < t->ntr; i++) {
		free(t->tr[i].id);
		free(t->tr[i].name);
	}
	free(t->n);
	free(t->tr);
	free(t->order);
	free(t);
}

size_t sr_tree_spans(const struct sr_tree *t)
{
	return t->nn;
}

size_t sr_tree_malformed(const struct sr_tree *t)
{
	return t->malformed;
}

size_t sr_tree_dropped(const struct sr_tree *t)
{
	return t->dropped;
}

/* --- linking -------------------------------------------------------------- */

static int cmp_node_id(const void *a, const void *b)
{
	return strcmp(((const struct node *)a)->id,
		      ((const struct node *)b)->id);
}

/* By id; a trace that has a name before the same id without one. */
static int cmp_trace_id(const void *a, const void *b)
{
	const struct trace *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->name == NULL) - (y->name == NULL);
}

/* Binary search of an array sorted by id, whose elements (size bytes each)
 * hold their id string at offset off; the index, or NONE. */
static size_t find_id(const void *arr, size_t n, size_t size, size_t off,
		      const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const void *at = (const char *)arr + mid * size + off;
		int c = strcmp(*(char *const *)at, id);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NONE;
}

static size_t find_node(const struct sr_tree *t, const char *id)
{
	return find_id(t->n, t->nn, sizeof(*t->n), offsetof(struct node, id),
		       id);
}

static size_t find_trace(const struct sr_tree *t, const char *id)
{
	return find_id(t->tr, t->ntr, sizeof(*t->tr),
		       offsetof(struct trace, id), id);
}

/* qsort() of n elements at base, which may be NULL when n is 0 (qsort's
 * own pointer must never be NULL). */
static void sort(void *base, size_t n, size_t size,
		 int (*cmp)(const void *, const void *))
{
	if (n)
		qsort(base, n, size, cmp);
}

/* Sorts the nodes by id and drops duplicates (at-least-once export). */
static void dedup_nodes(struct sr_tree *t)
{
	size_t k = 0;

	sort(t->n, t->nn, sizeof(*t->n), cmp_node_id);
	for (size_t i = 0; i < t->nn; i++) {
		if (k && !strcmp(t->n[k - 1].id, t->n[i].id)) {
			node_free(&t->n[i]);
			continue;
		}
		t->n[k++] = t->n[i];
	}
	t->nn = k;
}

/* Every trace id a span names gets a trace entry; sorted, one per id. */
static int collect_traces(struct sr_tree *t)
{
	size_t k = 0;

	for (size_t i = 0; i < t->nn; i++)
		if (add_trace(t, t->n[i].trace, NULL))
			return -ENOMEM;
	sort(t->tr, t->ntr, sizeof(*t->tr), cmp_trace_id);
	for (size_t i = 0; i < t->ntr; i++) {
		if (k && !strcmp(t->tr[k - 1].id, t->tr[i].id)) {
			free(t->tr[i].id);
			free(t->tr[i].name);
			continue;
		}
		t->tr[k] = t->tr[i];
		t->tr[k].start = UINT64_MAX;
		k++;
	}
	t->ntr = k;
	return 0;
}

/* Depth of a node whose parent's depth is known (or which has none). */
static void set_depth(struct sr_tree *t, size_t x)
{
	struct node *n = &t->n[x];

	n->depth = n->up == NONE ? 0 : t->n[n->up].depth + 1;
	n->mark = 2;
}

/*
 * Walks up from every node; a walk that meets its own path found a parent
 * cycle (hostile or broken data), cut where it closes: that node becomes a
 * top span. Then depths are set from the top down. O(n) with `path`.
 */
static void break_cycles(struct sr_tree *t, size_t *path)
{
	for (size_t i = 0; i < t->nn; i++) {
		size_t j = i, k = 0, cut = NONE;

		while (j != NONE && t->n[j].mark == 0) {
			t->n[j].mark = 1;
			path[k++] = j;
			j = t->n[j].up;
		}
		if (j != NONE && t->n[j].mark == 1) {
			t->n[j].up = NONE;
			for (cut = 0; path[cut] != j; cut++)
				;
			set_depth(t, j);
		}
		for (size_t m = k; m-- > 0;)
			if (m != cut)
				set_depth(t, path[m]);
	}
}

/* Children of node x sort under key ntr + x, top spans under their trace. */
static size_t group_key(const struct sr_tree *t, size_t x)
{
	return t->n[x].up == NONE ? t->n[x].tr : t->ntr + t->n[x].up;
}

static int cmp_order(const void *a, const void *b, void *ctx)
{
	const struct sr_tree *t = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	size_t kx = group_key(t, x), ky = group_key(t, y);

	if (kx != ky)
		return kx < ky ? -1 : 1;
	if (t->n[x].start != t->n[y].start)
		return t->n[x].start < t->n[y].start ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int cmp_depth_desc(const void *a, const void *b, void *ctx)
{
	const struct sr_tree *t = ctx;
	unsigned dx = t->n[*(const size_t *)a].depth;
	unsigned dy = t->n[*(const size_t *)b].depth;

	return dx > dy ? -1 : dx < dy;
}

/* Sets the runs of children in t->order, descendant counts, trace starts. */
static void set_runs(struct sr_tree *t, size_t *tmp)
{
	for (size_t p = 0; p < t->nn; p++) {
		size_t x = t->order[p];
		struct node *n = &t->n[x];
		size_t *first = n->up == NONE ? &t->tr[n->tr].tops
					      : &t->n[n->up].kids;
		size_t *count = n->up == NONE ? &t->tr[n->tr].ntops
					      : &t->n[n->up].nkids;

		if ((*count)++ == 0)
			*first = p;
		t->tr[n->tr].nspans++;
		if (n->start && n->start < t->tr[n->tr].start)
			t->tr[n->tr].start = n->start;
	}
	for (size_t i = 0; i < t->nn; i++)
		tmp[i] = i;
	qsort_r(tmp, t->nn, sizeof(*tmp), cmp_depth_desc, t);
	for (size_t i = 0; i < t->nn; i++) {
		struct node *n = &t->n[tmp[i]];

		if (n->up != NONE)
			t->n[n->up].ndesc += 1 + n->ndesc;
	}
}

static int cmp_trace_start(const void *a, const void *b)
{
	const struct trace *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int link_tree(struct sr_tree *t)
{
	size_t *tmp;

	dedup_nodes(t);
	if (collect_traces(t))
		return -ENOMEM;
	t->order = malloc((t->nn + 1) * sizeof(size_t));
	tmp = malloc((t->nn + 1) * sizeof(size_t));
	if (!t->order || !tmp) {
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->nn; i++) {
		struct node *n = &t->n[i];

		n->tr = find_trace(t, n->trace);
		n->up = n->parent ? find_node(t, n->parent) : NONE;
		if (n->up == i)
			n->up = NONE;
		t->order[i] = i;
	}
	break_cycles(t, tmp);
	qsort_r(t->order, t->nn, sizeof(size_t), cmp_order, t);
	set_runs(t, tmp);
	free(tmp);
	t->linked = true;
	return 0;
}

/* --- rendering ------------------------------------------------------------ */

#define LEFT_COLS 20 /* "%9s %8s  ": offset, duration */

struct seg {
	const char *sep; /* printed before s, when s is set */
	const char *s;
	enum cls c;
	bool shrink; /* may be shortened to fit the width */
	size_t lim;  /* columns s may take (set by fit()) */
};

struct rctx {
	FILE *out;
	const struct sr_tree *t;
	bool color;
	size_t width; /* SIZE_MAX: no limit */
	unsigned max_depth, max_children;
	uint64_t t0;                            /* earliest start, ns */
	char prefix[SR_TREE_DEPTH_CAP * 5 + 1]; /* "│  " per level: 5 bytes */
	size_t plen, pcols;
};

static const char *const color_code[] = {
	[C_PLAIN] = "0", [C_DIM] = "2",  [C_NAME] = "36", [C_PROC] = "1",
	[C_OK] = "32",   [C_BAD] = "31", [C_HEAD] = "1",
};

/* Prints s, cut with "…" to lim columns and to what is left of the line;
 * false once the line is full. */
static bool put(struct rctx *r, const char *s, enum cls c, size_t lim,
		size_t *budget)
{
	size_t w = cols(s), cap = lim < *budget ? lim : *budget;
	size_t take = w <= cap ? w : (cap ? cap - 1 : 0), bytes = 0;
	bool full;

	for (size_t k = 0; k < take; k++)
		do
			bytes++;
		while (((unsigned char)s[bytes] & 0xc0) == 0x80);
	if (r->color && c != C_PLAIN && bytes)
		fprintf(r->out, "\033[%sm", color_code[c]);
	fwrite(s, 1, bytes, r->out);
	if (w > cap && cap)
		fputs("…", r->out);
	if (r->color && c != C_PLAIN && bytes)
		fputs("\033[0m", r->out);
	full = (w < lim ? w : lim) >= *budget;
	*budget -= w <= cap ? w : cap;
	return !full;
}

/*
 * Shortens the shrinkable parts (the summary, then the error) just enough
 * for the line to fit, keeping at least DETAIL_MIN_COLS of each, so pid,
 * exit code and error stay visible on a narrow terminal.
 */
static void fit(struct seg *sg, size_t n, size_t avail)
{
	size_t total = 0;

	for (size_t i = 0; i < n; i++) {
		sg[i].lim = SIZE_MAX;
		if (sg[i].s)
			total += cols(sg[i].sep) + cols(sg[i].s);
	}
	for (size_t i = 0; i < n && total > avail; i++) {
		size_t w = sg[i].s ? cols(sg[i].s) : 0, cut;

		if (!sg[i].shrink || w <= DETAIL_MIN_COLS)
			continue;
		cut = total - avail;
		if (cut > w - DETAIL_MIN_COLS)
			cut = w - DETAIL_MIN_COLS;
		sg[i].lim = w - cut;
		total -= cut;
	}
}

/* One line: the left columns (NULL for a header), the tree prefix, the
 * connector, then the segments, cut to the width. */
static void emit(struct rctx *r, const char *left, const char *conn,
		 struct seg *sg, size_t n)
{
	size_t budget = r->width;
	bool ok = true;

	if (left)
		ok = put(r, left, C_DIM, SIZE_MAX, &budget) &&
		     put(r, r->prefix, C_PLAIN, SIZE_MAX, &budget) &&
		     put(r, conn, C_PLAIN, SIZE_MAX, &budget);
	if (ok)
		fit(sg, n, budget);
	for (size_t i = 0; ok && i < n; i++)
		if (sg[i].s)
			ok = put(r, sg[i].sep, C_PLAIN, SIZE_MAX, &budget) &&
			     put(r, sg[i].s, sg[i].c, sg[i].lim, &budget);
	fputc('\n', r->out);
}

char *sr_tree_fmt_dur(char out[16], unsigned long long ns)
{
	if (ns < 1000000ull)
		snprintf(out, 16, "%lluµs", ns / 1000);
	else if (ns < 10000000ull)
		snprintf(out, 16, "%.2fms", (double)ns / 1e6);
	else if (ns < 1000000000ull)
		snprintf(out, 16, "%.1fms", (double)ns / 1e6);
	else if (ns < 60000000000ull)
		snprintf(out, 16, "%.2fs", (double)ns / 1e9);
	else
		snprintf(out, 16, "%llum%02llus", ns / 60000000000ull,
			 ns / 1000000000ull % 60);
	return out;
}

static void left_cols(const struct rctx *r, const struct node *n, char out[64])
{
	char off[24] = "?", dur[16] = "?";

	if (n->start && n->start >= r->t0) {
		double s = (double)(n->start - r->t0) / 1e9;

		snprintf(off, sizeof(off), s < 1000 ? "+%.3fs" : "+%.0fs", s);
	}
	if (n->start && n->end >= n->start)
		sr_tree_fmt_dur(dur, n->end - n->start);
	/* µs is two bytes, one column: pad by hand */
	snprintf(out, 64, "%9s %*s  ", off, strstr(dur, "µ") ? 9 : 8, dur);
}

static void more_line(struct rctx *r, size_t hidden)
{
	char txt[48];
	struct seg sg[] = { { "", txt, C_DIM, false, 0 } };

	snprintf(txt, sizeof(txt), "… %zu more", hidden);
	emit(r, "                    ", "└─ ", sg, 1);
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * The summary to print: a process forked from a process with the same
 * argv (a shell running a pipeline stage, before its exec) says so
 * instead of repeating the parent's command line.
 */
static const char *detail_of(const struct rctx *r, const struct node *n,
			     char *buf, size_t len)
{
	const struct node *fork, *gp;

	if (!n->is_proc || n->up == NONE)
		return n->detail;
	fork = &r->t->n[n->up];
	if (strcmp(fork->label, "fork") || fork->up == NONE)
		return n->detail;
	gp = &r->t->n[fork->up];
	if (!gp->is_proc || !same_text(gp->detail, n->detail))
		return n->detail;
	snprintf(buf, len, "%s (forked)", n->exe ? n->exe : "");
	return buf;
}

/* A span line; `times` > 1 when it stands for that many like spans. */
static void span_line(struct rctx *r, const struct node *n, bool last,
		      size_t times)
{
	char left[64], buf[SR_NAME_MAX + 16], rep[32] = "";
	const char *detail = detail_of(r, n, buf, sizeof(buf));
	struct seg sg[] = {
		{ "", n->label, n->is_proc ? C_PROC : C_NAME, false, 0 },
		{ " ", detail, C_PLAIN, true, 0 },
		{ detail ? "  " : " ", n->extra, C_DIM, false, 0 },
		{ "  ", n->status, n->status_bad ? C_BAD : C_OK, false, 0 },
		{ "  error: ", n->error, C_BAD, true, 0 },
		{ " ", times > 1 ? rep : NULL, C_DIM, false, 0 },
	};

	snprintf(rep, sizeof(rep), "(×%zu)", times);
	left_cols(r, n, left);
	emit(r, left, last ? "└─ " : "├─ ", sg, sizeof(sg) / sizeof(sg[0]));
}

/* Leaf spans after x that say the same (an execvp trying each directory
 * of PATH): shown as one line. */
static size_t repeats(const struct rctx *r, size_t first, size_t k, size_t end)
{
	const struct node *a = &r->t->n[r->t->order[first + k]];
	size_t n = 1;

	if (a->nkids)
		return 1;
	for (; k + n < end; n++) {
		const struct node *b = &r->t->n[r->t->order[first + k + n]];

		if (b->nkids || strcmp(a->label, b->label) ||
		    !same_text(a->detail, b->detail) ||
		    !same_text(a->error, b->error) ||
		    !same_text(a->status, b->status))
			break;
	}
	return n;
}

static void render_kids(struct rctx *r, size_t first, size_t count,
			unsigned depth);

static void render_node(struct rctx *r, size_t x, bool last, unsigned depth,
			size_t times)
{
	const struct node *n = &r->t->n[x];
	size_t plen = r->plen;

	span_line(r, n, last, times);
	if (!n->nkids)
		return;
	strcpy(r->prefix + r->plen, last ? "   " : "│  ");
	r->plen += strlen(r->prefix + r->plen);
	if (depth + 1 >= r->max_depth)
		more_line(r, n->ndesc);
	else
		render_kids(r, n->kids, n->nkids, depth + 1);
	r->plen = plen;
	r->prefix[plen] = 0;
}

static void render_kids(struct rctx *r, size_t first, size_t count,
			unsigned depth)
{
	size_t shown = count > r->max_children ? r->max_children : count;
	size_t hidden = 0;

	for (size_t k = 0, same; k < shown; k += same) {
		same = repeats(r, first, k, shown);
		render_node(r, r->t->order[first + k], k + same == count, depth,
			    same);
	}
	for (size_t k = shown; k < count; k++)
		hidden += 1 + r->t->n[r->t->order[first + k]].ndesc;
	if (hidden)
		more_line(r, hidden);
}

static void render_trace(struct rctx *r, const struct trace *tr)
{
	char count[32];
	/* the id is kept as read, to match spans by it; shown cleaned */
	char *id = clean_dup(tr->id);
	struct seg sg[] = {
		{ "", "trace", C_HEAD, false, 0 },
		{ " ", tr->name, C_HEAD, true, 0 },
		{ "  ", id, C_DIM, false, 0 },
		{ "  ", count, C_DIM, false, 0 },
	};

	snprintf(count, sizeof(count), "%zu span%s", tr->nspans,
		 tr->nspans == 1 ? "" : "s");
	emit(r, NULL, "", sg, sizeof(sg) / sizeof(sg[0]));
	free(id);
	render_kids(r, tr->tops, tr->ntops, 0);
}

int sr_tree_render(struct sr_tree *t, FILE *out, const struct sr_tree_opts *o)
{
	struct rctx r = { .out = out, .t = t, .color = o->color };

	if (!t->linked && link_tree(t))
		return -ENOMEM;
	r.width = o->width ? o->width : SIZE_MAX;
	r.max_depth = o->max_depth ? o->max_depth : SR_TREE_DEPTH;
	if (r.max_depth > SR_TREE_DEPTH_CAP)
		r.max_depth = SR_TREE_DEPTH_CAP;
	r.max_children = o->max_children ? o->max_children : SR_TREE_CHILDREN;
	r.t0 = UINT64_MAX;
	for (size_t i = 0; i < t->ntr; i++)
		if (t->tr[i].start < r.t0)
			r.t0 = t->tr[i].start;
	/* traces in the order they started; the order array stays valid */
	sort(t->tr, t->ntr, sizeof(*t->tr), cmp_trace_start);
	for (size_t i = 0; i < t->nn; i++)
		t->n[i].tr = NONE;
	for (size_t i = 0; i < t->ntr; i++)
		render_trace(&r, &t->tr[i]);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}
