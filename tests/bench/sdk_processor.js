// SPDX-License-Identifier: MIT
/*
 * B9 for JavaScript: the cost per span of spanring's processor for
 * @openai/agents beside the SDK's own BatchTraceProcessor +
 * OpenAITracingExporter (exporting to a local spanring-recv), in the same
 * process and run; the SDK with no processor subtracted. Prints rows as
 * tests/bench/bench.c does.
 *   node sdk_processor.js RECV_BINARY RUNS SPANS
 * Node runs the agent, the processors and the exporter on one thread (its
 * collector and compiler on others): the rows are the CPU of the whole
 * process (process.cpuUsage) while the spans are made (their promises
 * settled), and until the processor has shut down (the SDK's exports what
 * it holds then). A processor that does nothing is measured too: what the
 * SDK itself spends to call any processor (its promises and awaits). With
 * node --expose-gc, each run starts from a collected heap; each run takes
 * the cases in another order.
 */
'use strict';

const path = require('path');
const { spawn } = require('child_process');
const {
  BatchTraceProcessor, OpenAITracingExporter, createFunctionSpan, setTraceProcessors,
  withTrace,
} = require('@openai/agents');
const { SpanringTracingProcessor } = require(path.join(__dirname, '..', '..', 'tools', 'js'));

const cpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system; // µs
};

async function spans(n) {
  await withTrace('bench', async () => {
    for (let i = 0; i < n; i++) {
      const f = createFunctionSpan({ data: { name: 'tool', input: '{"q":"x"}' } });
      f.start();
      f.spanData.output = 'result';
      f.end();
    }
  });
  await new Promise(setImmediate); // the processors' promises settle
}

async function measure(make, n) {
  const procs = make();
  setTraceProcessors(procs);
  if (global.gc) global.gc(); // each run from a collected heap: less noise
  const c0 = cpu();
  await spans(n);
  const c1 = cpu();
  for (const p of procs) await p.shutdown();
  const c2 = cpu();
  for (const p of procs)
    if (p.failures) throw new Error(p.failures + ' records refused, lanes too small');
  return [(c1 - c0) / n, (c2 - c0) / n];
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r2 = (x) => Math.round(x * 100) / 100;

function row(name, vals, baseName, baseVals, target, note) {
  const m = median(vals), b = median(baseVals);
  console.log(JSON.stringify({
    id: 'B9', row: name, unit: 'us', median: r2(m), min: r2(Math.min(...vals)),
    max: r2(Math.max(...vals)), runs: vals.length, baseline: baseName,
    baseline_median: r2(b), baseline_min: r2(Math.min(...baseVals)),
    baseline_max: r2(Math.max(...baseVals)), ratio: Math.round((m / b) * 1000) / 1000,
    target, note,
  }));
}

/* A processor that does nothing, as cheaply as one can. */
const noop = () => ({
  start() {}, onTraceStart: () => DONE, onTraceEnd: () => DONE, onSpanStart: () => DONE,
  onSpanEnd: () => DONE, shutdown: async () => {}, forceFlush: async () => {},
});
const DONE = Promise.resolve();

async function main() {
  const [recv, runs, n] = [process.argv[2], +process.argv[3], +process.argv[4]];
  const rv = spawn(recv, ['--port', '0', '--output', '/dev/null'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => {
    let buf = '';
    rv.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(+buf.split('\n')[0].split(':').pop());
    });
  });
  const url = `http://127.0.0.1:${port}/v1/traces/ingest`;
  const makers = {
    none: () => [],
    noop: () => [noop()],
    spanring: () => [new SpanringTracingProcessor({ childProcess: false, net: false })],
    batch: () => [new BatchTraceProcessor(new OpenAITracingExporter({ apiKey: 'sk-bench', endpoint: url }),
      { scheduleDelay: 200 })],
  };
  const order = Object.keys(makers);
  const res = Object.fromEntries(order.map((k) => [k, []]));
  try {
    for (let w = 0; w < 3; w++) // warm-up: the JIT, koffi's first calls
      for (const k of order) await measure(makers[k], 1000);
    for (let r = 0; r < runs; r++)
      for (const k of [...order.slice(r % order.length), ...order.slice(0, r % order.length)])
        res[k].push(await measure(makers[k], n));
  } finally {
    rv.kill();
  }
  if (process.env.SR_B9_RAW) console.error(JSON.stringify(res));
  const sub = (k, i) => res[k].map((a, j) => Math.max(a[i] - res.none[j][i], 0.01));
  row('JS SDK processor per span, process CPU', sub('spanring', 1),
    'BatchTraceProcessor + OpenAITracingExporter', sub('batch', 1), '<= 0.1x',
    'host cost: the whole process until shutdown, the SDK\'s export to a local receiver ' +
    'included (spanringd\'s work is out of process)');
  row('JS SDK processor per span, during the spans', sub('spanring', 0), 'BatchTraceProcessor',
    sub('batch', 0), 'information',
    'CPU of span start+end until their promises settle, beyond the SDK\'s own');
  const beyond = (k) => res[k].map((a, j) => Math.max(a[1] - res.noop[j][1], 0.01));
  row('JS SDK processor per span beyond the SDK\'s call of a processor, process CPU',
    beyond('spanring'), 'BatchTraceProcessor + OpenAITracingExporter, the same',
    beyond('batch'), 'information',
    'both less the processor that does nothing, run by run: what the processor itself adds');
  row('JS SDK calling a processor that does nothing, process CPU', sub('noop', 1),
    'BatchTraceProcessor + OpenAITracingExporter', sub('batch', 1), 'information',
    'the SDK\'s own promises and awaits for any processor: part of both figures above');
}

main().catch((e) => {
  console.error('sdk_processor.js: ' + (e.stack || e));
  process.exit(1);
});
