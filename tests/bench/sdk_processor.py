# SPDX-License-Identifier: MIT
"""B9: the cost per span of spanring's Agents SDK processor beside the
SDK's own BatchTraceProcessor + BackendSpanExporter (the seed's code, in the
stand-in of tests/python/standin, exporting to a local spanring-recv on
loopback), in the same process and run. Prints rows as tests/bench/bench.c
does.
  sdk_processor.py RECV_BINARY RUNS SPANS
  sdk_processor.py --one CASE RECV_BINARY SPANS   (one run of none, spanring
                                                    or batch; for
                                                    sdk_processor_ir.sh)

The host cost is the CPU of the whole process (all threads: the SDK's
exporter thread competes with the agent for the GIL and the CPU) while the
spans are made and until the processor has shut down (the SDK's exports
what it still holds then), less the same without any processor, per span
(start + end). Each run takes the three cases in another order and starts
from a collected heap; medians of the runs, with their min and max.
"""
import gc
import json
import statistics
import subprocess
import sys
import time

from agents.tracing import (BackendSpanExporter, BatchTraceProcessor, function_span,
                            set_trace_processors, trace)
from spanring.agents import SpanringTracingProcessor


def spans(n):
    with trace("bench"):
        for _ in range(n):
            with function_span("tool", input='{"q":"x"}') as f:
                f.span_data.output = "result"


def measure(make, n):
    """(caller thread µs, process CPU µs) per span, processors included."""
    procs = make()
    set_trace_processors(procs)
    gc.collect()
    c0, t0 = time.process_time(), time.thread_time()
    spans(n)
    t1 = time.thread_time()
    for p in procs:
        p.shutdown()  # the batch processor exports what it holds here
    c1 = time.process_time()
    for p in procs:
        if getattr(p, "failures", 0):  # a full ring measures nothing
            sys.exit("sdk_processor: %d records refused, lanes too small" % p.failures)
    return (t1 - t0) * 1e6 / n, (c1 - c0) * 1e6 / n


def row(id_, name, vals, base_name, base_vals, target, note=None):
    r = {"id": id_, "row": name, "unit": "us", "median": round(statistics.median(vals), 2),
         "min": round(min(vals), 2), "max": round(max(vals), 2), "runs": len(vals),
         "baseline": base_name, "baseline_median": round(statistics.median(base_vals), 2),
         "baseline_min": round(min(base_vals), 2), "baseline_max": round(max(base_vals), 2),
         "ratio": round(statistics.median(vals) / statistics.median(base_vals), 3),
         "target": target}
    if note:
        r["note"] = note
    print(json.dumps(r, separators=(",", ":")))


def makers(url):
    return {
        "none": lambda: [],
        "spanring": lambda: [SpanringTracingProcessor()],
        "batch": lambda: [BatchTraceProcessor(BackendSpanExporter(api_key="sk-bench",
                                                                  endpoint=url),
                                              schedule_delay=0.2)],
    }


def receiver(recv):
    """A spanring-recv on loopback and the SDK's endpoint URL on it."""
    rv = subprocess.Popen([recv, "--port", "0", "--output", "/dev/null"],
                          stdout=subprocess.PIPE, text=True)
    port = int(rv.stdout.readline().split(":")[-1])
    return rv, "http://127.0.0.1:%d/v1/traces/ingest" % port


def one(case, recv, n):
    """One run of a case, timed by nothing: the SDK's exports in batches of
    its max_batch_size (128) as its worker makes them when it wakes, but
    made here, after the spans (its worker never wakes: a run under
    valgrind is slow enough to wake it after every few spans)."""
    rv, url = receiver(recv)
    try:
        procs = {"none": [], "spanring": [SpanringTracingProcessor()],
                 "batch": [BatchTraceProcessor(BackendSpanExporter(api_key="sk-bench",
                                                                   endpoint=url),
                                               schedule_delay=3600)]}[case]
        set_trace_processors(procs)
        spans(n)
        for p in procs:
            if isinstance(p, BatchTraceProcessor):
                p._export_batches(force=False)
            p.shutdown()
    finally:
        rv.terminate()
        rv.wait()


def main():
    if sys.argv[1] == "--one":
        one(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    recv, runs, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rv, url = receiver(recv)
    res = {"none": [], "spanring": [], "batch": []}
    make = makers(url)
    order = list(make)
    try:
        for r in range(runs):
            # each run in another order: none always follows the same one
            for k in order[r % 3:] + order[:r % 3]:
                res[k].append(measure(make[k], n))
    finally:
        rv.terminate()
        rv.wait()
    sub = lambda k, i: [max(a[i] - b[i], 0.01) for a, b in zip(res[k], res["none"])]
    row("B9", "Python SDK processor per span, process CPU", sub("spanring", 1),
        "BatchTraceProcessor + BackendSpanExporter", sub("batch", 1), "<= 0.1x",
        "host cost: all threads of the process, the SDK's export to a local receiver "
        "included (spanringd's work is out of process)")
    row("B9", "Python SDK processor per span, caller thread", sub("spanring", 0),
        "BatchTraceProcessor", sub("batch", 0), "information",
        "CPU of span start+end on the thread that runs the agent, beyond the SDK's own")


if __name__ == "__main__":
    main()
