// What OpenTelemetry sends beyond our own fields, shown in the span and log details: the resource
// (grouped: service, host, process, sdk, other), the scope, span links and events with their
// attributes, dropped counts, a structured log body. Grouping and formatting are pure (unit-tested);
// the renderers build text nodes only (dom.ts).
import type { LogLine, Resource, Scope, Span, SpanLink, SpanEvent } from './api';
import { el } from './dom';
import { fmtMs } from './format';

export type ResourceGroup = 'service' | 'host' | 'process' | 'sdk' | 'other';
const GROUPS: ResourceGroup[] = ['service', 'host', 'process', 'sdk', 'other'];

function groupOf(key: string): ResourceGroup {
  if (key.startsWith('service.')) return 'service';
  if (key.startsWith('host.')) return 'host';
  if (key.startsWith('process.')) return 'process';
  if (key.startsWith('telemetry.')) return 'sdk';
  return 'other';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/* The resource's attributes by group, in the order service, host, process, sdk, other; keys sorted
 * within a group; empty groups left out. */
export function groupResource(attrs: unknown): [ResourceGroup, [string, unknown][]][] {
  if (!isObject(attrs)) return [];
  const by = new Map<ResourceGroup, [string, unknown][]>();
  for (const k of Object.keys(attrs).sort()) {
    const g = groupOf(k);
    const list = by.get(g);
    if (list) list.push([k, attrs[k]]);
    else by.set(g, [[k, attrs[k]]]);
  }
  return GROUPS.filter((g) => by.has(g)).map((g) => [g, by.get(g) as [string, unknown][]]);
}

/* The resource of a span or log: the one its hash names in the answer's map; for rows stored before
 * resources were kept apart, the "resource" object ingest used to copy into the span's attributes
 * (its service.name was left out: the row's service is it). null when there is none. */
export function resourceOf(row: { resource?: string | null; service: string; attributes?: unknown },
  resources: Record<string, Resource> | undefined): Resource | null {
  if (row.resource && resources && resources[row.resource]) return resources[row.resource];
  const legacy = isObject(row.attributes) ? row.attributes.resource : undefined;
  if (isObject(legacy)) return { service: row.service, attributes: { 'service.name': row.service, ...legacy } };
  return null;
}

/* An attribute value as text: strings as they are, anything else as JSON. */
export function valueText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
}

/* "name version", or '' when no scope was sent. */
export function scopeText(s: Scope | null | undefined): string {
  if (!s) return '';
  return [s.name, s.version].filter((x) => x !== null && x !== undefined && x !== '').join(' ');
}

/* "2 attributes, 3 events" for the non-zero counts; '' when nothing was dropped. */
export function droppedText(counts: [string, number | null | undefined][]): string {
  return counts.filter(([, n]) => !!n && n > 0).map(([what, n]) => `${n} ${what}${n === 1 ? '' : 's'}`).join(', ');
}

/* A structured log body (a map, a list, a number...) pretty-printed; null when the body was a string
 * (it is the message then). */
export function bodyText(l: Pick<LogLine, 'body'>): string | null {
  return l.body === undefined || l.body === null ? null : JSON.stringify(l.body, null, 2);
}

export function attrList(attrs: unknown, cls = 'attr-list'): HTMLElement | null {
  if (!isObject(attrs) || !Object.keys(attrs).length) return null;
  return el('dl', { class: cls }, Object.keys(attrs).sort().map((k) => [el('dt', {}, k), el('dd', { class: 'mono' }, valueText(attrs[k]))]));
}

export function resourceNode(r: Resource, id = 'span-resource'): HTMLElement {
  const dropped = droppedText([['attribute', r.dropped_attributes_count]]);
  return el('details', { open: true, class: 'otel-resource', id },
    el('summary', {}, `resource · ${r.service}`),
    groupResource(r.attributes).map(([g, kv]) => el('div', { class: 'res-group', 'data-group': g },
      el('h4', {}, g), el('dl', {}, kv.map(([k, v]) => [el('dt', {}, k), el('dd', { class: 'mono' }, valueText(v))])))),
    r.schema_url ? el('p', { class: 'muted' }, `schema ${r.schema_url}`) : null,
    dropped ? el('p', { class: 'muted dropped' }, `dropped: ${dropped}`) : null);
}

/* The span's events: name, time after the span's start, attributes. */
export function eventsNode(events: unknown, spanStartNs: string): HTMLElement | null {
  if (!Array.isArray(events) || !events.length) return null;
  let start: bigint | null = null;
  try {
    start = BigInt(spanStartNs);
  } catch {
    start = null;
  }
  const at = (e: SpanEvent): string => {
    const t = e.time_ns ?? e.time;
    if (t === undefined || t === null || start === null) return '';
    try {
      return ` +${fmtMs(Number(BigInt(String(t)) - start) / 1e6)}`;
    } catch {
      return ` ${String(t)}`;
    }
  };
  return el('details', { open: true, class: 'otel-events', id: 'span-events' }, el('summary', {}, `events (${events.length})`),
    el('ol', {}, (events as SpanEvent[]).map((e) => el('li', { class: 'span-event' },
      el('b', {}, String(e.name ?? '')), el('span', { class: 'muted' }, at(e)),
      e.dropped_attributes_count ? el('span', { class: 'muted' }, ` (dropped ${e.dropped_attributes_count} attributes)`) : null,
      attrList(e.attributes)))));
}

/* The span's links; a link's trace is a link to the trace page when that trace is stored. */
export function linksNode(s: Span, stored: Set<string>): HTMLElement | null {
  const links = Array.isArray(s.links) ? s.links : [];
  if (!links.length) return null;
  const one = (k: SpanLink): HTMLElement => {
    const tid = String(k.trace_id ?? ''), sid = String(k.span_id ?? '');
    const target = stored.has(tid)
      ? el('a', { class: 'mono link-trace', href: `#/trace/${encodeURIComponent(tid)}${sid ? `?span=${encodeURIComponent(sid)}` : ''}`,
        title: 'open the linked trace' }, tid)
      : el('span', { class: 'mono', title: 'this trace is not stored' }, tid, el('span', { class: 'muted' }, ' (not stored)'));
    return el('li', { class: 'span-link-item', 'data-trace': tid },
      'trace ', target, ' · span ', el('span', { class: 'mono' }, sid),
      k.trace_state ? el('span', { class: 'muted' }, ` · state ${k.trace_state}`) : null,
      k.dropped_attributes_count ? el('span', { class: 'muted' }, ` (dropped ${k.dropped_attributes_count} attributes)`) : null,
      attrList(k.attributes));
  };
  return el('details', { open: true, class: 'otel-links', id: 'span-links' }, el('summary', {}, `links (${links.length})`),
    el('ul', {}, links.map(one)));
}
