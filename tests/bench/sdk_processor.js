// SPDX-License-Identifier: MIT
/*
 * B9 for JavaScript: the cost per span of spanring's processor for
 * @openai/agents beside the SDK's own BatchTraceProcessor +
 * OpenAITracingExporter (exporting to a local spanring-recv), in the same
 * process and run; the SDK with no processor subtracted. Prints rows as
 * tests/bench/bench.c does.
 *   node sdk_processor.js RECV_BINARY RUNS SPANS
 * Node runs the agent, the processors and the exporter on one thread: the
 * rows are the CPU of the process (process.cpuUsage) while the spans are
 * made (their promises settled), and until the processor has shut down
 * (the SDK's exports what it holds then). With node --expose-gc, each run
 * starts from a collected heap.
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

function row(name, vals, baseName, baseVals, note) {
  const m = median(vals), b = median(baseVals);
  console.log(JSON.stringify({
    id: 'B9', row: name, unit: 'us', median: r2(m), min: r2(Math.min(...vals)),
    max: r2(Math.max(...vals)), runs: vals.length, baseline: baseName,
    baseline_median: r2(b), ratio: Math.round((m / b) * 1000) / 1000,
    target: 'small fraction', note,
  }));
}

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
    spanring: () => [new SpanringTracingProcessor({ childProcess: false, net: false })],
    batch: () => [new BatchTraceProcessor(new OpenAITracingExporter({ apiKey: 'sk-bench', endpoint: url }),
      { scheduleDelay: 200 })],
  };
  const order = Object.keys(makers);
  const res = { none: [], spanring: [], batch: [] };
  try {
    for (let w = 0; w < 3; w++) // warm-up: the JIT, koffi's first calls
      for (const k of order) await measure(makers[k], 1000);
    for (let r = 0; r < runs; r++)
      for (const k of [...order.slice(r % 3), ...order.slice(0, r % 3)])
        res[k].push(await measure(makers[k], n));
  } finally {
    rv.kill();
  }
  if (process.env.SR_B9_RAW) console.error(JSON.stringify(res));
  const sub = (k, i) => res[k].map((a, j) => Math.max(a[i] - res.none[j][i], 0.01));
  row('JS SDK processor per span, during the spans', sub('spanring', 0), 'BatchTraceProcessor',
    sub('batch', 0), 'CPU of span start+end until their promises settle, beyond the SDK\'s own');
  row('JS SDK processor per span, process CPU', sub('spanring', 1), 'Batch + OpenAITracingExporter',
    sub('batch', 1), 'until shutdown, export included (spanringd\'s work is out of process)');
}

main().catch((e) => {
  console.error('sdk_processor.js: ' + (e.stack || e));
  process.exit(1);
});
