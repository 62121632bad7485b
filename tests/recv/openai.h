/* SPDX-License-Identifier: MIT */
/*
 * openai.h - the OpenAI traces ingest endpoint, POST /v1/traces/ingest:
 * a {"data":[...]} body of trace and span items (WIRE.md §1).
 */
#ifndef SR_RECV_OPENAI_H
#define SR_RECV_OPENAI_H

#include "endpoint.h"

/*
 * Decodes the body (sr_recv_decode), parses it, checks every item against
 * WIRE.md §1 (errors go to ans->err and do not change the answer).
 * When the answer would be 2xx, applies the ingest rules of WIRE.md §2 as
 * the real endpoint does: the first item whose span_data.usage is not an
 * object of input_tokens, output_tokens and a details object, or whose
 * span_data.input / .output is over SR_RECV_FIELD_MAX bytes as sent, is
 * answered 400 {"error":{…,"param":"data[i].span_data.usage.x",
 * "code":"unknown_parameter"}}. With --reject-items-matching answers 400
 * naming data[i], the first item whose bytes contain the string. A body
 * that is not {"data":[...]} is answered 400. When the answer is 2xx,
 * writes every item, its exact bytes as received, as one line to
 * env->items_fd.
 */
sr_recv_handler sr_recv_openai_ingest;

#endif /* SR_RECV_OPENAI_H */
