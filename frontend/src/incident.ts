// Incident page: the RCA report (cited spans and logs are links that scroll to and highlight them),
// suspects, the feedback control (the dashboard's only write), the trace waterfall, the trace's logs,
// and metric charts of the affected services. The incident is polled: a new report version is offered.
import {
  api, qs, type Analysis, type AnalysisAnswer, type Anomaly, type ChangeEvent, type Evidence, type IncidentDetail,
  type Frame, type MetricHint, type MetricPoint, type Report, type Suspect, type Trace, type WindowRanking,
} from './api';
import { lineChart, type Mark } from './charts';
import { badge, card, el, routeLink, type Child } from './dom';
import { fmtAgo, fmtDateTime, fmtMs, fmtNum, fmtPct, fmtSeconds, isoToMs, nsToMs } from './format';
import { LogView } from './logs';
import type { Cleanup, Route } from './route';
import { Waterfall } from './waterfall';
import { evidenceMetrics } from './evidence_metrics';

const POLL_MS = 10000;
const DEFAULT_METRICS = ['error_rate', 'p95_latency_ms', 'requests_per_s'];

interface Focusable {
  wf: Waterfall | null;
  logs: LogView | null;
  evidence: Evidence;
}

export async function incidentPage(root: HTMLElement, id: string, route: Route): Promise<Cleanup> {
  const enc = encodeURIComponent(id);
  const [detail, analysis, suspects] = await Promise.all([
    api<IncidentDetail>(`/query/incidents/${enc}`),
    api<AnalysisAnswer>(`/query/incidents/${enc}/analysis`).catch(() => null),
    api<{ suspects: Suspect[]; note?: string }>(`/query/incidents/${enc}/suspects`).catch(() => null),
  ]);
  const inc = detail.incident;
  const latest: Analysis | null = analysis?.latest ?? null;
  const evidence: Evidence = latest?.evidence ?? {};
  const report: Report = latest?.report ?? {};
  const ctx: Focusable = { wf: null, logs: null, evidence };
  let pendingFocus: string | null = route.params.get('focus');

  const focus = (cid: string, link?: HTMLElement): void => {
    if (!ctx.wf && !ctx.logs) {
      pendingFocus = cid;
      return;
    }
    let ok = false;
    if (cid.startsWith('span:')) ok = !!ctx.wf && ctx.wf.focus(cid.slice(5));
    else if (cid.startsWith('log:')) {
      const ev = (evidence.logs || []).find((l) => l.id === cid);
      ok = !!ctx.logs && ctx.logs.focus(ev, Number(cid.slice(4)));
    }
    if (link && !ok) {
      link.classList.add('missing');
      link.title = 'not found in the loaded trace';
    }
  };
  const cite = (cid: string): HTMLElement => {
    const a = el('a', { class: 'cite mono', 'data-cite': cid, href: `#/incident/${enc}?focus=${encodeURIComponent(cid)}` }, cid);
    a.addEventListener('click', (e) => {
      e.preventDefault();
      focus(cid, a);
    });
    return a;
  };

  const rcSpan = report.root_cause?.span_id || evidence.root_cause?.span_id || null;
  const pathIds = new Set((evidence.propagation_path || []).map((p) => p.span_id).filter(Boolean));
  /* a window report of an endpoint without any trace carries "window:<incident>" instead of a trace id */
  const traceIds = Array.from(new Set([latest?.trace_id, inc.sample_trace_id, ...(detail.traces || [])]
    .filter((t): t is string => !!t && !t.startsWith('window:'))));
  const banner = el('div', { id: 'new-version', class: 'banner', hidden: true });
  let head = header(inc);
  const traceCard = card('trace', 'Trace waterfall', el('p', { class: 'muted' }, traceIds.length ? 'Loading the trace…' : 'This incident has no trace.'));
  const logsCard = card('logs', 'Logs of the trace', el('p', { class: 'muted' }, traceIds.length ? 'Loading…' : 'No trace, no logs.'));
  const metricsCard = card('metrics', 'Metrics of the affected services', evidenceMetrics(evidence) ?? metricHints(evidence), el('div', { class: 'charts', id: 'charts' }));

  const cards: HTMLElement[] = [
    el('p', { class: 'crumbs' }, routeLink([''], '← Incidents')), head, banner,
    el('div', { class: 'grid-2' }, timelineCard(detail as Lifecycle), relatedCard(detail as Lifecycle)),
    el('div', { class: 'grid-2' },
      reportCard(inc.report_state, latest, report, evidence, cite, analysis?.versions || []),
      el('div', {}, suspectsCard(suspects, inc.first_seen), feedbackCard(enc, inc, report, suspects?.suspects || [])))];
  if (evidence.window_ranking) cards.push(rankingCard(evidence.window_ranking));
  root.replaceChildren(...cards, traceCard, logsCard, metricsCard);

  let alive = true;
  const loadTrace = async (traceId: string): Promise<void> => {
    let trace: Trace | null = null;
    let why = '';
    try {
      trace = await api<Trace>(`/query/traces/${encodeURIComponent(traceId)}`);
    } catch (e) {
      why = (e as Error).message;
    }
    if (!alive) return;
    const picker = traceIds.length > 1 ? tracePicker(traceIds, traceId, (t) => void loadTrace(t)) : null;
    const title = el('p', { class: 'muted' }, 'Trace ', el('a', { class: 'mono', id: 'trace-id', href: `#/trace/${encodeURIComponent(traceId)}` }, traceId),
      traceId === latest?.trace_id ? ' (the analysed trace)' : '', picker ? [' · ', picker] : null);
    if (!trace) {
      ctx.wf = ctx.logs = null;
      traceCard.replaceChildren(el('h3', {}, 'Trace waterfall'), title,
        el('p', { class: 'muted' }, `The trace could not be loaded (${why}): its telemetry may be past retention.`));
      logsCard.replaceChildren(el('h3', {}, 'Logs of the trace'), el('p', { class: 'muted' }, 'No logs.'));
      return;
    }
    ctx.logs = new LogView(trace.logs || [], (spanId) => (ctx.wf ? ctx.wf.focus(spanId) : false));
    ctx.wf = new Waterfall(trace.spans || [], traceId === latest?.trace_id || !latest ? rcSpan : null,
      traceId === latest?.trace_id ? pathIds : new Set(), (spanId) => ctx.logs?.filterSpan(spanId),
      { resources: trace.resources, linkedTraces: trace.linked_traces });
    traceCard.replaceChildren(el('h3', {}, 'Trace waterfall'), title, ctx.wf.node);
    logsCard.replaceChildren(el('h3', {}, 'Logs of the trace'), ctx.logs.node);
    if (pendingFocus) {
      const f = pendingFocus;
      pendingFocus = null;
      requestAnimationFrame(() => focus(f));
    }
  };
  if (traceIds.length) void loadTrace(traceIds[0]);
  void loadCharts(metricsCard.querySelector('#charts') as HTMLElement, inc, suspects?.suspects || evidence.suspects || []);

  /* live: counts and status follow the incident; a newer analysis is offered, not swapped in under
   * the reader's eyes */
  const timer = window.setInterval(async () => {
    if (document.hidden) return;
    try {
      const d = await api<IncidentDetail>(`/query/incidents/${enc}`);
      if (!alive) return;
      const fresh = header(d.incident);
      head.replaceWith(fresh);
      head = fresh;
      const newId = d.latest_analysis?.id;
      if (newId && newId !== latest?.id && banner.hidden) {
        const show = el('button', { type: 'button', id: 'show-new' }, 'Show it');
        show.addEventListener('click', () => window.dispatchEvent(new HashChangeEvent('hashchange')));
        banner.replaceChildren(`A new report (version ${d.latest_analysis?.version}) is available. `, show);
        banner.hidden = false;
      }
    } catch {
      /* transient: the next poll tries again */
    }
  }, POLL_MS);
  return () => {
    alive = false;
    clearInterval(timer);
  };
}

/* ---------------- lifecycle (issue 15): timeline and related incidents ---------------- */

interface IncidentEvent { kind: string; at: string; detail: string }
interface RelatedIncident {
  id: number; title: string; kind?: string; status?: string; root_service?: string | null;
  created_at?: string; group_reason?: string | null;
}
interface Lifecycle {
  events?: IncidentEvent[];
  parent?: RelatedIncident | null;
  related?: RelatedIncident[];
  previous?: { id: number; title: string; last_activity_at: string; resolved_at: string | null } | null;
}

function timelineCard(d: Lifecycle): HTMLElement {
  const events = d.events || [];
  if (!events.length) return card('timeline', 'Timeline', el('p', { class: 'muted' }, 'No transition recorded yet.'));
  return card('timeline', 'Timeline', el('ol', { class: 'timeline' }, ...events.map((e) =>
    el('li', { class: `ev ev-${e.kind}`, 'data-kind': e.kind },
      el('span', { class: 'c-time' }, `${fmtDateTime(isoToMs(e.at))} UTC`), ' ', badge(e.kind, 'kind'),
      e.detail ? el('span', { class: 'ev-detail' }, ` ${e.detail}`) : null))));
}

function relatedCard(d: Lifecycle): HTMLElement {
  const link = (r: RelatedIncident, extra?: string | null): HTMLElement =>
    el('li', { class: 'related', 'data-id': r.id }, routeLink(['incident', r.id], `#${r.id} ${r.title}`),
      r.status ? [' ', badge(r.status)] : null, extra ? el('span', { class: 'muted' }, ` · ${extra}`) : null);
  const items: HTMLElement[] = [];
  if (d.parent) items.push(el('p', { id: 'parent-incident' }, 'Grouped under ', routeLink(['incident', d.parent.id], `#${d.parent.id} ${d.parent.title}`)));
  if (d.previous) items.push(el('p', { id: 'previous-incident' }, 'Recurs ', routeLink(['incident', d.previous.id], `#${d.previous.id}`),
    `, last seen ${fmtDateTime(isoToMs(d.previous.last_activity_at))} UTC`));
  const related = d.related || [];
  if (related.length) items.push(el('ul', { id: 'related-incidents' }, ...related.map((r) => link(r, r.group_reason))));
  if (!items.length) items.push(el('p', { class: 'muted' }, 'No related incident.'));
  return card('related', 'Related incidents', ...items);
}

/* ---------------- header ---------------- */

function header(inc: IncidentDetail['incident']): HTMLElement {
  const first = isoToMs(inc.first_seen), last = isoToMs(inc.last_seen);
  const node = el('section', { class: 'incident-head', id: 'incident-head' },
    el('h2', {}, `#${inc.id} `, el('span', { id: 'incident-title' }, inc.title)),
    el('div', { class: 'badges' }, badge(inc.status), badge(inc.kind || 'error', 'kind'), badge(`report ${inc.report_state || 'pending'}`, inc.report_state || 'pending')),
    el('dl', { class: 'meta' },
      el('dt', {}, 'root cause'), el('dd', {}, `${inc.root_service || '—'}${inc.root_operation ? ` / ${inc.root_operation}` : ''}`),
      inc.exception_type ? [el('dt', {}, 'exception'), el('dd', { class: 'mono' }, inc.exception_type)] : null,
      el('dt', {}, 'traces'), el('dd', { id: 'trace-count' }, String(inc.trace_count)),
      el('dt', {}, 'first seen'), el('dd', {}, `${fmtDateTime(first)} UTC`),
      el('dt', {}, 'last seen'), el('dd', { id: 'last-seen' }, `${fmtDateTime(last)} UTC (${fmtAgo(last)})`),
      el('dt', {}, 'services'), el('dd', {}, (inc.services || []).join(', ') || '—'),
      (inc.endpoints || []).length ? [el('dt', {}, 'endpoints'), el('dd', {}, (inc.endpoints || []).join(', '))] : null));
  return node;
}

function tracePicker(ids: string[], current: string, onPick: (t: string) => void): HTMLSelectElement {
  const sel = el('select', { id: 'trace-select', 'aria-label': 'trace' }, ids.map((t) => el('option', { value: t }, t)));
  sel.value = current;
  sel.addEventListener('change', () => onPick(sel.value));
  return sel;
}

/* ---------------- report ---------------- */

export function frameText(f: Frame | undefined): string {
  if (!f) return '';
  if (typeof f === 'string') return f;
  const where = [f.file, f.line].filter((v) => v !== undefined && v !== null && v !== '').join(':');
  return `${f.function || '?'}${where ? ` (${where})` : ''}`;
}

function exceptionText(x: unknown): string {
  if (!x) return '';
  if (typeof x === 'string') return x;
  const o = x as { type?: string; message?: string };
  return [o.type, o.message].filter(Boolean).join(': ');
}

function meter(v: number | undefined | null, id?: string): HTMLElement {
  const ok = typeof v === 'number' && Number.isFinite(v);
  const pct = ok ? Math.max(0, Math.min(1, v as number)) : 0;
  return el('span', { class: 'meter', id, title: ok ? fmtPct(pct, 0) : 'unknown' },
    el('span', { class: 'meter-fill', style: `width:${pct * 100}%` }), el('span', { class: 'meter-text' }, ok ? fmtPct(pct, 0) : '—'));
}

function reportCard(state: string | undefined, a: Analysis | null, r: Report, ev: Evidence, cite: (c: string) => HTMLElement,
  versions: Analysis[]): HTMLElement {
  if (!a) {
    return card('report', 'Root-cause report', el('p', { class: 'muted', id: 'no-report' },
      `No report yet (report ${state || 'pending'}). The pipeline is analysing this incident; the page offers the report when it is stored.`));
  }
  const by = r.generated_by || a.generated_by || '—';
  const rc = r.root_cause || {};
  const erc = ev.root_cause || {};
  const exc = exceptionText(rc.exception) || exceptionText(erc.exception);
  const frame = frameText(erc.exception?.frame);
  const cause = erc.exception?.root_cause_type && erc.exception.root_cause_type !== erc.exception.type
    ? [erc.exception.root_cause_type, erc.exception.root_cause_message].filter(Boolean).join(': ') : '';
  const usual = erc.baseline_p50_ms ?? erc.usual_ms;
  const evidence = (r.evidence || []).map((c) => (typeof c === 'string' && /^(span|log):/.test(c) ? cite(c) : el('span', { class: 'mono' }, String(c))));
  const llmInfo: Child[] = [];
  if (a.llm_model) llmInfo.push(`model ${a.llm_model}`);
  if (a.prompt_tokens || a.completion_tokens) llmInfo.push(`${a.prompt_tokens ?? 0} + ${a.completion_tokens ?? 0} tokens`);
  if (a.llm_latency_ms) llmInfo.push(fmtMs(a.llm_latency_ms));
  return card('report', 'Root-cause report',
    el('div', { class: 'report-badges' },
      el('span', { id: 'verdict' }, badge(r.verdict || 'unknown', r.verdict || 'unknown')),
      el('span', { id: 'generated-by' }, badge(`generated by ${by}`, by)),
      el('span', { class: 'conf' }, 'confidence ', meter(r.confidence, 'confidence')),
      llmInfo.length ? el('span', { class: 'muted' }, llmInfo.join(' · ')) : null),
    a.llm_error ? el('div', { class: 'warn', id: 'llm-error' }, el('b', {}, 'The LLM\'s report was not used: '), a.llm_error,
      by === 'deterministic' ? ' — this is the deterministic report.' : '') : null,
    el('p', { id: 'summary', class: 'summary' }, r.summary || '(no summary)'),
    el('h4', {}, 'Root cause'),
    el('dl', { class: 'meta', id: 'root-cause' },
      el('dt', {}, 'service'), el('dd', {}, rc.service || erc.service || '—'),
      el('dt', {}, 'operation'), el('dd', {}, rc.operation || erc.operation || '—'),
      exc ? [el('dt', {}, 'exception'), el('dd', { class: 'mono' }, exc)] : null,
      cause ? [el('dt', {}, 'caused by'), el('dd', { class: 'mono' }, cause)] : null,
      frame ? [el('dt', {}, 'at'), el('dd', { class: 'mono' }, frame)] : null,
      erc.status_message && !exc.includes(erc.status_message) ? [el('dt', {}, 'status'), el('dd', { class: 'mono' }, erc.status_message)] : null,
      erc.reason ? [el('dt', {}, 'why this span'), el('dd', {}, erc.reason)] : null,
      typeof erc.duration_ms === 'number' ? [el('dt', {}, 'duration'), el('dd', {},
        `${fmtMs(erc.duration_ms)}${typeof erc.self_ms === 'number' ? ` (${fmtMs(erc.self_ms)} own time)` : ''}${typeof usual === 'number' ? `, usually ${fmtMs(usual)}` : ''}`)] : null,
      rc.span_id ? [el('dt', {}, 'span'), el('dd', {}, cite(`span:${rc.span_id}`))] : null),
    r.explanation && !(r.summary || '').includes(r.explanation) ? el('p', { class: 'explanation' }, r.explanation) : null,
    el('h4', {}, 'Impact'), el('p', { id: 'impact' }, r.impact || '—'),
    el('h4', {}, 'Evidence'), el('p', { id: 'evidence', class: 'cites' }, evidence.length ? evidence : '—'),
    (ev.propagation_path || []).length ? el('p', { class: 'path', id: 'propagation' }, el('b', {}, 'Propagation: '), pathChain(ev, cite)) : null,
    el('h4', {}, 'Remediation'),
    (r.remediation || []).length ? el('ol', { id: 'remediation' }, (r.remediation || []).map((x) => el('li', {}, String(x)))) : el('p', {}, '—'),
    r.note ? el('p', { class: 'muted' }, r.note) : null,
    el('p', { class: 'muted small' }, `version ${a.version ?? '?'} · ${fmtDateTime(isoToMs(a.created_at))} UTC`,
      versions.length > 1 ? ` · ${versions.length} versions: ` : '',
      versions.length > 1 ? versions.map((v) => `v${v.version} ${v.generated_by}${v.llm_error ? ' (LLM failed)' : ''}`).join(', ') : ''));
}

/* The propagation path from the entry span down to the root cause, one link per run of spans of the
 * same service (to the run's deepest span: where that service failed). */
function pathChain(ev: Evidence, cite: (c: string) => HTMLElement): Child[] {
  const steps = (ev.propagation_path || []).slice().reverse(); /* entry first */
  const runs: { service: string; last: string; ops: string[] }[] = [];
  for (const p of steps) {
    const svc = p.service || '?';
    const run = runs[runs.length - 1];
    if (run && run.service === svc) {
      run.last = p.span_id;
      if (p.operation) run.ops.push(p.operation);
    } else runs.push({ service: svc, last: p.span_id, ops: p.operation ? [p.operation] : [] });
  }
  return runs.map((r, i) => {
    const a = cite(`span:${r.last}`);
    a.textContent = r.service;
    a.title = `${r.ops.join(' → ')} (span ${r.last})`;
    return [i ? ' → ' : '', a];
  });
}

/* ---------------- suspects ---------------- */

function suspectsCard(s: { suspects: Suspect[]; note?: string } | null, firstSeen: string): HTMLElement {
  const conf = (x: Suspect) => x.confidence ?? x.score ?? x.proximity;
  const list = (s?.suspects || []).slice().sort((a, b) => (conf(b) ?? 0) - (conf(a) ?? 0));
  if (!list.length) {
    return card('suspects', 'Suspects', el('p', { class: 'muted' }, s?.note || 'No change event before this incident explains it.'));
  }
  const first = isoToMs(firstSeen);
  return card('suspects', 'Suspects',
    el('table', { class: 'suspects' },
      el('tr', {}, el('th', {}, 'change'), el('th', {}, 'when'), el('th', {}, 'confidence'), el('th', {}, 'evidence')),
      list.map((x) => {
        const t = x.ts_ns !== undefined ? nsToMs(x.ts_ns) : isoToMs(x.ts);
        const before = x.seconds_before ?? (typeof x.delta_ms === 'number' ? Math.abs(x.delta_ms) / 1000
          : Number.isFinite(t) && Number.isFinite(first) ? (first - t) / 1000 : NaN);
        const ev = Array.isArray(x.evidence) ? x.evidence.join('; ') : x.evidence;
        return el('tr', { class: 'suspect' },
          el('td', {}, badge(x.type || 'change', 'change'), ' ', el('b', {}, x.service || 'all services'), x.description ? ` ${x.description}` : ''),
          el('td', { title: Number.isFinite(t) ? `${fmtDateTime(t)} UTC` : '' }, Number.isFinite(before) ? `${fmtSeconds(before)} before` : '—'),
          el('td', {}, meter(conf(x))),
          el('td', { class: 'small' }, ev || ''));
      })));
}

/* ---------------- window ranking (degradation reports) ---------------- */

/* The services ranked over the incident's window, each with the evidence behind its score: what a
 * degradation report rests on, since no trace failed. */
function rankingCard(w: WindowRanking): HTMLElement {
  const svcs = w.services || [];
  const top = Math.max(1e-9, ...svcs.map((s) => s.score));
  const win = w.window;
  return card('ranking', 'Services ranked over the window',
    el('p', { class: 'muted', id: 'ranking-verdict' }, w.verdict || '',
      win ? ` · window ${fmtDateTime(nsToMs(win.from_ns))}–${fmtDateTime(nsToMs(win.to_ns))} UTC against the ${fmtSeconds((win.baseline_to_ns - win.baseline_from_ns) / 1e9)} before` : ''),
    svcs.length ? el('table', { class: 'ranking' },
      el('tr', {}, el('th', {}, '#'), el('th', {}, 'service'), el('th', {}, 'score'), el('th', {}, 'evidence')),
      svcs.map((s, i) => el('tr', { class: 'ranked' },
        el('td', {}, String(s.rank ?? i + 1)),
        el('td', {}, el('b', {}, s.service)),
        el('td', { title: Object.entries(s.channels || {}).filter(([, v]) => v).map(([k, v]) => `${k} ${fmtNum(v)}`).join(', ') },
          el('span', { class: 'meter' }, el('span', { class: 'meter-fill', style: `width:${Math.max(0, s.score) / top * 100}%` }),
            el('span', { class: 'meter-text' }, fmtNum(s.score)))),
        el('td', { class: 'small' }, (s.evidence || []).slice(0, 3).map((e) =>
          el('div', { class: 'rank-ev' }, badge(e.kind.replace(/_/g, ' '), 'change'), ' ', e.text || ''))))))
      : el('p', { class: 'muted' }, 'No service had telemetry in the window.'));
}

/* ---------------- feedback (the only write) ---------------- */

interface FeedbackRow {
  id: number;
  verdict: string;
  true_service?: string | null;
  comment?: string | null;
  created_at?: string;
  suspect_index?: number | null;
  suspect_was_cause?: boolean | null;
}

/* A suspect as GET …/suspects lists it: its id ("suspect:<n>") is what feedback names. */
type ListedSuspect = Suspect & { id?: string };

/* The optional judgement of one suspect: a select of the incident's suspects ("none" by default) and
 * whether the chosen one was the cause. Absent when the incident has no listed suspect. */
function suspectPicker(list: ListedSuspect[]): { node: HTMLElement | null; fields: () => Record<string, string | boolean> } {
  const named = list.filter((x) => typeof x.id === 'string');
  if (!named.length) return { node: null, fields: () => ({}) };
  const pick = el('select', { id: 'fb-suspect' }, el('option', { value: '' }, 'none'),
    named.map((x) => el('option', { value: x.id as string },
      `${x.type || 'change'} ${x.service || 'all services'}${x.description ? ` ${x.description.slice(0, 80)}` : ''}`))) as HTMLSelectElement;
  const cause = el('input', { id: 'fb-suspect-cause', type: 'checkbox', disabled: true }) as HTMLInputElement;
  pick.addEventListener('change', () => {
    cause.disabled = !pick.value;
    if (!pick.value) cause.checked = false;
  });
  return {
    node: el('div', { class: 'fb-suspect' }, el('label', {}, 'Suspect ', pick), ' ',
      el('label', {}, cause, ' it was the cause')),
    /* the API wants both or neither: only sent when a suspect is chosen */
    fields: (): Record<string, string | boolean> =>
      (pick.value ? { suspect: pick.value, suspect_was_cause: cause.checked } : {}),
  };
}

function feedbackCard(enc: string, inc: IncidentDetail['incident'], r: Report, suspects: ListedSuspect[]): HTMLElement {
  const named = r.root_cause?.service || inc.root_service || '';
  const msg = el('p', { id: 'fb-msg', class: 'muted', 'aria-live': 'polite' });
  const names = el('datalist', { id: 'fb-services' }, (inc.services || []).map((s) => el('option', { value: s })));
  const svc = el('input', { id: 'fb-service', placeholder: 'the true root-cause service', list: 'fb-services', maxlength: 256 });
  const comment = el('textarea', { id: 'fb-comment', placeholder: 'comment (optional)', rows: 2, maxlength: 4096 });
  const send = el('button', { id: 'fb-send', type: 'button', class: 'primary' }, 'Send');
  const wrongForm = el('div', { id: 'fb-wrong-form', class: 'fb-form', hidden: true },
    el('label', {}, 'True service ', svc, names), el('label', {}, comment), send);
  const history = el('ul', { id: 'fb-history', class: 'fb-history' });
  const rows: FeedbackRow[] = [];
  const showHistory = () => {
    history.replaceChildren(...rows.slice(0, 5).map((f) => el('li', {},
      badge(f.verdict, f.verdict === 'right' ? 'ok' : 'error'), f.true_service ? ` true service ${f.true_service}` : '',
      typeof f.suspect_index === 'number' ? ` · suspect:${f.suspect_index} ${f.suspect_was_cause ? 'was' : 'was not'} the cause` : '',
      f.comment ? el('span', { class: 'muted' }, ` — ${f.comment}`) : '', el('span', { class: 'muted small' }, ` · ${fmtAgo(isoToMs(f.created_at))}`))));
    history.hidden = !rows.length;
  };
  history.hidden = true;
  /* what others said (GET …/feedback: a backend without it just shows nothing) */
  api<{ feedback: FeedbackRow[] }>(`/query/incidents/${enc}/feedback?limit=5`)
    .then((f) => { rows.push(...f.feedback); showHistory(); }).catch(() => {});
  const picker = suspectPicker(suspects);
  const right = el('button', { id: 'fb-right', type: 'button' }, 'Right');
  const wrong = el('button', { id: 'fb-wrong', type: 'button' }, 'Wrong');

  const post = async (verdict: 'right' | 'wrong'): Promise<void> => {
    const body: Record<string, string | boolean> = { verdict, ...picker.fields() };
    if (verdict === 'wrong' && svc.value.trim()) body.true_service = svc.value.trim();
    if (comment.value.trim()) body.comment = comment.value.trim();
    for (const b of [right, wrong, send]) b.disabled = true;
    msg.className = 'muted';
    msg.textContent = 'Sending…';
    try {
      const row = await api<FeedbackRow>(`/query/incidents/${enc}/feedback`, { method: 'POST', body: JSON.stringify(body) });
      rows.unshift(row);
      showHistory();
      msg.className = 'ok';
      msg.textContent = `Recorded (#${row.id}): ${row.verdict}${row.true_service ? `, true service ${row.true_service}` : ''}. Thank you.`;
      wrongForm.hidden = true;
    } catch (e) {
      msg.className = 'error';
      msg.textContent = `Not recorded: ${(e as Error).message}`;
    } finally {
      for (const b of [right, wrong, send]) b.disabled = false;
    }
  };
  right.addEventListener('click', () => void post('right'));
  wrong.addEventListener('click', () => {
    wrongForm.hidden = false;
    svc.focus();
  });
  send.addEventListener('click', () => void post('wrong'));
  return card('feedback', 'Was the named root cause right?',
    el('p', { class: 'muted' }, named ? `The report names ${named}.` : 'The report names no service.'),
    picker.node, el('div', { class: 'fb-buttons' }, right, wrong), wrongForm, msg, history);
}

/* ---------------- metric charts ---------------- */

/* The analysis' metric shifts of the root-cause service during the trace, if it found any. */
function metricHints(ev: Evidence): HTMLElement | null {
  const hints = (Array.isArray(ev.anomalies) ? ev.anomalies : []) as MetricHint[];
  const named = hints.filter((h) => h && typeof h === 'object' && h.metric);
  if (!named.length) return null;
  return el('div', { class: 'hints', id: 'metric-hints' }, el('b', {}, 'Metric shifts during the trace: '),
    named.map((h, i) => [i ? '; ' : '', el('span', { class: 'mono' }, h.metric || ''),
      ` ${h.direction || (typeof h.change_pct === 'number' && h.change_pct < 0 ? 'down' : 'up')}`,
      typeof h.change_pct === 'number' ? ` ${fmtNum(Math.abs(h.change_pct))}%` : '',
      typeof h.before_mean === 'number' && typeof h.during_mean === 'number' ? ` (${fmtNum(h.before_mean)} → ${fmtNum(h.during_mean)})` : '']));
}

function pickMetrics(names: string[]): string[] {
  const score = (n: string) => (/error/i.test(n) ? 0 : /p9|latency|duration/i.test(n) ? 1 : /request|rate|throughput/i.test(n) ? 2 : 3);
  return names.slice().sort((a, b) => score(a) - score(b) || a.localeCompare(b)).slice(0, 3);
}

async function loadCharts(box: HTMLElement, inc: IncidentDetail['incident'], suspects: Suspect[]): Promise<void> {
  const first = isoToMs(inc.first_seen), last = isoToMs(inc.last_seen);
  const to = Math.min(Date.now(), (Number.isFinite(last) ? last : Date.now()) + 15 * 60000);
  let from = Math.max((Number.isFinite(first) ? first : to) - 30 * 60000, to - 24 * 3600000);
  if (from >= to) from = to - 3600000;
  const win = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  const step = Math.max(1, Math.ceil((to - from) / 1000 / 120));
  const services = Array.from(new Set([inc.root_service, ...(inc.services || [])].filter((s): s is string => !!s))).slice(0, 6);
  if (!services.length) {
    box.replaceChildren(el('p', { class: 'muted' }, 'No service is named by this incident.'));
    return;
  }
  const changes = await api<{ changes: ChangeEvent[] }>(`/query/changes${qs({ ...win, limit: 500 })}`)
    .then((c) => c.changes)
    .catch(() => suspects.map((s) => ({ ts_ns: String(s.ts_ns ?? ''), service: s.service, type: s.type || 'change', description: s.description })));
  const incidentMark: Mark = { kind: 'incident', from: first, label: `incident #${inc.id} first seen` };
  await Promise.all(services.map(async (svc) => {
    const holder = el('div', { class: 'chart-group', 'data-service': svc }, el('h4', {}, svc));
    box.appendChild(holder);
    const [names, anomalies] = await Promise.all([
      api<{ metrics: { name: string }[] }>(`/query/metrics/names${qs({ service: svc, ...win })}`)
        .then((m) => m.metrics.map((x) => x.name)).catch(() => DEFAULT_METRICS),
      api<{ anomalies: Anomaly[] }>(`/query/anomalies${qs({ service: svc, ...win, limit: 50 })}`)
        .then((a) => a.anomalies).catch(() => [] as Anomaly[]),
    ]);
    const picked = pickMetrics(names);
    if (!picked.length) {
      holder.appendChild(el('p', { class: 'muted' }, 'No metric in this window.'));
      return;
    }
    const svcChanges: Mark[] = changes.filter((c) => !c.service || c.service === svc).map((c) => ({
      kind: 'change', from: nsToMs(c.ts_ns), label: `${c.type}${c.service ? ` ${c.service}` : ''}: ${c.description || ''}`,
    }));
    const charts = await Promise.all(picked.map((name) =>
      api<{ points: MetricPoint[] }>(`/query/metrics${qs({ service: svc, name, ...win, step })}`)
        .then((m) => m.points).catch(() => null)
        .then((points) => {
          const marks: Mark[] = anomalies.filter((a) => a.metric === name || !names.includes(a.metric)).map((a) => ({
            kind: 'anomaly', from: nsToMs(a.start_ns), to: nsToMs(a.end_ns),
            label: `anomaly in ${a.metric}${a.pct_change !== undefined ? ` (${a.pct_change > 0 ? '+' : ''}${fmtNum(a.pct_change)}%)` : ''}: ${a.explanation || ''}`,
          }));
          return lineChart(`${name}${points ? '' : ' (unavailable)'}`,
            (points || []).map((p) => ({ t: nsToMs(p.ts_ns), avg: p.avg, min: p.min, max: p.max })), from, to,
            marks.concat(svcChanges, Number.isFinite(first) ? [incidentMark] : []));
        })));
    holder.append(...charts);
  }));
  box.appendChild(el('p', { class: 'legend small' }, el('i', { class: 'lg lg-anomaly' }), 'anomaly episode ',
    el('i', { class: 'lg lg-change' }), 'change event ', el('i', { class: 'lg lg-incident' }), 'incident start · hover a mark for details'));
}
