# SPDX-License-Identifier: MIT
"""Scenarios of the Agents SDK's tracing (the stand-in package `agents` in
tests/python/standin) with spanring.agents.SpanringTracingProcessor, run by
tests/unit/test_sdk.c under the shim and a real spanringd:

  sdk_scenarios.py compare URL   the seed's BatchTraceProcessor +
                                 BackendSpanExporter (to URL) beside
                                 spanring's: one trace, spans of several
                                 types, an error, a subprocess under a
                                 function span
  sdk_scenarios.py asyncio       two tools running concurrently as asyncio
                                 tasks, each starting a subprocess while
                                 both function spans are open
  sdk_scenarios.py threads       the same with two threads
  sdk_scenarios.py kill          spans left open; prints "ready" and waits
                                 on stdin to be killed
  sdk_scenarios.py plain         one span; prints whether the library was
                                 preloaded ("preloaded" / "loaded")
  sdk_scenarios.py nolib         two processors and a span without any
                                 library
  sdk_scenarios.py paths         the processor's direct path (the SDK's
                                 objects read, C functions called with
                                 bytes) beside its export() path, both on
                                 a library that records the calls: the
                                 same arguments, times to the µs of the
                                 text (minute and year boundaries, no
                                 fraction, other offsets), start texts
                                 {"type","name"}; prints the mismatches

Prints the ids it made as JSON on the last line of stdout.
"""
import asyncio
import errno
import json
import re
import socket
import subprocess
import sys
import threading

import agents  # noqa: F401  (the stand-in)
from agents.tracing import (BackendSpanExporter, BatchTraceProcessor, agent_span,
                            custom_span, function_span, generation_span,
                            set_trace_processors, trace)
from spanring.agents import SpanringTracingProcessor


def compare(url):
    seed = BatchTraceProcessor(BackendSpanExporter(api_key="sk-test", endpoint=url),
                               schedule_delay=0.2)
    ours = SpanringTracingProcessor()
    set_trace_processors([seed, ours])
    ids = {}
    with trace("py compare", group_id="group_py", metadata={"k": "v", "n": 1.5}) as t:
        ids["trace"] = t.trace_id
        with agent_span("Planner", handoffs=["Helper"], tools=["run"]) as a:
            ids["agent"] = a.span_id
            with generation_span(input=[{"role": "user", "content": "hé"}], model="fake",
                                 model_config={"temperature": 0.5}) as g:
                g.span_data.output = [{"role": "assistant", "content": "call run"}]
                g.span_data.usage = {"input_tokens": 3, "output_tokens": 4}
            ids["generation"] = g.span_id
            with function_span("run", input='{"cmd":"true"}') as f:
                ids["function"] = f.span_id
                r = subprocess.run(["/bin/true", "py-tool"])
                f.span_data.output = "exit %d" % r.returncode
            with custom_span("check", {"ok": False}) as c:
                ids["custom"] = c.span_id
                c.set_error({"message": "check failed", "data": {"code": 7}})
            a.span_data.output_type = "str"  # known at the end only
    seed.shutdown()
    print(json.dumps(ids))


async def tool(name, mine, other):
    with function_span(name, input=name) as f:
        mine.set()
        await other.wait()  # both spans are open from here on
        p = await asyncio.create_subprocess_exec("/bin/true", "tool-" + name)
        await p.wait()
        if name == "a":  # one look-up of the name in the process (/etc/hosts)
            await asyncio.get_running_loop().getaddrinfo("localhost", None,
                                                         family=socket.AF_INET)
        f.span_data.output = "done"
        return f.span_id


async def two_tools():
    a, b = asyncio.Event(), asyncio.Event()
    return await asyncio.gather(tool("a", a, b), tool("b", b, a))


def run_asyncio():
    set_trace_processors([SpanringTracingProcessor()])
    with trace("py asyncio") as t:
        with agent_span("Runner"):
            sa, sb = asyncio.run(two_tools())
    print(json.dumps({"trace": t.trace_id, "a": sa, "b": sb}))


def run_threads():
    set_trace_processors([SpanringTracingProcessor()])
    barrier = threading.Barrier(2)
    ids = {}

    def worker(name, parent):
        with function_span(name, parent=parent) as f:
            ids[name] = f.span_id
            barrier.wait()  # both spans are open from here on
            subprocess.run(["/bin/true", "thread-" + name])
            barrier.wait()

    with trace("py threads") as t:
        with agent_span("Runner") as a:
            th = [threading.Thread(target=worker, args=(n, a)) for n in ("a", "b")]
            for x in th:
                x.start()
            for x in th:
                x.join()
    ids["trace"] = t.trace_id
    print(json.dumps(ids))


def kill():
    set_trace_processors([SpanringTracingProcessor()])
    t = trace("py killed")
    t.start(mark_as_current=True)
    a = agent_span("Doomed")
    a.start(mark_as_current=True)
    f = function_span("slow", input="x")
    f.start(mark_as_current=True)
    with custom_span("finished", {}) as c:
        pass
    print(json.dumps({"trace": t.trace_id, "agent": a.span_id, "function": f.span_id,
                      "custom": c.span_id}))
    print("ready", flush=True)
    sys.stdin.readline()
    sys.exit(3)  # stdin closed before the kill: the test failed


def plain():
    p = SpanringTracingProcessor()
    set_trace_processors([p])
    with trace("py plain") as t:
        with function_span("one") as f:
            pass
    print("preloaded" if p._lib.preloaded else "loaded")
    print(json.dumps({"trace": t.trace_id, "function": f.span_id}))


def nolib():
    ps = [SpanringTracingProcessor(), SpanringTracingProcessor()]
    set_trace_processors(ps)
    with trace("py nolib"):
        with function_span("one"):
            pass
    print("ok" if not any(p._on for p in ps) else "recording")


def recorder():
    """A spanring.Library whose C functions record their arguments."""
    from spanring import _lib
    calls = []
    lib = _lib.Library.__new__(_lib.Library)
    lib.path, lib.preloaded = "recorder", False
    lib._enabled = lambda: 1
    for n in ("trace_record", "span_start", "span_finish", "span_record", "context_set"):
        setattr(lib, "_" + n, lambda *a, n=n: calls.append((n,) + a) or 0)

    def text(n, nt):
        """The text form of call n, as its contract in spanring.h reads the
        text (-EINVAL for anything else), recorded as call n."""
        def call(ids_and_times, *rest):
            m = _IDS_TIMES.match(ids_and_times.decode())
            if not m or (m.group(5) is not None) != (nt == 2):
                return -errno.EINVAL
            t, sid, pid = m.group(1, 2, 3)
            ids = (t.encode(), sid.encode(), None if pid == "-" else pid.encode())
            times = tuple(ref_ns(x) for x in m.group(4, 5)[:nt])
            calls.append((n,) + ids + times + rest)
            texts.append(n)
            return 0
        return call

    texts = []  # the calls made through the text forms
    lib._span_start_text = text("span_start", 1)
    lib._span_finish_text = text("span_finish", 2)
    lib.texts = texts
    return lib, calls


# spanring.h's ids_and_times of spanring_span_start_text / _finish_text
_ISO = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9}(?:Z|[+-]\d\d:\d\d)?|(?:Z|[+-]\d\d:\d\d)))"
_IDS_TIMES = re.compile(r"(trace_[0-9a-f]{32}) (span_[0-9a-f]{24}) (-|span_[0-9a-f]{24}) " +
                        _ISO + "(?: " + _ISO + ")?$")


class Plain:
    """A library object that is not a spanring.Library: its processor takes
    the export() path."""

    def __init__(self, lib):
        self._inner = lib

    def __getattr__(self, name):
        return getattr(self._inner, name)


# SDK timestamps for paths(), in the order the spans take them: a year and
# minute boundary, no fraction (isoformat leaves it out at 0 µs), a minute
# seen again after the next one, other offsets, "Z", no offset
STAMPS = [
    "2026-12-31T23:59:59.999999+00:00", "2027-01-01T00:00:00.000001+00:00",
    "2027-01-01T00:00:00+00:00", "2027-01-01T00:00:59.500000+00:00",
    "2027-01-01T00:01:00.000000+00:00", "2027-01-01T00:00:30.250000+00:00",
    "2027-01-01T02:01:00.123456+02:00", "2027-01-01T00:01:00.654321Z",
    "2027-01-01T00:01:01.000002+00:00", "2027-01-01T00:01:01.000003",
]


def ref_ns(text):
    """Nanoseconds since the epoch of an ISO text, the long way."""
    import datetime
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (t - epoch) // datetime.timedelta(microseconds=1) * 1000


def paths():
    import datetime
    import math
    from agents.tracing import util
    fast_lib, fast = recorder()
    slow_lib, slow = recorder()
    set_trace_processors([SpanringTracingProcessor(library=fast_lib, context=False),
                          SpanringTracingProcessor(library=Plain(slow_lib), context=False)])
    stamps = iter(STAMPS)
    real = util.time_iso
    util.time_iso = lambda: next(stamps, None) or real()
    odd = {1: "one", 2.5: float("nan"), None: object.__new__(object), "s": "\ud800x"}
    with trace("py paths", metadata={"k": "v"}):
        with agent_span("Plan\"ner\n", handoffs=["H"]) as a:
            with generation_span(input=[{"role": "user", "content": "hé ✓"}], model="m",
                                 model_config={"temperature": 0.1}) as g:
                g.span_data.usage = {"input_tokens": 1, "cost": float("inf")}
            with function_span("run", input='{"cmd":"true"}') as f:
                f.span_data.output = 12345678901234567890
                f.set_error({"message": "failed \ud801",
                             "data": {"x": -math.inf, "o": datetime.date(2027, 1, 1)}})
            with custom_span("odd", odd):
                pass
            with custom_span("later", {}):
                pass
            a.span_data.output_type = "str"
    util.time_iso = real
    bad = []
    for i in range(max(len(fast), len(slow))):
        x = fast[i] if i < len(fast) else None
        y = slow[i] if i < len(slow) else None
        if x != y:
            bad.append({"call": i, "direct": repr(x), "export": repr(y)})
    # times: each the microseconds of its text
    got = [c[4] for c in fast if c[0] == "span_start"]
    got += [t for c in fast if c[0] == "span_finish" for t in c[4:6]]
    if sorted(set(got)) != sorted(ref_ns(x) for x in STAMPS):
        bad.append({"times": sorted(set(got)), "want": sorted(ref_ns(x) for x in STAMPS)})
    # start texts: type and name only
    want = [{"type": "agent", "name": "Plan\"ner\n"}, {"type": "generation"},
            {"type": "function", "name": "run"}, {"type": "custom", "name": "odd"},
            {"type": "custom", "name": "later"}]
    heads = [json.loads(c[5]) for c in fast if c[0] == "span_start"]
    if heads != want:
        bad.append({"starts": heads, "want": want})
    # the direct path passes ids and times as text, but for the span_data
    # its C encoder refuses (NaN, infinities, keys JSON cannot hold: the
    # long way repairs them): all starts, the agent, function and "later"
    # finishes
    if sorted(fast_lib.texts) != ["span_finish"] * 3 + ["span_start"] * 5:
        bad.append({"texts": fast_lib.texts})
    print(json.dumps({"calls": len(fast), "mismatches": bad}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "compare":
        compare(sys.argv[2])
    elif mode == "asyncio":
        run_asyncio()
    elif mode == "threads":
        run_threads()
    elif mode == "kill":
        kill()
    elif mode == "plain":
        plain()
    elif mode == "nolib":
        nolib()
    elif mode == "paths":
        paths()
    else:
        sys.exit(2)
