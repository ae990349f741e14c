// Incident list: newest first (by last seen), filters (status, service, time range) kept in the URL,
// live: the first page is fetched again every few seconds and merged in without a reload; older pages
// are fetched with the API's cursor as the user scrolls, into a virtualised list (10,000 incidents
// keep only the rows in view in the DOM).
import { api, qs, type IncidentPage, type IncidentRow } from './api';
import { badge, el } from './dom';
import { fmtAgo, fmtDateTime, isoToMs, localInputToIso } from './format';
import { mergeLive } from './live';
import { replaceQuery, type Cleanup, type Route } from './route';
import { VirtualList } from './virtual';

const ROW_H = 34;
const PAGE = 200;
const LIVE_PAGE = 100;
const POLL_MS = 4000;

const RANGES: [string, string, number][] = [
  ['', 'any time', 0],
  ['1h', 'last hour', 3600],
  ['6h', 'last 6 hours', 6 * 3600],
  ['24h', 'last 24 hours', 86400],
  ['7d', 'last 7 days', 7 * 86400],
  ['30d', 'last 30 days', 30 * 86400],
  ['custom', 'custom…', 0],
];

export function incidentList(root: HTMLElement, route: Route): Cleanup {
  const p = route.params;
  let items: IncidentRow[] = [];
  let cursor: string | null = null;
  let loadingMore = false;
  let epoch = 0; /* bumped by every filter change: answers of older queries are dropped */
  const fresh = new Map<number, number>(); /* id -> time it arrived live (highlighted a while) */

  const status = el('select', { id: 'f-status', 'aria-label': 'status' },
    el('option', { value: '' }, 'any status'), el('option', { value: 'open' }, 'open'),
    el('option', { value: 'resolved' }, 'resolved'));
  status.value = p.get('status') || '';
  const services = el('datalist', { id: 'service-names' });
  const service = el('input', { id: 'f-service', placeholder: 'service', list: 'service-names', value: p.get('service') || '' });
  const range = el('select', { id: 'f-range', 'aria-label': 'time range' },
    RANGES.map(([v, label]) => el('option', { value: v }, label)));
  range.value = p.get('range') || (p.get('from') || p.get('to') ? 'custom' : '');
  const from = el('input', { id: 'f-from', type: 'datetime-local', title: 'from (UTC)', value: p.get('from') || '' });
  const to = el('input', { id: 'f-to', type: 'datetime-local', title: 'to (UTC)', value: p.get('to') || '' });
  const custom = el('span', { class: 'custom-range' }, 'from ', from, ' to ', to, ' UTC');
  const clear = el('button', { id: 'f-clear', type: 'button' }, 'Clear');
  const count = el('span', { id: 'count', class: 'muted' });
  const live = el('span', { id: 'live', class: 'live' });
  const errorBox = el('div', { id: 'list-error', class: 'error' });

  let typing = 0; /* debounce of the service box */
  const list = new VirtualList<IncidentRow>({
    rowHeight: ROW_H, id: 'incident-scroll', className: 'incident-list', render: renderRow,
    onNearEnd: () => void more(), nearEndRows: 40,
  });
  const head = el('div', { class: 'incident-row head' },
    el('span', { class: 'c-id' }, '#'), el('span', { class: 'c-status' }, 'status'),
    el('span', { class: 'c-service' }, 'root-cause service'), el('span', { class: 'c-title' }, 'incident'),
    el('span', { class: 'c-count' }, 'traces'), el('span', { class: 'c-time' }, 'first seen (UTC)'),
    el('span', { class: 'c-time' }, 'last seen (UTC)'), el('span', { class: 'c-report' }, 'report'));
  root.replaceChildren(
    el('div', { class: 'page-head' }, el('h2', {}, 'Incidents'), live),
    el('div', { class: 'filters' }, status, service, services, range, custom, clear, count),
    errorBox, el('div', { class: 'table-like' }, head, list.node));

  function renderRow(row: IncidentRow): HTMLElement {
    /* grouping (issue 15): a parent says how many incidents joined it; a child names its parent */
    const it = row as IncidentRow & { parent_id?: number | null; children?: number };
    const firstMs = isoToMs(it.first_seen), lastMs = isoToMs(it.last_seen);
    const what = it.exception_type || it.root_operation || '';
    const group = it.parent_id
      ? el('span', { class: 'muted grouped-under' }, ` · grouped under #${it.parent_id}`)
      : it.children ? el('span', { class: 'related-count' }, ` · +${it.children} related`) : null;
    return el('a', {
      class: `incident-row${fresh.has(it.id) ? ' fresh' : ''}${it.parent_id ? ' child' : ''}`, href: `#/incident/${encodeURIComponent(it.id)}`,
      'data-id': it.id, 'data-last-seen': lastMs, 'data-status': it.status, 'data-service': it.root_service || '', 'data-services': (it.services || []).join(' '),
      'data-parent': it.parent_id || '', 'data-children': it.children || 0,
    },
    el('span', { class: 'c-id' }, `#${it.id}`),
    el('span', { class: 'c-status' }, badge(it.status), it.kind && it.kind !== 'error' ? badge(it.kind, 'kind') : null),
    el('span', { class: 'c-service' }, it.root_service || '—'),
    el('span', { class: 'c-title', title: it.title }, it.title, what && !it.title.includes(what) ? el('span', { class: 'muted' }, ` · ${what}`) : null, group),
    el('span', { class: 'c-count' }, `${it.trace_count}`),
    el('span', { class: 'c-time' }, fmtDateTime(firstMs)),
    el('span', { class: 'c-time', title: fmtAgo(lastMs) }, fmtDateTime(lastMs), el('span', { class: 'muted ago' }, ` ${fmtAgo(lastMs)}`)),
    el('span', { class: 'c-report' }, badge(it.report_state || 'pending')));
  }

  /* The filters in force: read from the controls when they change (a half-typed service name is not
   * applied, not even by a live poll meanwhile). */
  let applied = { status: '', service: '', from: '', to: '', since: 0 };
  function apply(): void {
    const r = RANGES.find(([v]) => v === range.value);
    applied = {
      status: status.value, service: service.value.trim(),
      from: range.value === 'custom' ? localInputToIso(from.value) : '',
      to: range.value === 'custom' ? localInputToIso(to.value) : '',
      since: r && range.value !== 'custom' ? r[2] : 0,
    };
  }

  function query(limit: number, cur?: string): string {
    const a = applied;
    const fromIso = a.since ? new Date(Date.now() - a.since * 1000).toISOString() : a.from;
    return `/query/incidents${qs({ status: a.status, service: a.service, from: fromIso, to: a.to, limit, cursor: cur })}`;
  }

  function showCount(): void {
    count.textContent = `${items.length.toLocaleString('en-US')} incident${items.length === 1 ? '' : 's'}${cursor ? ' loaded · scroll for more' : ''}`;
  }

  async function reload(): Promise<void> {
    const mine = ++epoch;
    cursor = null;
    try {
      const page = await api<IncidentPage>(query(PAGE));
      if (mine !== epoch) return;
      errorBox.textContent = '';
      items = page.incidents;
      cursor = page.next_cursor;
      list.node.scrollTop = 0;
      list.setItems(items);
      showCount();
      live.textContent = `live · updated ${new Date().toISOString().slice(11, 19)} UTC`;
    } catch (e) {
      if (mine === epoch) errorBox.textContent = (e as Error).message;
    }
  }

  async function more(): Promise<void> {
    if (loadingMore || !cursor) return;
    loadingMore = true;
    const mine = epoch;
    try {
      const page = await api<IncidentPage>(query(PAGE, cursor));
      if (mine !== epoch) return;
      const have = new Set(items.map((i) => i.id));
      items = items.concat(page.incidents.filter((i) => !have.has(i.id)));
      cursor = page.next_cursor;
      list.setItems(items);
      showCount();
    } catch (e) {
      errorBox.textContent = (e as Error).message;
    } finally {
      loadingMore = false;
    }
  }

  /* Live: the newest page replaces the part of the list it covers; older loaded rows stay, minus those
   * that moved up. The row at the top of the view stays in place while the user reads further down. */
  async function poll(): Promise<void> {
    if (document.hidden || loadingMore) return;
    const mine = epoch;
    let page: IncidentPage;
    try {
      page = await api<IncidentPage>(query(LIVE_PAGE));
    } catch (e) {
      live.textContent = `live · paused: ${(e as Error).message}`;
      return;
    }
    if (mine !== epoch || loadingMore) return;
    const anchorIndex = Math.floor(list.node.scrollTop / ROW_H);
    const anchor = list.node.scrollTop > ROW_H ? items[anchorIndex] : undefined;
    const m = mergeLive(items, page.incidents, page.next_cursor !== null);
    if (m.complete) cursor = null;
    const now = Date.now();
    for (const id of m.added) fresh.set(id, now);
    const added = m.added.length;
    const merged = m.items;
    for (const [id, t] of fresh) if (now - t > 15000) fresh.delete(id);
    items = merged;
    list.setItems(items);
    if (anchor) {
      const j = items.findIndex((i) => i.id === anchor.id);
      if (j >= 0 && j !== anchorIndex) list.node.scrollTop += (j - anchorIndex) * ROW_H;
    }
    showCount();
    live.textContent = `live · updated ${new Date().toISOString().slice(11, 19)} UTC${added ? ` · ${added} new` : ''}`;
  }

  function filtersChanged(): void {
    clearTimeout(typing);
    apply();
    custom.hidden = range.value !== 'custom';
    const q = new URLSearchParams();
    if (status.value) q.set('status', status.value);
    if (service.value.trim()) q.set('service', service.value.trim());
    if (range.value && range.value !== 'custom') q.set('range', range.value);
    if (range.value === 'custom') {
      if (from.value) q.set('from', from.value);
      if (to.value) q.set('to', to.value);
    }
    replaceQuery('', q);
    void reload();
  }

  status.addEventListener('change', filtersChanged);
  range.addEventListener('change', filtersChanged);
  from.addEventListener('change', filtersChanged);
  to.addEventListener('change', filtersChanged);
  service.addEventListener('input', () => {
    clearTimeout(typing);
    typing = window.setTimeout(filtersChanged, 300);
  });
  clear.addEventListener('click', () => {
    status.value = service.value = range.value = from.value = to.value = '';
    filtersChanged();
  });
  custom.hidden = range.value !== 'custom';
  apply();

  /* service names for the filter's suggestions (best effort) */
  api<{ services: { service: string }[] }>('/query/services')
    .then((s) => services.replaceChildren(...s.services.map((x) => el('option', { value: x.service }))))
    .catch(() => {});

  void reload();
  const timer = window.setInterval(() => void poll(), POLL_MS);
  return () => {
    clearInterval(timer);
    clearTimeout(typing);
    epoch++;
  };
}
