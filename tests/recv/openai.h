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
 * WIRE.md §1 (errors go to ans->err and do not change the answer), and
 * with --reject-items-matching answers 400 naming data[i], the first item
 * whose bytes contain the string. A body that is not {"data":[...]} is
 * answered 400. When the answer is 2xx, writes every item, its exact bytes
 * as received, as one line to env->items_fd.
 */
sr_recv_handler sr_recv_openai_ingest;

#endif /* SR_RECV_OPENAI_H */
