# SPDX-License-Identifier: MIT
"""agents.tracing as the SDK exposes it."""
import atexit

from .create import (agent_span, custom_span, function_span,  # noqa: F401
                     generation_span, get_current_span, get_current_trace, trace)
from .processor_interface import TracingExporter, TracingProcessor  # noqa: F401
from .processors import BackendSpanExporter, BatchTraceProcessor  # noqa: F401
from .setup import GLOBAL_TRACE_PROVIDER
from .spans import Span, SpanError  # noqa: F401
from .traces import Trace  # noqa: F401


def add_trace_processor(span_processor):
    GLOBAL_TRACE_PROVIDER.register_processor(span_processor)


def set_trace_processors(processors):
    GLOBAL_TRACE_PROVIDER.set_processors(processors)


def set_tracing_disabled(disabled):
    GLOBAL_TRACE_PROVIDER.set_disabled(disabled)


atexit.register(GLOBAL_TRACE_PROVIDER.shutdown)
