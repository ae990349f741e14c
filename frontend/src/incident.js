// Incident page: the RCA report with cited spans and logs as links, the trace waterfall (virtualised,
// root cause and propagation path highlighted, "jump to error"), the trace's logs with folded stack
// traces, metric charts of the affected services, suspects, and the feedback control.
import { api } from './api.js';
import { el, fmtTime, svg } from './dom.js';

const ROW_H = 22;

function waterfall(spans, rootId, pathIds) {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const children = new Map();
  for (const s of spans) {
    const p = s.parent_span_id && byId.has(s.parent_span_id) ? s.parent_span_id : null;
    if (!children.has(p)) children.set(p, []);
    children.get(p).push(s);
  }
  for (const list of children.values()) list.sort((a, b) => (BigInt(a.start_ns) < BigInt(b.start_ns) ? -1 : 1));
  const rows = [];
  const walk = (parent, depth) => {
    for (const s of children.get(parent) || []) {
      rows.push({ s, depth });
      walk(s.span_id, depth + 1);
    }
  };
  walk(null, 0);
  const t0 = rows.length ? Number(BigInt(rows.reduce((m, r) => (BigInt(r.s.start_ns) < BigInt(m) ? r.s.start_ns : m), rows[0].s.start_ns))) : 0;
  const t1 = rows.length ? Math.max(...rows.map((r) => Number(BigInt(r.s.end_ns)))) : 1;
  const span = Math.max(1, t1 - t0);
  const scroller = el('div', { class: 'scroll', id: 'waterfall', style: 'height:360px' });
  const inner = el('div', { style: `position:relative;height:${rows.length * ROW_H}px` });
  scroller.appendChild(inner);
  const draw = () => {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - 10);
    const last = Math.min(rows.length, first + Math.ceil(360 / ROW_H) + 20);
    inner.replaceChildren();
    for (let i = first; i < last; i++) {
      const { s, depth } = rows[i];
      const left = ((Number(BigInt(s.start_ns)) - t0) / span) * 100;
      const width = Math.max(0.3, ((Number(BigInt(s.end_ns)) - Number(BigInt(s.start_ns))) / span) * 100);
      const cls = s.span_id === rootId ? 'wf-row root' : pathIds.has(s.span_id) ? 'wf-row hl' : 'wf-row';
      inner.appendChild(el('div', { class: cls, style: `top:${i * ROW_H}px`, id: `span-${s.span_id}`, 'data-span': s.span_id },
        el('span', { class: 'wf-label', style: `padding-left:${4 + depth * 10}px` }, `${s.service} · ${s.name}`),
        el('span', { class: 'wf-bar-area' },
          el('span', { class: s.status === 'ERROR' ? 'wf-bar err' : 'wf-bar', style: `left:${left}%;width:${width}%` })),
        el('span', { style: 'width:80px;text-align:right' }, `${Number(s.duration_ms).toFixed(1)} ms`)));
    }
  };
  scroller.addEventListener('scroll', draw);
  setTimeout(draw, 0);
  const jump = (id) => {
    const i = rows.findIndex((r) => r.s.span_id === id);
    if (i >= 0) { scroller.scrollTop = Math.max(0, i * ROW_H - 100); draw(); }
  };
  return { node: scroller, jump, count: rows.length };
}

function chart(points, title, marks) {
  const w = 520, h = 120;
  const box = svg('svg', { class: 'chart', width: w, height: h + 20 });
  const t = svg('text', { x: 6, y: 14, 'font-size': 12 });
  t.textContent = title;
  box.appendChild(t);
  if (!points.length) return box;
  const xs = points.map((p) => Number(BigInt(p.ts_ns) / 1000000n));
  const ys = points.map((p) => p.avg);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1, y1 = Math.max(...ys) || 1;
  const X = (x) => 10 + ((x - x0) / Math.max(1, x1 - x0)) * (w - 20);
  const Y = (y) => 20 + h - (y / y1) * (h - 10);
  box.appendChild(svg('polyline', { fill: 'none', stroke: '#2457d6', points: xs.map((x, i) => `${X(x)},${Y(ys[i])}`).join(' ') }));
  for (const m of marks) {
    const x = X(m.ms);
    if (x < 0 || x > w) continue;
    box.appendChild(svg('line', { x1: x, x2: x, y1: 20, y2: h + 20, stroke: m.color, 'stroke-dasharray': '3,2' }));
  }
  return box;
}

export async function incidentPage(root, id) {
  const [detail, analysis, suspects] = await Promise.all([
    api(`/query/incidents/${id}`), api(`/query/incidents/${id}/analysis`), api(`/query/incidents/${id}/suspects`)]);
  const inc = detail.incident;
  const latest = analysis.latest || {};
  const report = latest.report || {};
  const evidence = latest.evidence || {};
  const rc = report.root_cause || {};
  const traceId = latest.trace_id || inc.sample_trace_id;
  const trace = traceId ? await api(`/query/traces/${traceId}`).catch(() => ({ spans: [], logs: [] })) : { spans: [], logs: [] };
  const pathIds = new Set((evidence.propagation_path || []).map((p) => p.span_id));
  const wf = waterfall(trace.spans || [], rc.span_id, pathIds);
  const logsBox = el('div', { class: 'card', id: 'logs' }, el('h3', {}, `Logs of trace ${traceId || ''}`));
  const logIdToIndex = new Map((evidence.logs || []).map((l) => [l.id, l]));
  for (const l of trace.logs || []) {
    logsBox.appendChild(el('div', { class: 'log', 'data-span': l.span_id || '' },
      `${fmtTime(new Date(Number(BigInt(l.ts_ns) / 1000000n)).toISOString())} ${l.service} ${l.level} `, l.message,
      l.stack_trace ? el('details', {}, el('summary', {}, 'stack trace'), l.stack_trace) : null));
  }
  const cite = (cid) => el('span', {
    class: 'cite', 'data-cite': cid,
    onclick: () => {
      if (cid.startsWith('span:')) wf.jump(cid.slice(5));
      else {
        const l = logIdToIndex.get(cid);
        const match = l && [...logsBox.querySelectorAll('.log')].find((n) => n.textContent.includes(l.message));
        if (match) { match.classList.add('hl'); match.scrollIntoView({ block: 'center' }); }
      }
    },
  }, cid);
  const fb = el('div', { class: 'card', id: 'feedback' }, el('h3', {}, 'Was the named root cause right?'));
  const trueSvc = el('input', { id: 'fb-service', placeholder: 'true service (if wrong)' });
  const fbMsg = el('span', { id: 'fb-msg' });
  const send = async (verdict) => {
    try {
      await api(`/query/incidents/${id}/feedback`, { method: 'POST', body: JSON.stringify({ verdict, true_service: trueSvc.value || null }) });
      fbMsg.textContent = `recorded: ${verdict}`;
    } catch (e) { fbMsg.textContent = e.message; }
  };
  fb.append(el('button', { id: 'fb-right', onclick: () => send('right') }, 'Right'),
    el('button', { id: 'fb-wrong', onclick: () => send('wrong') }, 'Wrong'), trueSvc, fbMsg);
  const charts = el('div', { class: 'card' }, el('h3', {}, 'Metrics of the affected services'));
  const marks = (suspects.suspects || []).map((s) => ({ ms: Number(BigInt(s.ts_ns || 0) / 1000000n), color: '#d38b00' }));
  for (const svc of (inc.services || []).slice(0, 4)) {
    /* anomaly episodes of the service are shaded red on its charts, change events dashed orange */
    const episodes = await api(`/query/anomalies?service=${encodeURIComponent(svc)}&limit=50`).catch(() => ({ anomalies: [] }));
    const svcMarks = marks.concat((episodes.anomalies || []).map((a) => ({ ms: Number(BigInt(a.start_ns) / 1000000n), color: '#d33' })));
    for (const name of ['p95_latency_ms', 'error_rate']) {
      api(`/query/metrics?service=${encodeURIComponent(svc)}&name=${name}&step=30`)
        .then((m) => charts.appendChild(chart(m.points || [], `${svc} ${name}`, svcMarks))).catch(() => {});
    }
  }
  root.replaceChildren(
    el('div', { class: 'card', id: 'report' },
      el('h2', {}, `#${inc.id} ${inc.title}`),
      el('p', {}, el('span', { class: `badge ${report.verdict}` }, report.verdict || 'pending'), ' ',
        `generated by ${report.generated_by || latest.generated_by || '—'}`, latest.llm_error ? ` (${latest.llm_error})` : '',
        ` · confidence ${report.confidence ?? '—'} · ${inc.trace_count} traces · first ${fmtTime(inc.first_seen)} · last ${fmtTime(inc.last_seen)}`),
      el('p', { id: 'summary' }, report.summary || ''),
      el('p', {}, el('b', {}, 'Root cause: '), `${rc.service || '—'} / ${rc.operation || '—'} `, rc.exception ? `(${rc.exception})` : ''),
      el('p', {}, el('b', {}, 'Impact: '), report.impact || ''),
      el('p', {}, el('b', {}, 'Evidence: '), (report.evidence || []).map(cite)),
      el('ul', {}, (report.remediation || []).map((r) => el('li', {}, r))),
      report.note ? el('p', { class: 'note' }, report.note) : null),
    el('div', { class: 'card' }, el('h3', {}, `Trace waterfall (${wf.count} spans) `),
      el('button', { id: 'jump', onclick: () => wf.jump(rc.span_id) }, 'Jump to error'), wf.node),
    el('div', { class: 'card', id: 'suspects' }, el('h3', {}, 'Suspects'),
      (suspects.suspects || []).length
        ? el('ul', {}, suspects.suspects.map((s) => el('li', {}, `${s.type} ${s.service || ''} ${s.description || ''} — `,
          `confidence ${s.confidence ?? s.proximity ?? '—'}`, s.evidence ? ` — ${s.evidence}` : '')))
        : el('p', {}, suspects.note || 'no change event before this incident')),
    charts, logsBox, fb);
}
