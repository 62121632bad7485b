# SPDX-License-Identifier: MIT
"""SpanringTracingProcessor: the OpenAI Agents SDK's traces and spans
recorded into the process's spanring ring, exported by spanringd.

    from agents import set_trace_processors        # or cai.sdk.agents
    from spanring.agents import SpanringTracingProcessor
    set_trace_processors([SpanringTracingProcessor()])

It implements the SDK's TracingProcessor interface by duck typing (it
imports nothing of the SDK): on_trace_start records the trace object,
on_span_start records the span open with the type and name of its
span_data (a process that dies leaves it for spanringd to close with an
error), on_span_end records it whole, with its final span_data and error.
Ids, parents, timestamps (to the microsecond), span_data and error are the
SDK's own. A span costs a few microseconds of the caller's thread: no
thread, no queue, no network I/O, nothing to flush (shutdown and
force_flush do nothing but stop it).

Child processes and connections land under the SDK's current span:
before a subprocess is started (subprocess.Popen, os.system, os.posix_spawn,
os.exec*, os.fork, os.forkpty, os.spawn*) and before socket.connect and
socket.getaddrinfo, an audit hook (sys.addaudithook) reads the SDK's
current span in the context of the code doing it (a contextvar: per
thread, per asyncio task) and sets it as the thread's spanring context;
the shim's spans for it and the processes started are its children.
asyncio's loop.getaddrinfo, which runs on an executor thread, arms the
look-up of its name with the caller's span (spanring_context_lookup).
"""
import contextvars
import datetime
import errno
import json
import math
import operator
import sys
import threading

from . import _lib

_EINVAL = -errno.EINVAL
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_US = datetime.timedelta(microseconds=1)

# audit events raised just before a shim hook records something
_EVENTS = frozenset((
    "subprocess.Popen", "os.system", "os.posix_spawn", "os.exec", "os.fork",
    "os.forkpty", "os.spawn", "socket.connect", "socket.getaddrinfo",
))

# A span's start record carries {"type", "name"} of its span_data (name when
# it has a str one): what names the span in a crash report. The finish
# record carries the whole span_data and replaces it.
# span_data types of the traces backend (WIRE.md): a span of one of them
# starts with {"type","name"} read from the SDK's object; others from what
# its export() gives.
_WIRE_TYPES = frozenset(("agent", "function", "generation", "response", "handoff",
                         "custom", "guardrail", "mcp_tools", "transcription", "speech",
                         "speech_group"))
_HEADS_MAX = 1024  # distinct (type, name) start texts kept encoded
_OPEN_MAX = 4096  # spans started and not ended kept for their end's use

# the current (trace_id, span_id) as this module saw spans start and end,
# for SDKs whose own current span cannot be found
_current = contextvars.ContextVar("spanring_current", default=None)
_active = []  # processors that have not shut down; the audit hook's
_hook_lock = threading.Lock()
_hooked = False
_thread = threading.local()  # .ctx: what this thread's context was set to
_ctx_used = [False]  # a thread's context was set once in this process


def _ns_iso(iso):
    """Nanoseconds since the epoch of an SDK timestamp (0: now)."""
    if not iso:
        return 0
    t = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return ((t - _EPOCH) // _US) * 1000


# The SDK writes datetime.now(timezone.utc).isoformat():
# "YYYY-MM-DDTHH:MM:SS.ffffff+00:00". The minute last seen is kept with its
# nanoseconds since the epoch (one tuple, replaced whole: threads share it);
# a time in that minute is those plus its seconds and microseconds, read
# from the text. Anything else is parsed in full.
_minute = [("", 0)]


def _ns(iso):
    """Nanoseconds since the epoch of an SDK timestamp (0: now), exact to
    the microsecond written."""
    if iso and len(iso) == 32 and iso[19] == "." and iso[26:] == "+00:00":
        m = _minute[0]
        if iso[:16] == m[0]:
            return m[1] + int(iso[17:19] + iso[20:26]) * 1000
        ns = _ns_iso(iso)
        _minute[0] = (iso[:16], ns - int(iso[17:19] + iso[20:26]) * 1000)
        return ns
    return _ns_iso(iso)


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


def _c_encoder():
    """The json module's C encoder made once with _dumps's settings (no
    circular check: a cycle raises and takes the full path), or None."""
    try:
        from json.encoder import c_encode_basestring, c_make_encoder
        enc = c_make_encoder(None, str, c_encode_basestring, None, ":", ",",
                             False, False, False)
        if "".join(enc({"a": [1, None, "\u00e9"]}, 0)) != '{"a":[1,null,"\u00e9"]}':
            return None
        return enc
    except Exception:  # another Python: json.dumps does it all
        return None


_cenc = _c_encoder()


def _utf8(s):
    try:
        return s.encode()
    except UnicodeEncodeError:  # lone surrogates
        return s.encode("utf-8", "replace")


def _json8(v):
    """_dumps(v) as UTF-8 bytes."""
    if _cenc is not None:
        try:
            return _utf8("".join(_cenc(v, 0)))
        except (ValueError, RecursionError, TypeError):
            pass  # NaN, a cycle, a key JSON cannot hold: the full path
    return _utf8(_dumps(v))


# "return self._x": the code of a property that returns an attribute as is
_PLAIN = (lambda self: self._x).__code__.co_code
_GETTERS = {}  # span class -> (start reader, end reader), see _getters()


def _plain(cls, name):
    """The attribute the property `name` of cls returns as is (its getter is
    "return self.<attribute>", as the SDK's span properties are), or name
    itself (read through the property)."""
    p = getattr(cls, name, None)
    f = getattr(p, "fget", None) if type(p) is property else None
    c = getattr(f, "__code__", None)
    if (c is None or c.co_code != _PLAIN or c.co_argcount != 1 or len(c.co_names) != 1 or
            getattr(f, "__closure__", None)):
        return name
    return c.co_names[0]


def _getters(cls):
    """For spans of class cls, one C call each (operator.attrgetter) that
    reads (trace_id, span_id, parent_id, started_at, span_data) and
    (span_id, error, ended_at, span_data): the attributes behind the
    SDK's properties where a property only returns one (no Python call per
    property), the properties otherwise. Made once per class."""
    if len(_GETTERS) >= 64:
        _GETTERS.clear()
    a = {n: _plain(cls, n) for n in ("trace_id", "span_id", "parent_id", "started_at",
                                       "ended_at", "error", "span_data")}
    g = (operator.attrgetter(a["trace_id"], a["span_id"], a["parent_id"], a["started_at"],
                             a["span_data"]),
         operator.attrgetter(a["span_id"], a["error"], a["ended_at"], a["span_data"]))
    _GETTERS[cls] = g
    return g


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
            _patch_asyncio()
            _hooked = True


def _patch_asyncio():
    """asyncio's loop.getaddrinfo runs socket.getaddrinfo on a thread of the
    loop's executor, in a context without the caller's span: the look-up of
    the name is armed with the caller's current span just before
    (spanring_context_lookup), and the shim's getaddrinfo hook on the
    executor's thread takes it."""
    try:
        import asyncio.base_events as be
    except ImportError:
        return
    getaddrinfo = be.BaseEventLoop.getaddrinfo

    async def spanring_getaddrinfo(self, host, *args, **kwargs):
        if _active:
            try:
                _active[0]._arm_lookup(host)
            except Exception:  # never fail the look-up
                pass
        return await getaddrinfo(self, host, *args, **kwargs)

    be.BaseEventLoop.getaddrinfo = spanring_getaddrinfo


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
        self._heads = {}  # (type, name) -> start span_data text
        # span id -> the ids and start time as given to the start: one text
        # (str), or on the long way (trace_id, span_id, parent_id bytes,
        # started_ns)
        self._open = {}
        self.failures = 0  # calls the library refused (full ring, bad value)
        # the C functions themselves for a Library (ids and texts passed
        # as bytes); another library object is called through its methods
        fast = isinstance(self._lib, _lib.Library)
        self._c_start = self._lib._span_start if fast else None
        self._c_finish = self._lib._span_finish if fast else None
        self._c_start_text = self._lib._span_start_text if fast else None
        self._c_finish_text = self._lib._span_finish_text if fast else None
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
        _ctx_used[0] = True
        if cur is None:
            self._lib.context_set(None, None)
        else:
            self._lib.context_set(cur[0], cur[1])

    def _sync_context(self):
        if self._on:
            self._set_thread(self.current())

    def _arm_lookup(self, host):
        """The next getaddrinfo of host by a thread without a context goes
        under the current span (only under the preloaded library: no hook
        runs otherwise)."""
        if not self._on or not self._lib.preloaded:
            return
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        cur = self.current() if isinstance(host, str) and host else None
        if cur is not None:
            self._lib.context_lookup(host, cur[0], cur[1])

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
        if not self._scope:
            self._tokens[d.get("id")] = _current.set((d.get("id"), None))

    def on_trace_end(self, trace):
        if not self._on:
            return
        tid = getattr(trace, "trace_id", None)
        self._restore(tid, None)
        if getattr(_thread, "ctx", None) and _thread.ctx[0] == tid:
            self._set_thread(None)

    def _head(self, sd):
        """The start record's span_data text of span_data sd: {"type",
        "name"} as UTF-8 JSON ("name" when sd has a str one), kept in
        _heads by (type, name)."""
        key = (sd.type, getattr(sd, "name", None))
        t, name = key
        if t not in _WIRE_TYPES:  # the export() path: its type may be another
            raise TypeError("span_data.type not one of the backend's")
        b = _json8({"type": t} if not isinstance(name, str) else {"type": t, "name": name})
        if len(self._heads) >= _HEADS_MAX:
            self._heads.clear()
        self._heads[key] = b
        return b

    # on_span_start and on_span_end are the hot path (every span of the
    # agent, on its thread): the SDK's own objects are read through their
    # properties, the ids and ISO times go to C as the SDK holds them, in
    # one text (spanring_span_start_text / _finish_text parse them), the
    # start text of a span is kept for its end (_open). Anything the C
    # calls refuse as malformed (-EINVAL), anything not shaped like the
    # SDK's, takes the long way: _start_long, _end_long.

    def on_span_start(self, span):
        if not self._on:
            return
        scope = self._scope
        if scope is None:
            self._find_scope(span)
            scope = self._scope
        rc = _EINVAL
        start = self._c_start_text
        if start is not None:
            try:
                get = _GETTERS.get(type(span)) or _getters(type(span))
                tid, sid, pid, iso, sd = get[0](span)
                head = self._heads.get((sd.type, getattr(sd, "name", None)))
                if head is None:
                    head = self._head(sd)
                line = f"{tid} {sid} {pid or '-'} {iso}"
                b = line.encode()
            except Exception:  # not the SDK's shapes
                pass
            else:
                rc = start(b, head)
        if rc == _EINVAL:
            ids = self._start_long(span)
            if ids is None:
                return
            tid, sid = ids
        else:
            if rc:
                self.failures += 1
            opened = self._open
            if len(opened) >= _OPEN_MAX:
                opened.clear()  # spans never ended: their ends take the long way
            opened[sid] = line
            if scope:
                return
        if not scope:
            self._tokens[sid] = _current.set((tid, sid))

    def _start_long(self, span):
        """on_span_start the long way: (trace_id, span_id) or None (nothing
        recorded)."""
        start = self._c_start
        try:
            if start is None:
                raise TypeError("not a spanring.Library")
            tid = span.trace_id
            sid = span.span_id
            pid = span.parent_id
            ns = _ns(span.started_at)
            sd = span.span_data
            head = self._heads.get((sd.type, getattr(sd, "name", None)))
            if head is None:
                head = self._head(sd)
            args = (tid.encode(), sid.encode(), pid.encode() if pid else None, ns, head)
        except Exception:  # not the SDK's shapes: through export()
            d = span.export()
            if not d:
                return None
            tid, sid = d.get("trace_id"), d.get("id")
            sd = d.get("span_data")
            if isinstance(sd, dict) and isinstance(sd.get("type"), str):
                name = sd.get("name")
                sd = ({"type": sd["type"], "name": name} if isinstance(name, str) else
                      {"type": sd["type"]})
            self._rc(self._lib.span_start(tid, sid, d.get("parent_id"),
                                          _ns(d.get("started_at")), _dumps(sd)))
        else:
            self._rc(start(*args))
            opened = self._open
            if len(opened) >= _OPEN_MAX:
                opened.clear()
            opened[sid] = args[:4]
        return tid, sid

    def on_span_end(self, span):
        if not self._on:
            return
        rc = _EINVAL
        fin = self._c_finish_text
        if fin is not None and _cenc is not None:
            try:
                get = _GETTERS.get(type(span)) or _getters(type(span))
                sid, err, ended, sd = get[1](span)
                line = self._open.pop(sid, None)
                if type(line) is not str:
                    tid, _, pid, iso, _ = get[0](span)
                    line = f"{tid} {sid} {pid or '-'} {iso}"
                msg = edata = None
                if err:
                    msg = _utf8(str(err.get("message") or ""))
                    if err.get("data") is not None:
                        edata = _json8(err.get("data"))
                b = f"{line} {ended}".encode()
                # _json8 inline: what does not encode so (NaN, a cycle, lone
                # surrogates) takes the long way, which repairs it
                data = "".join(_cenc(sd.export(), 0)).encode()
            except Exception:  # not the SDK's shapes
                pass
            else:
                rc = fin(b, data, msg, edata)
        if rc == _EINVAL:
            ids = self._end_long(span)
            if ids is None:
                return
            tid, sid, pid = ids
        else:
            if rc:
                self.failures += 1
            if self._scope and not _ctx_used[0]:
                return
            tid = span.trace_id
            pid = span.parent_id
        if not self._scope:
            self._restore(sid, (tid, pid))
        if _ctx_used[0]:
            # the thread's context leaves the span with it
            ctx = getattr(_thread, "ctx", None)
            if ctx is not None and ctx[1] == sid and ctx[0] == tid:
                self._set_thread((tid, pid))

    def _end_long(self, span):
        """on_span_end the long way: (trace_id, span_id, parent_id) or None
        (nothing recorded)."""
        try:
            sid = span.span_id
            args = self._open.pop(sid, None)
            if type(args) is not tuple:
                if self._c_finish is None or _cenc is None:
                    raise TypeError("not a spanring.Library, or no C encoder")
                tid = span.trace_id
                pid = span.parent_id
                args = (tid.encode(), sid.encode(), pid.encode() if pid else None,
                        _ns(span.started_at))
            err = span.error
            msg = edata = None
            if err:
                msg = _utf8(str(err.get("message") or ""))
                if err.get("data") is not None:
                    edata = _json8(err.get("data"))
            ended = _ns(span.ended_at)
            data = "".join(_cenc(span.span_data.export(), 0)).encode()
        except Exception:  # not the SDK's shapes: through export()
            return self._end_export(span)
        self._rc(self._c_finish(*args, ended, data, msg, edata))
        return span.trace_id, sid, span.parent_id

    def _end_export(self, span):
        """on_span_end through span.export(): (trace_id, id, parent_id) or
        None (nothing to record)."""
        d = span.export()
        if not d:
            return None
        err = d.get("error")
        msg = edata = None
        if err:
            msg = str(err.get("message") or "")
            if err.get("data") is not None:
                edata = _dumps(err.get("data"))
        self._rc(self._lib.span_finish(d.get("trace_id"), d.get("id"), d.get("parent_id"),
                                       _ns(d.get("started_at")), _ns(d.get("ended_at")),
                                       _dumps(d.get("span_data")), msg, edata))
        return d.get("trace_id"), d.get("id"), d.get("parent_id")

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
        self._open.clear()
        if self in _active:
            _active.remove(self)

    def force_flush(self):
        """Nothing to flush: every record is in shared memory already."""
