// The query API. The read key is asked for once and kept in localStorage; every request sends it as
// "Authorization: Bearer <key>". The dashboard is read-only but for one POST: incident feedback.

const KEY = 'prodsentinel.readKey';

export function readKey(): string {
  return localStorage.getItem(KEY) || '';
}

export function setReadKey(k: string): void {
  if (k) localStorage.setItem(KEY, k);
  else localStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly path?: string,
  ) {
    super(message);
  }
}

/* Fires 'ps-unauthorized' on window when the key is refused, so the shell asks for a new one. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${readKey()}`, Accept: 'application/json' };
  if (init.body) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  } catch {
    throw new ApiError('the backend is unreachable', 0);
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401) window.dispatchEvent(new Event('ps-unauthorized'));
    const err = body && body.error;
    const msg = err && err.message ? String(err.message) : `HTTP ${res.status}`;
    throw new ApiError(msg, res.status, err && err.path ? String(err.path) : undefined);
  }
  return body as T;
}

/* A query string from the set values of `params`. */
export function qs(params: Record<string, string | number | null | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/* ---- shapes of the answers (every field optional where the pipeline may leave it out) ---- */

export interface IncidentRow {
  id: number;
  kind?: string;
  status: string;
  title: string;
  root_service?: string | null;
  root_operation?: string | null;
  exception_type?: string | null;
  first_seen: string;
  last_seen: string;
  trace_count: number;
  services?: string[];
  endpoints?: string[];
  sample_trace_id?: string | null;
  report_state?: string;
  fingerprint?: string;
  last_seen_us?: number;
}

export interface IncidentPage {
  incidents: IncidentRow[];
  next_cursor: string | null;
}

export interface RootCause {
  service?: string | null;
  span_id?: string | null;
  operation?: string | null;
  exception?: string | null | { type?: string; message?: string; frame?: string };
}

export interface Report {
  summary?: string;
  root_cause?: RootCause;
  impact?: string;
  evidence?: string[];
  remediation?: string[];
  confidence?: number;
  verdict?: string;
  generated_by?: string;
  explanation?: string;
  note?: string;
}

export interface PathStep {
  id?: string;
  span_id: string;
  service?: string;
  operation?: string;
}

export interface EvidenceLog {
  id: string;
  truncated?: boolean;
  ts_ns?: string | number;
  ts?: string;
  service?: string;
  level?: string;
  message?: string;
  span_id?: string | null;
}

/* A change event suspected of causing the failure. The analysers differ: the trace analysis gives
 * score and delta_ms (older versions proximity and seconds_before), the anomaly detector confidence
 * and evidence. */
export interface Suspect {
  type?: string;
  service?: string | null;
  ts_ns?: string | number;
  ts?: string;
  description?: string | null;
  confidence?: number;
  score?: number;
  proximity?: number;
  seconds_before?: number;
  delta_ms?: number;
  evidence?: string | string[];
}

/* A metric of the root-cause service that moved during the trace (evidence.anomalies). */
export interface MetricHint {
  metric?: string;
  labels?: unknown;
  before_mean?: number;
  during_mean?: number;
  change_pct?: number;
  direction?: string;
}

export type Frame = string | { function?: string; file?: string; line?: number } | null;

export interface Evidence {
  root_cause?: {
    service?: string;
    span_id?: string;
    operation?: string;
    reason?: string;
    status_message?: string | null;
    duration_ms?: number;
    self_ms?: number;
    baseline_p50_ms?: number;
    usual_ms?: number;
    excess_ms?: number;
    exception?: { type?: string; message?: string; frame?: Frame; root_cause_type?: string; root_cause_message?: string } | null;
  } | null;
  propagation_path?: PathStep[];
  logs?: EvidenceLog[];
  suspects?: Suspect[];
  anomalies?: MetricHint[] | unknown;
  window_ranking?: WindowRanking;
}

/* The window ranking behind a degradation incident's report (pipeline/rank): services best first,
 * each with its score per channel and its strongest evidence. */
export interface RankEvidence {
  kind: string;
  score?: number;
  subject?: string | null;
  context?: string | null;
  text?: string;
}

export interface RankedService {
  service: string;
  rank?: number;
  score: number;
  channels?: Record<string, number>;
  evidence?: RankEvidence[];
}

export interface WindowRanking {
  verdict?: string;
  nothing_stands_out?: boolean;
  top_score?: number;
  quiet_threshold?: number;
  services?: RankedService[];
  window?: { from_ns: number; to_ns: number; baseline_from_ns: number; baseline_to_ns: number };
}

export interface Analysis {
  id: number;
  trace_id?: string;
  version?: number;
  evidence?: Evidence;
  report?: Report;
  generated_by?: string;
  llm_model?: string | null;
  llm_error?: string | null;
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  llm_latency_ms?: number | null;
  created_at?: string;
}

export interface IncidentDetail {
  incident: IncidentRow & Record<string, unknown>;
  latest_analysis: { id: number; version: number; trace_id: string; generated_by: string } | null;
  traces: string[];
}

export interface AnalysisAnswer {
  incident_id: number;
  latest: Analysis | null;
  versions: Analysis[];
}

/* OpenTelemetry's parts of a record (migration 005). A resource is sent once per answer, in its
 * "resources" map, and named by hash from each span and log ("resource"). */
export interface Scope {
  name?: string | null;
  version?: string | null;
}

export interface Resource {
  service: string;
  attributes?: Record<string, unknown>;
  schema_url?: string | null;
  dropped_attributes_count?: number;
}

export interface SpanLink {
  trace_id: string;
  span_id: string;
  trace_state?: string;
  flags?: number;
  attributes?: Record<string, unknown>;
  dropped_attributes_count?: number;
}

export interface SpanEvent {
  name?: string;
  time_ns?: string | number;
  time?: string | number;
  attributes?: Record<string, unknown>;
  dropped_attributes_count?: number;
}

export interface Span {
  trace_id: string;
  span_id: string;
  parent_span_id?: string | null;
  service: string;
  name: string;
  kind?: string | null;
  start_ns: string;
  end_ns: string;
  duration_ms: number;
  status: 'OK' | 'ERROR' | 'UNSET' | string;
  status_message?: string | null;
  attributes?: unknown;
  events?: unknown;
  resource?: string | null;
  scope?: Scope | null;
  trace_state?: string | null;
  flags?: number | null;
  links?: SpanLink[];
  dropped_attributes_count?: number;
  dropped_events_count?: number;
  dropped_links_count?: number;
}

export interface LogLine {
  ts_ns: string;
  service: string;
  level: string;
  severity?: number;
  message: string;
  span_id?: string | null;
  stack_trace?: string | null;
  attributes?: unknown;
  severity_number?: number | null; /* OTel's 1..24 as sent */
  observed_ns?: string | null;
  body?: unknown; /* a body that was not a string, as sent (else null: the message is the body) */
  event_name?: string | null;
  scope?: Scope | null;
  resource?: string | null;
  flags?: number | null;
  dropped_attributes_count?: number;
}

export interface Trace {
  trace_id: string;
  spans: Span[];
  logs: LogLine[];
  incidents?: number[];
  resources?: Record<string, Resource>;
  linked_traces?: string[]; /* trace ids of span links that are stored */
}

export interface MetricPoint {
  ts_ns: string;
  avg: number;
  min: number;
  max: number;
  n?: number;
}

export interface Anomaly {
  id: number;
  service: string;
  metric: string;
  start_ns: string;
  end_ns: string;
  pct_change?: number;
  direction?: number;
  explanation?: string;
}

export interface ChangeEvent {
  ts_ns: string;
  service?: string | null;
  type: string;
  description?: string | null;
}

export interface EndpointHealth {
  endpoint: string;
  requests: number;
  error_rate: number;
  p95_ms: number | null;
  base_error_rate: number;
  base_p95_ms: number | null;
  health: number;
}

export interface ServiceHealth {
  service: string;
  health: number;
  requests: number;
  error_rate: number | null;
  endpoints: EndpointHealth[];
}

export interface SeriesPoint {
  ts_ns: string;
  requests: number;
  error_rate: number;
  p95_ms: number | null;
}
