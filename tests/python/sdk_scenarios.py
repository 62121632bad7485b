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

Prints the ids it made as JSON on the last line of stdout.
"""
import asyncio
import json
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
    else:
        sys.exit(2)
