# SPDX-License-Identifier: MIT
"""Trace, TraceImpl and NoOpTrace as the SDK has them."""
import abc

from . import util
from .scope import Scope


class Trace(abc.ABC):
    def __enter__(self):
        self.start(mark_as_current=True)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.finish(reset_current=exc_type is not GeneratorExit)


class NoOpTrace(Trace):
    def __init__(self):
        self._prev_context_token = None

    trace_id = property(lambda self: "no-op")
    name = property(lambda self: "no-op")

    def start(self, mark_as_current=False):
        if mark_as_current:
            self._prev_context_token = Scope.set_current_trace(self)

    def finish(self, reset_current=False):
        if reset_current and self._prev_context_token is not None:
            Scope.reset_current_trace(self._prev_context_token)

    def export(self):
        return None


class TraceImpl(Trace):
    def __init__(self, name, trace_id, group_id, metadata, processor):
        self._name = name
        self._trace_id = trace_id or util.gen_trace_id()
        self.group_id = group_id
        self.metadata = metadata
        self._prev_context_token = None
        self._processor = processor
        self._started = False

    trace_id = property(lambda self: self._trace_id)
    name = property(lambda self: self._name)

    def start(self, mark_as_current=False):
        if self._started:
            return
        self._started = True
        self._processor.on_trace_start(self)
        if mark_as_current:
            self._prev_context_token = Scope.set_current_trace(self)

    def finish(self, reset_current=False):
        if not self._started:
            return
        self._processor.on_trace_end(self)
        if reset_current and self._prev_context_token is not None:
            Scope.reset_current_trace(self._prev_context_token)
            self._prev_context_token = None

    def export(self):
        return {"object": "trace", "id": self.trace_id, "workflow_name": self.name,
                "group_id": self.group_id, "metadata": self.metadata}
