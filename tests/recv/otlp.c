/* SPDX-License-Identifier: MIT */
#include "otlp.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Spans remembered for parent checks, and parents waiting for theirs:
 * bounds the receiver's memory in a long run. */
#define OTLP_SEEN_MAX (1u << 20)
#define OTLP_PENDING_MAX 65536u

/* "<32 hex trace id><16 hex span id>" of every span received. */
typedef char span_key[49];
static span_key *seen;
static size_t nseen, seen_cap; /* open addressing, cap a power of two */
static span_key *pending;      /* parents not received yet */
static size_t npending;

/* --- the protobuf JSON mapping ------------------------------------------ */

static const cJSON *array_or_null(const cJSON *j)
{
	return cJSON_IsArray(j) ? j : NULL;
}

/* The first element of j when it is an array, else NULL. */
static const cJSON *first(const cJSON *j)
{
	return cJSON_IsArray(j) ? j->child : NULL;
}

static bool keys_within(const cJSON *o, const char *const *allowed,
			const char *what, struct sr_recv_errors *e)
{
	const cJSON *c;
	bool ok = true;

	for (c = o->child; c; c = c->next) {
		bool found = false;

		for (int i = 0; allowed[i] && !found; i++)
			found = !strcmp(c->string, allowed[i]);
		if (!found) {
			sr_recv_error(e, "%s: unknown field \"%s\"", what,
				      c->string);
			ok = false;
		}
	}
	return ok;
}

static bool lower_hex(const char *s, size_t n)
{
	bool nonzero = false;

	if (!s || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return false;
		nonzero |= s[i] != '0';
	}
	return nonzero;
}

/* A 64-bit integer in its canonical JSON form: a decimal string. */
static bool dec_string(const cJSON *j, bool sign, int64_t *out_s,
		       uint64_t *out_u)
{
	const char *s = cJSON_GetStringValue(j), *p;
	char *end;

	if (!s || !*s)
		return false;
	p = s + (sign && *s == '-');
	if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1]))
		return false;
	for (const char *q = p; *q; q++)
		if (!isdigit((unsigned char)*q))
			return false;
	errno = 0;
	if (sign) {
		int64_t v = strtoll(s, &end, 10);

		if (out_s)
			*out_s = v;
	} else {
		uint64_t v = strtoull(s, &end, 10);

		if (out_u)
			*out_u = v;
	}
	return !errno && !*end;
}

/* A uint32/int32 field: a JSON integer in range. The range is checked
 * first: converting a double outside int64_t's is undefined. */
static bool int_field(const cJSON *j, double lo, double hi)
{
	return cJSON_IsNumber(j) && j->valuedouble >= lo &&
	       j->valuedouble <= hi &&
	       j->valuedouble == (double)(int64_t)j->valuedouble;
}

static void check_kvs(const cJSON *list, const char *what,
		      struct sr_recv_errors *e, int depth);

static void check_any(const cJSON *v, const char *what,
		      struct sr_recv_errors *e, int depth)
{
	const cJSON *f, *vals;

	if (!cJSON_IsObject(v) || !v->child || v->child->next) {
		sr_recv_error(e, "%s: AnyValue must have exactly one field",
			      what);
		return;
	}
	f = v->child;
	if (depth > 16) {
		sr_recv_error(e, "%s: AnyValue nested too deep", what);
	} else if (!strcmp(f->string, "stringValue")) {
		if (!cJSON_IsString(f))
			sr_recv_error(e, "%s: stringValue not a string", what);
	} else if (!strcmp(f->string, "boolValue")) {
		if (!cJSON_IsBool(f))
			sr_recv_error(e, "%s: boolValue not a boolean", what);
	} else if (!strcmp(f->string, "intValue")) {
		if (!dec_string(f, true, NULL, NULL))
			sr_recv_error(e,
				      "%s: intValue not a decimal string "
				      "(64-bit integers are strings)",
				      what);
	} else if (!strcmp(f->string, "doubleValue")) {
		if (!cJSON_IsNumber(f))
			sr_recv_error(e, "%s: doubleValue not a number", what);
	} else if (!strcmp(f->string, "bytesValue")) {
		if (!cJSON_IsString(f))
			sr_recv_error(e, "%s: bytesValue not base64", what);
	} else if (!strcmp(f->string, "arrayValue") ||
		   !strcmp(f->string, "kvlistValue")) {
		bool arr = f->string[0] == 'a';
		const cJSON *x;

		vals = cJSON_GetObjectItemCaseSensitive(f, "values");
		if (!cJSON_IsObject(f) ||
		    (f->child && (f->child->next || !cJSON_IsArray(vals)))) {
			sr_recv_error(e, "%s: %s must be {\"values\":[…]}",
				      what, f->string);
		} else if (arr) {
			cJSON_ArrayForEach(x, vals)
				check_any(x, what, e, depth + 1);
		} else {
			check_kvs(vals, what, e, depth + 1);
		}
	} else {
		sr_recv_error(e, "%s: unknown AnyValue field \"%s\"", what,
			      f->string);
	}
}

/* A list of KeyValue: {"key", "value"} each, keys unique. */
static void check_kvs(const cJSON *list, const char *what,
		      struct sr_recv_errors *e, int depth)
{
	const cJSON *kv, *k2;
	static const char *const kv_keys[] = { "key", "value", NULL };

	if (!list)
		return;
	if (!cJSON_IsArray(list)) {
		sr_recv_error(e, "%s: attributes not an array", what);
		return;
	}
	cJSON_ArrayForEach(kv, list)
	{
		const char *k = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(kv, "key"));
		char w[200];

		if (!cJSON_IsObject(kv) || !k || !*k) {
			sr_recv_error(e, "%s: attribute without a key", what);
			continue;
		}
		snprintf(w, sizeof(w), "%s attribute %s", what, k);
		keys_within(kv, kv_keys, w, e);
		check_any(cJSON_GetObjectItemCaseSensitive(kv, "value"), w, e,
			  depth);
		for (k2 = list->child; k2 != kv; k2 = k2->next)
			if (!strcmp(k,
				    cJSON_GetStringValue(
					    cJSON_GetObjectItemCaseSensitive(k2,
									     "key"))
					    ?: ""))
				sr_recv_error(e, "%s: duplicate attribute key",
					      w);
	}
}

/* --- conventions spanringd promises -------------------------------------- */

static const cJSON *attr(const cJSON *list, const char *key)
{
	const cJSON *kv;

	cJSON_ArrayForEach(kv, list)
	{
		const char *k = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(kv, "key"));

		if (k && !strcmp(k, key))
			return cJSON_GetObjectItemCaseSensitive(kv, "value");
	}
	return NULL;
}

/* Attribute keys whose value type the conventions fix. */
static const struct {
	const char *key, *field;
} typed[] = {
	{ "process.pid", "intValue" },
	{ "process.parent_pid", "intValue" },
	{ "process.exit.code", "intValue" },
	{ "process.command_args", "arrayValue" },
	{ "server.address", "stringValue" },
	{ "server.port", "intValue" },
	{ "network.transport", "stringValue" },
	{ "dns.question.name", "stringValue" },
	{ "gen_ai.operation.name", "stringValue" },
	{ "gen_ai.agent.name", "stringValue" },
	{ "gen_ai.tool.name", "stringValue" },
	{ "gen_ai.request.model", "stringValue" },
	{ "gen_ai.request.temperature", "doubleValue" },
	{ "gen_ai.usage.input_tokens", "intValue" },
	{ "gen_ai.usage.output_tokens", "intValue" },
	{ "error.type", "stringValue" },
	{ "service.name", "stringValue" },
};

static void check_conventions(const cJSON *attrs, const char *what,
			      struct sr_recv_errors *e)
{
	static const char *const ops[] = {
		"chat",        "text_completion", "generate_content",
		"embeddings",  "create_agent",    "invoke_agent",
		"execute_tool"
	};
	const cJSON *v;

	for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]); i++) {
		v = attr(attrs, typed[i].key);
		if (v && !cJSON_GetObjectItemCaseSensitive(v, typed[i].field))
			sr_recv_error(e, "%s: %s must be a %s", what,
				      typed[i].key, typed[i].field);
	}
	v = cJSON_GetObjectItemCaseSensitive(attr(attrs,
						  "gen_ai.operation.name"),
					     "stringValue");
	if (cJSON_IsString(v)) {
		bool known = false;

		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			known |= !strcmp(v->valuestring, ops[i]);
		if (!known)
			sr_recv_error(e, "%s: unknown gen_ai.operation.name %s",
				      what, v->valuestring);
	}
}

/* --- parents --------------------------------------------------------------- */

static size_t key_hash(const char *k)
{
	uint64_t h = 1469598103934665603ull;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ull;
	return (size_t)h;
}

static bool seen_has(const char *k)
{
	if (!seen_cap)
		return false;
	for (size_t i = key_hash(k) & (seen_cap - 1); seen[i][0];
	     i = (i + 1) & (seen_cap - 1))
		if (!strcmp(seen[i], k))
			return true;
	return false;
}

static void seen_add(const char *k)
{
	size_t i;

	if (nseen >= OTLP_SEEN_MAX || seen_has(k))
		return;
	if (2 * (nseen + 1) > seen_cap) {
		size_t cap = seen_cap ? seen_cap * 2 : 4096;
		span_key *old = seen, *n = calloc(cap, sizeof(*n));

		if (!n)
			return;
		seen = n;
		seen_cap = cap;
		nseen = 0;
		for (size_t j = 0; old && j < cap / 2; j++)
			if (old[j][0])
				seen_add(old[j]);
		free(old);
	}
	for (i = key_hash(k) & (seen_cap - 1); seen[i][0];
	     i = (i + 1) & (seen_cap - 1))
		;
	memcpy(seen[i], k, sizeof(span_key));
	nseen++;
}

static void note_parent(const char *k)
{
	if (!pending)
		pending = calloc(OTLP_PENDING_MAX, sizeof(*pending));
	if (pending && npending < OTLP_PENDING_MAX)
		memcpy(pending[npending++], k, sizeof(span_key));
}

/* Drops the parents that arrived; rewrites --otlp-parents. */
static void settle_parents(const char *parents_path)
{
	size_t k = 0;
	char line[128];
	int fd, n;

	for (size_t i = 0; i < npending; i++)
		if (!seen_has(pending[i]))
			memcpy(pending[k++], pending[i], sizeof(span_key));
	npending = k;
	if (!parents_path)
		return;
	fd = open(parents_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line),
		     "{\"unresolved\":%zu,\"first\":\"%.48s\"}\n", npending,
		     npending ? pending[0] : "");
	if (write(fd, line, (size_t)n) != n) {
		/* the test reading it notices */
	}
	close(fd);
}

/* --- spans ----------------------------------------------------------------- */

static const char *const span_keys[] = { "traceId",
					 "spanId",
					 "traceState",
					 "parentSpanId",
					 "flags",
					 "name",
					 "kind",
					 "startTimeUnixNano",
					 "endTimeUnixNano",
					 "attributes",
					 "droppedAttributesCount",
					 "events",
					 "droppedEventsCount",
					 "links",
					 "droppedLinksCount",
					 "status",
					 NULL };

static void check_times(const cJSON *sp, const char *w,
			struct sr_recv_errors *e)
{
	uint64_t start = 0, end = 0;
	bool ok_s = dec_string(
		     cJSON_GetObjectItemCaseSensitive(sp, "startTimeUnixNano"),
		     false, NULL, &start),
	     ok_e = dec_string(cJSON_GetObjectItemCaseSensitive(sp,
								"endTimeUnixNano"),
			       false, NULL, &end);

	if (!ok_s || !ok_e || !start)
		sr_recv_error(e,
			      "%s: start/endTimeUnixNano must be nonzero "
			      "decimal strings",
			      w);
	else if (end < start)
		sr_recv_error(e, "%s: ends before it starts", w);
}

static void check_lists(const cJSON *sp, const char *w,
			struct sr_recv_errors *e)
{
	static const char *const ev_keys[] = { "timeUnixNano", "name",
					       "attributes",
					       "droppedAttributesCount", NULL };
	static const char *const ln_keys[] = { "traceId",
					       "spanId",
					       "traceState",
					       "attributes",
					       "droppedAttributesCount",
					       "flags",
					       NULL };
	const cJSON *x, *ev = cJSON_GetObjectItemCaseSensitive(sp, "events"),
			*ln = cJSON_GetObjectItemCaseSensitive(sp, "links");

	if ((ev && !cJSON_IsArray(ev)) || (ln && !cJSON_IsArray(ln)))
		sr_recv_error(e, "%s: events and links must be arrays", w);
	const cJSON *evs = array_or_null(ev), *lns = array_or_null(ln);

	cJSON_ArrayForEach(x, evs)
	{
		if (cJSON_IsObject(x) && keys_within(x, ev_keys, w, e))
			check_kvs(cJSON_GetObjectItemCaseSensitive(x,
								   "attributes"),
				  w, e, 0);
	}
	cJSON_ArrayForEach(x, lns)
	{
		if (cJSON_IsObject(x) && keys_within(x, ln_keys, w, e))
			check_kvs(cJSON_GetObjectItemCaseSensitive(x,
								   "attributes"),
				  w, e, 0);
	}
	for (int i = 0; i < 3; i++) {
		static const char *const counts[] = { "droppedAttributesCount",
						      "droppedEventsCount",
						      "droppedLinksCount" };
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(sp,
								  counts[i]);

		if (c && !int_field(c, 0, 4294967295.0))
			sr_recv_error(e, "%s: %s must be an integer", w,
				      counts[i]);
	}
}

static void check_status(const cJSON *sp, const char *w,
			 struct sr_recv_errors *e)
{
	static const char *const st_keys[] = { "code", "message", NULL };
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(sp, "status");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(st, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(st, "message");

	if (!st)
		return;
	if (!cJSON_IsObject(st) || !keys_within(st, st_keys, w, e) ||
	    (code && !int_field(code, 0, 2)) || (msg && !cJSON_IsString(msg)))
		sr_recv_error(e,
			      "%s: status must be {\"code\": 0..2 (an integer), "
			      "\"message\": string}",
			      w);
}

static void check_otlp_span(const cJSON *sp, int i, struct sr_recv_errors *e)
{
	const char *tid = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(sp, "traceId"));
	const char *sid = cJSON_GetStringValue(
		cJSON_GetObjectItemCaseSensitive(sp, "spanId"));
	const cJSON *par = cJSON_GetObjectItemCaseSensitive(sp, "parentSpanId");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(sp, "name");
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(sp, "kind");
	const cJSON *flags = cJSON_GetObjectItemCaseSensitive(sp, "flags");
	char w[64];
	span_key k;

	snprintf(w, sizeof(w), "span %d", i);
	if (!cJSON_IsObject(sp)) {
		sr_recv_error(e, "%s: not an object", w);
		return;
	}
	keys_within(sp, span_keys, w, e);
	if (!lower_hex(tid, 32))
		sr_recv_error(e,
			      "%s: traceId must be 32 lowercase hex, not zero",
			      w);
	if (!lower_hex(sid, 16))
		sr_recv_error(e,
			      "%s: spanId must be 16 lowercase hex, not zero",
			      w);
	if (par && !lower_hex(cJSON_GetStringValue(par), 16))
		sr_recv_error(e, "%s: parentSpanId must be 16 lowercase hex",
			      w);
	if (!cJSON_IsString(name) || !*name->valuestring)
		sr_recv_error(e, "%s: name must be a non-empty string", w);
	if (!int_field(kind, 0, 5))
		sr_recv_error(e, "%s: kind must be an integer 0..5", w);
	if (flags && !int_field(flags, 0, 4294967295.0))
		sr_recv_error(e, "%s: flags must be an integer", w);
	check_times(sp, w, e);
	check_kvs(cJSON_GetObjectItemCaseSensitive(sp, "attributes"), w, e, 0);
	check_conventions(cJSON_GetObjectItemCaseSensitive(sp, "attributes"), w,
			  e);
	check_lists(sp, w, e);
	check_status(sp, w, e);
	if (lower_hex(tid, 32) && lower_hex(sid, 16)) {
		snprintf(k, sizeof(k), "%s%s", tid, sid);
		seen_add(k);
		if (par && lower_hex(cJSON_GetStringValue(par), 16)) {
			snprintf(k, sizeof(k), "%s%s", tid, par->valuestring);
			note_parent(k);
		}
	}
}

/* --- the request ------------------------------------------------------------ */

static void emit_span(const cJSON *res, const cJSON *scope, const cJSON *sp,
		      int fd)
{
	char *r = res ? cJSON_PrintUnformatted(res) : NULL;
	char *s = scope ? cJSON_PrintUnformatted(scope) : NULL;
	char *p = cJSON_PrintUnformatted(sp);
	size_t n = (r ? strlen(r) : 4) + (s ? strlen(s) : 4) + strlen(p ?: "") +
		   40;
	char *line = malloc(n);

	if (line && p) {
		int len = snprintf(line, n,
				   "{\"resource\":%s,\"scope\":%s,\"span\":%s}",
				   r ? r : "null", s ? s : "null", p);

		sr_recv_write_line(fd, line, (size_t)len);
	}
	free(line);
	free(r);
	free(s);
	free(p);
}

static bool rejected_span(const cJSON *sp, const char *reject)
{
	char *t;
	bool r;

	if (!reject)
		return false;
	t = cJSON_PrintUnformatted(sp);
	r = t && strstr(t, reject);
	free(t);
	return r;
}

/* Checks the request `root` (sent with Content-Type `ctype`, NULL when
 * absent), adding every violation to ans->err; when the answer is 2xx,
 * writes the spans that are not rejected and fills ans->body with a
 * partialSuccess when some are. Returns the number of spans. */
static int check_request(const cJSON *root, const char *ctype,
			 const struct sr_recv_env *env,
			 struct sr_recv_answer *ans)
{
	struct sr_recv_errors *e = &ans->err;
	bool accept = ans->status < 300;
	static const char *const top[] = { "resourceSpans", NULL };
	static const char *const rs_keys[] = { "resource", "scopeSpans",
					       "schemaUrl", NULL };
	static const char *const res_keys[] = { "attributes",
						"droppedAttributesCount",
						"entityRefs", NULL };
	static const char *const ss_keys[] = { "scope", "spans", "schemaUrl",
					       NULL };
	static const char *const sc_keys[] = { "name", "version", "attributes",
					       "droppedAttributesCount", NULL };
	const cJSON *rs, *ss, *sp,
		*all = cJSON_GetObjectItemCaseSensitive(root, "resourceSpans");
	int n = 0, rejected = 0;

	if (!ctype || strncasecmp(ctype, "application/json", 16))
		sr_recv_error(e, "Content-Type %s, expected application/json",
			      ctype ? ctype : "(none)");
	keys_within(root, top, "request", e);
	if (!cJSON_IsArray(all) || !cJSON_GetArraySize(all))
		sr_recv_error(e, "resourceSpans must be a non-empty array");
	for (rs = first(all); rs; rs = rs->next) {
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(rs,
								    "resource");
		const cJSON *sss =
			cJSON_GetObjectItemCaseSensitive(rs, "scopeSpans");
		const cJSON *ra =
			cJSON_GetObjectItemCaseSensitive(res, "attributes");

		if (!cJSON_IsObject(rs) ||
		    !keys_within(rs, rs_keys, "resourceSpans", e))
			continue;
		if (!cJSON_IsObject(res) ||
		    !keys_within(res, res_keys, "resource", e))
			sr_recv_error(e, "resource must be an object");
		check_kvs(ra, "resource", e, 0);
		check_conventions(ra, "resource", e);
		if (!cJSON_IsString(
			    cJSON_GetObjectItemCaseSensitive(attr(ra,
								  "service.name"),
							     "stringValue")))
			sr_recv_error(e, "resource without service.name");
		if (!cJSON_IsArray(sss) || !cJSON_GetArraySize(sss))
			sr_recv_error(e,
				      "scopeSpans must be a non-empty array");
		for (ss = first(sss); ss; ss = ss->next) {
			const cJSON *sc =
				cJSON_GetObjectItemCaseSensitive(ss, "scope");
			const cJSON *sps =
				cJSON_GetObjectItemCaseSensitive(ss, "spans");

			if (!cJSON_IsObject(ss) ||
			    !keys_within(ss, ss_keys, "scopeSpans", e))
				continue;
			if (sc && (!cJSON_IsObject(sc) ||
				   !keys_within(sc, sc_keys, "scope", e)))
				sr_recv_error(e, "scope must be an object");
			if (!cJSON_IsArray(sps) || !cJSON_GetArraySize(sps))
				sr_recv_error(e,
					      "spans must be a non-empty array");
			for (sp = first(sps); sp; sp = sp->next) {
				check_otlp_span(sp, n++, e);
				if (!accept)
					continue;
				if (rejected_span(sp, env->otlp_reject))
					rejected++;
				else
					emit_span(res, sc, sp, env->items_fd);
			}
		}
	}
	settle_parents(env->otlp_parents);
	if (rejected)
		snprintf(ans->body, sizeof(ans->body),
			 "{\"partialSuccess\":{\"rejectedSpans\":\"%d\","
			 "\"errorMessage\":\"%d spans matched the rejection "
			 "pattern\"}}",
			 rejected, rejected);
	return n;
}

void sr_recv_otlp_traces(const struct sr_recv_request *req,
			 struct sr_recv_answer *ans)
{
	const char *text;
	void *plain;
	size_t len;
	cJSON *root;

	if (sr_recv_decode(req, ans, &text, &len, &plain))
		return;
	root = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(root) ||
	    !cJSON_GetObjectItemCaseSensitive(root, "resourceSpans")) {
		sr_recv_refuse(ans, 400,
			       "body is not {\"resourceSpans\":[...]}",
			       "invalid_request_error", NULL, NULL);
		sr_recv_error(&ans->err,
			      "body is not {\"resourceSpans\":[...]}");
	} else {
		ans->items = check_request(root, req->content_type, req->env,
					   ans);
	}
	cJSON_Delete(root);
	free(plain);
}
