// Captures the exact requests the official OpenTelemetry JS exporters send, as fixtures for unit tests
// and fuzz seeds: starts a local HTTP/1.1 receiver and an HTTP/2 cleartext (h2c) gRPC receiver (node
// built-ins only), runs send.mjs against them in every transport with a fixed run id and clock, and
// writes into tests/fixtures/otlp/ (or --out DIR):
//   {traces,logs,metrics}.captured.json  http/json      metrics-2.*: the second metric collection
//                                   ({traces,logs,metrics}.json are older hand-written fixtures, kept)
//   {traces,logs,metrics}.json.gz   http/json, gzip     (as sent: still compressed)
//   {traces,logs,metrics}.pb        http/protobuf
//   {traces,logs,metrics}.pb.gz     http/protobuf, gzip (as sent)
//   grpc-{traces,logs,metrics}.pb   gRPC, gzip: the message payload, unframed and decompressed
//   README.md                       what was sent and the request headers of each transport
// Every request is answered with an empty success: 0 bytes of application/x-protobuf, `{}` for JSON,
// an empty gRPC message with grpc-status 0. Usage: node capture.mjs [--out DIR]
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({ options: { out: { type: 'string' } } });
const OUT = args.out ?? join(HERE, '..', 'fixtures', 'otlp');
const RUN_ID = 'fixture';
const BASE_TIME_MS = 1767225600000; // 2026-01-01T00:00:00Z
const KEY = 'fixture-key';
const HEADERS_KEPT = [
  'content-type', 'content-encoding', 'accept-encoding', 'grpc-encoding', 'grpc-accept-encoding', 'te',
  'user-agent', 'x-api-key', 'authorization', 'grpc-timeout',
];

const requests = []; // {transport, signal, headers, body (as received), payload (decoded protobuf or JSON)}

function signalOf(path) {
  // /v1/traces or /opentelemetry.proto.collector.trace.v1.TraceService/Export (and logs, metrics)
  for (const [word, signal] of [['trace', 'traces'], ['logs', 'logs'], ['metrics', 'metrics']])
    if (path.toLowerCase().includes(word)) return signal;
  return 'unknown';
}

function keptHeaders(h) {
  const out = {};
  for (const k of HEADERS_KEPT) if (h[k] !== undefined) out[k] = h[k];
  return out;
}

function startHttp() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const signal = signalOf(req.url);
      const json = (req.headers['content-type'] ?? '').startsWith('application/json');
      const gz = req.headers['content-encoding'] === 'gzip';
      requests.push({
        transport: json ? 'http/json' : 'http/protobuf',
        signal,
        path: req.url,
        headers: keptHeaders(req.headers),
        body,
        payload: gz ? zlib.gunzipSync(body) : body,
        gzip: gz,
      });
      if (json) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
        res.end('{}');
      } else {
        res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
        res.end();
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/* gRPC over h2c: each request is one length-prefixed message (flag byte, 4-byte big-endian length). */
function startGrpc() {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      const compressed = body[0] === 1;
      const len = body.readUInt32BE(1);
      const msg = body.subarray(5, 5 + len);
      requests.push({
        transport: 'grpc',
        signal: signalOf(headers[':path']),
        path: headers[':path'],
        headers: keptHeaders(headers),
        body,
        payload: compressed ? zlib.gunzipSync(msg) : msg,
        gzip: compressed,
      });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
      stream.end(Buffer.alloc(5)); // uncompressed, length 0: an empty Export*ServiceResponse
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function send(transport, endpoint, gzip) {
  const argv = [join(HERE, 'send.mjs'), '--transport', transport, '--endpoint', endpoint, '--key', KEY,
    '--run-id', RUN_ID, '--base-time-ms', String(BASE_TIME_MS)];
  if (gzip) argv.push('--gzip');
  const env = { ...process.env };
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  // Asynchronously: the receivers answer from this process's event loop.
  const { stdout } = await promisify(execFile)(process.execPath, argv, { env, encoding: 'utf8' });
  return JSON.parse(stdout);
}

function fixtureName(r, nth) {
  const base = nth > 1 ? `${r.signal}-${nth}` : r.signal;
  if (r.transport === 'grpc') return `grpc-${base}.pb`;
  // traces.json, logs.json, metrics.json are older hand-written fixtures (tests/unit/test_ingest_parse.c
  // and tests/integration/test_ingest.c check their content): the captured JSON is *.captured.json.
  if (r.transport === 'http/json') return r.gzip ? `${base}.json.gz` : `${base}.captured.json`;
  return `${base}.pb${r.gzip ? '.gz' : ''}`;
}

async function main() {
  const h1 = await startHttp();
  const h2 = await startGrpc();
  const httpBase = `http://127.0.0.1:${h1.address().port}`;
  const grpcBase = `http://127.0.0.1:${h2.address().port}`;
  let sent;
  const runs = [['http', false], ['http', true], ['proto', false], ['proto', true], ['grpc', true], ['grpc', false]];
  for (const [transport, gzip] of runs) sent = await send(transport, transport === 'grpc' ? grpcBase : httpBase, gzip);
  h1.close();
  h2.close();

  mkdirSync(OUT, { recursive: true });
  const seen = new Map();
  const files = [];
  for (const r of requests) {
    const k = `${r.transport}|${r.gzip}|${r.signal}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
    const name = fixtureName(r, seen.get(k));
    // gRPC without compression only for its headers: its payloads must be those of the gzip run.
    if (r.transport === 'grpc' && !r.gzip) {
      const twin = files.find((f) => f.name === name && f.r.gzip);
      if (!twin || !twin.r.payload.equals(r.payload))
        throw new Error(`gRPC payload ${name} differs with and without gzip`);
      files.push({ name: null, r });
      continue;
    }
    // HTTP fixtures keep the body as sent (gzip included); gRPC ones the decompressed message.
    writeFileSync(join(OUT, name), r.transport === 'grpc' ? r.payload : r.body);
    files.push({ name, r });
  }
  writeFileSync(join(OUT, 'README.md'), readme(files, sent));
  process.stdout.write(`${files.map((f) => f.name).join(' ')}\n`);
}

function readme(files, sent) {
  const pkg = JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("./package-lock.json").packages)'],
    { cwd: HERE, encoding: 'utf8' }));
  const ver = (n) => pkg[`node_modules/${n}`]?.version ?? '?';
  const lines = [];
  lines.push('# OTLP requests from the official OpenTelemetry JS exporters');
  lines.push('');
  lines.push('Captured by `tests/otel/capture.mjs` (rerun: `cd tests/otel && npm ci && node capture.mjs`): the exact');
  lines.push('request bodies that `tests/otel/send.mjs` makes the real exporters send, answered by a local');
  lines.push('receiver with empty successes. Exporters ' +
    `\`@opentelemetry/exporter-*-otlp-{http,proto,grpc}@${ver('@opentelemetry/exporter-trace-otlp-http')}\`, SDK ` +
    `\`@opentelemetry/sdk-trace-base@${ver('@opentelemetry/sdk-trace-base')}\`, ` +
    `\`sdk-logs@${ver('@opentelemetry/sdk-logs')}\`, \`sdk-metrics@${ver('@opentelemetry/sdk-metrics')}\`, ` +
    `\`@grpc/grpc-js@${ver('@grpc/grpc-js')}\`, Node.js ${process.versions.node}.`);
  lines.push('');
  lines.push(`Run id \`${RUN_ID}\`, clock ${new Date(BASE_TIME_MS).toISOString()} (epoch ms ${BASE_TIME_MS}), so`);
  lines.push('every rerun sends the same records; key `' + KEY + '` in `x-api-key`.');
  lines.push('');
  lines.push('## What they hold');
  lines.push('');
  lines.push(`- traces: trace \`${sent.trace_id}\`, tracestate \`${sent.trace_state}\`; 3 spans over 2 resources`);
  for (const s of sent.spans) lines.push(`  - \`${s.span_id}\` ${s.service} "${s.name}" ${s.status}`);
  lines.push('  The payment span has status ERROR, an `exception` event (type, message, a Node.js stacktrace) and a');
  lines.push('  link to the root span; every span has string, int, double, bool and array attributes.');
  lines.push('- logs: checkout INFO (root span), payment ERROR (failing span; `exception.type`, `exception.message`,');
  lines.push('  `exception.stacktrace` attributes), payment INFO whose body is a kvlist (map).');
  lines.push('- metrics: service checkout; `orders_total` (sum, cumulative, monotonic), `inflight_requests` (sum,');
  lines.push('  cumulative, not monotonic), `queue_depth` (gauge), `request_duration_ms` (histogram, explicit bounds');
  lines.push('  5,10,25,50,100,250). Two collections: `metrics.*` is the first, `metrics-2.*` the second:');
  for (const [i, m] of sent.metrics.entries())
    lines.push(`  - collection ${i + 1} at ${m.time_unix_nano} ns: \`${JSON.stringify(m.values)}\``);
  lines.push('');
  lines.push('## Files');
  lines.push('');
  lines.push('| file | transport | path | bytes |');
  lines.push('|---|---|---|---|');
  for (const { name, r } of files.filter((f) => f.name))
    lines.push(`| \`${name}\` | ${r.transport}${r.gzip ? ' + gzip' : ''} | \`${r.path}\` | ` +
      `${r.transport === 'grpc' ? r.payload.length : r.body.length} |`);
  lines.push('');
  lines.push('HTTP files are the body as sent (the `.gz` ones still gzip-compressed); `grpc-*.pb` are the gRPC');
  lines.push('message payloads, unframed and decompressed (serialized `Export*ServiceRequest`). `X.json.gz`');
  lines.push('decompresses to exactly `X.captured.json`; `X.pb.gz` to `X.pb`; `grpc-X.pb` equals `X.pb`.');
  lines.push('`traces.json`, `logs.json`, `metrics.json` are not captured: they are older hand-written OTLP/JSON');
  lines.push('fixtures (Java stack trace, base64 ids) that the parser unit test checks field by field.');
  lines.push('');
  lines.push('## Request headers');
  lines.push('');
  const shown = new Set();
  for (const { r } of files) {
    const k = `${r.transport}|${r.gzip}`;
    if (shown.has(k)) continue;
    shown.add(k);
    lines.push(`### ${r.transport}${r.gzip ? ' with gzip' : ''} (\`${r.path}\` …)`);
    lines.push('');
    for (const [h, v] of Object.entries(r.headers))
      lines.push(h === 'grpc-timeout' ? '- `grpc-timeout: <n>m` (what is left of the 10 s export timeout, e.g. 9950m)' : `- \`${h}: ${v}\``);
    lines.push('');
  }
  return lines.join('\n');
}

main().catch((e) => {
  process.stderr.write(`capture.mjs: ${e.stack}\n`);
  process.exit(1);
});
