# SPDX-License-Identifier: MIT
"""The SDK's current span and trace: contextvars, per thread and per
asyncio task."""
import contextvars

_current_span = contextvars.ContextVar("current_span", default=None)
_current_trace = contextvars.ContextVar("current_trace", default=None)


class Scope:
    @classmethod
    def get_current_span(cls):
        return _current_span.get()

    @classmethod
    def set_current_span(cls, span):
        return _current_span.set(span)

    @classmethod
    def reset_current_span(cls, token):
        _current_span.reset(token)

    @classmethod
    def get_current_trace(cls):
        return _current_trace.get()

    @classmethod
    def set_current_trace(cls, trace):
        return _current_trace.set(trace)

    @classmethod
    def reset_current_trace(cls, token):
        _current_trace.reset(token)
