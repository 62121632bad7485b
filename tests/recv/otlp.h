/* SPDX-License-Identifier: MIT */
/*
 * otlp.h - the OTLP/HTTP JSON traces endpoint, POST /v1/traces (or the
 * path --otlp-path names): strict checks of an ExportTraceServiceRequest
 * against the protobuf JSON mapping and the semantic conventions spanringd
 * promises, spans written as JSON lines, partialSuccess answers on demand,
 * and parents resolved across requests. The parent tables are the
 * endpoint's own state: handlers run one at a time in the server's thread.
 */
#ifndef SR_RECV_OTLP_H
#define SR_RECV_OTLP_H

#include "endpoint.h"

/*
 * Decodes the body (sr_recv_decode) and parses it; a body that is not an
 * object with a "resourceSpans" member is answered 400. Checks the
 * request (Content-Type application/json; no unknown field anywhere; ids,
 * enums, times, AnyValues, attribute keys; the resource's service.name;
 * the conventions): violations go to ans->err and do not change the
 * answer. When the answer is 2xx, writes each span whose JSON does not
 * contain env->otlp_reject as one line {"resource":…,"scope":…,"span":…}
 * to env->items_fd, and answers {"partialSuccess":{"rejectedSpans":"N",
 * "errorMessage":…}} when N spans were rejected. After every request,
 * rewrites env->otlp_parents (when set) with the spans whose parent has
 * not been received yet: {"unresolved":N,"first":"<trace id><span id>"}.
 */
sr_recv_handler sr_recv_otlp_traces;

#endif /* SR_RECV_OTLP_H */
