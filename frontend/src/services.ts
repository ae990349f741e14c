// Services page: a health score per service and per endpoint (error rate and p95 against the window of
// equal length before), with sparklines of requests, error rate and p95 over the window. Refreshes
// every 30 s.
import { api, qs, type EndpointHealth, type MetricPoint, type SeriesPoint, type ServiceHealth } from './api';
import { sparkline } from './charts';
import { serviceColor } from './colors';
import { el } from './dom';
import { fmtMs, fmtNum, fmtPct } from './format';
import { replaceQuery, type Cleanup, type Route } from './route';

const RANGES: [string, string, number][] = [
  ['15m', 'last 15 minutes', 900],
  ['1h', 'last hour', 3600],
  ['6h', 'last 6 hours', 6 * 3600],
  ['24h', 'last 24 hours', 86400],
];
const BUCKETS = 40;

interface ServiceSeries {
  service: string;
  points: SeriesPoint[];
  endpoints?: { endpoint: string; points: SeriesPoint[] }[];
}

function healthCell(h: number | null | undefined): HTMLElement {
  const v = typeof h === 'number' ? h : NaN;
  const cls = !Number.isFinite(v) ? 'unknown' : v >= 90 ? 'good' : v >= 70 ? 'fair' : 'bad';
  return el('td', { class: 'health-cell' }, el('span', { class: `health h-${cls}`, 'data-health': Number.isFinite(v) ? v : '' },
    Number.isFinite(v) ? String(v) : '—'));
}

/* "3.2% (was 0.1%)" with an arrow when it got worse. */
function versus(cur: string, base: string, worse: boolean): HTMLElement {
  return el('td', {}, cur, el('span', { class: worse ? 'worse' : 'muted' }, ` ${worse ? '▲ ' : ''}(before ${base})`));
}

function endpointRow(e: EndpointHealth, trend: HTMLElement): HTMLElement {
  const errWorse = e.error_rate - e.base_error_rate > 0.01;
  const p95Worse = e.p95_ms !== null && e.base_p95_ms !== null && e.p95_ms > e.base_p95_ms * 1.2;
  return el('tr', { class: 'endpoint-row' },
    el('td', { class: 'endpoint' }, e.endpoint), healthCell(e.health), el('td', {}, fmtNum(e.requests)),
    versus(fmtPct(e.error_rate), fmtPct(e.base_error_rate), errWorse),
    versus(fmtMs(e.p95_ms), fmtMs(e.base_p95_ms), p95Worse), trend);
}

export async function servicesPage(root: HTMLElement, route: Route): Promise<Cleanup> {
  const range = el('select', { id: 'svc-range', 'aria-label': 'window' }, RANGES.map(([v, l]) => el('option', { value: v }, l)));
  range.value = RANGES.some(([v]) => v === route.params.get('range')) ? (route.params.get('range') as string) : '1h';
  const status = el('span', { class: 'muted', id: 'svc-status' });
  const table = el('table', { id: 'services', class: 'services' });
  root.replaceChildren(el('div', { class: 'page-head' }, el('h2', {}, 'Services'), status),
    el('div', { class: 'filters' }, range,
      el('span', { class: 'muted' }, 'Health 0–100: error rate and p95 of entry spans against the window of equal length before.')),
    table);

  let epoch = 0;
  const load = async (): Promise<void> => {
    const mine = ++epoch;
    const secs = (RANGES.find(([v]) => v === range.value) || RANGES[1])[2];
    const to = Date.now(), from = to - secs * 1000;
    const win = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    const step = Math.max(1, Math.ceil(secs / BUCKETS));
    const [health, series] = await Promise.all([
      api<{ services: ServiceHealth[] }>(`/query/services${qs(win)}`),
      api<{ services: ServiceSeries[] }>(`/query/services/series${qs({ ...win, step })}`).catch(() => null),
    ]);
    if (mine !== epoch) return;
    const bySvc = new Map((series?.services || []).map((s) => [s.service, s]));
    const slots = (points: SeriesPoint[], f: (p: SeriesPoint) => number | null): (number | null)[] => {
      const out: (number | null)[] = new Array(Math.ceil(secs / step)).fill(null);
      for (const p of points) {
        const i = Math.floor((Number(BigInt(p.ts_ns) / 1000000n) - from) / 1000 / step);
        if (i >= 0 && i < out.length) out[i] = f(p);
      }
      return out;
    };
    table.replaceChildren(el('tr', {}, el('th', {}, 'service / endpoint'), el('th', {}, 'health'), el('th', {}, 'requests'),
      el('th', {}, 'error rate'), el('th', {}, 'p95'), el('th', {}, 'requests · errors · p95 over the window')));
    for (const s of health.services) {
      const ser = bySvc.get(s.service);
      const sparks = (name: string, pts: SeriesPoint[] | undefined): HTMLElement => {
        const td = el('td', { class: 'sparks' });
        if (pts) {
          td.append(sparkline(slots(pts, (p) => p.requests), 'spark-req', `${name}: requests per ${step} s`),
            sparkline(slots(pts, (p) => p.error_rate), 'spark-err', `${name}: error rate`),
            sparkline(slots(pts, (p) => p.p95_ms), 'spark-p95', `${name}: p95 ms`));
        }
        return td;
      };
      const trend = sparks(s.service, ser?.points);
      if (!series) {
        /* older backend without /query/services/series: the service's own p95 metric, if it sends one */
        api<{ points: MetricPoint[] }>(`/query/metrics${qs({ service: s.service, name: 'p95_latency_ms', ...win, step })}`)
          .then((m) => trend.append(sparkline(m.points.map((p) => p.avg), 'spark-p95', `${s.service}: p95_latency_ms`)))
          .catch(() => {});
      }
      const worst = s.endpoints.reduce<number | null>((m, e) => (e.p95_ms !== null && (m === null || e.p95_ms > m) ? e.p95_ms : m), null);
      table.appendChild(el('tr', { class: 'service-row', 'data-service': s.service },
        el('td', {}, el('i', { class: 'svc-dot', style: `background:${serviceColor(s.service)}` }),
          serviceLink(s.service)),
        healthCell(s.health), el('td', {}, fmtNum(s.requests)), el('td', {}, fmtPct(s.error_rate)),
        el('td', { title: 'slowest endpoint' }, fmtMs(worst)), trend));
      const epSeries = new Map((ser?.endpoints || []).map((e) => [e.endpoint, e.points]));
      for (const e of s.endpoints) table.appendChild(endpointRow(e, sparks(`${s.service} ${e.endpoint}`, epSeries.get(e.endpoint))));
    }
    if (!health.services.length) table.appendChild(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No request in this window.')));
    status.textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC`;
  };

  range.addEventListener('change', () => {
    replaceQuery('services', new URLSearchParams({ range: range.value }));
    load().catch((e) => (status.textContent = (e as Error).message));
  });
  await load();
  const timer = window.setInterval(() => {
    if (!document.hidden) load().catch((e) => (status.textContent = (e as Error).message));
  }, 30000);
  return () => {
    clearInterval(timer);
    epoch++;
  };
}

/* The incident list filtered by this service. */
function serviceLink(name: string): HTMLAnchorElement {
  return el('a', { href: `#/?service=${encodeURIComponent(name)}`, title: 'incidents of this service' }, name);
}
