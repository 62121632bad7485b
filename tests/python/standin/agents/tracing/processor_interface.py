# SPDX-License-Identifier: MIT
import abc


class TracingProcessor(abc.ABC):
    @abc.abstractmethod
    def on_trace_start(self, trace): ...

    @abc.abstractmethod
    def on_trace_end(self, trace): ...

    @abc.abstractmethod
    def on_span_start(self, span): ...

    @abc.abstractmethod
    def on_span_end(self, span): ...

    @abc.abstractmethod
    def shutdown(self): ...

    @abc.abstractmethod
    def force_flush(self): ...


class TracingExporter(abc.ABC):
    @abc.abstractmethod
    def export(self, items): ...
