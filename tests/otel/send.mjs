// Sends one fixed set of telemetry through the official OpenTelemetry JS exporters (OTLP http/json,
// http/protobuf or gRPC) and prints one JSON line describing what was sent, so a test can look for it
// in PostgreSQL. Exits 1 when any export fails (or the receiver answers a partial success), 2 on bad
// arguments.
//
//   node send.mjs --transport http|proto|grpc (--endpoint BASE | --traces-url U --logs-url U --metrics-url U)
//                 --key K [--auth x-api-key|bearer] [--gzip] [--run-id ID] [--base-time-ms MS]
//
// --endpoint BASE goes through OTEL_EXPORTER_OTLP_ENDPOINT, so the exporters themselves append
// /v1/traces, /v1/logs, /v1/metrics (HTTP) exactly as an application configured the default way would.
// Ids and timestamps derive from --run-id and --base-time-ms only: the same pair sends byte-identical
// records (used to check that records sent through two transports are stored once).
//
// What is sent (one export call per signal, awaited; no timers, so the run is deterministic):
//   traces : one trace, 3 spans over 2 services: checkout "POST /checkout" (server) -> checkout
//            "POST payment/charge" (client) -> payment "POST /charge" (server, status ERROR, an
//            exception event with a Node.js stack trace, a link to the root span); every span carries
//            the trace state and attributes of each AnyValue type (string, int, double, bool, array).
//   logs   : checkout INFO (root span), payment ERROR (failing span, exception.stacktrace attribute),
//            payment INFO whose body is a map (kvlist).
//   metrics: service checkout, two collections exported one after the other: counter orders_total
//            (cumulative, monotonic: 3 then 7), up-down counter inflight_requests (2 then 1), gauge
//            queue_depth (5 then 9), histogram request_duration_ms (explicit buckets).
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, createTraceState, diag, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { LoggerProvider } from '@opentelemetry/sdk-logs';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';

const USAGE =
  'usage: node send.mjs --transport http|proto|grpc (--endpoint BASE | --traces-url U --logs-url U ' +
  '--metrics-url U) --key K [--auth x-api-key|bearer] [--gzip] [--run-id ID] [--base-time-ms MS]';

function fail(code, msg) {
  process.stderr.write(`send.mjs: ${msg}\n`);
  process.exit(code);
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        transport: { type: 'string' },
        endpoint: { type: 'string' },
        'traces-url': { type: 'string' },
        'logs-url': { type: 'string' },
        'metrics-url': { type: 'string' },
        key: { type: 'string' },
        auth: { type: 'string', default: 'x-api-key' },
        gzip: { type: 'boolean', default: false },
        'run-id': { type: 'string' },
        'base-time-ms': { type: 'string' },
        'timeout-ms': { type: 'string', default: '10000' },
      },
    }));
  } catch (e) {
    fail(2, `${e.message}\n${USAGE}`);
  }
  if (!['http', 'proto', 'grpc'].includes(values.transport)) fail(2, USAGE);
  if (!values.key) fail(2, `--key is required\n${USAGE}`);
  if (!['x-api-key', 'bearer'].includes(values.auth)) fail(2, '--auth must be x-api-key or bearer');
  const urls = [values['traces-url'], values['logs-url'], values['metrics-url']];
  if (!values.endpoint && urls.some((u) => !u)) fail(2, `give --endpoint or all three --*-url\n${USAGE}`);
  const base = values['base-time-ms'] === undefined ? Date.now() : Number(values['base-time-ms']);
  if (!Number.isSafeInteger(base) || base <= 0) fail(2, '--base-time-ms must be a positive integer');
  return {
    transport: values.transport,
    endpoint: values.endpoint,
    urls: { traces: values['traces-url'], logs: values['logs-url'], metrics: values['metrics-url'] },
    key: values.key,
    auth: values.auth,
    gzip: values.gzip,
    runId: values['run-id'] ?? randomBytes(8).toString('hex'),
    baseMs: base,
    timeoutMs: Number(values['timeout-ms']),
  };
}

// ---------------------------------------------------------------- deterministic ids and times

/* Ids derived from the run id: the n-th trace id and span id of a run are always the same. */
class RunIdGenerator {
  constructor(runId) {
    this.runId = runId;
    this.traces = 0;
    this.spans = 0;
  }
  hex(kind, n, len) {
    return createHash('sha256').update(`${this.runId}:${kind}:${n}`).digest('hex').slice(0, len);
  }
  generateTraceId() {
    return this.hex('trace', this.traces++, 32);
  }
  generateSpanId() {
    return this.hex('span', this.spans++, 16);
  }
}

/* Always records and samples, and stamps every span with the run's trace state (the W3C tracestate
 * the SDK would otherwise only inherit from a remote parent). */
class TraceStateSampler {
  constructor(traceState) {
    this.traceState = traceState;
  }
  shouldSample() {
    return { decision: 2 /* RECORD_AND_SAMPLED */, traceState: this.traceState };
  }
  toString() {
    return 'TraceStateSampler';
  }
}

/* Epoch milliseconds + an offset in microseconds as an OTel HrTime [seconds, nanoseconds]. */
function hr(baseMs, offsetUs) {
  const ns = BigInt(baseMs) * 1000000n + BigInt(offsetUs) * 1000n;
  return [Number(ns / 1000000000n), Number(ns % 1000000000n)];
}
function hrToNs(t) {
  return (BigInt(t[0]) * 1000000000n + BigInt(t[1])).toString();
}

// ---------------------------------------------------------------- exporters per transport

async function loadExporters(opt) {
  const pkg = { http: 'otlp-http', proto: 'otlp-proto', grpc: 'otlp-grpc' }[opt.transport];
  const [t, l, m] = await Promise.all([
    import(`@opentelemetry/exporter-trace-${pkg}`),
    import(`@opentelemetry/exporter-logs-${pkg}`),
    import(`@opentelemetry/exporter-metrics-${pkg}`),
  ]);
  const authName = opt.auth === 'bearer' ? 'authorization' : 'x-api-key';
  const authValue = opt.auth === 'bearer' ? `Bearer ${opt.key}` : opt.key;
  const common = { timeoutMillis: opt.timeoutMs, compression: opt.gzip ? 'gzip' : 'none' };
  if (opt.endpoint) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = opt.endpoint;
  const cfg = (signal) => {
    const c = { ...common };
    if (!opt.endpoint) c.url = opt.urls[signal];
    if (opt.transport === 'grpc') {
      c.metadata = new grpcMetadata();
      c.metadata.set(authName, authValue);
    } else {
      c.headers = { [authName]: authValue };
    }
    return c;
  };
  return {
    traces: new t.OTLPTraceExporter(cfg('traces')),
    logs: new l.OTLPLogExporter(cfg('logs')),
    metrics: new m.OTLPMetricExporter(cfg('metrics')),
  };
}

let grpcMetadata;

/* Awaits one exporter.export() call; rejects unless the exporter reports success. */
function exportOnce(exporter, what, items) {
  return new Promise((resolve, reject) => {
    exporter.export(items, (result) => {
      if (result.code === 0) resolve();
      else {
        // OTLPExporterError carries the HTTP status and the receiver's answer: worth seeing in a test log.
        const e = result.error;
        const detail = [e?.code && `status ${e.code}`, e?.data && `answer ${String(e.data).slice(0, 500)}`];
        reject(new Error(`${what} export failed: ${e?.message ?? 'no error given'} ${detail.filter(Boolean).join(', ')}`));
      }
    });
  });
}

// ---------------------------------------------------------------- the records

const STACK =
  'Error: card declined by issuer (code 51)\n' +
  '    at chargeCard (/srv/payment/src/charge.js:42:11)\n' +
  '    at processPayment (/srv/payment/src/payment.js:17:5)\n' +
  '    at Layer.handle [as handle_request] (/srv/payment/node_modules/express/lib/router/layer.js:95:5)';

function spanAttributes(runId, extra) {
  return {
    'ps.run_id': runId,
    'http.request.method': 'POST',
    'http.response.status_code': 200,
    'ps.ratio': 0.25,
    'ps.retried': false,
    'ps.tags': ['alpha', 'beta'],
    'ps.attempts': [1, 2, 3],
    ...extra,
  };
}

function buildSpans(opt) {
  const ids = new RunIdGenerator(opt.runId);
  const sampler = new TraceStateSampler(createTraceState(`ps=${opt.runId.slice(0, 16)},vendor=otel-js`));
  const store = new InMemorySpanExporter();
  const provider = (service) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.4.2' }),
      idGenerator: ids,
      sampler,
      spanProcessors: [new SimpleSpanProcessor(store)],
    });
  const checkout = provider('checkout').getTracer('prodsentinel-send', '1.0.0');
  const payment = provider('payment').getTracer('prodsentinel-send', '1.0.0');
  const b = opt.baseMs;

  const root = checkout.startSpan(
    'POST /checkout',
    { kind: SpanKind.SERVER, startTime: hr(b, 0), attributes: spanAttributes(opt.runId, { 'http.route': '/checkout' }) },
    ROOT_CONTEXT,
  );
  const client = checkout.startSpan(
    'POST payment/charge',
    { kind: SpanKind.CLIENT, startTime: hr(b, 10000), attributes: spanAttributes(opt.runId, { 'server.address': 'payment' }) },
    trace.setSpan(ROOT_CONTEXT, root),
  );
  const failing = payment.startSpan(
    'POST /charge',
    {
      kind: SpanKind.SERVER,
      startTime: hr(b, 15000),
      attributes: spanAttributes(opt.runId, { 'http.route': '/charge', 'http.response.status_code': 502 }),
      links: [{ context: root.spanContext(), attributes: { 'ps.link': 'checkout-root', 'ps.link_n': 1 } }],
    },
    trace.setSpan(ROOT_CONTEXT, client),
  );
  const err = new Error('card declined by issuer (code 51)');
  err.name = 'CardDeclinedError';
  err.stack = STACK.replace(/^Error/, 'CardDeclinedError');
  failing.recordException(err, hr(b, 90000));
  failing.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined by issuer' });
  failing.end(hr(b, 100000));
  client.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream 502' });
  client.end(hr(b, 110000));
  root.end(hr(b, 120000));
  return { spans: store.getFinishedSpans(), root, client, failing, stack: err.stack };
}

function buildLogs(opt, t) {
  // Collects emitted records synchronously (SimpleLogRecordProcessor hands them to its exporter later).
  const records = [];
  const collector = { onEmit: (r) => records.push(r), forceFlush: async () => {}, shutdown: async () => {} };
  const provider = (service) =>
    new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': service }), processors: [collector] });
  const checkout = provider('checkout').getLogger('prodsentinel-send', '1.0.0');
  const payment = provider('payment').getLogger('prodsentinel-send', '1.0.0');
  const b = opt.baseMs;
  const ctx = (span) => trace.setSpan(ROOT_CONTEXT, span);
  const bodies = {
    info: `checkout started for run ${opt.runId}`,
    error: `payment failed: card declined by issuer (run ${opt.runId})`,
    map: { event: 'payment_declined', run_id: opt.runId, amount: 42.5, currency: 'EUR', retry: false, codes: [51, 5] },
  };
  checkout.emit({
    timestamp: hr(b, 5000),
    observedTimestamp: hr(b, 5100),
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: bodies.info,
    attributes: { 'ps.run_id': opt.runId, 'cart.items': 3 },
    context: ctx(t.root),
  });
  payment.emit({
    timestamp: hr(b, 95000),
    observedTimestamp: hr(b, 95100),
    severityNumber: SeverityNumber.ERROR,
    severityText: 'ERROR',
    body: bodies.error,
    attributes: {
      'ps.run_id': opt.runId,
      'exception.type': 'CardDeclinedError',
      'exception.message': 'card declined by issuer (code 51)',
      'exception.stacktrace': t.stack,
    },
    context: ctx(t.failing),
  });
  payment.emit({
    timestamp: hr(b, 99000),
    observedTimestamp: hr(b, 99100),
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    body: bodies.map,
    attributes: { 'ps.run_id': opt.runId },
    context: ctx(t.failing),
  });
  return { records, bodies };
}

/* A reader we drive by hand: collect() when we say, with the exporter's preferred temporality. */
class ManualReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

/* Pins every data point's start and end time to the run's clock so two runs with the same run id and
 * base time send identical points (the SDK stamps collection times from its own clock). */
function pinTimes(resourceMetrics, startHr, endHr) {
  for (const sm of resourceMetrics.scopeMetrics)
    for (const m of sm.metrics)
      for (const dp of m.dataPoints) {
        dp.startTime = startHr;
        dp.endTime = endHr;
      }
}

async function sendMetrics(opt, exporter) {
  const reader = new ManualReader({
    aggregationTemporalitySelector: (k) => exporter.selectAggregationTemporality(k),
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    readers: [reader],
  });
  const meter = provider.getMeter('prodsentinel-send', '1.0.0');
  const attrs = { 'ps.run_id': opt.runId, route: '/checkout' };
  const orders = meter.createCounter('orders_total', { description: 'orders placed', unit: '{order}' });
  const inflight = meter.createUpDownCounter('inflight_requests', { unit: '{request}' });
  const depth = meter.createGauge('queue_depth', { unit: '{job}' });
  const duration = meter.createHistogram('request_duration_ms', {
    unit: 'ms',
    advice: { explicitBucketBoundaries: [5, 10, 25, 50, 100, 250] },
  });
  const steps = [
    () => {
      orders.add(3, attrs);
      inflight.add(2, attrs);
      depth.record(5, attrs);
      for (const v of [12, 48, 230]) duration.record(v, attrs);
    },
    () => {
      orders.add(4, attrs);
      inflight.add(-1, attrs);
      depth.record(9, attrs);
      duration.record(7, attrs);
    },
  ];
  const sent = [];
  for (let i = 0; i < steps.length; i++) {
    steps[i]();
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length) throw new Error(`metric collection: ${errors.join('; ')}`);
    const end = hr(opt.baseMs, (i + 1) * 1000000);
    pinTimes(resourceMetrics, hr(opt.baseMs, 0), end);
    await exportOnce(exporter, `metrics (collection ${i + 1})`, resourceMetrics);
    const values = {};
    for (const sm of resourceMetrics.scopeMetrics)
      for (const m of sm.metrics) {
        const v = m.dataPoints[0].value;
        values[m.descriptor.name] =
          typeof v === 'object' ? { count: v.count, sum: v.sum, counts: v.buckets.counts, bounds: v.buckets.boundaries } : v;
      }
    sent.push({ time_unix_nano: hrToNs(end), values });
  }
  await provider.shutdown();
  return sent;
}

// ---------------------------------------------------------------- main

async function main() {
  const opt = parseOptions();
  if (opt.transport === 'grpc') ({ Metadata: grpcMetadata } = await import('@grpc/grpc-js'));
  // The exporters report a partial success (records the receiver rejected) only through diag.warn.
  const problems = [];
  diag.setLogger(
    {
      error: (...a) => problems.push(a.join(' ')),
      warn: (...a) => problems.push(a.join(' ')),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: 3 /* WARN */, suppressOverrideMessage: true },
  );
  const exporters = await loadExporters(opt);
  const t = buildSpans(opt);
  const l = buildLogs(opt, t);
  let metrics;
  try {
    await exportOnce(exporters.traces, 'traces', t.spans);
    await exportOnce(exporters.logs, 'logs', l.records);
    metrics = await sendMetrics(opt, exporters.metrics);
  } finally {
    await Promise.allSettled(Object.values(exporters).map((e) => e.shutdown()));
  }
  const partial = problems.filter((p) => /partial success/i.test(p));
  if (partial.length) throw new Error(`receiver reported a partial success: ${partial.join(' | ')}`);
  const sc = (s) => s.spanContext();
  process.stdout.write(
    JSON.stringify({
      transport: opt.transport,
      gzip: opt.gzip,
      run_id: opt.runId,
      base_time_ms: opt.baseMs,
      trace_id: sc(t.root).traceId,
      trace_state: sc(t.root).traceState.serialize(),
      spans: [t.root, t.client, t.failing].map((s) => ({
        span_id: sc(s).spanId,
        service: s.resource.attributes['service.name'],
        name: s.name,
        status: s.status.code === SpanStatusCode.ERROR ? 'ERROR' : 'UNSET',
      })),
      failing_span_id: sc(t.failing).spanId,
      logs: [
        { service: 'checkout', severity: 'INFO', body: l.bodies.info, span_id: sc(t.root).spanId },
        { service: 'payment', severity: 'ERROR', body: l.bodies.error, span_id: sc(t.failing).spanId },
        { service: 'payment', severity: 'INFO', body: l.bodies.map, span_id: sc(t.failing).spanId },
      ],
      metrics,
      problems,
    }) + '\n',
  );
}

main().catch((e) => fail(1, e.message));
