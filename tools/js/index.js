// SPDX-License-Identifier: MIT
/*
 * spanring for Node.js: SpanringTracingProcessor, a tracing processor of
 * @openai/agents that records the SDK's traces and spans into the
 * process's spanring ring (libspanring.so, through koffi), for spanringd to
 * export.
 *
 *   const { setTraceProcessors } = require('@openai/agents');
 *   const { SpanringTracingProcessor } = require('spanring');
 *   setTraceProcessors([new SpanringTracingProcessor()]);
 *
 * Child processes started while an SDK span is current (child_process
 * spawn, exec, execFile, fork and their Sync forms) are recorded under
 * that span: the processor wraps ChildProcess.prototype.spawn and the
 * exported Sync functions, reads the SDK's current span from its
 * AsyncLocalStorage (the async context of the calling code) and sets it as
 * the thread's spanring context for the duration of the call. So are
 * connections (net.connect, http.request, fetch through net: the connect()
 * of the TCP and pipe handles, on the main thread, in the async context
 * of the code that asked for the connection). So are DNS look-ups
 * (dns.lookup, which runs getaddrinfo on a thread of libuv's pool): the
 * look-up of the name is armed with the current span just before
 * (spanring_context_lookup), and the shim's hook on the pool thread takes
 * it.
 */
'use strict';

const path = require('path');

const ALS = Symbol.for('openai.agents.core.asyncLocalStorage');
const NAME = 'libspanring.so';
let loaded; // a library, or null once none could be loaded

function candidates() {
  if (process.env.SPANRING_LIBRARY) return [[process.env.SPANRING_LIBRARY, false]];
  const out = [];
  for (const e of (process.env.LD_PRELOAD || '').split(/[:\s]+/)) {
    if (path.basename(e).startsWith('libspanring')) out.push([e, true]);
  }
  out.push([path.resolve(__dirname, '..', '..', 'build', NAME), false]);
  out.push([NAME, false], ['/usr/local/lib/' + NAME, false]);
  return out;
}

function opt(make) {
  try {
    return make();
  } catch {
    return null;
  }
}

function bind(koffi, lib, file, preloaded) {
  const f = (proto) => lib.func(proto);
  return {
    path: file,
    preloaded,
    enabled_: f('int spanring_enabled(void)'),
    traceRecord: f('int spanring_trace_record(const char *, const char *, const char *, const char *)'),
    spanStart: f('int spanring_span_start(const char *, const char *, const char *, int64_t, const char *)'),
    spanFinish: f('int spanring_span_finish(const char *, const char *, const char *, int64_t, int64_t, const char *, const char *, const char *)'),
    spanRecord: f('int spanring_span_record(const char *, const char *, const char *, int64_t, int64_t, const char *, const char *, const char *)'),
    contextSet: f('int spanring_context_set(const char *, const char *)'),
    // ids and ISO times in one text (spanring.h): null when the library is
    // older than these calls
    spanStartText: opt(() => f('int spanring_span_start_text(const char *, const char *)')),
    spanFinishText: opt(() => f('int spanring_span_finish_text(const char *, const char *, const char *, const char *)')),
    contextLookup: opt(() => f('int spanring_context_lookup(const char *, const char *, const char *)')),
    enabled() {
      return this.enabled_() === 1;
    },
  };
}

/* The process's library, loaded once (the preloaded copy when there is
 * one: dlopen of its path gives the same handle); null, said once on
 * stderr, when none can be loaded. */
function load() {
  if (loaded !== undefined) return loaded;
  const tried = [];
  let koffi;
  try {
    koffi = require('koffi');
  } catch (e) {
    tried.push('koffi (' + e.message + ')');
  }
  for (const [file, pre] of koffi ? candidates() : []) {
    try {
      loaded = bind(koffi, koffi.load(file), file, pre);
      return loaded;
    } catch (e) {
      tried.push(file + ' (' + e.message + ')');
    }
  }
  process.stderr.write('spanring: no libspanring.so could be loaded, spans are not recorded; tried: ' +
    tried.join('; ') + '\n');
  loaded = null;
  return loaded;
}

/* Nanoseconds since the epoch of an SDK timestamp, as a BigInt (0n: now).
 * Date.parse keeps milliseconds, all the JS SDK writes; digits beyond are
 * kept to the microsecond. */
function nsIso(iso) {
  if (!iso) return 0n;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return 0n;
  const m = /\.(\d{4,9})/.exec(iso);
  let sub = 0n;
  if (m) sub = BigInt((m[1] + '000000000').slice(3, 9)); // beyond the ms
  return BigInt(ms) * 1000000n + sub;
}

/* The same, quickly for what the SDK writes (new Date().toISOString():
 * "YYYY-MM-DDTHH:MM:SS.mmmZ", milliseconds only). */
function ns(iso) {
  if (typeof iso === 'string' && iso.length === 24 && iso.charCodeAt(23) === 90 /* Z */ &&
      iso.charCodeAt(19) === 46 /* . */) {
    const ms = Date.parse(iso);
    if (ms === ms) return BigInt(ms) * 1000000n;
  }
  return nsIso(iso);
}

function json(v) {
  // JSON.stringify writes NaN and Infinity as null, as the SDK's exporter
  return JSON.stringify(v === undefined ? null : v);
}

const validTrace = (t) => typeof t === 'string' && t.startsWith('trace_');
const validSpan = (s) => typeof s === 'string' && s.startsWith('span_');

/* The SDK's current span (or trace) in the calling async context. */
function sdkCurrent() {
  const store = globalThis[ALS]?.getStore?.();
  if (!store || store.active !== true) return null;
  if (store.span && validTrace(store.span.traceId) && validSpan(store.span.spanId))
    return { traceId: store.span.traceId, spanId: store.span.spanId };
  if (store.trace && validTrace(store.trace.traceId)) return { traceId: store.trace.traceId };
  return null;
}

const active = []; // processors recording, the first gives the context
let patched = false;

function withContext(fn, self, args) {
  const p = active[0];
  const cur = p ? p._getCurrent() : null;
  if (!cur) return fn.apply(self, args);
  p._lib.contextSet(cur.traceId, cur.spanId || null);
  try {
    return fn.apply(self, args);
  } finally {
    p._lib.contextSet(null, null);
  }
}

function patchChildProcess() {
  if (patched) return;
  patched = true;
  const cp = require('child_process');
  const spawn = cp.ChildProcess.prototype.spawn;
  cp.ChildProcess.prototype.spawn = function spanringSpawn(...args) {
    return withContext(spawn, this, args);
  };
  for (const name of ['spawnSync', 'execSync', 'execFileSync']) {
    const orig = cp[name];
    cp[name] = function (...args) {
      return withContext(orig, this, args);
    };
  }
  require('module').syncBuiltinESMExports();
}

/* The connect() of Node's TCP and pipe handles (net.Socket and everything
 * over it: http, https, undici's fetch, net.connect): the system call is
 * made synchronously inside, on the main thread, in the async context of
 * the code that asked for the connection (after its look-up), so the
 * shim's connect span takes the SDK's current span there as parent.
 * process.binding() of these two is what net itself holds; when a Node
 * lacks it, connections stay under the process span. */
let netPatched = false;

function patchNet() {
  if (netPatched) return;
  netPatched = true;
  const wrap = (proto, name) => {
    const orig = proto && proto[name];
    if (typeof orig !== 'function') return;
    proto[name] = function spanringConnect(...args) {
      return withContext(orig, this, args);
    };
  };
  // Under --pending-deprecation, process.binding() prints a warning the
  // program would not print untraced: then connections stay under the
  // process span.
  const pending =
    process.execArgv.includes('--pending-deprecation') ||
    /(^|\s)--pending-deprecation(\s|$)/.test(process.env.NODE_OPTIONS || '') ||
    process.env.NODE_PENDING_DEPRECATION === '1';
  if (!pending) {
    try {
      const { TCP } = process.binding('tcp_wrap');
      const { Pipe } = process.binding('pipe_wrap');
      wrap(TCP.prototype, 'connect');
      wrap(TCP.prototype, 'connect6');
      wrap(Pipe.prototype, 'connect');
    } catch {
      // no such bindings in this Node: nothing wrapped
    }
  }
  patchLookup();
}

/* dns.lookup (and so every look-up before a connection: net reads
 * dns.lookup at each connect) and dns.promises.lookup: Node runs their
 * getaddrinfo on a thread of libuv's pool, where no context of the caller
 * is; the look-up of that name is armed with the SDK's current span
 * (spanring_context_lookup) just before, and the shim's getaddrinfo hook on
 * the pool thread takes it. Only under the preloaded library (no hook
 * runs otherwise), for names (an IP address is not looked up). */
function patchLookup() {
  const dns = require('dns');
  const { isIP } = require('net');
  const arm = (hostname) => {
    const p = active[0];
    if (!p || !p._lib.preloaded || !p._lib.contextLookup || typeof hostname !== 'string' ||
        !hostname || isIP(hostname) !== 0)
      return;
    const cur = p._getCurrent();
    if (cur) p._lib.contextLookup(hostname, cur.traceId, cur.spanId || null);
  };
  const lookup = dns.lookup;
  dns.lookup = function spanringLookup(hostname, ...args) {
    arm(hostname);
    return lookup.call(this, hostname, ...args);
  };
  const plookup = dns.promises.lookup;
  dns.promises.lookup = function spanringLookup(hostname, ...args) {
    arm(hostname);
    return plookup.call(this, hostname, ...args);
  };
  require('module').syncBuiltinESMExports();
}

/* span_data types of the traces backend (WIRE.md): a span of one of them
 * starts with {"type","name"} read from the SDK's object; others (the SDK
 * maps "task" and "turn" to custom spans in toJSON) from its toJSON(). */
const WIRE_TYPES = new Set(['agent', 'function', 'generation', 'response', 'handoff', 'custom',
  'guardrail', 'mcp_tools', 'transcription', 'speech', 'speech_group']);
const HEADS_MAX = 1024; // distinct (type, name) start texts kept
const OPEN_MAX = 4096; // spans started and not ended kept for their end's use
const DONE = Promise.resolve();
const EINVAL = -22;

/* The JSON of span_data sd as the SDK's toJSON() gives it for the types of
 * WIRE_TYPES (the object without its "_" keys). */
function ownJson(sd) {
  for (const k of Object.keys(sd)) {
    if (k.charCodeAt(0) === 95 /* _ */)
      return JSON.stringify(Object.fromEntries(Object.entries(sd).filter(([x]) => !x.startsWith('_'))));
  }
  return JSON.stringify(sd);
}

/* The start record's span_data: {"type","name"} of a span_data object
 * ("name" when it is a string), what names a span in a crash report; the
 * finish record carries the whole span_data and replaces it. */
function headOf(sd) {
  return JSON.stringify(typeof sd.name === 'string' ? { type: sd.type, name: sd.name }
    : { type: sd.type });
}

class SpanringTracingProcessor {
  constructor(options = {}) {
    this._lib = options.library !== undefined ? options.library : load();
    this._on = !!this._lib && this._lib.enabled();
    this._getCurrent = options.getCurrent || sdkCurrent;
    this._heads = new Map(); // type + '\0' + name (or type) -> start span_data text
    // span id -> "<trace> <span> <parent or -> <started>" as given to the
    // start (the long way: started ns, a BigInt)
    this._open = new Map();
    this._startText = this._lib && this._lib.spanStartText ? this._lib.spanStartText : null;
    this._finishText = this._lib && this._lib.spanFinishText ? this._lib.spanFinishText : null;
    this.failures = 0; // calls the library refused (full ring, bad value)
    if (this._on && (options.childProcess !== false || options.net !== false)) {
      active.push(this);
      if (options.childProcess !== false) patchChildProcess();
      if (options.net !== false) patchNet();
    }
  }

  _rc(rc) {
    if (rc) this.failures++;
  }

  start() {}

  async onTraceStart(trace) {
    if (!this._on) return;
    const d = trace.toJSON();
    if (!d) return;
    this._rc(this._lib.traceRecord(d.id, d.workflow_name, d.group_id ?? null,
      d.metadata == null ? null : json(d.metadata)));
  }

  async onTraceEnd() {}

  /* onSpanStart and onSpanEnd are the hot path (every span, inside the
   * SDK's span.start() / span.end()): plain functions returning a settled
   * promise (an error as a rejected one, as an async function would), the
   * SDK's getters read directly, the ids and ISO times passed as the SDK
   * holds them in one text (spanring_span_start_text / _finish_text parse
   * them: two koffi arguments instead of five, no BigInt), span_data of the
   * WIRE_TYPES serialized as toJSON() would (other types through
   * toJSON()), the start text kept for the end. What the C calls refuse as
   * malformed (-EINVAL) takes the long way: separate ids, nanoseconds. */
  onSpanStart(span) {
    if (!this._on) return DONE;
    try {
      return this._start(span);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  _head(span) {
    const sd = span.spanData;
    const type = sd && sd.type;
    if (WIRE_TYPES.has(type)) {
      const key = typeof sd.name === 'string' ? type + '\0' + sd.name : type;
      let head = this._heads.get(key);
      if (head === undefined) {
        if (this._heads.size >= HEADS_MAX) this._heads.clear();
        head = headOf(sd);
        this._heads.set(key, head);
      }
      return head;
    }
    const d = span.toJSON();
    if (!d) return undefined;
    return d.span_data && typeof d.span_data.type === 'string' ? headOf(d.span_data)
      : json(d.span_data);
  }

  _start(span) {
    const head = this._head(span);
    if (head === undefined) return DONE;
    const sid = span.spanId;
    let rc = EINVAL, open;
    if (this._startText !== null) {
      open = span.traceId + ' ' + sid + ' ' + (span.parentId || '-') + ' ' + span.startedAt;
      rc = this._startText(open, head);
    }
    if (rc === EINVAL) {
      open = ns(span.startedAt);
      rc = this._lib.spanStart(span.traceId, sid, span.parentId ?? null, open, head);
    }
    this._rc(rc);
    if (this._open.size >= OPEN_MAX) this._open.clear(); // never ended: the long way
    this._open.set(sid, open);
    return DONE;
  }

  onSpanEnd(span) {
    if (!this._on) return DONE;
    try {
      const sd = span.spanData;
      let data;
      if (sd && WIRE_TYPES.has(sd.type)) {
        data = ownJson(sd);
      } else {
        const d = span.toJSON();
        if (!d) return DONE;
        data = json(d.span_data);
      }
      const sid = span.spanId;
      let open = this._open.get(sid);
      if (open !== undefined) this._open.delete(sid);
      const e = span.error;
      const msg = e ? String(e.message ?? '') : null;
      const edata = e && e.data != null ? json(e.data) : null;
      let rc = EINVAL;
      if (this._finishText !== null && typeof open !== 'bigint') {
        if (open === undefined)
          open = span.traceId + ' ' + sid + ' ' + (span.parentId || '-') + ' ' + span.startedAt;
        rc = this._finishText(open + ' ' + span.endedAt, data, msg, edata);
      }
      if (rc === EINVAL) {
        rc = this._lib.spanFinish(span.traceId, sid, span.parentId ?? null,
          typeof open === 'bigint' ? open : ns(span.startedAt), ns(span.endedAt), data, msg, edata);
      }
      this._rc(rc);
      return DONE;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async shutdown() {
    this._on = false;
    this._open.clear();
    const i = active.indexOf(this);
    if (i >= 0) active.splice(i, 1);
  }

  async forceFlush() {}
}

module.exports = { SpanringTracingProcessor, load };
