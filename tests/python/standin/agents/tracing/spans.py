# SPDX-License-Identifier: MIT
"""Span, SpanImpl and NoOpSpan as the SDK has them: start() calls the
processor then (mark_as_current) sets the current span; finish() calls the
processor then (reset_current) restores the previous one."""
import abc
from typing import Any, Optional, TypedDict

from . import util
from .scope import Scope


class SpanError(TypedDict):
    message: str
    data: Optional[dict]


class Span(abc.ABC):
    @property
    @abc.abstractmethod
    def trace_id(self): ...

    @property
    @abc.abstractmethod
    def span_id(self): ...

    def __enter__(self):
        self.start(mark_as_current=True)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        reset_current = True
        if exc_type is GeneratorExit:
            reset_current = False
        self.finish(reset_current=reset_current)


class NoOpSpan(Span):
    def __init__(self, span_data):
        self._span_data = span_data
        self._prev_span_token = None

    trace_id = property(lambda self: "no-op")
    span_id = property(lambda self: "no-op")
    span_data = property(lambda self: self._span_data)
    parent_id = property(lambda self: None)

    def start(self, mark_as_current=False):
        if mark_as_current:
            self._prev_span_token = Scope.set_current_span(self)

    def finish(self, reset_current=False):
        if reset_current and self._prev_span_token is not None:
            Scope.reset_current_span(self._prev_span_token)
            self._prev_span_token = None

    def set_error(self, error):
        pass

    def export(self):
        return None

    started_at = property(lambda self: None)
    ended_at = property(lambda self: None)


class SpanImpl(Span):
    def __init__(self, trace_id, span_id, parent_id, processor, span_data):
        self._trace_id = trace_id
        self._span_id = span_id or util.gen_span_id()
        self._parent_id = parent_id
        self._started_at = None
        self._ended_at = None
        self._error: Optional[SpanError] = None
        self._prev_span_token = None
        self._processor = processor
        self._span_data = span_data

    trace_id = property(lambda self: self._trace_id)
    span_id = property(lambda self: self._span_id)
    span_data = property(lambda self: self._span_data)
    parent_id = property(lambda self: self._parent_id)
    error = property(lambda self: self._error)
    started_at = property(lambda self: self._started_at)
    ended_at = property(lambda self: self._ended_at)

    def start(self, mark_as_current=False):
        if self.started_at is not None:
            return
        self._started_at = util.time_iso()
        self._processor.on_span_start(self)
        if mark_as_current:
            self._prev_span_token = Scope.set_current_span(self)

    def finish(self, reset_current=False):
        if self.ended_at is not None:
            return
        self._ended_at = util.time_iso()
        self._processor.on_span_end(self)
        if reset_current and self._prev_span_token is not None:
            Scope.reset_current_span(self._prev_span_token)
            self._prev_span_token = None

    def set_error(self, error: SpanError):
        self._error = error

    def export(self) -> Optional[dict[str, Any]]:
        return {
            "object": "trace.span",
            "id": self.span_id,
            "trace_id": self.trace_id,
            "parent_id": self._parent_id,
            "started_at": self._started_at,
            "ended_at": self._ended_at,
            "span_data": self.span_data.export(),
            "error": self._error,
        }
