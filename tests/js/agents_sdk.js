// SPDX-License-Identifier: MIT
/*
 * An agent run with the real @openai/agents, a fake model (no network) and
 * a tool that spawns a child process, connects to a local TCP server and
 * makes a request to a local HTTP server (both on 127.0.0.1, one pair per
 * run), and in run "a" looks up "localhost", traced twice: by the SDK's own BatchTraceProcessor +
 * OpenAITracingExporter (to the URL given) and by spanring's
 * SpanringTracingProcessor. Run by tests/unit/test_sdk.c under the shim:
 *   node agents_sdk.js URL [concurrent]
 * "concurrent": two runs at once, each with its own tool call, so their
 * function spans interleave on the event loop.
 * Prints {"ports":{TAG:[TCP port, HTTP port]}} on one line, then the trace
 * ids as JSON on its last line.
 */
'use strict';

const path = require('path');
const dns = require('dns');
const http = require('http');
const net = require('net');
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
  execute: async ({ tag }) => {
    await new Promise((resolve, reject) => {
      execFile('/bin/true', ['js-tool-' + tag], (err) => (err ? reject(err) : resolve()));
    });
    const [tcpPort, httpPort] = ports[tag];
    await new Promise((resolve, reject) => {
      const c = net.connect(tcpPort, '127.0.0.1', () => c.end());
      c.on('error', reject).on('close', resolve).resume();
    });
    await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: httpPort, path: '/' + tag, agent: false }, (res) => {
        res.resume().on('end', resolve);
      }).on('error', reject);
    });
    // one run looks a name up (in /etc/hosts): one look-up of it in the
    // process, whichever run the event loop lets through first
    if (tag === 'a') await dns.promises.lookup('localhost', { family: 4 });
    return 'ran ' + tag;
  },
});

const ports = {}; // tag -> [TCP port, HTTP port] of its servers
const servers = [];

function listen(server) {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

async function one(tag) {
  ports[tag] = [await listen(net.createServer((c) => c.end())),
    await listen(http.createServer((q, r) => r.end('ok ' + tag)))];
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
  for (const s of servers) s.close();
  console.log(JSON.stringify({ ports }));
  console.log(JSON.stringify(ids));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
