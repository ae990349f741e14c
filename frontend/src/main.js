// Hash router of the dashboard: #/ incidents, #/incident/<id>, #/services. Read-only but for feedback.
import { readKey, setReadKey } from './api.js';
import { el } from './dom.js';
import { incidentList } from './incidents.js';
import { incidentPage } from './incident.js';
import { servicesPage } from './services.js';

const app = document.getElementById('app');
let cleanup = null;

function keyBox() {
  const box = document.getElementById('keybox');
  const input = el('input', { id: 'read-key', type: 'password', placeholder: 'read API key', value: readKey() });
  box.replaceChildren(input, el('button', { id: 'save-key', onclick: () => { setReadKey(input.value); route(); } }, 'Use key'));
}

async function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  app.replaceChildren();
  const h = location.hash || '#/';
  try {
    if (h.startsWith('#/incident/')) await incidentPage(app, encodeURIComponent(h.slice(11)));
    else if (h.startsWith('#/services')) await servicesPage(app);
    else cleanup = incidentList(app);
  } catch (e) {
    app.replaceChildren(el('p', { class: 'error' }, e.status === 401 ? 'Enter a read API key above.' : e.message));
  }
}

keyBox();
window.addEventListener('hashchange', route);
route();
