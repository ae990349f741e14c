// Inline SVG charts (no chart library): a metric line with its min–max band, time axis, and marks for
// anomaly episodes (shaded), change events (dashed) and the incident's start (solid); and sparklines.
import { svg } from './dom';
import { fmtClock, fmtNum } from './format';

export interface Mark {
  kind: 'anomaly' | 'change' | 'incident';
  from: number; /* ms */
  to?: number;
  label: string;
}

export interface ChartPoint {
  t: number; /* ms */
  avg: number;
  min?: number;
  max?: number;
}

const W = 480, H = 150, L = 46, R = 10, T = 22, B = 22;

export function lineChart(title: string, points: ChartPoint[], from: number, to: number, marks: Mark[]): SVGSVGElement {
  const box = svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  box.appendChild(svg('text', { x: L, y: 14, class: 'chart-title' }, title));
  const span = Math.max(1, to - from);
  const X = (t: number) => L + ((t - from) / span) * (W - L - R);
  const vals = points.flatMap((p) => [p.avg, p.min ?? p.avg, p.max ?? p.avg]).filter(Number.isFinite);
  const lo = Math.min(0, ...vals), hi = Math.max(...vals, lo + 1e-9);
  const top = hi + (hi - lo) * 0.08;
  const Y = (v: number) => T + (1 - (v - lo) / (top - lo)) * (H - T - B);

  /* axes and labels */
  box.appendChild(svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }));
  box.appendChild(svg('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }));
  box.appendChild(svg('text', { x: L - 4, y: T + 8, class: 'tick-label', 'text-anchor': 'end' }, fmtNum(top)));
  box.appendChild(svg('text', { x: L - 4, y: H - B, class: 'tick-label', 'text-anchor': 'end' }, fmtNum(lo)));
  for (let i = 0; i <= 3; i++) {
    const t = from + (span * i) / 3;
    box.appendChild(svg('text', { x: X(t), y: H - 6, class: 'tick-label', 'text-anchor': i === 0 ? 'start' : i === 3 ? 'end' : 'middle' },
      fmtClock(t).slice(0, 5)));
  }

  /* marks under the data */
  for (const m of marks) {
    if (m.kind !== 'anomaly') continue;
    const x0 = Math.max(L, X(m.from)), x1 = Math.min(W - R, X(m.to ?? m.from));
    if (x1 < L || x0 > W - R) continue;
    box.appendChild(svg('rect', { x: x0, y: T, width: Math.max(2, x1 - x0), height: H - T - B, class: 'mark-anomaly' },
      svg('title', {}, m.label)));
  }

  if (!points.length) {
    box.appendChild(svg('text', { x: (L + W) / 2, y: H / 2, class: 'chart-empty', 'text-anchor': 'middle' }, 'no data in this window'));
  } else {
    const pts = points.slice().sort((a, b) => a.t - b.t);
    if (pts.some((p) => p.min !== undefined && p.max !== undefined && p.min !== p.max)) {
      const upper = pts.map((p) => `${X(p.t)},${Y(p.max ?? p.avg)}`);
      const lower = pts.slice().reverse().map((p) => `${X(p.t)},${Y(p.min ?? p.avg)}`);
      box.appendChild(svg('polygon', { points: upper.concat(lower).join(' '), class: 'band' }));
    }
    box.appendChild(svg('polyline', { points: pts.map((p) => `${X(p.t)},${Y(p.avg)}`).join(' '), class: 'line' }));
    if (pts.length === 1) box.appendChild(svg('circle', { cx: X(pts[0].t), cy: Y(pts[0].avg), r: 2.5, class: 'dot' }));
  }

  for (const m of marks) {
    if (m.kind === 'anomaly' || m.from < from || m.from > to) continue;
    const x = X(m.from);
    const g = svg('g', { class: `mark-${m.kind}` }, svg('title', {}, m.label),
      svg('line', { x1: x, x2: x, y1: T, y2: H - B }),
      svg('path', { d: `M${x - 4},${H - B + 6} L${x + 4},${H - B + 6} L${x},${H - B} Z` }));
    box.appendChild(g);
  }
  return box;
}

/* A small line of `values` (nulls are gaps); the last value is dotted. */
export function sparkline(values: (number | null)[], cls: string, title: string, w = 110, h = 26): SVGSVGElement {
  const box = svg('svg', { class: `spark ${cls}`, viewBox: `0 0 ${w} ${h}`, width: w, height: h }, svg('title', {}, title));
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (finite.length < 1) return box;
  const max = Math.max(...finite), min = Math.min(0, ...finite);
  const X = (i: number) => (values.length === 1 ? w / 2 : (i / (values.length - 1)) * (w - 4) + 2);
  const Y = (v: number) => h - 3 - ((v - min) / Math.max(1e-9, max - min)) * (h - 6);
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${X(i).toFixed(1)},${Y(v).toFixed(1)} `;
    pen = true;
  });
  box.appendChild(svg('path', { d, class: 'spark-line' }));
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && Number.isFinite(v)) {
      box.appendChild(svg('circle', { cx: X(i), cy: Y(v), r: 1.8, class: 'spark-dot' }));
      break;
    }
  }
  return box;
}
