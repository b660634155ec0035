// The page (app/, built into dist/app) in real headless Chromium, served by the demo's static server: it loads without
// console errors, trains SGD, SWA and FGE on a tiny budget on wasm (WebGPU hidden: the honest fallback) and on WebGPU
// (SwiftShader), pauses and resumes, shows errors, and its downloaded w_SWA loads here and in PyTorch with its logits.
// Also the server's paths and headers, and the verdict sentence of `npm start`. Under CI=true nothing is skipped.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { resolvePath, serveStatic } from '../app/server.ts';
import { verdict } from '../app/summary.ts';
import {
  AveragedModel,
  DataLoader,
  decodeSafetensors,
  FASHION_MNIST_STATS,
  loadFashionMnistMini,
  noGrad,
  restoreCheckpoint,
  setDevice,
  SmallCnn,
  tidy,
  toTensors,
} from '../node.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CI = process.env.CI === 'true';
const repo = new URL('../../', import.meta.url).pathname; // build/test/app.test.js → the repository root
const appDir = join(repo, 'dist/app');

// ---- verdict (pure) -------------------------------------------------------------------------------------------------
const rec = (method: string, budget: number, seed: number, accuracy: number) => ({ method, budget, seed, accuracy });

test('verdict: a paired gain well beyond the spread is called clear, with its numbers', () => {
  // Differences 0.5, 0.6, 0.7 points: mean 0.6, sample std 0.1, t = 0.6 / (0.1 / √3) = 10.39.
  const v = verdict([
    ...[0.9, 0.91, 0.92].map((a, s) => rec('SGD', 1, s, a)),
    ...[0.905, 0.916, 0.927].map((a, s) => rec('SWA', 1.5, s, a)),
    ...[0.91, 0.92, 0.93].map((a, s) => rec('SWA', 1, s, a)),
    ...[0.912, 0.921, 0.93].map((a, s) => rec('FGE', 1, s, a)),
  ]);
  assert.is(v.seeds, 3);
  assert.is(v.wins, 3);
  assert.ok(Math.abs(v.gain - 0.6) < 1e-9, `gain ${v.gain}`);
  assert.ok(Math.abs(v.spread - 0.1) < 1e-9, `spread ${v.spread}`);
  assert.ok(Math.abs(v.t - 0.6 / (0.1 / Math.sqrt(3))) < 1e-6, `t ${v.t}`);
  assert.ok(Math.abs(v.fgeMinusSwa - 0.1) < 1e-9, `FGE − SWA ${v.fgeMinusSwa}`);
  assert.match(v.text, 'beat SGD in 3 of 3 seeds, by +0.60 points');
  assert.match(v.text, 'a clear gain');
  assert.match(v.text, '0.10 points above');
});

test('verdict: mixed signs within the spread, a loss, and one seed are said as such', () => {
  // Differences +1, −1, +0.5: mean 0.1667, std 1.0408, t = 0.28.
  const mixed = verdict([
    ...[0.9, 0.9, 0.9].map((a, s) => rec('SGD', 1, s, a)),
    ...[0.91, 0.89, 0.905].map((a, s) => rec('SWA', 1.5, s, a)),
  ]);
  assert.is(mixed.wins, 2);
  assert.match(mixed.text, 'within the seed-to-seed spread');
  assert.not.match(mixed.text, 'FGE');
  const loss = verdict([
    ...[0.9, 0.91].map((a, s) => rec('SGD', 1, s, a)),
    ...[0.89, 0.899].map((a, s) => rec('SWA', 1.5, s, a)),
  ]);
  assert.match(loss.text, 'trailed SGD in 2 of 2 seeds, by −1.05 points');
  const tie = verdict([
    ...[0.9, 0.91].map((a, s) => rec('SGD', 1, s, a)),
    ...[0.91, 0.9].map((a, s) => rec('SWA', 1.5, s, a)),
  ]);
  assert.match(tie.text, /^SWA \(1\.5 budgets\) matched SGD: [+−]0\.00 points on average \(paired std 1\.41/);
  assert.match(tie.text, 'within the seed-to-seed spread');
  const one = verdict([rec('SGD', 1, 0, 0.8), rec('SWA', 1.5, 0, 0.81)]);
  assert.ok(Number.isNaN(one.spread) && Number.isNaN(one.t));
  assert.match(one.text, 'no spread to compare it with');
  assert.throws(() => verdict([rec('SGD', 1, 0, 0.8)]), /no seed has both/);
});

// ---- the static server ------------------------------------------------------------------------------------------
test('server: paths stay inside the root; responses are cross-origin isolated; missing files are 404', async () => {
  assert.is(resolvePath('/srv/app', '/'), '/srv/app/index.html');
  assert.is(resolvePath('/srv/app', '/data/x.gz?v=1'), '/srv/app/data/x.gz');
  assert.is(resolvePath('/srv/app', '/../etc/passwd'), null);
  assert.is(resolvePath('/srv/app', '/a/../b.js'), '/srv/app/b.js');
  assert.is(resolvePath('/srv/app', '/%2e%2e/%2e%2e/etc/passwd'), null);
  assert.is(resolvePath('/srv/app', '/%E0%A4%A'), null);
  const dir = mkdtempSync(join(tmpdir(), 'app-server-'));
  writeFileSync(join(dir, 'index.html'), '<p>hi</p>');
  const s = await serveStatic(dir, { port: 0 });
  try {
    assert.ok(s.port > 0);
    const ok = await fetch(s.url);
    assert.is(ok.status, 200);
    assert.is(await ok.text(), '<p>hi</p>');
    assert.is(ok.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.is(ok.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.match(ok.headers.get('content-type') ?? '', 'text/html');
    const missing = await fetch(`${s.url}nothing.js`);
    assert.is(missing.status, 404);
    assert.is(missing.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.is((await fetch(s.url, { method: 'POST' })).status, 405);
  } finally {
    await s.close();
  }
  const bad = await serveStatic(dir, { port: 70000 }).then(
    () => 'listened',
    (e: Error) => e.message,
  );
  assert.match(bad, /port must be an integer in \[0, 65535\], got 70000/);
});

// ---- the page in Chromium -------------------------------------------------------------------------------------------
interface AppApi {
  state: string;
  error: string | null;
  results: Record<string, number>;
  probe: number[] | null;
  speed: Record<string, number>;
  counts(): Record<string, Record<string, number>>;
  figures(): Record<string, string>;
}
type Win = { swaApp: AppApi };
/** The page's state once a run has ended, read in one go. */
interface Snapshot {
  state: string;
  error: string | null;
  results: Record<string, number>;
  probe: number[] | null;
  speed: Record<string, number>;
  counts: Record<string, Record<string, number>>;
  figures: Record<string, string>;
}

const python = ['python3', '/usr/bin/python3'].find(
  (exe) => spawnSync(exe, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
if (!python && CI) throw new Error('CI=true requires python3 with torch (python3-torch) for the app download test');
const available = existsSync(CHROMIUM) && existsSync(join(appDir, 'index.html'));
if (!available && CI) throw new Error(`CI=true requires Chromium at ${CHROMIUM} and the built page in ${appDir}`);

/** Waits for the run to end; fails with the page's error and console when it does not end 'done'. */
async function finish(page: Page, logs: string[], timeout = 240_000): Promise<Snapshot> {
  const ended = () => ['done', 'error', 'stopped'].includes((globalThis as unknown as Win).swaApp.state);
  await page.waitForFunction(ended, undefined, { timeout, polling: 100 });
  const api = await page.evaluate((): Snapshot => {
    const a = (globalThis as unknown as Win).swaApp;
    const { state, error, results, probe, speed } = a;
    return { state, error, results, probe, speed, counts: a.counts(), figures: a.figures() };
  });
  assert.is(api.state, 'done', `the run ended '${api.state}': ${api.error}\n${logs.join('\n')}`);
  return api;
}

/** Every series the page must have drawn into, with at least `min` points. */
function assertPlotted(counts: Record<string, Record<string, number>>, steps: number): void {
  const c = counts as unknown as {
    loss: Record<string, number>;
    error: Record<string, number>;
    lr: Record<string, number>;
  };
  for (const s of ['SGD', 'SWA iterate', 'FGE iterate']) assert.ok(c.loss[s] > 0, `loss plot: ${s} has no points`);
  assert.ok(c.loss.SGD >= steps, `loss plot: SGD has ${c.loss.SGD} points, want ≥ ${steps}`);
  for (const s of ['SGD', 'SWA iterates', 'w_SWA (BN updated)', 'FGE ensemble'])
    assert.ok(c.error[s] > 0, `error plot: ${s} has no points`);
  for (const s of ['SGD', 'SWA', 'FGE', 'capture', 'snapshot']) assert.ok(c.lr[s] > 0, `lr plot: ${s} has no points`);
}

if (available) {
  test('page: wasm (no WebGPU: said), pause/resume, figures, plots; the download read here and in torch', async () => {
    const { chromium } = await import('playwright-core');
    const server = await serveStatic(appDir, { port: 0 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      const errors: string[] = [];
      page.on('console', (m) => (m.type() === 'error' ? errors : logs).push(m.text()));
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      // A browser without WebGPU: 'auto' must say so and train on wasm.
      await page.addInitScript(() => delete (Navigator.prototype as unknown as { gpu?: unknown }).gpu);
      const widths = [8, 16, 32];
      await page.goto(`${server.url}?device=auto&budget=2&images=1024&test=500&widths=${widths}&autostart=1`);
      assert.ok(await page.evaluate(() => crossOriginIsolated), 'the page is cross-origin isolated');
      // Pause once SGD has taken a few steps; nothing moves while paused; resume. The button is clicked in the same
      // task that sees the steps: a separate click could land after this short run has already finished.
      await page.waitForFunction(
        () => {
          const app = (globalThis as unknown as Win).swaApp;
          if (app.state !== 'training' || app.counts().loss.SGD < 3) return false;
          (document.getElementById('pause') as HTMLButtonElement).click();
          return true;
        },
        undefined,
        { timeout: 120_000 },
      );
      await page.waitForFunction(() => (globalThis as unknown as Win).swaApp.state === 'paused', undefined, {
        timeout: 30_000,
      });
      const before = await page.evaluate(() => (globalThis as unknown as Win).swaApp.counts().loss.SGD);
      await page.waitForTimeout(800);
      assert.is(await page.evaluate(() => (globalThis as unknown as Win).swaApp.counts().loss.SGD), before, 'paused');
      assert.is(await page.textContent('#pause'), 'Resume');
      await page.click('#pause');
      const api = await finish(page, logs);
      assert.equal(errors, [], 'no console errors');
      assert.match((await page.textContent('#notice')) ?? '', 'WebGPU is not available here');
      assert.ok(await page.isVisible('#notice'));
      assert.match(
        api.figures['f-device'],
        /^WebAssembly — .*\(auto: WebGPU unavailable: this browser has no WebGPU \(navigator\.gpu is missing\)/,
      );
      assert.is(api.figures['f-state'], 'done');
      assert.ok(Number(api.figures['f-speed']) > 0, `images/s figure ${api.figures['f-speed']}`);
      assert.match(api.figures['f-elapsed'], /^\d+:\d\d$/);
      assertPlotted(api.counts, 16); // 1024 images / 128 = 8 steps per epoch, 2 epochs of SGD
      for (const k of ['SGD', 'FGE', 'SWA 1B', 'SWA 1.25B', 'SWA 1.5B']) {
        assert.ok(api.results[k] > 0.3 && api.results[k] <= 1, `${k} accuracy ${api.results[k]}`);
        assert.match((await page.textContent(`#results td[data-key="${k}"]`)) ?? '', /^\d+\.\d\d%$/);
      }
      assert.match((await page.textContent('#verdict')) ?? '', /SWA \(1\.5 budgets\) (beat|trailed|matched) SGD/);
      console.log(`[app] wasm in Chromium: ${Number(api.speed.wasm).toFixed(0)} images/s (${api.figures['f-device']})`);

      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
      const file = join(mkdtempSync(join(tmpdir(), 'app-dl-')), download.suggestedFilename());
      await download.saveAs(file);
      assert.match(download.suggestedFilename(), /^swa-small-cnn-epoch3-n3\.safetensors$/);
      const bytes = new Uint8Array(readFileSync(file));
      // The project's loader: an AveragedModel of the same SmallCnn, then the same logits as the page's w_SWA.
      const keys = [...decodeSafetensors(bytes, file).tensors.keys()];
      assert.ok(keys.includes('n_averaged') && keys.includes('module.features.0.weight'), keys.join(', '));
      await setDevice('wasm');
      const avg = new AveragedModel(new SmallCnn({ widths: widths as [number, number, number] }));
      const { meta } = restoreCheckpoint(bytes, { model: avg }, file);
      assert.is(avg.nAveraged, 3, 'captures at epochs 1 (ŵ), 2 and 3');
      assert.equal((meta as { widths: number[] }).widths, widths);
      const batch = new DataLoader(loadFashionMnistMini({ split: 'test' }), {
        batchSize: 8,
        normalize: FASHION_MNIST_STATS,
      }).next();
      avg.eval();
      const out = noGrad(() => tidy(() => avg.forward(toTensors(batch).x)));
      const ours = Array.from(await out.data());
      out.dispose();
      avg.dispose();
      const probe = api.probe!;
      assert.is(probe.length, 80);
      const maxDiff = (xs: number[]): number => Math.max(...xs.map((v, i) => Math.abs(v - probe[i])));
      assert.ok(maxDiff(ours) < 1e-4, `Node logits differ from the page's by ${maxDiff(ours)}`);
      // PyTorch: AveragedModel(SmallCnn).load_state_dict(strict=True) on the same file, the same logits.
      if (!python) {
        console.warn('[app] no python3 with torch: the PyTorch read of the download is skipped (required under CI)');
        return;
      }
      const script = join(repo, 'test/fixtures/app_swa_model.py');
      const r = spawnSync(python, [script, file, join(repo, 'data/fashion-mnist-mini'), '8'], { encoding: 'utf8' });
      assert.is(r.status, 0, `app_swa_model.py failed: ${r.stderr}`);
      const py = JSON.parse(r.stdout) as { n_averaged: number; logits: number[]; reader: string };
      assert.is(py.n_averaged, 3);
      assert.ok(maxDiff(py.logits) < 1e-4, `PyTorch logits differ from the page's by ${maxDiff(py.logits)}`);
      console.log(`[app] download read back by swa-engine and by PyTorch (${py.reader}); logits agree`);
    } finally {
      await browser.close();
      await server.close();
    }
  });

  test('page: WebGPU (SwiftShader) trains a tiny budget; a bad setting is shown as an error', async () => {
    const { chromium } = await import('playwright-core');
    const server = await serveStatic(appDir, { port: 0 });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--enable-unsafe-webgpu', '--no-sandbox'],
    });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      const errors: string[] = [];
      page.on('console', (m) => (m.type() === 'error' ? errors : logs).push(m.text()));
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      await page.goto(`${server.url}?device=webgpu&budget=2&images=128&batch=32&test=100&widths=4,8,16&autostart=1`);
      const api = await finish(page, logs);
      assert.equal(errors, [], 'no console errors');
      assert.match(api.figures['f-device'], /^WebGPU — WebGPU: .*\(chosen in the Device menu\)$/);
      assert.match((await page.textContent('#notice')) ?? '', /software renderer .*swiftshader/i);
      assertPlotted(api.counts, 8); // 128 / 32 = 4 steps per epoch
      assert.ok(api.results['SWA 1.5B'] > 0, 'SWA accuracy shown');
      console.log(
        `[app] WebGPU in Chromium: ${Number(api.speed.webgpu).toFixed(0)} images/s (${api.figures['f-device']})`,
      );

      await page.goto(`${server.url}?budget=1&autostart=1`);
      await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
      assert.match((await page.textContent('#error')) ?? '', /budget must be 2–200 epochs, got 1/);
      assert.is(await page.evaluate(() => (globalThis as unknown as Win).swaApp.state), 'error');
    } finally {
      await browser.close();
      await server.close();
    }
  });
} else {
  test.skip(`page: Chromium (${CHROMIUM}) or the built page (${appDir}) not found`, () => {});
}

test.run();
