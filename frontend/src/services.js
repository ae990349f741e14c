// Services page: a health score per service and endpoint (error rate and p95 against the previous window).
import { api } from './api.js';
import { el } from './dom.js';

export async function servicesPage(root) {
  const data = await api('/query/services');
  const table = el('table', { id: 'services' }, el('tr', {}, el('th', {}, 'service / endpoint'), el('th', {}, 'health'),
    el('th', {}, 'requests'), el('th', {}, 'error rate'), el('th', {}, 'p95 ms (before)')));
  for (const s of data.services || []) {
    table.appendChild(el('tr', {}, el('td', {}, el('b', {}, s.service)), el('td', {}, String(s.health)),
      el('td', {}, String(s.requests)), el('td', {}, `${((s.error_rate || 0) * 100).toFixed(1)}%`), el('td', {}, '')));
    for (const e of s.endpoints || []) {
      table.appendChild(el('tr', {}, el('td', { style: 'padding-left:1.5rem' }, e.endpoint), el('td', {}, String(e.health)),
        el('td', {}, String(e.requests)), el('td', {}, `${((e.error_rate || 0) * 100).toFixed(1)}%`),
        el('td', {}, `${e.p95_ms == null ? '—' : e.p95_ms.toFixed(1)} (${e.base_p95_ms == null ? '—' : e.base_p95_ms.toFixed(1)})`)));
    }
  }
  root.replaceChildren(el('h2', {}, 'Services'), table);
}
