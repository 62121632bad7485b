// SPDX-License-Identifier: MIT
// The official OpenTelemetry JavaScript SDK's OTLP/HTTP JSON exporter,
// exporting the equivalent of what test_otlp compares it with: a root span
// with string, int, double, bool and array attributes, and a client child
// span ending with an error. Prints the request body it sent as one line.
// Run with NODE_PATH naming the node_modules that test_otlp installed.
const http = require('http');
const api = require('@opentelemetry/api');
const { BasicTracerProvider, SimpleSpanProcessor } =
	require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const bodies = [];
const srv = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		bodies.push(Buffer.concat(chunks).toString());
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end('{}');
	});
});

srv.listen(0, '127.0.0.1', async () => {
	const url = `http://127.0.0.1:${srv.address().port}/v1/traces`;
	const provider = new BasicTracerProvider({
		resource: resourceFromAttributes({ 'service.name': 'emit', 'host.name': 'h' }),
		spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url }))],
	});
	const tracer = provider.getTracer('spanring', '0.1.0');
	const root = tracer.startSpan('process', {
		attributes: { s: 'x', i: 42, d: 0.5, b: true, a: ['p', 'q'] },
	});
	const ctx = api.trace.setSpan(api.context.active(), root);
	const child = tracer.startSpan('connect', {
		kind: api.SpanKind.CLIENT, attributes: { 'server.port': 80 },
	}, ctx);
	child.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom' });
	child.end();
	root.end();
	await provider.forceFlush();
	await provider.shutdown();
	srv.close();
	// one request per span (SimpleSpanProcessor): merge them into one
	const merged = JSON.parse(bodies[0]);
	for (const b of bodies.slice(1))
		merged.resourceSpans[0].scopeSpans[0].spans.push(
			...JSON.parse(b).resourceSpans[0].scopeSpans[0].spans);
	process.stdout.write(JSON.stringify(merged) + '\n');
});
