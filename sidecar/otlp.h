/* SPDX-License-Identifier: MIT */
/*
 * otlp.h - the otlp exporter's side of things: its configuration from the
 * standard OTEL_* variables (flags win), and the mapping of WIRE.md items
 * to OTLP/HTTP JSON (an ExportTraceServiceRequest in the protobuf JSON
 * mapping) with the OpenTelemetry semantic conventions (WIRE.md §5,
 * sidecar/README.md "Send to your OpenTelemetry Collector").
 *
 * Trace objects produce no span: their workflow name, group id and
 * metadata are remembered (a direct-mapped cache of SR_OTLP_TRACE_SLOTS
 * traces) and become attributes of the trace's spans, and the workflow
 * name their service.name when OTEL_SERVICE_NAME is not set.
 *
 * Used by the export thread only: not thread-safe.
 */
#ifndef SR_SD_OTLP_H
#define SR_SD_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "retry.h"

struct sr_otlp;

/* One WIRE.md item: its compact JSON text (not NUL-terminated). */
struct sr_otlp_item {
	const char *p;
	size_t n;
};

/*
 * Resolves the otlp_* fields of a loaded configuration against the
 * OTEL_* variables (flag or SPANRINGD_* variable first, then the traces
 * variable, then the generic one, then the default) and checks them.
 * Returns 0, or a sysexits code after printing one line naming the bad
 * value (64 for a flag, 78 for a variable).
 */
int sr_otlp_config(struct sr_config *c);

/* NULL + errno (ENOMEM). `c` must have passed sr_otlp_config and outlive
 * the object. */
struct sr_otlp *sr_otlp_new(const struct sr_config *c);
void sr_otlp_free(struct sr_otlp *o);

/* Calls add(ctx, "Name: value") for every request header (Content-Type,
 * User-Agent, then the configured ones). 0 or the first error of add. */
int sr_otlp_headers(const struct sr_otlp *o,
		    int (*add)(void *ctx, const char *line), void *ctx);

/* True for a trace object (it is remembered by sr_otlp_note_trace and
 * produces no span). */
bool sr_otlp_is_trace(const struct sr_otlp_item *it);

/* Remembers a trace object's workflow name, group id and metadata for
 * the spans of its trace. Anything else is ignored. */
void sr_otlp_note_trace(struct sr_otlp *o, const struct sr_otlp_item *it);

/*
 * Encodes span objects as one ExportTraceServiceRequest: spans grouped by
 * resource (service.name and identity attributes), one scope "spanring".
 * *body is malloc'd (not NUL-terminated), *skipped counts items that are
 * not span objects or do not decode (they are left out). 0 or -ENOMEM.
 */
int sr_otlp_body(struct sr_otlp *o, const struct sr_otlp_item *it, size_t n,
		 char **body, size_t *len, size_t *skipped)
	__attribute__((warn_unused_result));

/* OTLP/HTTP's retry rule: 2xx delivered; 429, 502, 503, 504 and no answer
 * retried; everything else final. */
enum sr_verdict sr_otlp_verdict(long status);

/* partialSuccess of a 2xx answer: the number of rejected spans (0 when
 * absent or unreadable), its errorMessage copied to msg. */
uint64_t sr_otlp_rejected(const char *answer, char *msg, size_t n);

#endif /* SR_SD_OTLP_H */
