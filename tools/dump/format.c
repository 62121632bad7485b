/* SPDX-License-Identifier: MIT */
/*
 * format.c - records as JSON lines or table lines.
 *
 * Both formats are built as a list of fields (key, JSON value); the JSON
 * form joins them as an object, the table form as `key=value` after a
 * fixed prefix. Ids are printed in their WIRE.md text form, timestamps in
 * ISO 8601, JSON payloads embedded when they parse (and are valid UTF-8),
 * quoted as strings otherwise.
 */
#include "format.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/jsonw.h"
#include "common/record.h"

struct out {
	struct sr_jw w;
	enum sr_dump_fmt fmt;
	int fields; /* fields written so far */
};

static void key(struct out *o, const char *k)
{
	if (o->fmt == SR_DUMP_JSON) {
		if (!o->fields)
			sr_jw_lit(&o->w, "{");
		sr_jw_member(&o->w, k);
	} else {
		sr_jw_lit(&o->w, " ");
		sr_jw_lit(&o->w, k);
		sr_jw_lit(&o->w, "=");
	}
	o->fields++;
}

static void f_str(struct out *o, const char *k, const char *s, size_t n)
{
	key(o, k);
	sr_jw_str(&o->w, s, n);
}

static void f_cstr(struct out *o, const char *k, const char *s)
{
	f_str(o, k, s, strlen(s));
}

static void f_u64(struct out *o, const char *k, uint64_t v)
{
	key(o, k);
	sr_jw_u64(&o->w, v);
}

static void f_i64(struct out *o, const char *k, int64_t v)
{
	key(o, k);
	sr_jw_i64(&o->w, v);
}

static void f_null(struct out *o, const char *k)
{
	key(o, k);
	sr_jw_lit(&o->w, "null");
}

static void f_time(struct out *o, const char *k, uint64_t ns)
{
	char iso[SR_ISO_LEN];

	f_cstr(o, k, sr_fmt_iso(iso, ns));
}

static void f_trace_id(struct out *o, const char *k, const uint8_t *id)
{
	char s[SR_TRACE_ID_STR];

	sr_fmt_trace_id(s, id);
	f_cstr(o, k, s);
}

static void f_span_id(struct out *o, const char *k, const uint8_t *id)
{
	char s[SR_SPAN_ID_STR];

	if (sr_id_is_zero(id, SR_SPAN_ID_LEN)) {
		f_null(o, k);
		return;
	}
	sr_fmt_span_id(s, id);
	f_cstr(o, k, s);
}

static bool utf8_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = sr_utf8_seq((const unsigned char *)s + i, n - i);

		if (!k)
			return false;
		i += k;
	}
	return true;
}

/* A JSON payload: embedded (compacted) when it parses and is valid UTF-8,
 * else quoted as a string; empty is null. */
static void f_json(struct out *o, const char *k, struct sr_str s)
{
	const char *end = NULL;
	cJSON *j;
	char *txt;

	if (!s.n) {
		f_null(o, k);
		return;
	}
	j = utf8_valid(s.p, s.n) ? cJSON_ParseWithLengthOpts(s.p, s.n, &end, 0)
				 : NULL;
	/* nothing but whitespace may follow the value */
	while (j && end < s.p + s.n && strchr(" \t\r\n", *end) && *end)
		end++;
	txt = j && end == s.p + s.n ? cJSON_PrintUnformatted(j) : NULL;
	cJSON_Delete(j);
	if (!txt) {
		f_str(o, k, s.p, s.n);
		return;
	}
	key(o, k);
	sr_jw_lit(&o->w, txt);
	cJSON_free(txt);
}

static void f_flags(struct out *o, const char *k, uint32_t flags)
{
	static const char *const names[] = { "span_data", "process", "exec",
					     "client",    "error",   "root" };
	bool first = true;

	key(o, k);
	sr_jw_lit(&o->w, "[");
	for (unsigned i = 0; i < 32; i++) {
		char other[16];

		if (!(flags & 1u << i))
			continue;
		if (!first)
			sr_jw_lit(&o->w, ",");
		first = false;
		snprintf(other, sizeof(other), "0x%x", 1u << i);
		sr_jw_cstr_val(&o->w, i < 6 ? names[i] : other);
	}
	sr_jw_lit(&o->w, "]");
}

static bool put_process(struct out *o, const struct sr_record *rec)
{
	struct sr_process_rec p;

	if (sr_process_decode(rec->payload, rec->len, &p))
		return false;
	f_u64(o, "pid", p.pid);
	f_u64(o, "ppid", p.ppid);
	f_u64(o, "uid", p.uid);
	f_time(o, "started_at", p.start_ns);
	f_str(o, "executable", p.exe.p, p.exe.n);
	return true;
}

static bool put_trace(struct out *o, const struct sr_record *rec)
{
	struct sr_trace_rec t;

	if (sr_trace_decode(rec->payload, rec->len, &t))
		return false;
	f_trace_id(o, "trace_id", t.trace_id);
	f_time(o, "started_at", t.ts_ns);
	f_str(o, "workflow_name", t.workflow.p, t.workflow.n);
	if (t.group_id.n)
		f_str(o, "group_id", t.group_id.p, t.group_id.n);
	else
		f_null(o, "group_id");
	f_json(o, "metadata", t.metadata);
	return true;
}

static bool put_span(struct out *o, const struct sr_record *rec)
{
	struct sr_span_rec s;

	if (sr_span_decode(rec->payload, rec->len, &s))
		return false;
	f_trace_id(o, "trace_id", s.trace_id);
	f_span_id(o, "span_id", s.span_id);
	f_span_id(o, "parent_id", s.parent_id);
	if (rec->type != SR_REC_SPAN_END)
		f_time(o, "started_at", s.start_ns);
	if (rec->type != SR_REC_SPAN_START)
		f_time(o, "ended_at", s.end_ns);
	f_flags(o, "span_flags", s.flags);
	f_str(o, "name", s.name.p, s.name.n);
	f_json(o, "data", s.data);
	if (s.err.n || s.errdata.n) {
		f_str(o, "error", s.err.p, s.err.n);
		f_json(o, "error_data", s.errdata);
	}
	return true;
}

static bool put_child(struct out *o, const struct sr_record *rec)
{
	struct sr_child_rec c;

	if (sr_child_decode(rec->payload, rec->len, &c))
		return false;
	f_u64(o, "child_pid", c.pid);
	f_i64(o, "status", c.status);
	if (WIFEXITED(c.status))
		f_i64(o, "exit_code", WEXITSTATUS(c.status));
	else if (WIFSIGNALED(c.status))
		f_i64(o, "signal", WTERMSIG(c.status));
	f_time(o, "ended_at", c.ts_ns);
	f_trace_id(o, "trace_id", c.trace_id);
	return true;
}

static bool put_body(struct out *o, const struct sr_record *rec)
{
	switch (rec->type) {
	case SR_REC_PROCESS:
		return put_process(o, rec);
	case SR_REC_TRACE:
		return put_trace(o, rec);
	case SR_REC_SPAN_START:
	case SR_REC_SPAN_END:
	case SR_REC_SPAN:
		return put_span(o, rec);
	case SR_REC_CHILD_EXIT:
		return put_child(o, rec);
	default:
		return false;
	}
}

static void put_prefix(struct out *o, const struct sr_record *rec,
		       const char *ring)
{
	char pfx[96];

	if (o->fmt == SR_DUMP_TABLE) {
		snprintf(pfx, sizeof(pfx), "%-3" PRIu32 " %-10" PRIu64 " %-10s",
			 rec->lane, rec->pos, sr_rec_type_name(rec->type));
		sr_jw_lit(&o->w, pfx);
		if (rec->flags & SR_RF_TRUNCATED)
			sr_jw_lit(&o->w, " (truncated)");
		return;
	}
	if (ring)
		f_cstr(o, "ring", ring);
	f_cstr(o, "type", sr_rec_type_name(rec->type));
	f_u64(o, "type_id", rec->type);
	f_u64(o, "lane", rec->lane);
	f_u64(o, "pos", rec->pos);
	key(o, "truncated");
	sr_jw_lit(&o->w, rec->flags & SR_RF_TRUNCATED ? "true" : "false");
}

const char *sr_dump_table_header(void)
{
	return "LN  POS        TYPE       FIELDS";
}

char *sr_dump_format(const struct sr_record *rec, const char *ring,
		     enum sr_dump_fmt fmt, bool *bad)
{
	/* escaping writes at most 6 bytes per payload byte; cJSON's compact
	 * form can spell a number out ("1e9"), so leave twice that */
	size_t cap = (size_t)rec->len * 12 + 4096;
	struct out o = { .fmt = fmt };
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	sr_jw_init(&o.w, buf, cap);
	*bad = false;
	put_prefix(&o, rec, ring);
	if (!put_body(&o, rec)) {
		/* drop any half-written fields; say what the record is */
		*bad = true;
		o.w.len = 0;
		o.w.overflow = false;
		o.fields = 0;
		put_prefix(&o, rec, ring);
		f_u64(&o, "payload_bytes", rec->len);
		f_cstr(&o, "decode_error",
		       rec->type > SR_REC_TYPE_MAX || !rec->type
			       ? "unknown record type"
			       : "payload does not decode as its type");
	}
	if (fmt == SR_DUMP_JSON)
		sr_jw_lit(&o.w, "}");
	if (o.w.overflow) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	sr_jw_cstr(&o.w);
	return buf;
}
