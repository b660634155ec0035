// Takes docs/app.png: serves the built page with the demo server, runs it to the end in headless Chromium and saves a
// full-page screenshot of the finished run. Build first (node build.mjs app).
// Usage: node app/screenshot.mjs [--query 'device=wasm&budget=12'] [--out docs/app.png] [--chromium /usr/bin/chromium]
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: a } = parseArgs({
  options: {
    query: { type: 'string', default: 'device=wasm&budget=12' },
    out: { type: 'string', default: 'docs/app.png' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const demo = spawn(process.execPath, [`${root}dist/cli/demo.js`, '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  let text = '';
  demo.stdout.on('data', (d) => {
    text += d;
    const m = text.match(/open (http:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
  demo.on('exit', (code) => reject(new Error(`the demo server exited (${code}) before printing its URL`)));
});
const browser = await chromium.launch({ executablePath: a.chromium, headless: true, args: ['--enable-unsafe-webgpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
  page.on('pageerror', (e) => console.error(`pageerror: ${e.message}`));
  const t0 = Date.now();
  await page.goto(`${url}?${a.query}&autostart=1`);
  const ended = () => ['done', 'error', 'stopped'].includes(globalThis.swaApp.state);
  await page.waitForFunction(ended, undefined, { timeout: 3_600_000, polling: 1000 });
  const r = await page.evaluate(() => ({ state: swaApp.state, results: swaApp.results, figures: swaApp.figures() }));
  if (r.state !== 'done') throw new Error(`the run ended '${r.state}'`);
  await page.evaluate(() => document.getElementById('events').scrollTo(0, 1e6));
  await page.waitForTimeout(500);
  await page.screenshot({ path: a.out, fullPage: true });
  console.log(JSON.stringify(r));
  console.log(`wrote ${a.out} after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
} finally {
  await browser.close();
  demo.kill();
}
