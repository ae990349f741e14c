// The query API, with the read key kept in localStorage (asked for once).
export function readKey() {
  return localStorage.getItem('ps_read_key') || '';
}

export function setReadKey(k) {
  localStorage.setItem('ps_read_key', k);
}

export async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${readKey()}`, 'Content-Type': 'application/json', ...(options.headers || {}) },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = new Error((body.error && body.error.message) || `HTTP ${res.status}`);
    e.status = res.status;
    throw e;
  }
  return body;
}
