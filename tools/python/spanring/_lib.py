# SPDX-License-Identifier: MIT
"""ctypes bindings of the spanring C API (shim/spanring.h)."""
import ctypes
import errno
import logging
import os
import threading

log = logging.getLogger("spanring")

_lock = threading.Lock()
_loaded = None  # a Library, or False once no library could be loaded
_NAME = "libspanring.so"


class Library:
    """The C API calls of a loaded libspanring.so. Every call returns 0 or a
    negative errno value (-errno.ENODEV when the process is not recording),
    never raises on a bad argument it can pass to C, never blocks."""

    def __init__(self, cdll, path, preloaded):
        self.path = path
        self.preloaded = preloaded  # True: the hooks record too
        c = ctypes.c_char_p
        ll = ctypes.c_longlong
        fns = {
            "spanring_enabled": [],
            "spanring_trace_record": [c, c, c, c],
            "spanring_span_start": [c, c, c, ll, c],
            "spanring_span_finish": [c, c, c, ll, ll, c, c, c],
            "spanring_span_record": [c, c, c, ll, ll, c, c, c],
            "spanring_context_set": [c, c],
        }
        for name, args in fns.items():
            f = getattr(cdll, name)
            f.argtypes = args
            f.restype = ctypes.c_int
            setattr(self, "_" + name[len("spanring_"):], f)
        # The calls of the processor's hot path, ids and times in one text,
        # through the same handle as PyDLL functions: they hold the GIL
        # across the call (it never blocks: releasing the GIL would only hand
        # it to another thread mid-span), and they have no argtypes (no
        # converter per argument: callers pass bytes or None only). None when
        # the library is older than them.
        py = ctypes.PyDLL(path, handle=cdll._handle)
        for name in ("spanring_span_start_text", "spanring_span_finish_text",
                     "spanring_context_lookup"):
            try:
                f = getattr(py, name)
            except AttributeError:
                f = None
            setattr(self, "_" + name[len("spanring_"):], f)

    def enabled(self):
        return self._enabled() == 1

    def trace_record(self, trace_id, workflow_name, group_id=None, metadata_json=None):
        return self._trace_record(_b(trace_id), _b(workflow_name), _b(group_id),
                                  _b(metadata_json))

    def span_start(self, trace_id, span_id, parent_id, started_ns, span_data_json):
        return self._span_start(_b(trace_id), _b(span_id), _b(parent_id), started_ns,
                                _b(span_data_json))

    def span_finish(self, trace_id, span_id, parent_id, started_ns, ended_ns,
                    span_data_json, error_message=None, error_data_json=None):
        return self._span_finish(_b(trace_id), _b(span_id), _b(parent_id), started_ns,
                                 ended_ns, _b(span_data_json), _b(error_message),
                                 _b(error_data_json))

    def span_record(self, trace_id, span_id, parent_id, started_ns, ended_ns,
                    span_data_json, error_message=None, error_data_json=None):
        return self._span_record(_b(trace_id), _b(span_id), _b(parent_id), started_ns,
                                 ended_ns, _b(span_data_json), _b(error_message),
                                 _b(error_data_json))

    def span_start_text(self, ids_and_times, span_data_json):
        """ids_and_times: "<trace_id> <span_id> <parent_id or -> <started
        ISO 8601>" (spanring.h); -ENOSYS when the library lacks the call."""
        if self._span_start_text is None:
            return -errno.ENOSYS
        return self._span_start_text(_b(ids_and_times), _b(span_data_json))

    def span_finish_text(self, ids_and_times, span_data_json, error_message=None,
                         error_data_json=None):
        """ids_and_times: "<trace_id> <span_id> <parent_id or -> <started>
        <ended>"; -ENOSYS when the library lacks the call."""
        if self._span_finish_text is None:
            return -errno.ENOSYS
        return self._span_finish_text(_b(ids_and_times), _b(span_data_json),
                                      _b(error_message), _b(error_data_json))

    def context_set(self, trace_id, span_id=None):
        return self._context_set(_b(trace_id), _b(span_id))

    def context_lookup(self, node, trace_id, span_id=None):
        """Arms the next getaddrinfo of host name node, by a thread with no
        context of its own, with this context (spanring.h); -ENOSYS when
        the library lacks the call."""
        if self._context_lookup is None:
            return -errno.ENOSYS
        return self._context_lookup(_b(node), _b(trace_id), _b(span_id))


def _b(s):
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    return str(s).encode("utf-8", "replace")


def _preloaded():
    """The library when the process already has it (LD_PRELOAD or linked)."""
    try:
        main = ctypes.CDLL(None)
        main.spanring_enabled  # noqa: B018 - raises when absent
    except (OSError, AttributeError):
        return None
    for entry in os.environ.get("LD_PRELOAD", "").replace(":", " ").split():
        if os.path.basename(entry).startswith("libspanring"):
            return Library(main, entry, True)
    return Library(main, _NAME, True)


def _candidates():
    env = os.environ.get("SPANRING_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.join(here, "..", "..", "..", "build", _NAME)
    return [os.path.normpath(tree), _NAME, "/usr/local/lib/" + _NAME]


def load():
    """The process's Library, loaded once; None (said once) if there is none."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _preloaded() or _open() or False
        return _loaded or None


def _open():
    tried = []
    for path in _candidates():
        try:
            # RTLD_LOCAL: the hooks of a library loaded this late do not
            # interpose libc; only the C API is used
            return Library(ctypes.CDLL(path, mode=os.RTLD_LOCAL), path, False)
        except (OSError, AttributeError) as e:
            tried.append("%s (%s)" % (path, e))
    log.warning("spanring: no libspanring.so could be loaded, spans are not recorded; "
                "tried: %s", "; ".join(tried))
    return None


def _reset_for_tests():
    global _loaded
    with _lock:
        _loaded = None


ENODEV = -errno.ENODEV
