// The metrics around a failing trace, as the analysis put them into its evidence (evidence.metrics,
// pipeline/rca/evidence_metrics.h): each series of the trace's services with its mean before and after
// the failure and a sparkline, and the anomaly episodes of those services. Ids ("metric:<n>",
// "anomaly:<n>") are the ones the report cites.
import { sparkline } from './charts';
import { el } from './dom';
import { fmtNum } from './format';

interface SeriesSummary {
  id?: string;
  service?: string;
  name?: string;
  points?: number;
  before_mean?: number | null;
  after_mean?: number | null;
  change_pct?: number | null;
  spark?: (number | null)[];
}

interface AnomalySummary {
  id?: string;
  service?: string;
  metric?: string;
  text?: string;
  peak_z?: number | null;
}

interface EvidenceMetrics {
  series?: SeriesSummary[];
  anomalies?: AnomalySummary[];
  omitted_series?: number;
  omitted_anomalies?: number;
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

function changeText(pct: number | null): string {
  if (pct === null) return '—';
  return `${pct >= 0 ? '+' : '−'}${fmtNum(Math.abs(pct))}%`;
}

/* The block for the incident page's metrics card, or null when the evidence has no metric summary
 * (degradation reports, analyses made before the summary existed). */
export function evidenceMetrics(evidence: unknown): HTMLElement | null {
  const m = (evidence && typeof evidence === 'object' ? (evidence as { metrics?: unknown }).metrics : null) as EvidenceMetrics | null;
  if (!m || typeof m !== 'object') return null;
  const series = Array.isArray(m.series) ? m.series : [];
  const anomalies = Array.isArray(m.anomalies) ? m.anomalies : [];
  if (!series.length && !anomalies.length) return null;
  const rows = series.map((s) => {
    const pct = num(s.change_pct);
    const moved = pct !== null && Math.abs(pct) >= 50;
    return el('tr', { id: `ev-${(s.id || '').replace(':', '-')}`, class: moved ? 'moved' : '' },
      el('td', { class: 'mono small' }, s.id || ''),
      el('td', {}, el('b', {}, s.service || '?'), ' ', el('span', { class: 'mono' }, s.name || '')),
      el('td', {}, sparkline((s.spark || []).map(num), 'spark-p95', `${s.service} ${s.name}`)),
      el('td', {}, `${fmtNum(num(s.before_mean))} → ${fmtNum(num(s.after_mean))}`),
      el('td', { class: moved ? 'err' : '' }, changeText(pct)));
  });
  const omitted = (m.omitted_series || 0) + (m.omitted_anomalies || 0);
  return el('div', { id: 'evidence-metrics' },
    el('p', { class: 'muted small' }, 'What the analysis saw in the services\' metrics around the failure (before → from the failure on):'),
    series.length ? el('table', { class: 'evidence-metrics' },
      el('tr', {}, el('th', {}, 'id'), el('th', {}, 'series'), el('th', {}, ''), el('th', {}, 'mean'), el('th', {}, 'change')),
      rows) : null,
    anomalies.length ? el('ul', { class: 'evidence-anomalies' },
      anomalies.map((a) => el('li', { id: `ev-${(a.id || '').replace(':', '-')}` },
        el('span', { class: 'mono small' }, a.id || ''), ' ', a.text || `${a.metric} on ${a.service}`))) : null,
    omitted ? el('p', { class: 'muted small' }, `${omitted} more left out of the evidence.`) : null);
}
