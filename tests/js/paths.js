// SPDX-License-Identifier: MIT
/*
 * The JS processor's direct path against the real @openai/agents' own
 * toJSON(): spans of every kind (private "_" fields of response spans,
 * task and turn spans the SDK turns into custom ones, an error, odd
 * values) recorded through a library object that keeps the calls (the
 * text forms of start and finish read as spanring.h says); each
 * finish carries exactly the ids, parent, span_data and error of the
 * span's toJSON() and its times to the millisecond written; each start
 * carries {"type","name"} of that span_data. Run by tests/unit/test_sdk.c:
 *   node paths.js
 * Prints {"calls":N,"mismatches":[…]} on its last line.
 */
'use strict';

const path = require('path');
const a = require('@openai/agents');
const { SpanringTracingProcessor } = require(path.join(__dirname, '..', '..', 'tools', 'js'));

const calls = [];
let texts = 0; // calls made through the text forms
// spanring.h's ids_and_times of spanring_span_start_text / _finish_text
const ISO = '(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{1,9})?(?:Z|[+-]\\d\\d:\\d\\d))';
const IDS_TIMES = new RegExp('^(trace_[0-9a-f]{32}) (span_[0-9a-f]{24}) (-|span_[0-9a-f]{24}) ' +
  ISO + '(?: ' + ISO + ')?$');
/* The text form of a call, read as its contract says (-EINVAL for
 * anything else; the times of these tests have no digits beyond the
 * millisecond), recorded as the call with separate ids and times. */
const text = (name, ntimes) => (idsTimes, ...rest) => {
  const m = IDS_TIMES.exec(idsTimes);
  if (!m || (m[5] !== undefined) !== (ntimes === 2)) return -22;
  const times = [m[4], m[5]].slice(0, ntimes).map((t) => BigInt(Date.parse(t)) * 1000000n);
  calls.push([name, m[1], m[2], m[3] === '-' ? null : m[3], ...times, ...rest]);
  texts++;
  return 0;
};
const lib = {
  enabled: () => true,
  traceRecord: (...x) => calls.push(['trace', ...x]) && 0,
  spanStart: (...x) => calls.push(['start', ...x]) && 0,
  spanFinish: (...x) => calls.push(['finish', ...x]) && 0,
  spanStartText: text('start', 1),
  spanFinishText: text('finish', 2),
  contextSet: () => 0,
};

async function main() {
  const p = new SpanringTracingProcessor({ library: lib, childProcess: false, net: false });
  a.setTraceProcessors([p]);
  const spans = [];
  await a.withTrace('js paths', async () => {
    const make = [
      () => a.createAgentSpan({ data: { name: 'Plan"ner\n', handoffs: ['H'] } }),
      () => a.createFunctionSpan({ data: { name: 'run', input: '{"cmd":"true"}' } }),
      () => a.createResponseSpan(), // its data is set as the SDK's model sets it, below
      () => a.createGenerationSpan({ data: { model: 'm', usage: { cost: Infinity, n: NaN } } }),
      () => a.createTaskSpan({ data: { name: 'task ✓' } }),
      () => a.createTurnSpan({ data: { turn: 1, agent_name: 'A' } }),
      () => a.createHandoffSpan({ data: { from_agent: 'A', to_agent: 'B' } }),
      () => a.createCustomSpan({ data: { name: 'odd', data: { s: '\ud800x', big: 1e300 } } }),
      () => a.createGuardrailSpan({ data: { name: 'g', triggered: true } }),
      () => a.createMCPListToolsSpan({ data: { server: 's', result: ['t'] } }),
      () => a.createSpeechGroupSpan({ data: { input: 'hi' } }),
    ];
    for (const m of make) {
      const s = m();
      s.start();
      if (s.spanData.type === 'response')
        Object.assign(s.spanData, { response_id: 'resp_1', _input: 'secret', _response: { id: 1 } });
      if (s.spanData.type === 'function') {
        s.spanData.output = 'exit 0';
        s.setError({ message: 'failed', data: { code: 7 } });
      }
      s.end();
      spans.push(s);
    }
  });
  await new Promise(setImmediate);
  const bad = [];
  const nsOf = (iso) => BigInt(Date.parse(iso)) * 1000000n;
  for (const s of spans) {
    const d = s.toJSON();
    const st = calls.find((c) => c[0] === 'start' && c[2] === d.id);
    const fi = calls.find((c) => c[0] === 'finish' && c[2] === d.id);
    const want = ['finish', d.trace_id, d.id, d.parent_id ?? null, nsOf(d.started_at),
      nsOf(d.ended_at), JSON.stringify(d.span_data), d.error ? String(d.error.message) : null,
      d.error && d.error.data != null ? JSON.stringify(d.error.data) : null];
    if (!fi || fi.length !== want.length || fi.some((x, i) => x !== want[i]))
      bad.push({ id: d.id, finish: String(fi), want: String(want) });
    const head = { type: d.span_data.type };
    if (typeof d.span_data.name === 'string') head.name = d.span_data.name;
    if (!st || st[1] !== d.trace_id || st[3] !== (d.parent_id ?? null) ||
        st[4] !== nsOf(d.started_at) || st[5] !== JSON.stringify(head))
      bad.push({ id: d.id, start: String(st), want: JSON.stringify(head) });
  }
  // every start and finish of these spans goes the direct way, ids and
  // times as text
  if (texts !== 2 * spans.length) bad.push({ texts, want: 2 * spans.length });
  console.log(JSON.stringify({ calls: calls.length, mismatches: bad }));
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
