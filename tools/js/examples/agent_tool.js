// SPDX-License-Identifier: MIT
/*
 * An agent whose tool runs a command, traced by spanring: a fake model (no
 * network, no key), the real @openai/agents, and SpanringTracingProcessor in
 * place of the SDK's own processor.
 *
 *   (cd tools/js && npm install && npm install @openai/agents)
 *   build/spanringd --exporter console &
 *   LD_PRELOAD=$PWD/build/libspanring.so node tools/js/examples/agent_tool.js
 */
'use strict';

const { execFile } = require('child_process');
const { Agent, Runner, tool, setTraceProcessors, Usage, withTrace } = require('@openai/agents');
const { SpanringTracingProcessor } = require('..');

/* Asks for run_command once, then answers. */
class FakeModel {
  constructor() {
    this.calls = 0;
  }

  async getResponse() {
    const usage = new Usage({ requests: 1, inputTokens: 10, outputTokens: 5, totalTokens: 15 });
    if (this.calls++ === 0)
      return { usage, output: [{ type: 'function_call', callId: 'call_1', name: 'run_command',
        arguments: JSON.stringify({ command: 'uname -a; ls /' }), status: 'completed' }] };
    return { usage, output: [{ type: 'message', role: 'assistant', status: 'completed',
      id: 'msg_1', content: [{ type: 'output_text', text: 'done', annotations: [] }] }] };
  }

  async *getStreamedResponse() {
    throw new Error('not streamed');
  }
}

const runCommand = tool({
  name: 'run_command',
  description: 'Runs a shell command and returns its output.',
  parameters: { type: 'object', properties: { command: { type: 'string' } },
    required: ['command'], additionalProperties: false },
  strict: true,
  execute: ({ command }) => new Promise((resolve, reject) =>
    execFile('/bin/sh', ['-c', command], (err, out) => (err ? reject(err) : resolve(out)))),
});

async function main() {
  setTraceProcessors([new SpanringTracingProcessor()]);
  const model = new FakeModel();
  const runner = new Runner({ modelProvider: { getModel: async () => model } });
  const agent = new Agent({ name: 'Operator', instructions: 'Use run_command.',
    tools: [runCommand] });
  await withTrace('agent_tool example', async () => {
    const result = await runner.run(agent, 'What system is this?');
    console.log(result.finalOutput);
  });
}

main();
