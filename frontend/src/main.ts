// The dashboard shell: asks for the read key once, then routes by hash:
//   #/                      incident list (filters in the query: ?status=&service=&range=&from=&to=)
//   #/incident/<id>         incident page (report, waterfall, logs, metrics, suspects, feedback)
//   #/trace/<trace id>      a trace's waterfall and logs (?span=<id> selects a span)
//   #/search                telemetry search (?kind=logs|spans|metrics&q=&service=&level=&trace_id=&range=)
//   #/services              health per service and endpoint
//   #/alerts                alert deliveries (?state=) and silences
import './style.css';
import { alertsPage } from './alerts';
import { ApiError, readKey, setReadKey } from './api';
import { el } from './dom';
import { incidentList } from './incidents';
import { incidentPage } from './incident';
import { searchPage } from './search';
import { servicesPage } from './services';
import { tracePage } from './trace';
import { parseRoute, type Cleanup } from './route';
import { watchReplication } from './replication';

const app = document.getElementById('app') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
let cleanup: Cleanup | null = null;
let generation = 0;

function keyPrompt(message = ''): void {
  stop();
  const input = el('input', {
    id: 'read-key', type: 'password', placeholder: 'read API key', autocomplete: 'off', size: 40,
  });
  const form = el('form', { id: 'key-form', class: 'card key-form' },
    el('h2', {}, 'Read API key'),
    el('p', {}, 'The dashboard reads the query API with one of the backend\'s READ_API_KEYS. '
      + 'It is kept in this browser (localStorage) and sent as a Bearer token.'),
    message ? el('p', { class: 'error' }, message) : null,
    input, ' ', el('button', { id: 'save-key', type: 'submit' }, 'Use this key'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!input.value.trim()) return;
    setReadKey(input.value.trim());
    route();
  });
  app.replaceChildren(form);
  input.focus();
}

function stop(): void {
  generation++;
  if (cleanup) cleanup();
  cleanup = null;
}

async function route(): Promise<void> {
  if (!readKey()) {
    keyPrompt();
    return;
  }
  stop();
  const mine = generation;
  const r = parseRoute(location.hash);
  const section = ({ incident: 'incidents', trace: 'search' } as Record<string, string>)[r.path[0]] || r.path[0] || 'incidents';
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.page === section);
  app.replaceChildren(el('p', { class: 'muted', id: 'loading' }, 'Loading…'));
  try {
    let c: Cleanup;
    if (r.path[0] === 'incident' && r.path[1]) c = await incidentPage(app, r.path[1], r);
    else if (r.path[0] === 'trace' && r.path[1]) c = await tracePage(app, r.path[1], r);
    else if (r.path[0] === 'services') c = await servicesPage(app, r);
    else if (r.path[0] === 'search') c = searchPage(app, r);
    else if (r.path[0] === 'alerts') c = await alertsPage(app, r);
    else c = incidentList(app, r);
    if (mine !== generation) c();
    else cleanup = c;
  } catch (e) {
    if (mine !== generation) return;
    const err = e as ApiError;
    if (err.status === 401) return; /* the prompt is already shown */
    app.replaceChildren(el('div', { class: 'card error', id: 'page-error' },
      err.status === 404 ? `Not found: ${err.message}` : `Could not load this page: ${err.message}`));
  }
}

window.addEventListener('ps-unauthorized', () => {
  setReadKey('');
  keyPrompt('The key was refused (401). Enter a valid read key.');
});
window.addEventListener('hashchange', () => void route());
document.getElementById('change-key')?.addEventListener('click', (e) => {
  e.preventDefault();
  setReadKey('');
  keyPrompt();
});
const lagSlot = el('div', { id: 'lag-slot' });
app.before(lagSlot);
void route();
watchReplication(lagSlot);
