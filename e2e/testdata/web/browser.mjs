// Drives ipcamd's web page in Debian's chromium with playwright-core, for
// e2e/browser_test.go:
//
//	node browser.mjs BASE_URL USER PASSWORD OUT_DIR [--check=admin|wrong-password|viewer] [--bitrate=KBITS]
//
// --check=admin (the default) logs in through the form, checks that the live
// view moves, sets the main stream's bitrate to --bitrate kbit/s (400) in the
// settings form, checks that a write without X-CSRF-Token is refused, checks
// the phone layout and saves OUT_DIR/web.png (1280 wide, full page).
// --check=wrong-password logs in with PASSWORD (a wrong one) and reports the
// error the form shows. --check=viewer logs in as a viewer and checks that
// the settings are read only.
//
// It prints one JSON line ({"ok": true, ...} or {"ok": false, "error": ...})
// and exits non-zero on any failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith('--'))
  .map((a) => { const [k, v] = a.slice(2).split('='); return [k, v ?? 'true']; }));
const [base, user, password, outDir] = positional;
const check = flags.check || 'admin';
const kbits = Number(flags.bitrate || 400);
if (!base || !user || password === undefined || !outDir) {
  console.error('usage: node browser.mjs BASE_URL USER PASSWORD OUT_DIR [--check=admin|wrong-password|viewer] [--bitrate=KBITS]');
  process.exit(2);
}

const result = { ok: false, check };
const problems = []; // console errors, CSP violations, failed page loads
let browser, page;

class Failure extends Error {}
function fail(msg) { throw new Failure(msg); }

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    headless: true,
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));

  const res = await page.goto(base + '/', { waitUntil: 'load' });
  if (!res || !res.ok()) fail(`GET ${base}/: ${res ? res.status() : 'no answer'}`);
  result.csp = res.headers()['content-security-policy'] || '';
  await page.locator('#login-user').waitFor({ state: 'visible' });

  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-submit');

  if (check === 'wrong-password') {
    const err = page.locator('#login-error');
    await err.waitFor({ state: 'visible' }).catch(() => fail('no error shown after a wrong password'));
    result.login_error = (await err.textContent()).trim();
    result.app_visible = await page.locator('#app').isVisible();
    if (result.app_visible) fail('the page opened with a wrong password');
    return;
  }

  await page.locator('#app').waitFor({ state: 'visible' }).catch(async () => {
    const e = await page.locator('#login-error').textContent().catch(() => '');
    fail('login failed: ' + (e || 'the page did not open'));
  });
  result.role = (await page.textContent('#session-role')).trim();
  // The settings form is filled from GET /settings.
  await page.waitForFunction(() => document.querySelector('#settings-main-bitrate').value !== '')
    .catch(() => fail('the settings form was not filled: ' + problems.join('; ')));

  if (check === 'viewer') {
    result.bitrate_disabled = await page.locator('#settings-main-bitrate').isDisabled();
    result.save_visible = await page.locator('#settings-save').isVisible();
    result.users_visible = await page.locator('#users-section').isVisible();
    result.maintenance_visible = await page.locator('#maint-section').isVisible();
    if (!result.bitrate_disabled) fail('a viewer can edit the bitrate field');
    if (result.save_visible) fail('a viewer sees the Save button');
    if (result.users_visible || result.maintenance_visible) fail('a viewer sees the users or maintenance sections');
    // Even with the CSRF token, a viewer cannot write.
    result.viewer_patch_status = await page.evaluate(async () => {
      const s = await (await fetch('/api/v1/session')).json();
      const r = await fetch('/api/v1/settings', { method: 'PATCH', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf }, body: JSON.stringify({ main: { bitrate: 300000 } }) });
      return r.status;
    });
    if (result.viewer_patch_status !== 403) fail(`PATCH /settings as a viewer: ${result.viewer_patch_status}, want 403`);
    return;
  }

  // Live view: loaded, and moving.
  await page.waitForFunction(() => { const i = document.querySelector('#live'); return i.complete && i.naturalWidth > 0; }, null, { timeout: 20000 })
    .catch(() => fail('the live image did not load: ' + (problems.join('; ') || 'no picture')));
  result.live_size = await page.evaluate(() => { const i = document.querySelector('#live'); return i.naturalWidth + 'x' + i.naturalHeight; });
  result.live_src = await page.evaluate(() => document.querySelector('#live').src.replace(location.origin, '').replace(/\?.*/, ''));
  result.live_mode = result.live_src.endsWith('live.mjpeg') ? 'mjpeg' : 'snapshot';
  let differ = false;
  for (let i = 0; i < 3 && !differ; i++) {
    const a = await page.locator('#live').screenshot();
    await page.waitForTimeout(1500);
    const b = await page.locator('#live').screenshot();
    differ = !a.equals(b);
    if (i === 0) {
      fs.writeFileSync(path.join(outDir, 'live-1.png'), a);
      fs.writeFileSync(path.join(outDir, 'live-2.png'), b);
    }
  }
  result.live_changes = differ;
  if (!differ) fail('the live view did not change in 1.5 s (three tries)');

  // Settings: the new main bitrate through the form.
  await page.fill('#settings-main-bitrate', String(kbits));
  await page.click('#settings-save');
  await page.waitForFunction(() => {
    const m = document.querySelector('#settings-message');
    return m.classList.contains('ok') || m.classList.contains('error');
  }).catch(() => fail('no message after saving the settings'));
  result.settings_message = (await page.textContent('#settings-message')).trim();
  if (await page.locator('#settings-message.error').count()) fail('saving the settings failed: ' + result.settings_message);
  result.saved_bitrate = await page.evaluate(async () => (await (await fetch('/api/v1/settings')).json()).main.bitrate);
  if (result.saved_bitrate !== kbits * 1000) fail(`GET /settings after saving: main.bitrate ${result.saved_bitrate}, want ${kbits * 1000}`);

  // A write with the session cookie but without X-CSRF-Token is refused.
  const csrf = await page.evaluate(async () => {
    const r = await fetch('/api/v1/settings', { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ main: { bitrate: 300000 } }) });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    const after = (await (await fetch('/api/v1/settings')).json()).main.bitrate;
    return { status: r.status, error: body && body.error, after };
  });
  result.csrf_status = csrf.status;
  result.csrf_error = csrf.error;
  if (csrf.status !== 403) fail(`PATCH /settings without X-CSRF-Token: ${csrf.status}, want 403`);
  if (csrf.after !== kbits * 1000) fail(`PATCH without X-CSRF-Token changed main.bitrate to ${csrf.after}`);

  // The screenshot for the README: desktop, status filled in.
  await page.waitForFunction(() => document.querySelector('#st-uptime').textContent !== '–');
  await page.waitForTimeout(500);
  result.screenshot = path.join(outDir, 'web.png');
  await page.screenshot({ path: result.screenshot, fullPage: true });

  // Phone: one column, no horizontal scrolling.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  result.phone_scroll_width = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.screenshot({ path: path.join(outDir, 'web-phone.png'), fullPage: true });
  if (result.phone_scroll_width > 390) fail(`phone layout: the page is ${result.phone_scroll_width} px wide at 390 px`);
}

let code = 0;
try {
  await main();
  const csp = problems.filter((p) => /Content Security Policy/i.test(p));
  if (csp.length) fail('CSP violations: ' + csp.join('; '));
  result.ok = true;
} catch (e) {
  result.error = e instanceof Failure ? e.message : 'browser: ' + (e.stack || e);
  code = 1;
  if (page) await page.screenshot({ path: path.join(outDir, 'failure.png'), fullPage: true }).catch(() => {});
}
if (problems.length) result.problems = problems;
if (browser) await browser.close().catch(() => {});
console.log(JSON.stringify(result));
if (code) console.error('browser.mjs: ' + result.error);
process.exit(code);
