// Pure logic of the dashboard: waterfall tree order, the live merge of the incident list, finding a
// cited log line, OTel parts (resource groups, legacy resources, bodies), formatting. Run with `npm test` (test/run.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncidentRow, LogLine, Span } from '../src/api';
import { fmtMs, fmtNum, fmtSeconds, localInputToIso, nsToMs } from '../src/format';
import { frameText } from '../src/incident';
import { mergeLive } from '../src/live';
import { analyserOrder, findLog } from '../src/logs';
import { bodyText, droppedText, groupResource, resourceOf, scopeText, valueText } from '../src/otel';
import { parseRoute } from '../src/route';
import { lagMessage } from '../src/replication';
import { treeRows } from '../src/waterfall';

const T0 = 1795355000000000000n;
function span(id: string, parent: string | null, startUs: number, endUs: number, extra: Partial<Span> = {}): Span {
  return {
    trace_id: 't', span_id: id, parent_span_id: parent, service: 's', name: id, status: 'OK', duration_ms: (endUs - startUs) / 1000,
    start_ns: String(T0 + BigInt(startUs) * 1000n), end_ns: String(T0 + BigInt(endUs) * 1000n), ...extra,
  };
}

test('waterfall: depth-first, children by start time, depths', () => {
  const { rows, total } = treeRows([span('c2', 'a', 30, 40), span('a', null, 0, 100), span('c1', 'a', 10, 20), span('g', 'c1', 11, 12)]);
  assert.deepEqual(rows.map((r) => `${r.s.span_id}:${r.depth}`), ['a:0', 'c1:1', 'g:2', 'c2:1']);
  assert.deepEqual(rows.map((r) => r.parent), [-1, 0, 1, 0]);
  assert.deepEqual(rows.map((r) => r.children), [2, 1, 0, 0]);
  assert.equal(total, 100000);
  assert.equal(rows[1].start, 10000);
});

test('waterfall: a missing parent makes a root; a cycle and a self-parent cannot loop', () => {
  const { rows } = treeRows([span('x', 'gone', 5, 6), span('p', 'q', 0, 1), span('q', 'p', 1, 2), span('s', 's', 3, 4)]);
  assert.deepEqual(rows.map((r) => r.s.span_id).sort(), ['p', 'q', 's', 'x']);
  assert.equal(rows.length, 4);
  for (const r of rows) assert.ok(r.parent < rows.indexOf(r), 'a parent comes before its child');
});

test('waterfall: 5,000 spans in a chain (no recursion limit)', () => {
  const spans = [span('0', null, 0, 10000)];
  for (let i = 1; i < 5000; i++) spans.push(span(String(i), String(i - 1), i, 10000 - i));
  const { rows } = treeRows(spans);
  assert.equal(rows.length, 5000);
  assert.equal(rows[4999].depth, 4999);
});

test('waterfall: broken times do not throw', () => {
  const { rows } = treeRows([span('a', null, 0, 5), { ...span('b', 'a', 1, 2), start_ns: 'garbage', end_ns: '' }]);
  assert.equal(rows.length, 2);
});

function inc(id: number, lastUs: number): IncidentRow {
  return { id, status: 'open', title: `#${id}`, first_seen: '', last_seen: '', trace_count: 1, last_seen_us: lastUs };
}

test('live merge: new and moved rows on top, older loaded rows kept, no duplicates', () => {
  const loaded = [inc(5, 500), inc(4, 400), inc(3, 300), inc(2, 200), inc(1, 100)];
  /* #6 is new, #2 was seen again (moved up), the page of 3 ends at #5 */
  const m = mergeLive(loaded, [inc(2, 700), inc(6, 600), inc(5, 500)], true);
  assert.deepEqual(m.items.map((i) => i.id), [2, 6, 5, 4, 3, 1]);
  assert.deepEqual(m.added, [6]);
  assert.equal(m.complete, false);
});

test('live merge: a complete page replaces the list (rows that left the filter go)', () => {
  const m = mergeLive([inc(3, 300), inc(2, 200), inc(1, 100)], [inc(3, 300), inc(1, 100)], false);
  assert.deepEqual(m.items.map((i) => i.id), [3, 1]);
  assert.equal(m.complete, true);
  assert.deepEqual(mergeLive([], [inc(1, 1)], false).added, [], 'nothing is "new" on the first load');
});

test('live merge: equal times order by id', () => {
  const m = mergeLive([inc(9, 100), inc(8, 100), inc(7, 100)], [inc(10, 100), inc(9, 100)], true);
  assert.deepEqual(m.items.map((i) => i.id), [10, 9, 8, 7]);
});

function log(tsOffset: number, service: string, message: string, span_id: string | null = null): LogLine {
  return { ts_ns: String(T0 + BigInt(tsOffset)), service, level: 'INFO', message, span_id };
}

test('cited log: matched by time within a microsecond, then message, despite the 2^53 rounding', () => {
  const logs = [log(400, 'payment', 'pool exhausted'), log(500, 'payment', '<script>x</script> charge failed'), log(9000, 'gateway', 'ok')];
  const ts = Number(T0 + 500n); /* what JSON.parse makes of the evidence's integer */
  assert.equal(findLog(logs, { id: 'log:1', ts_ns: ts, service: 'payment', message: '<script>x</script> charge failed' }, 1), 1);
  assert.equal(findLog(logs, { id: 'log:0', ts_ns: Number(T0 + 400n), service: 'payment', message: 'pool exh' }, 0), 0, 'a cut message');
  assert.equal(findLog(logs, { id: 'log:2' }, 2), 2, 'no time: the analyser order');
  assert.equal(findLog(logs, undefined, 7), -1);
});

test('analyser order: time, service, message, span id', () => {
  const logs = [log(5, 'b', 'x'), log(5, 'a', 'z'), log(1, 'z', 'z'), log(5, 'a', 'y')];
  assert.deepEqual(analyserOrder(logs), [2, 3, 1, 0]);
});

test('formatting', () => {
  assert.equal(nsToMs('1795355000123456789'), 1795355000123);
  assert.ok(Number.isNaN(nsToMs('nope')));
  assert.equal(fmtMs(0.5), '500 µs');
  assert.equal(fmtMs(12.34), '12.3 ms');
  assert.equal(fmtMs(15000), '15.0 s');
  assert.equal(fmtNum(7650), '7,650');
  assert.equal(fmtNum(0.004), '0.004');
  assert.equal(fmtNum(2.5), '2.5');
  assert.equal(fmtSeconds(60), '60 s');
  assert.equal(fmtSeconds(1320), '22 min');
  assert.equal(fmtSeconds(9000), '2.5 h');
  assert.equal(localInputToIso('2026-11-22T13:05'), '2026-11-22T13:05:00.000Z');
  assert.equal(localInputToIso(''), '');
  assert.equal(frameText({ function: 'Repo.save', file: 'Repo.java', line: 88 }), 'Repo.save (Repo.java:88)');
  assert.equal(frameText('a.b(c:1)'), 'a.b(c:1)');
  assert.equal(frameText(null), '');
});

test('routes', () => {
  const r = parseRoute('#/incident/42?focus=span%3Aabc');
  assert.deepEqual(r.path, ['incident', '42']);
  assert.equal(r.params.get('focus'), 'span:abc');
  assert.deepEqual(parseRoute('#/?status=open').path, []);
  assert.deepEqual(parseRoute('').path, []);
});

test('otel: resource attributes grouped service, host, process, sdk, other; keys sorted; empty groups out', () => {
  const g = groupResource({ 'telemetry.sdk.name': 'opentelemetry', 'host.name': 'pay-1', 'service.version': '2.3.1',
    'cloud.region': 'eu-west-1', 'service.name': 'payment', 'process.pid': 42, 'host.arch': 'amd64' });
  assert.deepEqual(g.map(([k]) => k), ['service', 'host', 'process', 'sdk', 'other']);
  assert.deepEqual(g[0][1], [['service.name', 'payment'], ['service.version', '2.3.1']]);
  assert.deepEqual(g[1][1].map(([k]) => k), ['host.arch', 'host.name']);
  assert.deepEqual(groupResource({ 'host.name': 'x' }).map(([k]) => k), ['host']);
  assert.deepEqual(groupResource(null), []);
  assert.deepEqual(groupResource(['host.name']), []);
});

test('otel: a row names its resource by hash; older rows keep it in attributes.resource', () => {
  const resources = { h1: { service: 'payment', attributes: { 'host.name': 'pay-1' } } };
  assert.equal(resourceOf({ resource: 'h1', service: 'payment' }, resources), resources.h1);
  assert.equal(resourceOf({ resource: 'missing', service: 'payment' }, resources), null);
  const legacy = resourceOf({ resource: null, service: 'old', attributes: { resource: { 'host.name': 'old-1' }, k: 1 } }, {});
  assert.deepEqual(legacy, { service: 'old', attributes: { 'service.name': 'old', 'host.name': 'old-1' } });
  assert.equal(resourceOf({ service: 's', attributes: { resource: 'a string' } }, undefined), null);
});

test('otel: scope, dropped counts, values and structured bodies as text', () => {
  assert.equal(scopeText({ name: 'io.acme.pay', version: '1.2.3' }), 'io.acme.pay 1.2.3');
  assert.equal(scopeText({ name: 'io.acme.pay', version: null }), 'io.acme.pay');
  assert.equal(scopeText(null), '');
  assert.equal(droppedText([['attribute', 2], ['event', 0], ['link', 1]]), '2 attributes, 1 link');
  assert.equal(droppedText([['attribute', 0], ['event', undefined]]), '');
  assert.equal(valueText('x'), 'x');
  assert.equal(valueText(42), '42');
  assert.equal(valueText(['a', 1]), '["a",1]');
  assert.equal(bodyText({ body: { user: { id: 7 } } }), '{\n  "user": {\n    "id": 7\n  }\n}');
  assert.equal(bodyText({ body: [1, 2] }), '[\n  1,\n  2\n]');
  assert.equal(bodyText({ body: null }), null);
  assert.equal(bodyText({}), null);
});

test('replication banner: only a replica behind by more than LAG_WARN_S, or cut off', () => {
  assert.equal(lagMessage({ in_recovery: false, replication_lag_s: null }), null);
  assert.equal(lagMessage({ in_recovery: true, replication_lag_s: 0, receiving: true }), null);
  assert.equal(lagMessage({ in_recovery: true, replication_lag_s: 5, receiving: true }), null);
  assert.ok((lagMessage({ in_recovery: true, replication_lag_s: 12.4, receiving: true }) ?? '').includes('12 s behind'));
  assert.ok((lagMessage({ in_recovery: true, replication_lag_s: 0, receiving: false }) ?? '').includes('not receiving'));
});
