/* SPDX-License-Identifier: MIT */
/*
 * lttng_tp.h - the LTTng-UST tracepoint provider of the B1 baseline: a
 * span begin and a span end with the payload of one span (trace id, span
 * id, parent id, two timestamps, a name and a small data string).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER spanring_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "tests/bench/lttng_tp.h"

#if !defined(SR_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define SR_LTTNG_TP_H

#include <stdint.h>

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(
	spanring_bench, span_begin,
	LTTNG_UST_TP_ARGS(const uint8_t *, trace_id, const uint8_t *, span_id,
			  const uint8_t *, parent_id, uint64_t, start_ns,
			  const char *, name),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_array(uint8_t, trace_id, trace_id,
				      16) lttng_ust_field_array(uint8_t,
								span_id,
								span_id, 12)
			lttng_ust_field_array(uint8_t, parent_id, parent_id, 12)
				lttng_ust_field_integer(uint64_t, start_ns,
							start_ns)
					lttng_ust_field_string(name, name)))

LTTNG_UST_TRACEPOINT_EVENT(
	spanring_bench, span_end,
	LTTNG_UST_TP_ARGS(const uint8_t *, trace_id, const uint8_t *, span_id,
			  uint64_t, end_ns, const char *, data),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_array(uint8_t, trace_id, trace_id, 16)
			lttng_ust_field_array(uint8_t, span_id, span_id, 12)
				lttng_ust_field_integer(uint64_t, end_ns,
							end_ns)
					lttng_ust_field_string(data, data)))

#endif /* SR_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>
