// Alerts page (#/alerts?state=): the silences (active first, then scheduled, then expired) and the alert
// deliveries newest first, filtered by state, paged with the API's cursor ("Load more"). Read-only like the
// rest of the dashboard: silences are made and expired through the API with the ADMIN key. A
// destination is shown by its id (e.g. slack:hooks.slack.com#3f9a): the API never returns its URL.
import { api, qs } from './api';
import { badge, el, routeLink } from './dom';
import { fmtAgo, fmtDateTime, isoToMs } from './format';
import { replaceQuery, type Cleanup, type Route } from './route';

interface Delivery {
  id: number;
  destination: string;
  format: string;
  kind: string;
  incident_id: number | null;
  state: string;
  severity: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  next_attempt_at: string | null;
}

interface Silence {
  id: number;
  service: string;
  endpoint: string | null;
  starts_at: string;
  ends_at: string;
  comment: string | null;
  state: 'active' | 'scheduled' | 'expired';
}

const STATES = ['pending', 'sending', 'delivered', 'failed', 'silenced', 'filtered', 'suppressed', 'abandoned'];
const PAGE = 50;
const POLL_MS = 10000;

function when(iso: string | null): HTMLElement | string {
  if (!iso) return '—';
  const ms = isoToMs(iso);
  return el('span', { title: fmtDateTime(ms) }, fmtAgo(ms));
}

function silenceRow(s: Silence): HTMLElement {
  return el('tr', { class: 'silence-row', 'data-id': s.id, 'data-state': s.state },
    el('td', {}, badge(s.state)),
    el('td', {}, s.service), el('td', {}, s.endpoint || el('span', { class: 'muted' }, 'every endpoint')),
    el('td', {}, fmtDateTime(isoToMs(s.starts_at))), el('td', {}, fmtDateTime(isoToMs(s.ends_at))),
    el('td', { class: 'alert-error' }, s.comment || ''));
}

function deliveryRow(d: Delivery): HTMLElement {
  const retry = d.next_attempt_at && d.state === 'pending' ? el('div', { class: 'muted' }, 'next try ', when(d.next_attempt_at)) : null;
  return el('tr', { class: 'alert-row', 'data-id': d.id, 'data-state': d.state },
    el('td', {}, String(d.id)), el('td', {}, when(d.created_at)),
    el('td', { class: 'alert-dest' }, d.destination, el('span', { class: 'muted' }, ` (${d.format})`)),
    el('td', {}, badge(d.kind, 'kind')),
    el('td', {}, d.incident_id === null ? '—' : routeLink(['incident', d.incident_id], `#${d.incident_id}`)),
    el('td', {}, badge(d.state), retry), el('td', {}, badge(d.severity)), el('td', {}, String(d.attempts)),
    el('td', { class: 'alert-error' }, d.last_error || ''), el('td', {}, when(d.delivered_at)));
}

export async function alertsPage(root: HTMLElement, route: Route): Promise<Cleanup> {
  const state = el('select', { id: 'alerts-state', 'aria-label': 'state' },
    el('option', { value: '' }, 'any state'), STATES.map((s) => el('option', { value: s }, s)));
  state.value = STATES.includes(route.params.get('state') || '') ? (route.params.get('state') as string) : '';
  const status = el('span', { class: 'muted', id: 'alerts-status' });
  const silences = el('table', { id: 'silences', class: 'ranking' });
  const table = el('table', { id: 'alerts-table', class: 'ranking' });
  const more = el('button', { id: 'alerts-more', type: 'button', hidden: true }, 'Load more');
  root.replaceChildren(el('div', { class: 'page-head' }, el('h2', {}, 'Alerts'), status),
    el('section', { class: 'card', id: 'silences-card' }, el('h3', {}, 'Silences'),
      el('p', { class: 'muted' }, 'While a silence is active, alerts about its service (and endpoint, when it names one) '
        + 'are stored as silenced and not sent. Create and expire them with POST and DELETE /query/silences (ADMIN key).'),
      silences),
    el('section', { class: 'card', id: 'deliveries-card' }, el('h3', {}, 'Deliveries'),
      el('div', { class: 'filters' }, state), table, more));

  let cursor: string | null = null;
  let epoch = 0;
  const head = (): HTMLElement => el('tr', {}, ['#', 'queued', 'destination', 'kind', 'incident', 'state', 'severity',
    'attempts', 'last error', 'delivered'].map((h) => el('th', {}, h)));

  const loadSilences = async (): Promise<void> => {
    const r = await api<{ silences: Silence[] }>('/query/silences');
    silences.replaceChildren(el('tr', {}, ['state', 'service', 'endpoint', 'starts (UTC)', 'ends (UTC)', 'comment']
      .map((h) => el('th', {}, h))), ...r.silences.map(silenceRow));
    if (!r.silences.length) silences.appendChild(el('tr', {}, el('td', { colspan: 6, class: 'muted' }, 'No silence.')));
  };

  /* first page (replacing the table) or the next one (appended) */
  const load = async (next: boolean): Promise<void> => {
    const mine = next ? epoch : ++epoch;
    const r = await api<{ alerts: Delivery[]; next_cursor: string | null }>(
      `/query/alerts${qs({ state: state.value || null, limit: PAGE, cursor: next ? cursor : null })}`);
    if (mine !== epoch) return;
    if (!next) table.replaceChildren(head());
    for (const d of r.alerts) table.appendChild(deliveryRow(d));
    if (!next && !r.alerts.length) table.appendChild(el('tr', {}, el('td', { colspan: 10, class: 'muted' }, 'No delivery.')));
    cursor = r.next_cursor;
    more.hidden = cursor === null;
    status.textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC`;
  };
  const fail = (e: unknown): void => {
    status.textContent = (e as Error).message;
  };

  state.addEventListener('change', () => {
    replaceQuery('alerts', new URLSearchParams(state.value ? { state: state.value } : {}));
    load(false).catch(fail);
  });
  more.addEventListener('click', () => void load(true).catch(fail));
  await Promise.all([loadSilences(), load(false)]);
  /* refreshed while only the first page is shown: a user reading older pages keeps them */
  const timer = window.setInterval(() => {
    if (document.hidden || table.querySelectorAll('.alert-row').length > PAGE) return;
    loadSilences().catch(fail);
    load(false).catch(fail);
  }, POLL_MS);
  return () => {
    clearInterval(timer);
    epoch++;
  };
}
