// Real-browser test: headless Chromium loads the browser bundle from a cross-origin-isolated localhost page and runs
// the op case table on WebGPU (SwiftShader there) with its default and its GPU kernels, on wasm, and on wasm split
// over 3 Web Worker threads. Under CI=true a missing browser or adapter is a failure.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { OP_CASES } from './op-cases.ts';
import { countCase } from './util/count.ts';
import type { PageReport } from './browser/page.ts';
import { CUSTOM_OP_CHECKS } from './custom-op-cases.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = new URL('../browser/', import.meta.url).pathname; // build/browser next to build/test
const bundleDir = new URL('../../dist/browser/', import.meta.url).pathname;
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };

function serve(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
    // The library's browser bundle is served as /swa-engine.js beside its /wasm-worker.js (dist/browser); the test
    // page and its index.html from build/browser.
    const lib = path.startsWith('/swa-engine.js') || path.startsWith('/wasm-worker.js');
    const file = lib ? join(bundleDir, path.slice(1)) : join(root, path === '/' ? 'index.html' : path);
    try {
      const body = await readFile(file);
      // Cross-origin isolated (COOP + COEP), so the page has SharedArrayBuffer and the wasm backend its worker threads.
      res.writeHead(200, {
        'content-type': TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/` });
    }),
  );
}

const available = existsSync(CHROMIUM);
if (!available && process.env.CI === 'true') throw new Error(`CI=true requires Chromium at ${CHROMIUM}`);

if (available) {
  test('browser: op cases on WebGPU, wasm and wasm on 3 worker threads in headless Chromium', async () => {
    const { chromium } = await import('playwright-core');
    const { server, url } = await serve();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--enable-unsafe-webgpu',
        '--disable-quic',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        '--no-sandbox',
      ],
    });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      await page.goto(url);
      await page.waitForFunction(
        () => (globalThis as unknown as { pageReady?: boolean }).pageReady === true,
        undefined,
        { timeout: 30000 },
      );
      for (const device of ['webgpu', 'webgpu-gpu-kernels', 'wasm', 'wasm-threads'] as const) {
        const report = await page
          .evaluate((d) => (globalThis as unknown as { runCases(d: string): Promise<PageReport> }).runCases(d), device)
          .catch((e: Error) => {
            throw new Error(`browser ${device}: ${e.message}\n${logs.join('\n')}`);
          });
        console.log(`[browser] ${device}: ${report.info}: ${report.passed}/${OP_CASES.length} cases passed`);
        assert.equal(report.failures, [], `browser ${device} failures`);
        assert.is(report.passed, OP_CASES.length);
        assert.is(report.liveBuffers, 0, `browser ${device} leaked buffers`);
        assert.ok(report.crossOriginIsolated, 'the test page is cross-origin isolated');
        if (device === 'wasm-threads')
          assert.match(report.info, /3 threads/, 'the threaded backend got its workers in the page');
        if (device === 'webgpu-gpu-kernels') assert.match(report.info, /tiled GPU kernels/);
        countCase(`browser-${device}`, report.passed);
      }
    } finally {
      await browser.close();
      server.close();
    }
  });
} else {
  test.skip('browser: Chromium not found at ' + CHROMIUM, () => {});
}

// ---- custom ops: test/custom-op-cases.ts in the page, on WebGPU (SwiftShader) and wasm ----------------------------
if (available) {
  test('browser: custom-op checks on WebGPU and wasm in headless Chromium', async () => {
    const { chromium } = await import('playwright-core');
    const { server, url } = await serve();
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--enable-unsafe-webgpu', '--disable-quic', '--disable-background-networking', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      await page.goto(url);
      await page.waitForFunction(() => (globalThis as { pageReady?: boolean }).pageReady === true, undefined, {
        timeout: 30000,
      });
      for (const device of ['webgpu', 'wasm'] as const) {
        const run = (d: string): Promise<PageReport> =>
          (globalThis as unknown as { runCustomOps(d: string): Promise<PageReport> }).runCustomOps(d);
        const report = await page.evaluate(run, device).catch((e: Error) => {
          throw new Error(`browser custom ops on ${device}: ${e.message}\n${logs.join('\n')}`);
        });
        console.log(`[browser] custom ops on ${device}: ${report.info}: ${report.passed}/${CUSTOM_OP_CHECKS.length}`);
        assert.equal(report.failures, [], `browser ${device} custom-op failures`);
        assert.is(report.passed, CUSTOM_OP_CHECKS.length);
        assert.is(report.liveBuffers, 0, `browser ${device}: custom-op checks leaked buffers`);
        if (device === 'webgpu') assert.match(report.info, /WebGPU/);
        countCase(`browser-custom-${device}`, report.passed);
      }
    } finally {
      await browser.close();
      server.close();
    }
  });
}

test.run();
