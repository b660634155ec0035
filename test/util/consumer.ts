// Helpers of the package test: commands run to completion with their output, the bundlers as a consumer's project
// would have them, a cross-origin-isolated static server, and headless Chromium with WebGPU.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A finished command: exit status and its whole stdout and stderr. */
export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` in `cwd` and returns its output; throws with both streams when it exits non-zero. */
export function run(cmd: string, args: string[], cwd: string, ok = true): Ran {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ran = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  if (ok && r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited with ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  return ran;
}

/** As `run`, without waiting: several commands can share the machine's cores. Never throws; check `status`. */
export function runAsync(cmd: string, args: string[], cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * Where the bundlers are: the repository's node_modules (devDependencies), or the folder SWA_TEST_BUNDLERS names
 * (a node_modules with vite and webpack, for a checkout whose node_modules predates them). Null when absent.
 */
export function bundlerModules(root: string): string | null {
  for (const dir of [process.env.SWA_TEST_BUNDLERS, join(root, 'node_modules')]) {
    if (dir && existsSync(join(dir, 'vite/package.json')) && existsSync(join(dir, 'webpack/package.json'))) return dir;
  }
  return null;
}

/** Imports a package's main ESM or CommonJS entry from the node_modules folder `dir`. */
export async function importFrom<T>(dir: string, name: string): Promise<T> {
  const pkg = JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) as {
    exports?: string | { '.': string | { import?: string; default?: string } };
    main?: string;
  };
  const dot = typeof pkg.exports === 'string' ? pkg.exports : pkg.exports?.['.'];
  const entry = (typeof dot === 'string' ? dot : (dot?.import ?? dot?.default)) ?? pkg.main ?? 'index.js';
  return (await import(pathToFileURL(join(dir, name, entry)).href)) as T;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/** Serves `dir` (index.html at /) on 127.0.0.1, cross-origin isolated (COOP, COEP): SharedArrayBuffer, wasm threads. */
export function serveIsolated(dir: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0])).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
    });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/` });
    }),
  );
}

/** Headless Chromium with WebGPU enabled (SwiftShader where there is no GPU), as test/browser.test.ts starts it. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
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
}
