/* SPDX-License-Identifier: MIT */
#include "openai.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where each item's bytes are in the body. */
struct raw_items {
	const char **p;
	size_t *n;
	int cap;
};

static void on_item(void *ctx, int i, const char *p, size_t n)
{
	struct raw_items *r = ctx;

	if (i < r->cap) {
		r->p[i] = p;
		r->n[i] = n;
	}
}

/* Index of the first item whose bytes contain needle, or -1. */
static int first_matching(const struct raw_items *r, int n, const char *needle)
{
	for (int i = 0; i < n; i++)
		if (memmem(r->p[i], r->n[i], needle, strlen(needle)))
			return i;
	return -1;
}

static void write_items(const struct sr_recv_request *req,
			const struct raw_items *r, bool raw, const cJSON *data)
{
	const cJSON *it;
	int i = 0;

	cJSON_ArrayForEach(it, data)
	{
		if (raw) {
			sr_recv_write_line(req->env->items_fd, r->p[i],
					   r->n[i]);
		} else {
			char *t = cJSON_PrintUnformatted(it);

			if (t)
				sr_recv_write_line(req->env->items_fd, t,
						   strlen(t));
			free(t);
		}
		i++;
	}
}

/* The ingest rules of WIRE.md section 2, as the real endpoint applies
 * them: the first item that breaks one is answered 400
 * "unknown_parameter", naming the member. */
static void check_ingest(const struct raw_items *r, bool raw, const cJSON *data,
			 struct sr_recv_answer *ans)
{
	const cJSON *it;
	int i = 0;

	cJSON_ArrayForEach(it, data)
	{
		char member[96], param[128], msg[160];

		if (!sr_recv_check_ingest(it, raw ? r->p[i] : NULL,
					  raw ? r->n[i] : 0, member,
					  sizeof(member))) {
			i++;
			continue;
		}
		snprintf(param, sizeof(param), "data[%d].%s", i, member);
		snprintf(msg, sizeof(msg),
			 "Unknown or oversized parameter: '%s'.", member);
		sr_recv_refuse(ans, 400, msg, "invalid_request_error", param,
			       "unknown_parameter");
		sr_recv_error(&ans->err, "%s: refused by the ingest rules",
			      param);
		return;
	}
}

static void items(const struct sr_recv_request *req, struct sr_recv_answer *ans,
		  const char *text, size_t len, const cJSON *data)
{
	int n = cJSON_GetArraySize(data), i = 0;
	struct raw_items r = { calloc((size_t)n + 1, sizeof(char *)),
			       calloc((size_t)n + 1, sizeof(size_t)), n };
	const cJSON *it;
	bool raw;

	/* the exact bytes of each item, when the text splits as cJSON
	 * parsed it; else items are written as cJSON prints them */
	raw = r.p && r.n && sr_recv_split_data(text, len, on_item, &r) == n;
	cJSON_ArrayForEach(it, data) sr_recv_check_item(it, i++, &ans->err);
	ans->items = n;
	if (ans->status < 300)
		check_ingest(&r, raw, data, ans);
	if (req->env->reject && raw) {
		int bad = first_matching(&r, n, req->env->reject);
		char param[32];

		if (bad >= 0) {
			snprintf(param, sizeof(param), "data[%d]", bad);
			sr_recv_refuse(ans, 400, "item rejected",
				       "invalid_request_error", param,
				       "rejected");
		}
	}
	if (ans->status < 300)
		write_items(req, &r, raw, data);
	free(r.p);
	free(r.n);
}

void sr_recv_openai_ingest(const struct sr_recv_request *req,
			   struct sr_recv_answer *ans)
{
	const char *text;
	const cJSON *data;
	void *plain;
	size_t len;
	cJSON *root;

	if (sr_recv_decode(req, ans, &text, &len, &plain))
		return;
	root = cJSON_ParseWithLength(text, len);
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(data)) {
		sr_recv_refuse(ans, 400, "body is not {\"data\":[...]}",
			       "invalid_request_error", NULL, NULL);
		sr_recv_error(&ans->err, "body is not {\"data\":[...]}");
	} else {
		items(req, ans, text, len, data);
	}
	cJSON_Delete(root);
	free(plain);
}
