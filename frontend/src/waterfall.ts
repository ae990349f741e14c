// The trace waterfall: spans in tree order (children by start time) with bars on the trace's time
// axis, virtualised (a 5,000-span trace keeps ~60 rows in the DOM). The root-cause span and the
// propagation path (root cause up to the entry span) are highlighted; "jump to error" scrolls to the
// root cause (or the first failing span). A click on a row shows the span's details: its fields, its
// resource grouped, scope, attributes, events, links (to the linked trace when it is stored) and what
// the sender dropped.
import type { Resource, Span } from './api';
import { serviceColor } from './colors';
import { append, badge, el } from './dom';
import { fmtClock, fmtMs, nsToMs } from './format';
import { droppedText, eventsNode, linksNode, resourceNode, resourceOf, scopeText } from './otel';
import { VirtualList } from './virtual';

const ROW_H = 24;
const MAX_INDENT = 30;

export interface WfRow {
  s: Span;
  depth: number;
  start: number; /* ns since the trace's first span, as a double (exact enough for drawing) */
  end: number;
  children: number;
  parent: number; /* index of the parent row in tree order, -1 for a root */
}

function rel(ns: string, t0: bigint): number {
  try {
    return Number(BigInt(ns) - t0);
  } catch {
    return 0;
  }
}

/* Orders spans depth-first, children by start time; spans whose parent is missing become roots;
 * a cycle in bad data cannot loop (each span is placed once). */
export function treeRows(spans: Span[]): { rows: WfRow[]; t0: bigint; total: number } {
  if (!spans.length) return { rows: [], t0: 0n, total: 1 };
  let t0: bigint | null = null;
  for (const s of spans) {
    try {
      const v = BigInt(s.start_ns);
      if (t0 === null || v < t0) t0 = v;
    } catch {
      /* a span with a broken time is drawn at the start */
    }
  }
  const base = t0 ?? 0n;
  const ids = new Set(spans.map((s) => s.span_id));
  const kids = new Map<string | null, WfRow[]>();
  let total = 1;
  for (const s of spans) {
    const start = rel(s.start_ns, base), end = Math.max(start, rel(s.end_ns, base));
    total = Math.max(total, end);
    const parent = s.parent_span_id && ids.has(s.parent_span_id) && s.parent_span_id !== s.span_id ? s.parent_span_id : null;
    const row: WfRow = { s, depth: 0, start, end, children: 0, parent: -1 };
    const list = kids.get(parent);
    if (list) list.push(row);
    else kids.set(parent, [row]);
  }
  for (const list of kids.values()) list.sort((a, b) => a.start - b.start || (a.s.span_id < b.s.span_id ? -1 : 1));
  const rows: WfRow[] = [];
  const placed = new Set<string>();
  const visit = (roots: WfRow[]) => {
    const stack: WfRow[] = roots.slice().reverse();
    while (stack.length) {
      const r = stack.pop() as WfRow;
      if (placed.has(r.s.span_id)) continue;
      placed.add(r.s.span_id);
      rows.push(r);
      const ch = (kids.get(r.s.span_id) || []).filter((c) => !placed.has(c.s.span_id));
      r.children = ch.length;
      for (let i = ch.length - 1; i >= 0; i--) {
        ch[i].depth = r.depth + 1;
        ch[i].parent = rows.length - 1;
        stack.push(ch[i]);
      }
    }
  };
  visit(kids.get(null) || []);
  /* spans only reachable through a cycle: each cycle is entered at one of its spans, made a root */
  for (const [p, list] of kids) {
    if (p === null || placed.has(p)) continue;
    const rest = list.filter((r) => !placed.has(r.s.span_id));
    for (const r of rest) r.depth = 0, r.parent = -1;
    visit(rest);
  }
  return { rows, t0: base, total };
}

/* The trace answer's parts the span details need besides the spans. */
export interface TraceContext {
  resources?: Record<string, Resource>;
  linkedTraces?: string[]; /* linked trace ids that are stored */
}

export class Waterfall {
  readonly node: HTMLElement;
  readonly rows: WfRow[]; /* every span, tree order */
  private shown: WfRow[] = []; /* the rows drawn: collapsed subtrees and filtered rows left out */
  private readonly index = new Map<string, number>(); /* span id -> index in rows */
  private readonly collapsed = new Set<string>();
  private errorsOnly = false;
  private readonly keep = new Set<string>(); /* failing spans, the path, and their ancestors */
  private readonly count: HTMLElement;
  private readonly errorsBox: HTMLInputElement;
  private readonly list: VirtualList<WfRow>;
  private readonly detail: HTMLElement;
  private selected: string | null = null;
  private flash: string | null = null;
  private readonly total: number;
  private readonly t0ms: number;
  private readonly stored: Set<string>;

  constructor(
    spans: Span[],
    private readonly rootId: string | null,
    private readonly path: Set<string>,
    private readonly onSpanLogs: (spanId: string) => void,
    private readonly ctx: TraceContext = {},
  ) {
    this.stored = new Set(ctx.linkedTraces || []);
    const t = treeRows(spans);
    this.rows = t.rows;
    this.total = t.total;
    this.t0ms = nsToMs(t.t0.toString());
    this.rows.forEach((r, i) => this.index.set(r.s.span_id, i));
    this.list = new VirtualList<WfRow>({ rowHeight: ROW_H, id: 'waterfall', className: 'waterfall', render: (r, i) => this.renderRow(r, i) });
    this.detail = el('div', { id: 'span-detail', class: 'span-detail muted' }, 'Click a span to see its attributes and events.');
    const errors = this.rows.filter((r) => r.s.status === 'ERROR').length;
    for (const r of this.rows) {
      if (r.s.status !== 'ERROR' && !this.path.has(r.s.span_id) && r.s.span_id !== rootId) continue;
      for (let k = this.index.get(r.s.span_id) ?? -1; k >= 0 && !this.keep.has(this.rows[k].s.span_id); k = this.rows[k].parent)
        this.keep.add(this.rows[k].s.span_id);
    }
    const target = this.errorTarget();
    const jump = el('button', { id: 'jump', type: 'button', disabled: target === null }, 'Jump to error');
    jump.addEventListener('click', () => this.jumpToError());
    this.errorsBox = el('input', { type: 'checkbox', id: 'wf-errors-only', disabled: this.keep.size === 0 });
    this.errorsBox.addEventListener('change', () => {
      this.errorsOnly = this.errorsBox.checked;
      this.recompute();
    });
    const expand = el('button', { type: 'button', id: 'wf-expand', class: 'small' }, 'Expand all');
    expand.addEventListener('click', () => {
      this.collapsed.clear();
      this.recompute();
    });
    this.count = el('span', { class: 'muted', id: 'wf-count' });
    this.node = el('div', { class: 'wf' },
      el('div', { class: 'wf-toolbar' }, jump,
        el('span', { class: 'muted' }, `${this.rows.length.toLocaleString('en-US')} spans · ${errors} failed · ${fmtMs(this.total / 1e6)}`),
        el('label', { class: 'small' }, this.errorsBox, ' only failing spans, the path and their callers'), expand, this.count,
        el('span', { class: 'legend' }, el('i', { class: 'lg lg-root' }), 'root cause', el('i', { class: 'lg lg-path' }), 'propagation path',
          el('i', { class: 'lg lg-err' }), 'error')),
      this.ruler(), this.list.node, this.detail);
    /* short traces get a short box; long ones scroll inside 420 px */
    this.list.node.style.height = `${Math.min(420, Math.max(3, this.rows.length) * ROW_H + 2)}px`;
    this.recompute();
  }

  /* The rows to draw: tree order minus the descendants of collapsed spans and, with "only failing",
   * minus the spans that neither failed, nor are on the path, nor call one that did. */
  private recompute(): void {
    const out: WfRow[] = [];
    let cut = -1; /* depth of a collapsed row whose subtree is being skipped */
    for (const r of this.rows) {
      if (cut >= 0 && r.depth > cut) continue;
      cut = -1;
      if (this.errorsOnly && !this.keep.has(r.s.span_id)) continue;
      out.push(r);
      if (r.children && this.collapsed.has(r.s.span_id)) cut = r.depth;
    }
    this.shown = out;
    this.count.textContent = out.length === this.rows.length ? '' : `showing ${out.length.toLocaleString('en-US')}`;
    this.list.setItems(out);
  }

  private toggle(spanId: string): void {
    if (this.collapsed.has(spanId)) this.collapsed.delete(spanId);
    else this.collapsed.add(spanId);
    this.recompute();
  }

  /* Makes the span drawable: expands its collapsed callers, drops the filter if it hides it. */
  private reveal(spanId: string): void {
    let changed = false;
    for (let k = this.index.get(spanId) ?? -1; k >= 0; k = this.rows[k].parent) {
      if (k !== this.index.get(spanId) && this.collapsed.delete(this.rows[k].s.span_id)) changed = true;
    }
    if (this.errorsOnly && !this.keep.has(spanId)) {
      this.errorsOnly = this.errorsBox.checked = false;
      changed = true;
    }
    if (changed) this.recompute();
  }

  has(spanId: string): boolean {
    return this.index.has(spanId);
  }

  /* The root-cause span if the trace has it, else the first failing span; null if none. */
  errorTarget(): string | null {
    if (this.rootId && this.index.has(this.rootId)) return this.rootId;
    const e = this.rows.find((r) => r.s.status === 'ERROR');
    return e ? e.s.span_id : null;
  }

  jumpToError(): void {
    const t = this.errorTarget();
    if (t) this.focus(t);
  }

  /* Scrolls the row of `spanId` into the middle of the view, selects and flashes it. */
  focus(spanId: string): boolean {
    if (!this.index.has(spanId)) return false;
    this.reveal(spanId);
    const i = this.shown.findIndex((r) => r.s.span_id === spanId);
    if (i < 0) return false;
    this.select(spanId);
    this.flash = spanId;
    this.node.scrollIntoView({ block: 'nearest' });
    this.list.scrollToIndex(i);
    window.setTimeout(() => {
      if (this.flash === spanId) {
        this.flash = null;
        this.list.refresh();
      }
    }, 2500);
    return true;
  }

  private select(spanId: string): void {
    this.selected = spanId;
    this.list.refresh();
    const i = this.index.get(spanId);
    if (i !== undefined) this.showDetail(this.rows[i]);
  }

  private ruler(): HTMLElement {
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) =>
      el('span', { class: 'tick', style: `left:${f * 100}%` }, fmtMs((f * this.total) / 1e6)));
    return el('div', { class: 'wf-row wf-ruler' }, el('span', { class: 'wf-label' }, 'service · operation'),
      el('span', { class: 'wf-bars' }, ticks), el('span', { class: 'wf-dur' }, 'duration'));
  }

  private renderRow(r: WfRow, i: number): HTMLElement {
    const s = r.s;
    const cls = ['wf-row'];
    if (s.span_id === this.rootId) cls.push('root-cause');
    else if (this.path.has(s.span_id)) cls.push('on-path');
    if (s.status === 'ERROR') cls.push('error');
    if (s.span_id === this.selected) cls.push('selected');
    if (s.span_id === this.flash) cls.push('flash');
    const left = (r.start / this.total) * 100;
    const width = Math.max(0.2, ((r.end - r.start) / this.total) * 100);
    const row = el('div', { class: cls.join(' '), 'data-span': s.span_id, 'data-index': i, title: `${s.service} · ${s.name}` },
      el('span', { class: 'wf-label', style: `padding-left:${4 + Math.min(r.depth, MAX_INDENT) * 12}px` },
        this.caret(r),
        el('i', { class: 'svc-dot', style: `background:${serviceColor(s.service)}` }),
        el('span', { class: 'wf-svc' }, s.service), ' ', el('span', { class: 'wf-name' }, s.name)),
      el('span', { class: 'wf-bars' },
        el('span', { class: 'wf-bar', style: `left:${left}%;width:${width}%;background:${s.status === 'ERROR' ? '' : serviceColor(s.service)}` })),
      el('span', { class: 'wf-dur' }, fmtMs(Number(s.duration_ms))));
    row.addEventListener('click', () => this.select(s.span_id));
    return row;
  }

  /* ▾/▸ before a span with children: a click folds or unfolds its subtree. */
  private caret(r: WfRow): HTMLElement {
    if (!r.children) return el('span', { class: 'wf-caret' });
    const open = !this.collapsed.has(r.s.span_id);
    const c = el('span', { class: 'wf-caret on', role: 'button', title: `${open ? 'fold' : 'unfold'} ${r.children} child span${r.children > 1 ? 's' : ''}`,
      'aria-expanded': open ? 'true' : 'false' }, open ? '▾' : '▸');
    c.addEventListener('click', (e) => {
      e.stopPropagation();
      this.toggle(r.s.span_id);
    });
    return c;
  }

  private showDetail(r: WfRow): void {
    const s = r.s;
    const json = (v: unknown) => (v === undefined || v === null ? '' : JSON.stringify(v, null, 2));
    /* the resource once stored in the attributes is shown as the resource, not twice */
    const own = s.attributes && typeof s.attributes === 'object' && !Array.isArray(s.attributes) && !s.resource
      ? Object.fromEntries(Object.entries(s.attributes as Record<string, unknown>).filter(([k]) => k !== 'resource')) : s.attributes;
    const attrs = json(own);
    const resource = resourceOf(s, this.ctx.resources);
    const scope = scopeText(s.scope);
    const dropped = droppedText([['attribute', s.dropped_attributes_count], ['event', s.dropped_events_count],
      ['link', s.dropped_links_count]]);
    const logsBtn = el('button', { type: 'button', class: 'small' }, 'Show this span\'s logs');
    logsBtn.addEventListener('click', () => this.onSpanLogs(s.span_id));
    this.detail.className = 'span-detail';
    this.detail.replaceChildren();
    append(this.detail, [
      el('div', { class: 'detail-head' },
        el('b', {}, `${s.service} · ${s.name}`), ' ', badge(s.status, s.status.toLowerCase()),
        s.span_id === this.rootId ? badge('root cause', 'root') : this.path.has(s.span_id) ? badge('on the propagation path', 'path') : null),
      el('dl', {},
        el('dt', {}, 'span'), el('dd', { class: 'mono' }, s.span_id),
        el('dt', {}, 'parent'), el('dd', { class: 'mono' }, s.parent_span_id || '—'),
        el('dt', {}, 'kind'), el('dd', {}, s.kind || '—'),
        el('dt', {}, 'start'), el('dd', {}, `${fmtClock(this.t0ms + r.start / 1e6, true)} UTC (+${fmtMs(r.start / 1e6)})`),
        el('dt', {}, 'duration'), el('dd', {}, fmtMs(Number(s.duration_ms))),
        s.status_message ? [el('dt', {}, 'status message'), el('dd', { class: 'mono' }, s.status_message)] : null,
        scope ? [el('dt', {}, 'scope'), el('dd', { class: 'mono', id: 'span-scope' }, scope)] : null,
        s.trace_state ? [el('dt', {}, 'trace state'), el('dd', { class: 'mono' }, s.trace_state)] : null,
        s.flags !== undefined && s.flags !== null ? [el('dt', {}, 'flags'), el('dd', { class: 'mono' }, `0x${s.flags.toString(16).padStart(2, '0')}`)] : null,
        dropped ? [el('dt', {}, 'dropped'), el('dd', { id: 'span-dropped' }, dropped)] : null),
      resource ? resourceNode(resource) : null,
      attrs && attrs !== '{}' ? el('details', { open: true }, el('summary', {}, 'attributes'), el('pre', {}, attrs)) : null,
      eventsNode(s.events, s.start_ns),
      linksNode(s, this.stored),
      logsBtn]);
  }
}
