// Drives the dashboard in Debian's chromium: the incident list (newest first, 10,000 incidents), a report,
// the highlighted root-cause span after "jump to error" in a 5,000-span trace, telemetry shown as text
// (no dialog from a <script> log line), and the feedback round trip. Screenshots go to PS_TEST_ARTIFACTS.
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const base = process.env.DASHBOARD_URL;
const key = process.env.READ_KEY;
const out = process.env.PS_TEST_ARTIFACTS || '.';
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exitCode = 1; };

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  let dialogs = 0;
  page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });
  await page.goto(`${base}/`);
  await page.fill('#read-key', key);
  await page.click('#save-key');
  await page.waitForSelector('.incident-row');
  const first = await page.textContent('.incident-row');
  if (!first.includes('DbTimeoutException')) fail(`newest incident first, got: ${first}`);
  const count = await page.textContent('#count');
  if (!count.includes('+')) fail(`list should page through 10,000 incidents, shows ${count}`);
  const rows = await page.locator('.incident-row').count();
  if (rows > 100) fail(`list is not virtualised: ${rows} rows in the DOM`);
  await page.screenshot({ path: join(out, 'dashboard-list.png') });

  await page.click('.incident-row >> nth=0');
  await page.waitForSelector('#summary');
  const summary = await page.textContent('#summary');
  if (!summary.includes('payment failed')) fail(`report summary: ${summary}`);
  await page.click('#jump');
  await page.waitForSelector('.wf-row.root');
  const root = await page.getAttribute('.wf-row.root', 'data-span');
  if (root !== '00000000000010e1') fail(`highlighted root-cause span ${root}`);
  const wfRows = await page.locator('#waterfall .wf-row').count();
  if (wfRows > 200) fail(`waterfall is not virtualised: ${wfRows} rows`);
  const logs = await page.textContent('#logs');
  if (!logs.includes('<script>alert(1)</script>')) fail('the <script> log line is not shown literally');
  if (dialogs > 0) fail('a dialog fired: telemetry was interpreted as HTML');
  await page.screenshot({ path: join(out, 'dashboard-incident.png'), fullPage: true });

  await page.fill('#fb-service', 'inventory');
  await page.click('#fb-wrong');
  await page.waitForFunction(() => document.querySelector('#fb-msg').textContent.includes('recorded'));
  const acc = await page.evaluate(async (k) => (await fetch('/query/accuracy', { headers: { Authorization: `Bearer ${k}` } })).json(), key);
  if (acc.labelled !== 1) fail(`feedback not stored: ${JSON.stringify(acc)}`);

  await page.goto(`${base}/#/services`);
  await page.waitForSelector('#services');
  await page.screenshot({ path: join(out, 'dashboard-services.png') });
} finally {
  await browser.close();
}
if (!process.exitCode) console.log('browser test: list, report, highlighted span, escaping, feedback: ok');
