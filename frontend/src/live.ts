// Merging the live first page of the incident list into the rows already loaded (pure).
import type { IncidentRow } from './api';

/* Sort key of the API's order: (last_seen µs, id) descending. */
export function sortKey(it: IncidentRow): [number, number] {
  return [it.last_seen_us ?? Date.parse(it.last_seen) * 1000, it.id];
}

function olderThan(a: IncidentRow, k: [number, number]): boolean {
  const x = sortKey(a);
  return x[0] < k[0] || (x[0] === k[0] && x[1] < k[1]);
}

export interface Merged {
  items: IncidentRow[];
  /* the live page held every matching incident: no older page is left to fetch */
  complete: boolean;
  /* ids that were not loaded before (none when nothing was loaded before) */
  added: number[];
}

/* The live page replaces the part of the list it covers (rows that changed move up, rows that left the
 * filter go); loaded rows older than the page's last one stay as they are. */
export function mergeLive(items: IncidentRow[], page: IncidentRow[], hasMore: boolean): Merged {
  const before = new Set(items.map((i) => i.id));
  const added = before.size ? page.filter((i) => !before.has(i.id)).map((i) => i.id) : [];
  if (!hasMore || !page.length) return { items: page.slice(), complete: !hasMore, added };
  const ids = new Set(page.map((i) => i.id));
  const oldest = sortKey(page[page.length - 1]);
  return { items: page.concat(items.filter((i) => !ids.has(i.id) && olderThan(i, oldest))), complete: false, added };
}
