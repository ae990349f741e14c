// The replication-lag banner: when the query API reads a PostgreSQL streaming replica
// (QUERY_DATABASE_URL) that falls behind the primary, every page shows data that old; say so.
import { api, readKey } from './api';
import { el } from './dom';

/* Below this lag the replica is as good as the primary for a person reading incidents. */
export const LAG_WARN_S = 5;
const POLL_MS = 10000;

export interface Replication {
  in_recovery: boolean;
  replication_lag_s: number | null;
  receiving?: boolean | null;
}

/* The banner's text for an answer of GET /query/replication, or null when there is nothing to say (pure). */
export function lagMessage(r: Replication): string | null {
  if (!r.in_recovery) return null;
  if (r.receiving === false) return 'The read replica is not receiving from the primary: data shown may be stale.';
  if (r.replication_lag_s === null || r.replication_lag_s <= LAG_WARN_S) return null;
  return `The read replica is ${Math.round(r.replication_lag_s)} s behind the primary: the newest data is not shown yet.`;
}

/* Shows the banner in `slot` while the lag lasts, checking every POLL_MS. Never throws: an unreachable
 * backend is the pages' own error to show. */
export function watchReplication(slot: HTMLElement): void {
  const tick = async (): Promise<void> => {
    let msg: string | null = null;
    if (!readKey()) return; /* the key prompt is showing: a request would only be refused */
    try {
      msg = lagMessage(await api<Replication>('/query/replication'));
    } catch {
      msg = null;
    }
    slot.replaceChildren(...(msg ? [el('div', { class: 'banner lag', id: 'replication-lag', role: 'status' }, msg)] : []));
  };
  void tick();
  setInterval(() => void tick(), POLL_MS);
}
