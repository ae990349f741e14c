// Hash routes and the page contract: a page renders into its root and returns a cleanup function that
// stops its timers when the user leaves.

export interface Route {
  path: string[];
  params: URLSearchParams;
}

export type Cleanup = () => void;

export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const i = h.indexOf('?');
  const p = i < 0 ? h : h.slice(0, i);
  const q = i < 0 ? '' : h.slice(i + 1);
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q) };
}

/* Rewrites the hash's query without a navigation (no hashchange, no re-render). */
export function replaceQuery(path: string, params: URLSearchParams): void {
  const s = params.toString();
  history.replaceState(null, '', `#/${path}${s ? `?${s}` : ''}`);
}
