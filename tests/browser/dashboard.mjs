// Drives the dashboard in Debian's chromium (playwright-core, no browser download) against a backend
// seeded with tests/browser/seed.sql. Each check prints "ok" or "FAIL"; the run ends with
// "N passed, N failed" and exits non-zero on any failure. Screenshots go to $PS_TEST_ARTIFACTS.
// Environment: DASHBOARD_URL, READ_KEY, DATABASE_URL (psql is used to add rows and read feedback).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.DASHBOARD_URL;
const key = process.env.READ_KEY;
const dbUrl = process.env.DATABASE_URL;
const out = process.env.PS_TEST_ARTIFACTS || '.';
if (!base || !key || !dbUrl) {
  console.error('dashboard.mjs: DASHBOARD_URL, READ_KEY and DATABASE_URL are required');
  process.exit(2);
}

// REPLICA_DATABASE_URL (scripts/test-failover): the query API reads a streaming replica, so a row written
// here is shown only once the replica has replayed it: each write waits for that (at most 10 s).
const replicaUrl = process.env.REPLICA_DATABASE_URL;
function psql(url, q) {
  const r = spawnSync('psql', [url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', q], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
  return r.stdout.trim();
}
function replicaCaughtUp() {
  if (!replicaUrl) return;
  const lsn = psql(dbUrl, 'SELECT pg_current_wal_lsn()');
  const until = Date.now() + 10000;
  while (psql(replicaUrl, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`) !== 't') {
    if (Date.now() > until) throw new Error(`the replica did not replay ${lsn} within 10 s`);
    spawnSync('sleep', ['0.05']);
  }
}
function sql(q) {
  const out = psql(dbUrl, q);
  if (!/^\s*SELECT\b/i.test(q)) replicaCaughtUp();
  return out;
}
replicaCaughtUp(); // the seed (scripts/test-browser) too
const idOf = (fp) => sql(`SELECT id FROM incidents WHERE fingerprint = '${fp}'`);

class CheckError extends Error {}
function expect(cond, msg) {
  if (!cond) throw new CheckError(msg);
}

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    await page.screenshot({ path: join(out, `dashboard-failed-${results.length}.png`) }).catch(() => {});
    console.log(`FAIL ${name} (${Date.now() - t0} ms): ${e instanceof CheckError ? e.message : e.stack || e}`);
  }
}

const profile = mkdtempSync(join(tmpdir(), 'ps-chromium-'));
/* a fresh profile directory per run (Playwright passes it as --user-data-dir) */
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1440, height: 1000 },
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(10000);
let dialogs = 0;
const pageErrors = [];
const foreign = [];
page.on('dialog', async (d) => {
  dialogs++;
  await d.dismiss();
});
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) pageErrors.push(m.text()); });
page.on('request', (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
});
const shot = (name, opts = {}) => page.screenshot({ path: join(out, `dashboard-${name}.png`), ...opts });
const rowIds = () => page.$$eval('#incident-scroll .incident-row', (rows) =>
  rows.sort((a, b) => a.offsetTop - b.offsetTop).map((r) => ({ id: r.dataset.id, last: Number(r.dataset.lastSeen),
    status: r.dataset.status, service: r.dataset.service, text: r.textContent })));

/* query_dashboard.c's routes (series, metric names, change events); the dashboard falls back without */
const hasDashboardRoutes = (await fetch(`${base}/query/changes`, { headers: { Authorization: `Bearer ${key}` } })).status === 200;
if (!hasDashboardRoutes) console.log('note: GET /query/changes answers 404: query_dashboard_register() is not called; fallbacks checked');
const paymentId = idOf('seed-payment-timeout');
const inventoryId = idOf('seed-inventory-slow');
const anomalyId = idOf('seed-payment-anomaly');

try {
  await check('asks for the read key once and keeps it', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#key-form');
    await shot('key');
    await page.fill('#read-key', key);
    await page.click('#save-key');
    await page.waitForSelector('#incident-scroll .incident-row');
    await page.reload();
    await page.waitForSelector('#incident-scroll .incident-row');
    expect(await page.locator('#key-form').count() === 0, 'asked for the key again after a reload');
    expect(await page.evaluate((k) => Object.values(localStorage).includes(k), key), 'the key is not in localStorage');
  });

  await check('incident list: newest first', async () => {
    const rows = await rowIds();
    expect(rows.length > 5, `only ${rows.length} rows`);
    expect(rows[0].id === paymentId, `first row is #${rows[0].id}, expected the newest #${paymentId}`);
    expect(rows[0].text.includes('DbTimeoutException'), `first row: ${rows[0].text}`);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1].last >= rows[i].last, `rows ${i - 1} and ${i} out of order`);
    await shot('list');
  });

  await check('incident list: 10,000 incidents page through cursors into a virtualised list', async () => {
    const t0 = Date.now();
    expect((await page.textContent('#count')).includes('scroll for more'), 'no next page announced');
    for (let i = 0; i < 80; i++) {
      const before = await page.textContent('#count');
      if (!before.includes('more')) break;
      await page.$eval('#incident-scroll', (s) => { s.scrollTop = s.scrollHeight; });
      await page.waitForFunction((b) => document.querySelector('#count').textContent !== b, before);
    }
    const count = await page.textContent('#count');
    expect(/^10,000 incidents$/.test(count.trim()), `after scrolling to the end: "${count}"`);
    const dom = await page.locator('#incident-scroll .incident-row').count();
    expect(dom < 100, `${dom} rows in the DOM: not virtualised`);
    const loadMs = Date.now() - t0;
    /* time to draw a jump to the middle of the list */
    const drawMs = await page.$eval('#incident-scroll', (s) => new Promise((res) => {
      const t = performance.now();
      s.scrollTop = s.scrollHeight / 2;
      requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t)));
    }));
    expect(drawMs < 500, `scrolling to the middle took ${drawMs.toFixed(0)} ms`);
    const rows = await rowIds();
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1].last >= rows[i].last, 'middle rows out of order');
    console.log(`     all 10,000 loaded in ${loadMs} ms; a jump to the middle drew in ${drawMs.toFixed(0)} ms`);
    await page.$eval('#incident-scroll', (s) => { s.scrollTop = 0; });
  });

  await check('incident list: filters (status, service, time range)', async () => {
    await page.selectOption('#f-status', 'resolved');
    await page.waitForFunction(() => [...document.querySelectorAll('#incident-scroll .incident-row')].every((r) => r.dataset.status === 'resolved'));
    await page.selectOption('#f-status', '');
    await page.fill('#f-service', 'inventory');
    await page.waitForFunction(() => location.hash.includes('service=inventory'));
    await page.waitForFunction(() => {
      const r = [...document.querySelectorAll('#incident-scroll .incident-row')];
      return r.length > 0 && r.every((x) => x.dataset.service === 'inventory' || x.dataset.services.split(' ').includes('inventory'));
    });
    await page.fill('#f-service', '');
    await page.selectOption('#f-range', '1h');
    await page.waitForFunction(() => document.querySelector('#count').textContent.trim() === '4 incidents');
    await page.click('#f-clear');
    await page.waitForFunction(() => document.querySelector('#count').textContent.includes('more'));
  });

  await check('incident list: a new incident appears live, without a reload', async () => {
    await page.goto(`${base}/#/`);
    await page.waitForSelector('#incident-scroll .incident-row');
    await page.evaluate(() => { window.__noReload = 42; });
    sql(`INSERT INTO incidents (fingerprint, title, root_service, first_seen, last_seen, trace_count, services)
         VALUES ('live-test', 'gateway: <b>live</b> incident', 'gateway', now(), now() + interval '1 second', 1, ARRAY['gateway'])`);
    const liveId = idOf('live-test');
    await page.waitForFunction((id) => {
      const first = [...document.querySelectorAll('#incident-scroll .incident-row')].sort((a, b) => a.offsetTop - b.offsetTop)[0];
      return first && first.dataset.id === id;
    }, liveId, { timeout: 15000 });
    expect(await page.evaluate(() => window.__noReload) === 42, 'the page was reloaded');
    const text = await page.textContent(`.incident-row[data-id="${liveId}"]`);
    expect(text.includes('<b>live</b>'), `title not shown literally: ${text}`);
    expect((await page.textContent('#live')).includes('1 new'), 'no "new" note');
  });

  await check('incident page: the RCA report', async () => {
    const t0 = Date.now();
    await page.click(`.incident-row[data-id="${paymentId}"]`);
    await page.waitForSelector('#summary');
    await page.waitForSelector('#waterfall .wf-row');
    console.log(`     incident page with a 5,000-span trace drawn in ${Date.now() - t0} ms`);
    expect((await page.textContent('#summary')).includes('database connection'), 'summary');
    expect((await page.textContent('#verdict')).includes('conclusive'), 'verdict');
    expect((await page.textContent('#generated-by')).includes('llm'), 'generated_by');
    expect((await page.textContent('#confidence')).includes('86%'), 'confidence');
    expect((await page.textContent('#impact')).includes('30%'), 'impact');
    expect(await page.locator('#remediation li').count() === 2, 'remediation');
    expect(await page.locator('#evidence a.cite').count() === 4, 'cited evidence links');
    const rc = await page.textContent('#root-cause');
    expect(rc.includes('ChargeRepository.save (ChargeRepository.java:88)') && rc.includes('pool exhausted'), `root cause: ${rc}`);
    expect((await page.textContent('#metric-hints')).includes('error_rate up 7,650% (0.004 → 0.31)'), 'metric shifts of the evidence');
  });

  await check('waterfall: virtualised; "jump to error" scrolls to the highlighted root-cause span', async () => {
    const dom = await page.locator('#waterfall .wf-row').count();
    expect(dom < 200, `${dom} waterfall rows in the DOM`);
    expect((await page.textContent('.wf-toolbar')).includes('5,000 spans'), 'span count');
    await page.$eval('#waterfall', (s) => { s.scrollTop = 0; });
    expect(await page.locator('#waterfall .wf-row.root-cause').count() === 0, 'root cause drawn before the jump (test assumes it is far down)');
    await page.click('#jump');
    const root = page.locator('#waterfall .wf-row.root-cause');
    await root.waitFor({ state: 'visible' });
    expect(await root.getAttribute('data-span') === '00000000000010e1', 'wrong root-cause span');
    const inView = await page.$eval('#waterfall', (s) => {
      const r = s.querySelector('.wf-row.root-cause').getBoundingClientRect(), v = s.getBoundingClientRect();
      return r.top >= v.top && r.bottom <= v.bottom;
    });
    expect(inView, 'root-cause row not inside the waterfall view');
    expect(await page.locator('#waterfall .wf-row.on-path').count() >= 1, 'propagation path not highlighted near the root cause');
    expect((await page.textContent('#span-detail')).includes('db.query charge'), 'span details');
    await page.locator('#trace').screenshot({ path: join(out, 'dashboard-waterfall.png') });
  });

  await check('waterfall: fold a subtree, show only failing spans and their callers; jump reveals', async () => {
    await page.$eval('#waterfall', (s) => { s.scrollTop = 0; });
    await page.click('#waterfall .wf-row[data-index="0"] .wf-caret.on');
    await page.waitForFunction(() => document.querySelector('#wf-count').textContent === 'showing 1');
    await page.click('#jump');
    await page.locator('#waterfall .wf-row.root-cause').waitFor({ state: 'visible' });
    expect((await page.textContent('#wf-count')) === '', 'jump did not unfold the callers of the root cause');
    await page.check('#wf-errors-only');
    const shown = Number((await page.textContent('#wf-count')).replace(/\D/g, ''));
    expect(shown > 10 && shown < 40, `only failing: showing ${shown}`);
    const statuses = await page.$$eval('#waterfall .wf-row', (r) => r.map((x) => x.classList.contains('error') || x.classList.contains('on-path') || x.classList.contains('root-cause')));
    expect(statuses.filter((x) => !x).length <= 10, 'only failing spans shows too many healthy spans');
    await page.click('#jump');
    await page.locator('#waterfall .wf-row.root-cause').waitFor({ state: 'visible' });
    await page.uncheck('#wf-errors-only');
  });

  await check('report: a cited span link scrolls to and highlights the span', async () => {
    await page.$eval('#waterfall', (s) => { s.scrollTop = 0; });
    await page.click('#evidence a.cite[data-cite="span:0000000000000870"]');
    await page.locator('#waterfall .wf-row.selected[data-span="0000000000000870"]').waitFor({ state: 'visible' });
  });

  await check('report: a cited log link scrolls to and highlights the log line', async () => {
    await page.click('#evidence a.cite[data-cite="log:219"]');
    const row = page.locator('#logs .log-row.flash');
    await row.waitFor({ state: 'visible' });
    expect((await row.textContent()).includes('charge failed'), 'highlighted the wrong line');
  });

  await check('telemetry is text: <script> log line shown literally, no dialog, no element', async () => {
    const logs = await page.textContent('#logs');
    expect(logs.includes('<script>alert(1)</script> charge failed'), 'the <script> log line is not shown literally');
    expect(logs.includes('<img src=x onerror=alert(2)>'), 'the <img> log line is not shown literally');
    expect(await page.locator('#app script, #app img').count() === 0, 'telemetry became elements');
    await page.waitForTimeout(300);
    expect(dialogs === 0, `${dialogs} dialog(s) fired`);
  });

  await check('logs: stack traces folded, expanded on click', async () => {
    const row = page.locator('#logs .log-row', { hasText: 'GET /checkout -> 500' });
    const details = row.locator('details.stack');
    expect(await details.getAttribute('open') === null, 'stack trace open before a click');
    expect(!(await row.locator('pre').isVisible()), 'stack text visible while folded');
    await details.locator('summary').click();
    await row.locator('pre').waitFor({ state: 'visible' });
    expect((await row.locator('pre').textContent()).includes('proxy.js:118'), 'stack text');
  });

  await check('metric charts with anomalies and change events marked', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#charts svg.chart .line').length >= 6, null, { timeout: 15000 });
    const pay = page.locator('#charts .chart-group[data-service="payment"]');
    expect(await pay.locator('.mark-anomaly').count() >= 1, 'no anomaly shaded on payment');
    expect(await pay.locator('.mark-change').count() >= 1, 'no change event marked on payment');
    expect(await pay.locator('.mark-incident').count() >= 1, 'incident start not marked');
    expect((await pay.locator('.mark-change title').first().textContent()).includes('v2.3.1'), 'change mark label');
  });

  await check('suspects with confidence and evidence', async () => {
    const s = page.locator('#suspects .suspect');
    expect(await s.count() === 2, 'two suspects');
    const first = await s.first().textContent();
    expect(first.includes('v2.3.1') && first.includes('82%') && first.includes('60 s before'), `first suspect: ${first}`);
    await shot('incident', { fullPage: true });
  });

  await check('feedback round trip: wrong + true service + a judged suspect land in the feedback table', async () => {
    /* the seeded deploy (connection pool 20 -> 5) is suspect:0 of the payment analysis; the engineer
     * names it and says it was not the cause, so the row carries the suspect and an explicit false */
    const opts = await page.locator('#fb-suspect option').allTextContents();
    expect(opts.length === 3 && opts[0] === 'none', `suspect options: ${JSON.stringify(opts)}`);
    expect(await page.isDisabled('#fb-suspect-cause'), 'the cause checkbox is enabled before a suspect is chosen');
    await page.selectOption('#fb-suspect', 'suspect:0');
    expect((await page.locator('#fb-suspect option:checked').textContent()).includes('v2.3.1'), 'suspect:0 is not the deploy');
    await page.check('#fb-suspect-cause');
    await page.uncheck('#fb-suspect-cause');
    await page.click('#fb-wrong');
    await page.fill('#fb-service', 'inventory');
    await page.fill('#fb-comment', 'pool was fine; inventory locked the table');
    await page.click('#fb-send');
    await page.waitForFunction(() => document.querySelector('#fb-msg').textContent.includes('Recorded'));
    const row = sql(`SELECT verdict || '|' || true_service || '|' || (analysis_id IS NOT NULL) || '|' || suspect_index || '|' || suspect_was_cause FROM feedback WHERE incident_id = ${paymentId}`);
    expect(row === 'wrong|inventory|true|0|false', `feedback row: "${row}"`);
    expect((await page.textContent('#fb-history')).includes('suspect:0 was not the cause'), 'the judged suspect is not listed');
    expect((await page.textContent('#fb-history')).includes('true service inventory'), 'the sent feedback is not listed');
    if (hasDashboardRoutes) {
      await page.reload();
      await page.waitForFunction(() => document.querySelector('#fb-history')?.textContent.includes('inventory locked the table'));
    }
  });

  await check('a deterministic report after an LLM failure shows the LLM error', async () => {
    await page.goto(`${base}/#/incident/${inventoryId}`);
    await page.waitForSelector('#llm-error');
    expect((await page.textContent('#llm-error')).includes('timed out after 20000 ms'), 'LLM error text');
    expect((await page.textContent('#generated-by')).includes('deterministic'), 'generated_by');
    expect((await page.textContent('#verdict')).includes('inconclusive'), 'verdict');
    await page.click('#jump');
    await page.locator('#waterfall .wf-row.root-cause[data-span="0000000000000004"]').waitFor({ state: 'visible' });
  });

  await check('an incident without a report yet', async () => {
    await page.goto(`${base}/#/incident/${anomalyId}`);
    await page.waitForSelector('#no-report');
    await page.waitForSelector('#charts svg.chart');
  });

  await check('lifecycle: the timeline, the related incidents and the grouping in the list (issue 15)', async () => {
    await page.goto(`${base}/#/incident/${paymentId}`);
    await page.waitForSelector('#timeline .ev');
    const kinds = await page.$$eval('#timeline .ev', (l) => l.map((e) => e.dataset.kind));
    expect(kinds.join(',') === 'opened,paged,grouped', `timeline: ${kinds}`);
    expect((await page.textContent('#timeline')).includes('3 traces reached ALERT_MIN_TRACES (3)'), 'paged detail');
    const rel = await page.textContent('#related-incidents');
    expect(rel.includes(`#${anomalyId}`) && rel.includes('root service payment matches'), `related: ${rel}`);
    await page.click('#related-incidents a');
    await page.waitForSelector('#parent-incident');
    expect((await page.textContent('#parent-incident')).includes(`#${paymentId}`), 'parent link');
    expect((await page.textContent('#timeline')).includes('grouped because root service payment'), 'child timeline');
    await page.goto(`${base}/#/`);
    await page.waitForSelector(`.incident-row[data-id="${paymentId}"]`);
    expect(await page.getAttribute(`.incident-row[data-id="${paymentId}"]`, 'data-children') === '1', 'children count');
    expect((await page.textContent(`.incident-row[data-id="${paymentId}"]`)).includes('+1 related'), 'related count shown');
    expect(await page.getAttribute(`.incident-row[data-id="${anomalyId}"]`, 'data-parent') === String(paymentId), 'child row');
  });

  await check('degradation: the report rests on the services ranked over the window, with their evidence', async () => {
    sql(`INSERT INTO incidents (fingerprint, kind, title, root_service, root_operation, first_seen, last_seen, services,
                                endpoints, report_state)
         VALUES ('seed-degradation', 'degradation', 'gateway POST /orders: p95 16 ms → 414 ms; 2 metric anomaly episodes',
                 'payment', 'POST /charge', now() - interval '2 hours', now() - interval '2 hours', ARRAY['gateway'],
                 ARRAY['POST /orders'], 'ready')`);
    const id = idOf('seed-degradation');
    const ranking = {
      verdict: 'payment stands out (score 10.4)', nothing_stands_out: false, top_score: 10.4, quiet_threshold: 3,
      window: { from_ns: 1.7e18, to_ns: 1.7e18 + 300e9, baseline_from_ns: 1.7e18 - 300e9, baseline_to_ns: 1.7e18 },
      services: [
        { service: 'payment', rank: 1, score: 10.4, channels: { latency: 10.4, changes: 1.5 }, evidence: [
          { kind: 'self_time', score: 10.4, text: 'self time of POST /charge: median 0.09 ms -> 400.15 ms' },
          { kind: 'change', score: 1.5, text: 'deploy of payment 10 s after the window starts: v2.3.1' }] },
        { service: 'gateway', rank: 2, score: 0.4, evidence: [{ kind: 'gap_out', score: 0.4, text: '<i>echo</i>' }] }],
    };
    const report = {
      summary: 'gateway POST /orders degraded. The window ranking puts payment first (score 10.4, next gateway 0.4).',
      root_cause: { service: 'payment', operation: 'POST /charge', span_id: null, exception: null },
      impact: 'gateway POST /orders: p95 16 ms → 414 ms', evidence: ['self time of POST /charge: median 0.09 ms -> 400.15 ms'],
      remediation: ['Look at what payment does in POST /charge'], confidence: 0.95, verdict: 'conclusive',
      generated_by: 'deterministic',
    };
    const q = (o) => `'${JSON.stringify(o).replace(/'/g, "''")}'::jsonb`;
    sql(`INSERT INTO analyses (incident_id, trace_id, version, root_service, root_operation, evidence, report, generated_by)
         VALUES (${id}, 'window:${id}', 1, 'payment', 'POST /charge',
                 ${q({ window_ranking: ranking, root_cause: { service: 'payment', operation: 'POST /charge' } })}, ${q(report)}, 'deterministic')`);
    await page.goto(`${base}/#/incident/${id}`);
    await page.waitForSelector('#ranking table.ranking');
    const rows = await page.$$eval('#ranking tr.ranked', (r) => r.map((x) => x.textContent));
    expect(rows.length === 2, `${rows.length} ranked rows`);
    expect(rows[0].includes('payment') && rows[0].includes('self time of POST /charge') && rows[0].includes('v2.3.1'), `first row: ${rows[0]}`);
    expect(rows[1].includes('<i>echo</i>'), `evidence not shown as text: ${rows[1]}`);
    expect((await page.textContent('#ranking-verdict')).includes('payment stands out'), 'verdict');
    expect((await page.textContent('#root-cause')).includes('payment'), 'root cause in the report');
    expect((await page.textContent('#trace')).includes('has no trace'), 'a window report has no trace to load');
    await shot('degradation');
  });

  await check('services page: health per service and endpoint, sparklines', async () => {
    await page.goto(`${base}/#/services`);
    await page.waitForSelector('#services .service-row');
    const health = await page.$$eval('#services .service-row', (rows) =>
      Object.fromEntries(rows.map((r) => [r.dataset.service, Number(r.querySelector('.health').dataset.health)])));
    expect(Object.keys(health).length === 5, `services: ${JSON.stringify(health)}`);
    expect(health.payment < 50 && health.auth >= 90, `health scores: ${JSON.stringify(health)}`);
    expect(await page.locator('#services .endpoint-row').count() >= 5, 'endpoint rows');
    if (hasDashboardRoutes) {
      expect(await page.locator('#services .service-row svg.spark path.spark-line').count() >= 15, 'service sparklines');
      expect(await page.locator('#services .endpoint-row svg.spark path.spark-line').count() >= 15, 'endpoint sparklines');
    } else {
      /* a backend without query_dashboard.c's routes: one p95 sparkline per service from its metric */
      await page.waitForFunction(() => document.querySelectorAll('#services .service-row svg.spark path.spark-line').length >= 5);
    }
    await shot('services', { fullPage: true });
  });

  await check('search: logs by text, shown as text, opening the trace at the span', async () => {
    await page.goto(`${base}/#/search`);
    await page.fill('#s-q', '<script>');
    await page.click('#s-go');
    await page.waitForFunction(() => document.querySelector('#s-count').textContent.trim() === '1 result');
    const row = page.locator('#search-results .search-row').first();
    expect((await row.textContent()).includes('<script>alert(1)</script> charge failed'), 'search row text');
    await row.click();
    expect((await page.textContent('#s-record')).includes('00000000000010e1'), 'record detail');
    expect(page.url().includes('q=%3Cscript%3E'), `query not kept in the URL: ${page.url()}`);
    await row.locator('.s-trace a').click();
    await page.locator('#waterfall .wf-row.selected[data-span="00000000000010e1"]').waitFor({ state: 'visible' });
    expect((await page.textContent('#trace-head')).includes(`#${paymentId}`), 'trace page names its incident');
    await shot('trace');
  });

  await check('span detail: resource grouped, scope, events, links to a stored trace, dropped counts; a structured log body', async () => {
    await page.goto(`${base}/#/trace/cafe0000000000000000000000000001?span=00000000000010e1`);
    await page.waitForSelector('#span-detail #span-resource');
    const groups = await page.$$eval('#span-resource .res-group', (g) => g.map((x) => x.dataset.group));
    expect(groups.join() === 'service,host,process,sdk,other', `resource groups: ${groups}`);
    const host = await page.textContent('#span-resource .res-group[data-group="host"]');
    expect(host.includes('host.name') && host.includes('pay-7f9c'), `host group: ${host}`);
    expect((await page.textContent('#span-resource .res-group[data-group="sdk"]')).includes('java'), 'sdk group');
    expect((await page.textContent('#span-resource .res-group[data-group="other"]')).includes('payment-7f9c-2'), 'other group');
    expect((await page.textContent('#span-scope')) === 'io.acme.payment.jdbc 4.0.3', 'scope');
    expect((await page.textContent('#span-dropped')) === '3 events', `dropped: ${await page.textContent('#span-dropped')}`);
    const ev = await page.textContent('#span-events .span-event');
    expect(ev.includes('exception') && ev.includes('com.acme.payment.DbTimeoutException'), `event: ${ev}`);
    const links = page.locator('#span-links .span-link-item');
    expect(await links.count() === 2, `${await links.count()} links`);
    expect((await links.nth(1).textContent()).includes('(not stored)') && await links.nth(1).locator('a').count() === 0,
      'a link to a trace that is not stored is not clickable');
    expect((await links.nth(0).textContent()).includes('retry of order 8812'), 'link attributes');
    /* the log with a structured body: severity number, event name, the body pretty-printed */
    const log = page.locator('#logs .log-row', { hasText: 'payment.rejected' });
    expect((await log.locator('.log-sevnum').textContent()) === 'sev 17', 'severity number');
    await log.locator('details.log-body summary').click();
    const body = await log.locator('details.log-body pre').textContent();
    expect(body.includes('"amount": {\n    "value": 42.5,\n    "currency": "EUR"\n  }'), `body not pretty-printed: ${body}`);
    await page.locator('#span-detail').screenshot({ path: join(out, 'dashboard-span-otel.png') });
    await links.nth(0).locator('a.link-trace').click();
    await page.locator('#waterfall .wf-row.selected[data-span="0000000000000002"]').waitFor({ state: 'visible' });
    expect((await page.textContent('#trace-head')).includes('cafe0000000000000000000000000003'), 'the linked trace is shown');
  });

  await check('search: failing spans of a service; spans paged with the cursor', async () => {
    await page.goto(`${base}/#/search?kind=spans&service=payment&level=ERROR&range=1h`);
    await page.waitForFunction(() => /results$/.test(document.querySelector('#s-count').textContent.trim()));
    const statuses = await page.$$eval('#search-results .search-row .badge', (b) => b.map((x) => x.textContent));
    expect(statuses.length > 5 && statuses.every((x) => x === 'ERROR'), `statuses: ${statuses.slice(0, 5)}`);
    await page.selectOption('#s-level', '');
    await page.click('#s-go');
    await page.waitForFunction(() => /^200 results · scroll for more/.test(document.querySelector('#s-count').textContent));
    await page.$eval('#search-results', (s) => { s.scrollTop = s.scrollHeight; });
    await page.waitForFunction(() => /^400 results/.test(document.querySelector('#s-count').textContent));
    expect(await page.locator('#search-results .search-row').count() < 100, 'search results not virtualised');
  });

  await check('search: always a bounded range (default the last hour, none past 7 days); the API\'s refusal shown', async () => {
    /* a link from before "any time" was dropped: the search still sends from and to, one hour apart */
    const first = page.waitForRequest((r) => r.url().includes('/query/signals?'));
    await page.goto(`${base}/#/search?q=charge&range=`);
    const sent = new URL((await first).url()).searchParams;
    const span = (Date.parse(sent.get('to')) - Date.parse(sent.get('from'))) / 1000;
    expect(sent.get('q') === 'charge' && span === 3600, `sent from=${sent.get('from')} to=${sent.get('to')}`);
    expect((await page.inputValue('#s-range')) === '1h', 'default range');
    await page.waitForFunction(() => /results?/.test(document.querySelector('#s-count').textContent));
    const ranges = await page.$$eval('#s-range option', (o) => o.map((x) => x.value));
    expect(ranges.join() === '15m,1h,6h,24h,7d', `ranges offered: ${ranges}`);
    /* the longest range offered is within QUERY_MAX_SEARCH_RANGE_S's default: answered, not refused */
    await page.selectOption('#s-range', '7d');
    const week = page.waitForResponse((r) => r.url().includes('/query/signals?'));
    await page.click('#s-go');
    const weekAnswer = await week;
    const weekSent = new URL(weekAnswer.url()).searchParams;
    expect(weekAnswer.status() === 200, `7 days: ${weekAnswer.status()}`);
    expect((Date.parse(weekSent.get('to')) - Date.parse(weekSent.get('from'))) / 1000 === 7 * 86400, '7 days sent');
    await page.waitForFunction(() => /results?/.test(document.querySelector('#s-count').textContent));
    expect((await page.textContent('#s-error')) === '', 'no error for a 7-day search');
    /* a search the API refuses (a text over 200 characters): its message, and no stale results */
    await page.fill('#s-q', 'x'.repeat(201));
    await page.click('#s-go');
    await page.waitForFunction(() => document.querySelector('#s-error').textContent.trim() !== '');
    const msg = await page.textContent('#s-error');
    expect(/\bq\b/.test(msg) && !/^HTTP \d+$/.test(msg), `error shown: ${msg}`);
    expect(await page.locator('#search-results .search-row').count() === 0, 'results of the previous search still shown');
    await shot('search-error');
  });

  await check('dashboard routes: shapes and 400s naming the bad filter', async () => {
    if (!hasDashboardRoutes) {
      console.log('     skipped: query_dashboard_register() is not called');
      return;
    }
    const get = async (path) => {
      const r = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${key}` } });
      return { status: r.status, body: await r.json() };
    };
    const series = await get('/query/services/series?step=600&service=payment');
    expect(series.status === 200 && series.body.services.length === 1 && series.body.services[0].endpoints[0].endpoint === 'POST /charge',
      `series: ${JSON.stringify(series.body).slice(0, 200)}`);
    const names = await get('/query/metrics/names?service=payment');
    expect(names.body.metrics.map((m) => m.name).join() === 'error_rate,p95_latency_ms,requests_per_s', 'metric names');
    const changes = await get('/query/changes?service=payment&from=' + encodeURIComponent(new Date(Date.now() - 7200e3).toISOString()));
    expect(changes.body.changes.map((c) => c.type).join() === 'deploy,infra', `changes: ${changes.body.changes.map((c) => c.type)}`);
    for (const [path, param] of [['/query/services/series?step=1&from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z', 'step'],
      ['/query/changes?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'], ['/query/metrics/names?limit=0', 'limit'],
      ['/query/changes?to=yesterday', 'to']]) {
      const r = await get(path);
      expect(r.status === 400 && r.body.error.path === param, `${path}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const fb = await get(`/query/incidents/${paymentId}/feedback`);
    expect(fb.status === 200 && fb.body.feedback.length === 1 && fb.body.feedback[0].true_service === 'inventory', `feedback list: ${JSON.stringify(fb.body)}`);
    expect((await get('/query/incidents/99999999/feedback')).status === 404, 'feedback of an unknown incident');
    const anon = await fetch(`${base}/query/changes`);
    expect(anon.status === 401, `no key: ${anon.status}`);
  });

  await check('alerts page: deliveries by destination id, filtered by state, paged; silences active and expired', async () => {
    await page.goto(`${base}/#/alerts`);
    await page.locator('#alerts-table .alert-row').first().waitFor({ state: 'visible' });
    expect(await page.$eval('#nav a.active', (a) => a.dataset.page) === 'alerts', 'nav entry active');
    const rows = () => page.$$eval('#alerts-table .alert-row', (r) => r.map((x) => ({ state: x.dataset.state, text: x.textContent })));
    let all = await rows();
    expect(all.length === 50, `first page: ${all.length} rows`);
    expect(all[0].state === 'pending' && all[0].text.includes('teams:example.webhook.office.com#08c1') && all[0].text.includes('next try'),
      `newest first: ${all[0].text}`);
    expect(all.every((r) => !r.text.includes('https://')), 'a URL is shown');
    await page.click('#alerts-more');
    await page.waitForFunction(() => document.querySelectorAll('#alerts-table .alert-row').length === 64);
    expect(await page.locator('#alerts-more').isHidden(), 'no more page');
    await page.selectOption('#alerts-state', 'failed');
    await page.waitForFunction(() => document.querySelectorAll('#alerts-table .alert-row').length === 1);
    expect(page.url().endsWith('#/alerts?state=failed'), `url: ${page.url()}`);
    const failed = page.locator('#alerts-table .alert-row');
    expect((await failed.locator('.alert-error').textContent()) === 'HTTP 404: <b>no_service</b>', 'last error shown as text');
    expect(await failed.locator('b').count() === 0, 'the answer became markup');
    expect((await failed.locator('a').getAttribute('href')) === `#/incident/${paymentId}`, 'incident link');
    expect((await failed.textContent()).includes('slack:hooks.slack.com#3f9a'), 'destination id');
    const sil = await page.$$eval('#silences .silence-row', (r) => r.map((x) => ({ state: x.dataset.state, text: x.textContent })));
    expect(sil.length === 2 && sil[0].state === 'active' && sil[1].state === 'expired', `silences: ${JSON.stringify(sil)}`);
    expect(sil[0].text.includes('inventory') && sil[0].text.includes('every endpoint') && sil[0].text.includes('planned <i>db</i> maintenance'),
      `active silence: ${sil[0].text}`);
    expect(sil[1].text.includes('POST /charge'), `expired silence: ${sil[1].text}`);
    await shot('alerts');
  });

  await check('no page error, no CSP violation, no request leaves the backend', async () => {
    expect((await page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content)).includes("script-src 'self'"), 'CSP');
    expect(pageErrors.length === 0, `page errors: ${pageErrors.join(' | ')}`);
    expect(foreign.length === 0, `requests elsewhere: ${foreign.slice(0, 3).join(' ')}`);
  });
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}

const failed = results.filter((r) => !r.ok).length;
console.log(`browser: ${results.length - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
