// The trace's logs: time, service, level, message (as text), a link to the span, and the stack trace
// folded (first line shown; a click expands it), the OTel severity number and event name when sent, and
// a structured body (a map, a list...) pretty-printed, folded like stack traces. Filters by level, text
// and span. Renders the first LIMIT matching lines and more on demand.
import type { EvidenceLog, LogLine } from './api';
import { serviceColor } from './colors';
import { badge, el } from './dom';
import { fmtClock, nsToMs } from './format';
import { bodyText } from './otel';

const LIMIT = 500;

export class LogView {
  readonly node: HTMLElement;
  private readonly body: HTMLElement;
  private readonly level: HTMLSelectElement;
  private readonly text: HTMLInputElement;
  private readonly spanChip: HTMLElement;
  private spanFilter: string | null = null;
  private shown = LIMIT;
  private rows = new Map<number, HTMLElement>();

  constructor(
    private readonly logs: LogLine[],
    private readonly onSpan: (spanId: string) => boolean,
  ) {
    this.level = el('select', { id: 'log-level', 'aria-label': 'level' },
      el('option', { value: '0' }, 'all levels'), el('option', { value: '4' }, 'warn and above'),
      el('option', { value: '5' }, 'errors only'));
    this.text = el('input', { id: 'log-text', placeholder: 'filter text', type: 'search' });
    this.spanChip = el('span', { class: 'chip', hidden: true });
    this.body = el('div', { class: 'log-lines', id: 'log-lines' });
    this.level.addEventListener('change', () => this.render());
    let t = 0;
    this.text.addEventListener('input', () => {
      clearTimeout(t);
      t = window.setTimeout(() => this.render(), 150);
    });
    this.node = el('div', {}, el('div', { class: 'log-toolbar' }, this.level, this.text, this.spanChip,
      el('span', { class: 'muted' }, `${logs.length} log line${logs.length === 1 ? '' : 's'} in this trace`)), this.body);
    this.render();
  }

  filterSpan(spanId: string | null): void {
    this.spanFilter = spanId;
    this.render();
    this.node.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }

  /* Finds the line an evidence entry names (same time, service and message; else the n-th line in
   * the analyser's order), shows it with its stack trace open and highlights it. */
  focus(ev: EvidenceLog | undefined, citeIndex: number): boolean {
    const i = findLog(this.logs, ev, citeIndex);
    if (i < 0) return false;
    this.level.value = '0';
    this.text.value = '';
    this.spanFilter = null;
    this.shown = Math.max(this.shown, i + 1);
    this.render();
    const row = this.rows.get(i);
    if (!row) return false;
    for (const r of this.body.querySelectorAll('.log-row.flash')) r.classList.remove('flash');
    row.classList.add('flash', 'cited');
    const d = row.querySelector('details');
    if (d) d.open = true;
    row.scrollIntoView({ block: 'center' });
    return true;
  }

  private matches(l: LogLine): boolean {
    const min = Number(this.level.value);
    if (min && (l.severity ?? severityOf(l.level)) < min) return false;
    if (this.spanFilter && l.span_id !== this.spanFilter) return false;
    const q = this.text.value.trim().toLowerCase();
    return !q || l.message.toLowerCase().includes(q) || (l.stack_trace || '').toLowerCase().includes(q) ||
      l.service.toLowerCase().includes(q);
  }

  private render(): void {
    this.rows.clear();
    this.spanChip.hidden = !this.spanFilter;
    if (this.spanFilter) {
      const x = el('button', { type: 'button', class: 'small', title: 'show all spans' }, '×');
      x.addEventListener('click', () => this.filterSpan(null));
      this.spanChip.replaceChildren(`span ${this.spanFilter} `, x);
    }
    const frag = document.createDocumentFragment();
    let matched = 0;
    for (let i = 0; i < this.logs.length; i++) {
      const l = this.logs[i];
      if (!this.matches(l)) continue;
      matched++;
      if (matched > this.shown) continue;
      const row = this.renderLine(l, i);
      this.rows.set(i, row);
      frag.appendChild(row);
    }
    if (matched > this.shown) {
      const more = el('button', { type: 'button', id: 'log-more' }, `Show all ${matched} lines`);
      more.addEventListener('click', () => {
        this.shown = matched;
        this.render();
      });
      frag.appendChild(more);
    }
    if (!matched) frag.appendChild(el('p', { class: 'muted' }, this.logs.length ? 'No line matches the filters.' : 'This trace has no logs.'));
    this.body.replaceChildren(frag);
  }

  private renderLine(l: LogLine, i: number): HTMLElement {
    const lvl = (l.level || '').toUpperCase();
    const sev = l.severity ?? severityOf(lvl);
    let span: HTMLElement | null = null;
    if (l.span_id) {
      const id = l.span_id;
      span = el('a', { href: '#', class: 'span-link mono', title: 'show the span in the waterfall' }, id.slice(0, 8));
      span.addEventListener('click', (e) => {
        e.preventDefault();
        this.onSpan(id);
      });
    }
    let stack: HTMLElement | null = null;
    if (l.stack_trace) {
      const lines = l.stack_trace.split('\n');
      stack = el('details', { class: 'stack' },
        el('summary', {}, `stack trace: ${lines[0].slice(0, 160)}${lines.length > 1 ? ` (+${lines.length - 1} lines)` : ''}`),
        el('pre', {}, l.stack_trace));
    }
    const bodyJson = bodyText(l);
    const body = bodyJson === null ? null : el('details', { class: 'log-body' },
      el('summary', {}, `structured body (${Array.isArray(l.body) ? 'list' : typeof l.body === 'object' ? 'map' : typeof l.body})`),
      el('pre', {}, bodyJson));
    const sevNum = typeof l.severity_number === 'number' && l.severity_number > 0
      ? el('span', { class: 'log-sevnum muted', title: 'OpenTelemetry severity number (1–24)' }, `sev ${l.severity_number}`) : null;
    return el('div', { class: `log-row sev-${sev}`, 'data-index': i, 'data-span': l.span_id || '' },
      el('span', { class: 'log-ts mono' }, fmtClock(nsToMs(l.ts_ns), true)),
      el('span', { class: 'log-svc', style: `border-color:${serviceColor(l.service)}` }, l.service),
      badge(lvl || '?', `lvl-${sev}`), sevNum,
      el('span', { class: 'log-msg' }, l.event_name ? el('span', { class: 'chip log-event' }, l.event_name) : null,
        l.message, span ? ' ' : null, span, stack, body));
  }
}

function severityOf(level: string): number {
  const l = (level || '').toUpperCase();
  if (l.startsWith('FATAL') || l.startsWith('CRIT')) return 6;
  if (l.startsWith('ERR')) return 5;
  if (l.startsWith('WARN')) return 4;
  if (l.startsWith('INFO')) return 3;
  if (l.startsWith('DEBUG')) return 2;
  return 1;
}

/* The analyser numbers the trace's logs ("log:<n>") in order of time, service, message, span id. */
export function analyserOrder(logs: LogLine[]): number[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return logs.map((_, i) => i).sort((a, b) => {
    const x = logs[a], y = logs[b];
    let ta: bigint, tb: bigint;
    try {
      ta = BigInt(x.ts_ns);
      tb = BigInt(y.ts_ns);
    } catch {
      ta = tb = 0n;
    }
    if (ta !== tb) return ta < tb ? -1 : 1;
    return cmp(x.service, y.service) || cmp(x.message, y.message) || cmp(x.span_id || '', y.span_id || '');
  });
}

/* The index in `logs` of the line an evidence entry names: same time within a microsecond (the
 * evidence's ts_ns is a JSON number past 2^53, parsed with ~256 ns of error) and service; among
 * several, the same message, else one the (possibly cut) message begins; without a match, the
 * citeIndex-th line in the analyser's order. -1 when none. */
export function findLog(logs: LogLine[], ev: EvidenceLog | undefined, citeIndex: number): number {
  if (ev) {
    const ts = ev.ts_ns !== undefined && ev.ts_ns !== null && ev.ts_ns !== '' ? Number(ev.ts_ns) : NaN;
    const msg = ev.message || '';
    const same: number[] = [];
    logs.forEach((l, k) => {
      const near = Number.isFinite(ts) ? Math.abs(Number(l.ts_ns) - ts) < 1000 : l.message === msg;
      if (near && (!ev.service || l.service === ev.service)) same.push(k);
    });
    const i = same.find((k) => logs[k].message === msg) ?? same.find((k) => msg !== '' && logs[k].message.startsWith(msg)) ??
      (same.length ? same[0] : -1);
    if (i >= 0) return i;
  }
  if (!Number.isInteger(citeIndex) || citeIndex < 0) return -1;
  return analyserOrder(logs)[citeIndex] ?? -1;
}
