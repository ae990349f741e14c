// Time and number formatting. Span and log times travel as decimal strings of epoch nanoseconds
// (too large for a double): they are converted with BigInt.

export function nsToMs(ns: string | number | null | undefined): number {
  if (ns === null || ns === undefined || ns === '') return NaN;
  try {
    return Number(BigInt(String(ns).split('.')[0]) / 1000000n);
  } catch {
    return NaN;
  }
}

export function isoToMs(iso: string | null | undefined): number {
  return iso ? Date.parse(iso) : NaN;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/* "2026-11-22 13:04:05" in UTC (the backend's and the logs' clock). */
export function fmtDateTime(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${fmtClock(ms)}`;
}

export function fmtClock(ms: number, withMs = false): string {
  if (!Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  const s = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return withMs ? `${s}.${pad(d.getUTCMilliseconds(), 3)}` : s;
}

export function fmtAgo(ms: number, now = Date.now()): string {
  if (!Number.isFinite(ms)) return '';
  const s = Math.round((now - ms) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms >= 10000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 1) return `${ms.toFixed(1)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

export function fmtPct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(digits)}%`;
}

export function fmtNum(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  if (a >= 1e6) return `${(x / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return a >= 100 ? x.toFixed(0) : a >= 1 ? String(Number(x.toFixed(2))) : String(Number(x.toPrecision(2)));
}

/* ISO string for a datetime-local input value (taken as UTC) or '' when empty/invalid. */
export function localInputToIso(v: string): string {
  if (!v) return '';
  const ms = Date.parse(v.length === 16 ? `${v}:00Z` : `${v}Z`);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}

/* "45 s", "22 min", "3.5 h", "2 d" for a span of seconds. */
export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—';
  const a = Math.abs(s);
  if (a < 120) return `${Math.round(s)} s`;
  if (a < 7200) return `${Math.round(s / 60)} min`;
  if (a < 172800) return `${Number((s / 3600).toFixed(1))} h`;
  return `${Math.round(s / 86400)} d`;
}
