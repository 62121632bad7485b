# SPDX-License-Identifier: MIT
"""SpanringTracingProcessor: the OpenAI Agents SDK's traces and spans
recorded into the process's spanring ring, exported by spanringd.

    from agents import set_trace_processors        # or cai.sdk.agents
    from spanring.agents import SpanringTracingProcessor
    set_trace_processors([SpanringTracingProcessor()])

It implements the SDK's TracingProcessor interface by duck typing (it
imports nothing of the SDK): on_trace_start records the trace object,
on_span_start records the span open (a process that dies leaves it for
spanringd to close with an error), on_span_end records it finished with
its final span_data and error. Ids, parents, timestamps (to the
microsecond), span_data and error are the SDK's own. Each call is a few
microseconds of the caller's thread: no thread, no queue, no network I/O,
nothing to flush (shutdown and force_flush do nothing but stop it).

Child processes and connections land under the SDK's current span:
before a subprocess is started (subprocess.Popen, os.system, os.posix_spawn,
os.exec*, os.fork, os.forkpty, os.spawn*) and before socket.connect and
socket.getaddrinfo, an audit hook (sys.addaudithook) reads the SDK's
current span in the context of the code doing it (a contextvar: per
thread, per asyncio task) and sets it as the thread's spanring context;
the shim's spans for it and the processes started are its children.
"""
import contextvars
import datetime
import json
import math
import sys
import threading

from . import _lib

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_US = datetime.timedelta(microseconds=1)

# audit events raised just before a shim hook records something
_EVENTS = frozenset((
    "subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.fork",
    "os.forkpty", "os.spawn", "socket.connect", "socket.getaddrinfo",
))

# the current (trace_id, span_id) as this module saw spans start and end,
# for SDKs whose own current span cannot be found
_current = contextvars.ContextVar("spanring_current", default=None)
_active = []  # processors that have not shut down; the audit hook's
_hook_lock = threading.Lock()
_hooked = False
_thread = threading.local()  # .ctx: what this thread's context was set to


def _ns(iso):
    """Nanoseconds since the epoch of an SDK timestamp (0: now)."""
    if not iso:
        return 0
    t = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return ((t - _EPOCH) // _US) * 1000


def _finite(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


def _dumps(v):
    """Compact JSON; NaN and Infinity become null (JSON has neither),
    objects JSON cannot hold become their str()."""
    try:
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(v), separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False, default=str)


def _valid(trace_id, span_id):
    return (isinstance(trace_id, str) and trace_id.startswith("trace_") and
            (span_id is None or (isinstance(span_id, str) and span_id.startswith("span_"))))


def _audit(event, args):
    if event not in _EVENTS or not _active:
        return
    try:
        _active[0]._sync_context()
    except Exception:  # an audit hook must never fail the operation
        pass


def _install_hook():
    global _hooked
    with _hook_lock:
        if not _hooked:
            sys.addaudithook(_audit)
            _hooked = True


class SpanringTracingProcessor:
    """A TracingProcessor of the Agents SDK that records into spanring.

    library: a spanring.Library (default: spanring.load()).
    context: False leaves the thread's spanring context alone (subprocesses
    then stay under the process span).
    """

    def __init__(self, library=None, context=True):
        self._lib = library if library is not None else _lib.load()
        self._on = bool(self._lib) and self._lib.enabled()
        self._scope = None  # (get_current_span, get_current_trace) of the SDK
        self._tokens = {}  # span id -> token of _current
        self.failures = 0  # calls the library refused (full ring, bad value)
        if self._on and context:
            _active.append(self)
            _install_hook()

    # --- the SDK's current span ------------------------------------------------

    def _find_scope(self, obj):
        """The SDK's get_current_span/get_current_trace, from the package of
        its span and trace classes (agents.tracing, cai.sdk.agents.tracing)."""
        if self._scope is not None:
            return
        pkg = sys.modules.get(type(obj).__module__.rpartition(".")[0])
        gs = getattr(pkg, "get_current_span", None)
        gt = getattr(pkg, "get_current_trace", None)
        self._scope = (gs, gt) if callable(gs) and callable(gt) else False

    def current(self):
        """(trace_id, span_id or None) of the current span in the caller's
        context, or None."""
        if self._scope:
            span = self._scope[0]()
            if span is not None and _valid(getattr(span, "trace_id", None),
                                           getattr(span, "span_id", None)):
                return (span.trace_id, span.span_id)
            trace = self._scope[1]()
            if trace is not None and _valid(getattr(trace, "trace_id", None), None):
                return (trace.trace_id, None)
            return None
        return _current.get()

    def _set_thread(self, cur):
        if getattr(_thread, "ctx", None) == cur:
            return
        _thread.ctx = cur
        if cur is None:
            self._lib.context_set(None, None)
        else:
            self._lib.context_set(cur[0], cur[1])

    def _sync_context(self):
        if self._on:
            self._set_thread(self.current())

    def _rc(self, rc):
        if rc:
            self.failures += 1

    # --- TracingProcessor -----------------------------------------------------

    def on_trace_start(self, trace):
        if not self._on:
            return
        d = trace.export()
        if not d:
            return
        self._find_scope(trace)
        meta = d.get("metadata")
        self._rc(self._lib.trace_record(d.get("id"), d.get("workflow_name"),
                                        d.get("group_id"),
                                        None if meta is None else _dumps(meta)))
        self._tokens[d.get("id")] = _current.set((d.get("id"), None))

    def on_trace_end(self, trace):
        if not self._on:
            return
        tid = getattr(trace, "trace_id", None)
        self._restore(tid, None)
        if getattr(_thread, "ctx", None) and _thread.ctx[0] == tid:
            self._set_thread(None)

    def on_span_start(self, span):
        if not self._on:
            return
        d = span.export()
        if not d:
            return
        self._find_scope(span)
        self._rc(self._lib.span_start(d.get("trace_id"), d.get("id"), d.get("parent_id"),
                                      _ns(d.get("started_at")), _dumps(d.get("span_data"))))
        self._tokens[d.get("id")] = _current.set((d.get("trace_id"), d.get("id")))

    def on_span_end(self, span):
        if not self._on:
            return
        d = span.export()
        if not d:
            return
        err = d.get("error")
        msg = edata = None
        if err:
            msg = str(err.get("message") or "")
            if err.get("data") is not None:
                edata = _dumps(err.get("data"))
        self._rc(self._lib.span_finish(d.get("trace_id"), d.get("id"), d.get("parent_id"),
                                       _ns(d.get("started_at")), _ns(d.get("ended_at")),
                                       _dumps(d.get("span_data")), msg, edata))
        up = (d.get("trace_id"), d.get("parent_id"))
        self._restore(d.get("id"), up)
        # the thread's context leaves the span with it
        if getattr(_thread, "ctx", None) == (d.get("trace_id"), d.get("id")):
            self._set_thread(up)

    def _restore(self, key, fallback):
        tok = self._tokens.pop(key, None)
        if tok is None:
            return
        try:
            _current.reset(tok)
        except ValueError:  # ended in another context than it started
            _current.set(fallback)

    def shutdown(self, timeout=None):
        """Stops recording; records already made are in the ring."""
        self._on = False
        if self in _active:
            _active.remove(self)

    def force_flush(self):
        """Nothing to flush: every record is in shared memory already."""
