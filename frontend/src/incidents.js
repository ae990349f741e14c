// Incident list: newest first, filters, live refresh, pages fetched with the API's cursor and rendered
// in a virtualised table (only visible rows exist in the DOM), so 10,000 incidents stay fast.
import { api } from './api.js';
import { el, fmtTime } from './dom.js';

const ROW_H = 30;

export function incidentList(root) {
  let items = [];
  let cursor = null;
  let loading = false;
  let timer = null;
  const status = el('select', { id: 'f-status' }, el('option', { value: '' }, 'any status'),
    el('option', { value: 'open' }, 'open'), el('option', { value: 'resolved' }, 'resolved'));
  const service = el('input', { id: 'f-service', placeholder: 'service' });
  const since = el('select', { id: 'f-since' }, el('option', { value: '' }, 'any time'),
    el('option', { value: '3600' }, 'last hour'), el('option', { value: '86400' }, 'last 24 h'),
    el('option', { value: '604800' }, 'last 7 days'));
  const info = el('span', { id: 'count' });
  const head = el('div', { class: 'row-head' });
  const scroller = el('div', { class: 'scroll', id: 'incident-scroll' });
  const spacer = el('div', { style: 'position:relative' });
  scroller.appendChild(spacer);
  root.append(el('div', { class: 'filters' }, status, service, since, el('button', { onclick: () => reload() }, 'Apply'), info),
    head, scroller);

  function query(extra = '') {
    const p = new URLSearchParams({ limit: '200' });
    if (status.value) p.set('status', status.value);
    if (service.value) p.set('service', service.value);
    if (since.value) p.set('from', new Date(Date.now() - Number(since.value) * 1000).toISOString());
    return `/query/incidents?${p}${extra}`;
  }

  function render() {
    spacer.style.height = `${items.length * ROW_H}px`;
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - 5);
    const last = Math.min(items.length, first + Math.ceil(scroller.clientHeight / ROW_H) + 10);
    spacer.replaceChildren();
    for (let i = first; i < last; i++) {
      const it = items[i];
      spacer.appendChild(el('div', {
        class: 'wf-row incident-row', style: `top:${i * ROW_H}px;height:${ROW_H}px;cursor:pointer`,
        'data-id': it.id, onclick: () => { location.hash = `#/incident/${it.id}`; },
      },
      el('span', { style: 'width:60px' }, `#${it.id}`),
      el('span', { class: `badge ${it.status}`, style: 'width:70px' }, it.status),
      el('span', { style: 'width:160px' }, it.root_service || '—'),
      el('span', { style: 'flex:1;overflow:hidden;white-space:nowrap' }, it.title),
      el('span', { style: 'width:70px' }, `${it.trace_count}×`),
      el('span', { style: 'width:170px' }, fmtTime(it.first_seen)),
      el('span', { style: 'width:170px' }, fmtTime(it.last_seen))));
    }
    info.textContent = `${items.length}${cursor ? '+' : ''} incidents`;
  }

  async function more() {
    if (loading || !cursor) return;
    loading = true;
    try {
      const page = await api(query(`&cursor=${encodeURIComponent(cursor)}`));
      items = items.concat(page.incidents);
      cursor = page.next_cursor;
      render();
    } finally { loading = false; }
  }

  async function reload() {
    try {
      const page = await api(query());
      items = page.incidents;
      cursor = page.next_cursor;
      render();
    } catch (e) {
      info.textContent = e.message;
    }
  }

  scroller.addEventListener('scroll', () => {
    render();
    if (scroller.scrollTop + scroller.clientHeight > items.length * ROW_H - 20 * ROW_H) more();
  });
  reload();
  /* live: the newest page is fetched again every 5 s while the list is shown at its top */
  timer = setInterval(() => { if (scroller.scrollTop < ROW_H) reload(); }, 5000);
  return () => clearInterval(timer);
}
