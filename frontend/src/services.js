// Services page: a health score per service and endpoint (error rate and p95 against the previous window).
import { api } from './api.js';
import { el, svg } from './dom.js';

/* A 100×20 sparkline of a series' averages. */
function sparkline(points) {
  const box = svg('svg', { class: 'spark', width: 100, height: 20 });
  if (points.length < 2) return box;
  const ys = points.map((p) => p.avg);
  const max = Math.max(...ys) || 1;
  box.appendChild(svg('polyline', { fill: 'none', stroke: '#2457d6', points: ys.map((y, i) => `${(i / (ys.length - 1)) * 100},${20 - (y / max) * 18}`).join(' ') }));
  return box;
}

export async function servicesPage(root) {
  const data = await api('/query/services');
  const table = el('table', { id: 'services' }, el('tr', {}, el('th', {}, 'service / endpoint'), el('th', {}, 'health'),
    el('th', {}, 'requests'), el('th', {}, 'error rate'), el('th', {}, 'p95 ms (before)'), el('th', {}, 'p95, last hour')));
  for (const s of data.services || []) {
    const spark = el('td', { class: 'spark-cell' });
    table.appendChild(el('tr', {}, el('td', {}, el('b', {}, s.service)), el('td', {}, String(s.health)),
      el('td', {}, String(s.requests)), el('td', {}, `${((s.error_rate || 0) * 100).toFixed(1)}%`), el('td', {}, ''), spark));
    api(`/query/metrics?service=${encodeURIComponent(s.service)}&name=p95_latency_ms&step=120`)
      .then((m) => spark.appendChild(sparkline(m.points || []))).catch(() => {});
    for (const e of s.endpoints || []) {
      table.appendChild(el('tr', {}, el('td', { style: 'padding-left:1.5rem' }, e.endpoint), el('td', {}, String(e.health)),
        el('td', {}, String(e.requests)), el('td', {}, `${((e.error_rate || 0) * 100).toFixed(1)}%`),
        el('td', {}, `${e.p95_ms == null ? '—' : e.p95_ms.toFixed(1)} (${e.base_p95_ms == null ? '—' : e.base_p95_ms.toFixed(1)})`)));
    }
  }
  root.replaceChildren(el('h2', {}, 'Services'), table);
}
