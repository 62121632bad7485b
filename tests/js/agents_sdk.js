// SPDX-License-Identifier: MIT
/*
 * An agent run with the real @openai/agents, a fake model (no network) and
 * a tool that spawns a child process, traced twice: by the SDK's own
 * BatchTraceProcessor + OpenAITracingExporter (to the URL given) and by
 * spanring's SpanringTracingProcessor. Run by tests/unit/test_sdk.c under
 * the shim:
 *   node agents_sdk.js URL [concurrent]
 * "concurrent": two runs at once, each with its own tool call, so their
 * function spans interleave on the event loop.
 * Prints the trace ids as JSON on its last line.
 */
'use strict';

const path = require('path');
const { execFile } = require('child_process');
const {
  Agent, Runner, tool, setTraceProcessors, BatchTraceProcessor, OpenAITracingExporter,
  getGlobalTraceProvider, Usage, withTrace,
} = require('@openai/agents');
const { SpanringTracingProcessor } = require(path.join(__dirname, '..', '..', 'tools', 'js'));

/* A model that asks for the tool once, then answers. */
class FakeModel {
  constructor(tag) {
    this.tag = tag;
    this.calls = 0;
  }

  async getResponse() {
    const usage = new Usage({ requests: 1, inputTokens: 3, outputTokens: 4, totalTokens: 7 });
    if (this.calls++ === 0)
      return {
        usage,
        output: [{ type: 'function_call', callId: 'call_' + this.tag, name: 'run_cmd',
          arguments: JSON.stringify({ tag: this.tag }), status: 'completed' }],
      };
    return {
      usage,
      output: [{ type: 'message', role: 'assistant', status: 'completed', id: 'msg_' + this.tag,
        content: [{ type: 'output_text', text: 'done ' + this.tag, annotations: [] }] }],
    };
  }

  async *getStreamedResponse() {
    throw new Error('not streamed');
  }
}

const runCmd = tool({
  name: 'run_cmd',
  description: 'runs a command',
  parameters: { type: 'object', properties: { tag: { type: 'string' } }, required: ['tag'],
    additionalProperties: false },
  strict: true,
  execute: async ({ tag }) => new Promise((resolve, reject) => {
    execFile('/bin/true', ['js-tool-' + tag], (err) => (err ? reject(err) : resolve('ran ' + tag)));
  }),
});

async function one(tag) {
  const agent = new Agent({ name: 'Agent ' + tag, instructions: 'use the tool', tools: [runCmd] });
  const model = new FakeModel(tag);
  const runner = new Runner({ modelProvider: { getModel: async () => model } });
  let id;
  await withTrace('js ' + tag, async (t) => {
    id = t.traceId;
    await runner.run(agent, 'go ' + tag);
  });
  return id;
}

async function main() {
  const url = process.argv[2];
  setTraceProcessors([
    new BatchTraceProcessor(new OpenAITracingExporter({ apiKey: 'sk-test', endpoint: url }),
      { scheduleDelay: 100 }),
    new SpanringTracingProcessor(),
  ]);
  const ids = process.argv[3] === 'concurrent' ? await Promise.all([one('a'), one('b')])
    : [await one('a')];
  await getGlobalTraceProvider().forceFlush();
  await getGlobalTraceProvider().shutdown();
  console.log(JSON.stringify(ids));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
