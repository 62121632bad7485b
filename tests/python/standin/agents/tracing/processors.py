# SPDX-License-Identifier: MIT
"""BackendSpanExporter and BatchTraceProcessor of the seed (the SDK's
processors.py), with urllib in place of httpx (not installable here): the
same payload {"data":[item.export(), ...]}, headers, retry loop, queue and
background thread."""
import json
import logging
import os
import queue
import random
import threading
import time
import urllib.error
import urllib.request

from .processor_interface import TracingExporter, TracingProcessor

logger = logging.getLogger("openai.agents")


class BackendSpanExporter(TracingExporter):
    def __init__(self, api_key=None, organization=None, project=None,
                 endpoint="https://api.openai.com/v1/traces/ingest", max_retries=3,
                 base_delay=1.0, max_delay=30.0):
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY")
        self.organization = organization or os.environ.get("OPENAI_ORG_ID")
        self.project = project or os.environ.get("OPENAI_PROJECT_ID")
        self.endpoint = endpoint
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay

    def export(self, items):
        if not items:
            return
        if not self.api_key:
            logger.warning("OPENAI_API_KEY is not set, skipping trace export")
            return
        data = [item.export() for item in items if item.export()]
        payload = {"data": data}
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/json",
            "OpenAI-Beta": "traces=v1",
        }
        body = json.dumps(payload).encode("utf-8")
        attempt = 0
        delay = self.base_delay
        while True:
            attempt += 1
            try:
                req = urllib.request.Request(self.endpoint, data=body, headers=headers,
                                             method="POST")
                with urllib.request.urlopen(req, timeout=60) as r:
                    if r.status < 300:
                        return
            except urllib.error.HTTPError as e:
                if 400 <= e.code < 500:
                    logger.error(f"[non-fatal] Tracing client error {e.code}")
                    return
                logger.warning(f"[non-fatal] Tracing: server error {e.code}, retrying.")
            except OSError as exc:
                logger.warning(f"[non-fatal] Tracing: request failed: {exc}")
            if attempt >= self.max_retries:
                logger.error("[non-fatal] Tracing: max retries reached, giving up on this batch.")
                return
            time.sleep(delay + random.uniform(0, 0.1 * delay))
            delay = min(delay * 2, self.max_delay)


class BatchTraceProcessor(TracingProcessor):
    def __init__(self, exporter, max_queue_size=8192, max_batch_size=128,
                 schedule_delay=5.0, export_trigger_ratio=0.7):
        self._exporter = exporter
        self._queue = queue.Queue(maxsize=max_queue_size)
        self._max_queue_size = max_queue_size
        self._max_batch_size = max_batch_size
        self._schedule_delay = schedule_delay
        self._shutdown_event = threading.Event()
        self._export_trigger_size = int(max_queue_size * export_trigger_ratio)
        self._next_export_time = time.time() + self._schedule_delay
        self._worker_thread = threading.Thread(target=self._run, daemon=True)
        self._worker_thread.start()

    def on_trace_start(self, trace):
        try:
            self._queue.put_nowait(trace)
        except queue.Full:
            logger.warning("Queue is full, dropping trace.")

    def on_trace_end(self, trace):
        pass

    def on_span_start(self, span):
        pass

    def on_span_end(self, span):
        try:
            self._queue.put_nowait(span)
        except queue.Full:
            logger.warning("Queue is full, dropping span.")

    def shutdown(self, timeout=None):
        self._shutdown_event.set()
        self._worker_thread.join(timeout=timeout)

    def force_flush(self):
        self._export_batches(force=True)

    def _run(self):
        while not self._shutdown_event.is_set():
            current_time = time.time()
            queue_size = self._queue.qsize()
            if current_time >= self._next_export_time or queue_size >= self._export_trigger_size:
                self._export_batches(force=False)
                self._next_export_time = time.time() + self._schedule_delay
            else:
                time.sleep(0.2)
        self._export_batches(force=True)

    def _export_batches(self, force=False):
        while True:
            items_to_export = []
            while not self._queue.empty() and (
                force or len(items_to_export) < self._max_batch_size
            ):
                try:
                    items_to_export.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not items_to_export:
                break
            self._exporter.export(items_to_export)
