// Trace page: any stored trace's waterfall and logs (reached from search results and incident pages),
// with the incidents it belongs to. ?span=<id> selects a span on load.
import { api, type Trace } from './api';
import { card, el, routeLink } from './dom';
import { LogView } from './logs';
import type { Cleanup, Route } from './route';
import { Waterfall } from './waterfall';

export async function tracePage(root: HTMLElement, traceId: string, route: Route): Promise<Cleanup> {
  const trace = await api<Trace>(`/query/traces/${encodeURIComponent(traceId)}`);
  let wf: Waterfall | null = null;
  const logs = new LogView(trace.logs || [], (spanId) => (wf ? wf.focus(spanId) : false));
  wf = new Waterfall(trace.spans || [], null, new Set(), (spanId) => logs.filterSpan(spanId),
    { resources: trace.resources, linkedTraces: trace.linked_traces });
  const incidents = trace.incidents || [];
  root.replaceChildren(
    el('section', { class: 'incident-head', id: 'trace-head' },
      el('h2', {}, 'Trace ', el('span', { class: 'mono' }, trace.trace_id)),
      el('p', {}, incidents.length ? ['Part of incident', incidents.length > 1 ? 's ' : ' ',
        incidents.map((id, i) => [i ? ', ' : '', routeLink(['incident', id], `#${id}`)])] : el('span', { class: 'muted' }, 'Not part of any incident.'))),
    card('trace', 'Trace waterfall', wf.node),
    card('logs', 'Logs of the trace', logs.node));
  const span = route.params.get('span');
  if (span) requestAnimationFrame(() => wf?.focus(span));
  return () => {};
}
