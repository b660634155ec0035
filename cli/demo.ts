// `npm run demo`: serves the page (dist/app, built by `node build.mjs app`) on http://127.0.0.1:PORT/ with COOP/COEP,
// so it can train SGD and SWA side by side in the browser, on WebGPU or on wasm with worker threads.
// Usage: node dist/cli/demo.js [--port 8080] [--host 127.0.0.1]   (--port 0 picks a free port)

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { serveStatic } from '../app/server.ts';
import { exitOnError } from './errors.ts';
import { parseCommand, type Command, type OptionTable } from './options.ts';

const DEMO = {
  name: 'swa-engine demo',
  summary: 'serves the SGD-vs-SWA page (dist/app) with COOP/COEP, so wasm threads work',
  options: {
    port: { type: 'number', arg: 'N', integer: true, min: 0, max: 65535, default: 8080, help: 'port (0: a free one)' },
    host: { type: 'string', arg: 'H', default: '127.0.0.1', help: 'address to listen on' },
  },
  notes: 'Open the printed URL in a browser with WebGPU (Chrome, Edge) or without (it says so and trains on wasm).',
} as const satisfies Command<OptionTable>;

try {
  const a = parseCommand(DEMO, process.argv.slice(2), { allowEmpty: true });
  const port = a.port;
  // dist/cli/demo.js serves dist/app beside it.
  const root = join(new URL('.', import.meta.url).pathname, '..', 'app');
  if (!existsSync(join(root, 'index.html'))) {
    throw Object.assign(new Error(`${root}/index.html is missing: build the page first (node build.mjs app)`), {
      code: 'ENOENT',
    });
  }
  try {
    const s = await serveStatic(root, { port, host: a.host });
    console.log(`swa-engine demo: serving ${root}`);
    console.log(`open ${s.url}   (Ctrl-C stops)`);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const hint = err.code === 'EADDRINUSE' ? ' (port in use: pass --port 0 for a free one)' : '';
    err.message = `cannot listen on ${a.host}:${port}: ${err.message}${hint}`;
    throw err;
  }
} catch (e) {
  exitOnError('swa-engine demo', e);
}
