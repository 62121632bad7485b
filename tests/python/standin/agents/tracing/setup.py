# SPDX-License-Identifier: MIT
"""The SDK's provider: one SynchronousMultiTracingProcessor calling every
registered processor in order, on the caller's thread."""
import threading

from . import util
from .processor_interface import TracingProcessor
from .scope import Scope
from .spans import NoOpSpan, SpanImpl
from .traces import NoOpTrace, TraceImpl


class SynchronousMultiTracingProcessor(TracingProcessor):
    def __init__(self):
        self._processors = ()
        self._lock = threading.Lock()

    def add_tracing_processor(self, p):
        with self._lock:
            self._processors += (p,)

    def set_processors(self, processors):
        with self._lock:
            self._processors = tuple(processors)

    def on_trace_start(self, trace):
        for p in self._processors:
            p.on_trace_start(trace)

    def on_trace_end(self, trace):
        for p in self._processors:
            p.on_trace_end(trace)

    def on_span_start(self, span):
        for p in self._processors:
            p.on_span_start(span)

    def on_span_end(self, span):
        for p in self._processors:
            p.on_span_end(span)

    def shutdown(self):
        for p in self._processors:
            p.shutdown()

    def force_flush(self):
        for p in self._processors:
            p.force_flush()


class TraceProvider:
    def __init__(self):
        self._multi_processor = SynchronousMultiTracingProcessor()
        self._disabled = False

    def register_processor(self, p):
        self._multi_processor.add_tracing_processor(p)

    def set_processors(self, processors):
        self._multi_processor.set_processors(processors)

    def set_disabled(self, disabled):
        self._disabled = disabled

    def get_current_trace(self):
        return Scope.get_current_trace()

    def get_current_span(self):
        return Scope.get_current_span()

    def create_trace(self, name, trace_id=None, group_id=None, metadata=None, disabled=False):
        if self._disabled or disabled:
            return NoOpTrace()
        return TraceImpl(name, trace_id or util.gen_trace_id(), group_id, metadata,
                         self._multi_processor)

    def create_span(self, span_data, span_id=None, parent=None, disabled=False):
        if self._disabled or disabled:
            return NoOpSpan(span_data)
        if not parent:
            current_span = Scope.get_current_span()
            current_trace = Scope.get_current_trace()
            if current_trace is None:
                return NoOpSpan(span_data)
            if isinstance(current_trace, NoOpTrace) or isinstance(current_span, NoOpSpan):
                return NoOpSpan(span_data)
            parent_id = current_span.span_id if current_span else None
            trace_id = current_trace.trace_id
        elif isinstance(parent, TraceImpl):
            trace_id, parent_id = parent.trace_id, None
        elif isinstance(parent, SpanImpl):
            trace_id, parent_id = parent.trace_id, parent.span_id
        else:
            return NoOpSpan(span_data)
        return SpanImpl(trace_id, span_id, parent_id, self._multi_processor, span_data)

    def shutdown(self):
        self._multi_processor.shutdown()


GLOBAL_TRACE_PROVIDER = TraceProvider()
