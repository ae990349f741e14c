// Search of stored telemetry (GET /query/signals): logs, spans or metric points, newest first, by
// service, level, trace id, time range and a case-insensitive text match. Every request carries a
// bounded range (from and to; default the last hour): the API refuses a text search without one or
// longer than QUERY_MAX_SEARCH_RANGE_S, and an unbounded scan is what that limit exists to prevent. An
// answer the API refuses shows its own message. Results page with the API's cursor into a virtualised
// list; a click shows the whole record below (a log's severity number and structured body
// pretty-printed, the record's resource grouped); trace ids link to the trace.
import { api, qs, type Resource, type Scope } from './api';
import { append, badge, el } from './dom';
import { bodyText, resourceNode, resourceOf, scopeText } from './otel';
import { fmtDateTime, fmtMs, nsToMs } from './format';
import { replaceQuery, type Cleanup, type Route } from './route';
import { VirtualList } from './virtual';

const ROW_H = 28;
/* The ranges offered: none longer than QUERY_MAX_SEARCH_RANGE_S's default (7 days). A backend set
 * lower refuses the longer ones with a 400 whose message is shown. */
const RANGES: [string, string, number][] = [
  ['15m', 'last 15 minutes', 900], ['1h', 'last hour', 3600], ['6h', 'last 6 hours', 6 * 3600],
  ['24h', 'last 24 hours', 86400], ['7d', 'last 7 days', 7 * 86400],
];
const DEFAULT_RANGE = '1h';

interface Item {
  ts_ns?: string;
  start_ns?: string;
  service: string;
  level?: string;
  message?: string;
  stack_trace?: string | null;
  trace_id?: string | null;
  span_id?: string | null;
  name?: string;
  duration_ms?: number;
  status?: string;
  status_message?: string | null;
  value?: number;
  labels?: unknown;
  severity_number?: number | null;
  body?: unknown;
  event_name?: string | null;
  scope?: Scope | null;
  resource?: string | null;
  unit?: string | null;
}

interface SignalsPage {
  items: Item[];
  next_cursor: string | null;
  resources?: Record<string, Resource>;
}

function traceLink(it: Item): HTMLElement | string {
  if (!it.trace_id) return '';
  const href = `#/trace/${encodeURIComponent(it.trace_id)}${it.span_id ? `?span=${encodeURIComponent(it.span_id)}` : ''}`;
  return el('a', { href, class: 'mono', title: 'open the trace' }, it.trace_id.slice(0, 12));
}

export function searchPage(root: HTMLElement, route: Route): Cleanup {
  const p = route.params;
  const kind = el('select', { id: 's-kind', 'aria-label': 'kind' },
    el('option', { value: 'logs' }, 'logs'), el('option', { value: 'spans' }, 'spans'), el('option', { value: 'metrics' }, 'metric points'));
  kind.value = ['logs', 'spans', 'metrics'].includes(p.get('kind') || '') ? (p.get('kind') as string) : 'logs';
  const text = el('input', { id: 's-q', type: 'search', placeholder: 'text (message, span or metric name)', value: p.get('q') || '', size: 32 });
  const service = el('input', { id: 's-service', placeholder: 'service', value: p.get('service') || '' });
  const trace = el('input', { id: 's-trace', placeholder: 'trace id', value: p.get('trace_id') || '', size: 34 });
  const level = el('select', { id: 's-level', 'aria-label': 'level' },
    el('option', { value: '' }, 'any level'), el('option', { value: 'WARN' }, 'warn and above'), el('option', { value: 'ERROR' }, 'errors'));
  level.value = p.get('level') || '';
  const range = el('select', { id: 's-range', 'aria-label': 'time range' }, RANGES.map(([v, l]) => el('option', { value: v }, l)));
  /* an unknown or unbounded range in the address (links from before "any time" was dropped): the default */
  range.value = RANGES.some(([v]) => v === p.get('range')) ? (p.get('range') as string) : DEFAULT_RANGE;
  const go = el('button', { type: 'submit', class: 'primary', id: 's-go' }, 'Search');
  const count = el('span', { id: 's-count', class: 'muted' });
  const errorBox = el('div', { class: 'error', id: 's-error', role: 'alert' });
  const detail = el('div', { id: 's-detail', class: 'card', hidden: true });
  let items: Item[] = [];
  let resources: Record<string, Resource> = {};
  let cursor: string | null = null;
  let loading = false;
  let epoch = 0;
  let selected = -1;

  const list = new VirtualList<Item>({ rowHeight: ROW_H, id: 'search-results', className: 'search-list', render: renderRow,
    onNearEnd: () => void more(), nearEndRows: 30 });
  const form = el('form', { class: 'filters', id: 's-form' }, kind, text, service, level, trace, range, go, count);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void search();
  });
  kind.addEventListener('change', () => void search());
  root.replaceChildren(el('div', { class: 'page-head' }, el('h2', {}, 'Search telemetry')), form, errorBox,
    el('div', { class: 'table-like' }, list.node), detail);

  function renderRow(it: Item, i: number): HTMLElement {
    const t = nsToMs(it.ts_ns ?? it.start_ns);
    const cells: (HTMLElement | string)[] = [el('span', { class: 's-time mono' }, fmtDateTime(t)), el('span', { class: 's-svc' }, it.service)];
    if (it.message !== undefined) {
      cells.push(el('span', { class: 's-lvl' }, badge((it.level || '?').toUpperCase(),
        /ERR|FATAL/i.test(it.level || '') ? 'lvl-5' : /WARN/i.test(it.level || '') ? 'lvl-4' : 'lvl')),
        el('span', { class: 's-main' }, it.message.split('\n')[0], it.stack_trace ? el('span', { class: 'muted' }, ' [stack]') : null));
    } else if (it.duration_ms !== undefined) {
      cells.push(el('span', { class: 's-lvl' }, badge(it.status || '?', (it.status || '').toLowerCase())), el('span', { class: 's-main' }, it.name || ''),
        el('span', { class: 's-num' }, fmtMs(it.duration_ms)));
    } else {
      cells.push(el('span', { class: 's-main' }, it.name || ''), el('span', { class: 's-num' }, `${it.value}${it.unit ? ` ${it.unit}` : ''}`));
    }
    cells.push(el('span', { class: 's-trace' }, traceLink(it)));
    const row = el('div', { class: `search-row${i === selected ? ' selected' : ''}`, 'data-index': i }, ...cells);
    row.addEventListener('click', (e) => {
      if ((e.target as HTMLElement).closest('a')) return;
      selected = i;
      list.refresh();
      showDetail(it);
    });
    return row;
  }

  function showDetail(it: Item): void {
    const { stack_trace: stack, ...rest } = it;
    const body = bodyText(it);
    const scope = scopeText(it.scope);
    const resource = resourceOf(it, resources);
    detail.hidden = false;
    detail.replaceChildren();
    append(detail, [el('h3', {}, 'Record'),
      typeof it.severity_number === 'number' ? el('p', { id: 's-sevnum' }, `severity number ${it.severity_number}`,
        it.event_name ? ` · event ${it.event_name}` : '') : null,
      scope ? el('p', { class: 'muted' }, `scope ${scope}`) : null,
      body !== null ? el('details', { class: 'log-body', open: true }, el('summary', {}, 'structured body'), el('pre', { id: 's-body' }, body)) : null,
      el('pre', { id: 's-record' }, JSON.stringify(rest, null, 2)),
      stack ? el('details', { class: 'stack', open: true }, el('summary', {}, 'stack trace'), el('pre', {}, stack)) : null,
      resource ? resourceNode(resource, 's-resource') : null,
      it.trace_id ? el('p', {}, 'Trace ', traceLink(it)) : null]);
  }

  /* The range of a search, fixed when it starts so that its pages (cursor) share it. */
  let bounds = { from: '', to: '' };
  function setBounds(): void {
    const r = RANGES.find(([v]) => v === range.value) ?? RANGES.find(([v]) => v === DEFAULT_RANGE)!;
    const now = Date.now(); // one instant for both ends: a 7-day range is exactly QUERY_MAX_SEARCH_RANGE_S
    bounds = { from: new Date(now - r[2] * 1000).toISOString(), to: new Date(now).toISOString() };
  }

  function query(cur?: string | null): string {
    return `/query/signals${qs({
      kind: kind.value, q: text.value.trim(), service: service.value.trim(), trace_id: trace.value.trim(),
      level: kind.value === 'metrics' ? '' : level.value, from: bounds.from, to: bounds.to,
      limit: 200, cursor: cur,
    })}`;
  }

  /* The API's refusal (its message names the parameter); the previous results go, so that nothing on
   * screen looks like the answer to this search. */
  function showError(e: unknown): void {
    errorBox.textContent = (e as Error).message;
    count.textContent = '';
    items = [];
    cursor = null;
    list.setItems(items);
  }

  async function search(): Promise<void> {
    const mine = ++epoch;
    const q = new URLSearchParams();
    q.set('kind', kind.value);
    if (text.value.trim()) q.set('q', text.value.trim());
    if (service.value.trim()) q.set('service', service.value.trim());
    if (trace.value.trim()) q.set('trace_id', trace.value.trim());
    if (level.value) q.set('level', level.value);
    q.set('range', range.value);
    replaceQuery('search', q);
    level.disabled = kind.value === 'metrics';
    count.textContent = 'searching…';
    errorBox.textContent = '';
    detail.hidden = true;
    selected = -1;
    setBounds();
    try {
      const page = await api<SignalsPage>(query());
      if (mine !== epoch) return;
      items = page.items;
      resources = { ...page.resources };
      cursor = page.next_cursor;
      list.node.scrollTop = 0;
      list.setItems(items);
      showCount();
    } catch (e) {
      if (mine === epoch) showError(e);
    }
  }

  async function more(): Promise<void> {
    if (loading || !cursor) return;
    loading = true;
    const mine = epoch;
    try {
      const page = await api<SignalsPage>(query(cursor));
      if (mine !== epoch) return;
      items = items.concat(page.items);
      resources = { ...resources, ...page.resources };
      cursor = page.next_cursor;
      list.setItems(items);
      showCount();
    } catch (e) {
      if (mine === epoch) errorBox.textContent = (e as Error).message;
    } finally {
      loading = false;
    }
  }

  function showCount(): void {
    count.textContent = `${items.length.toLocaleString('en-US')} result${items.length === 1 ? '' : 's'}${cursor ? ' · scroll for more' : ''}`;
  }

  void search();
  return () => {
    epoch++;
  };
}
