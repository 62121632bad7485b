/* SPDX-License-Identifier: MIT */
/*
 * otlp.h - spanring-recv's OTLP side: strict checks of an OTLP/HTTP JSON
 * ExportTraceServiceRequest against the protobuf JSON mapping and the
 * semantic conventions spanringd promises, spans written as JSON lines,
 * partialSuccess answers on demand, and parents resolved across requests.
 * Single-threaded, like the receiver.
 */
#ifndef SR_RECV_OTLP_H
#define SR_RECV_OTLP_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "validate.h"

/*
 * Takes the OTLP options of the command line: `--otlp-reject-spans-matching
 * STR` (answer partialSuccess, rejecting spans whose JSON contains STR)
 * and `--otlp-parents FILE` (after each request, the number of spans
 * whose parent has not been received, and the first of them). Returns 1
 * when it took name and value, 0 when name is not one of them, -1 when
 * the value is missing or unusable (message printed).
 */
int sr_recv_otlp_option(const char *name, const char *value);

/*
 * Checks an OTLP body (`root`, sent with Content-Type `ctype`, NULL when
 * absent), adding every violation to `e`. When `accept` (the answer will
 * be 2xx) calls emit(line, len) once per span that is not rejected, with
 * {"resource":…,"scope":…,"span":…}, and fills `answer` (an
 * ExportTraceServiceResponse; empty when all were accepted). Returns the
 * number of spans in the body.
 */
int sr_recv_otlp(const cJSON *root, const char *ctype, bool accept,
		 struct sr_recv_errors *e, void (*emit)(const char *, size_t),
		 char *answer, size_t answer_n);

#endif /* SR_RECV_OTLP_H */
