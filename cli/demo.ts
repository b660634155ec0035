// `npm run demo`: serves the page (dist/app, built by `node build.mjs app`) on http://127.0.0.1:PORT/ with COOP/COEP,
// so it can train SGD and SWA side by side in the browser, on WebGPU or on wasm with worker threads.
// Usage: node dist/cli/demo.js [--port 8080] [--host 127.0.0.1]   (--port 0 picks a free port)

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serveStatic } from '../app/server.ts';

const HELP = `swa-engine demo: serve the SGD-vs-SWA page.

  --port N     port to listen on (0 picks a free one)   [8080]
  --host H     address to listen on                      [127.0.0.1]
  -h, --help

Open the printed URL in a browser with WebGPU (Chrome, Edge) or without (it says so and trains on wasm).`;

const { values: a } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) {
  console.log(HELP);
  process.exit(0);
}
const port = Number(a.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`demo: --port must be an integer in [0, 65535], got '${a.port}'`);
  process.exit(2);
}
// dist/cli/demo.js serves dist/app beside it.
const root = join(new URL('.', import.meta.url).pathname, '..', 'app');
if (!existsSync(join(root, 'index.html'))) {
  console.error(`demo: ${root}/index.html is missing: build the page first (node build.mjs app)`);
  process.exit(1);
}
try {
  const s = await serveStatic(root, { port, host: a.host });
  console.log(`swa-engine demo: serving ${root}`);
  console.log(`open ${s.url}   (Ctrl-C stops)`);
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  const hint = err.code === 'EADDRINUSE' ? ' (port in use: pass --port 0 for a free one)' : '';
  console.error(`demo: cannot listen on ${a.host}:${port}: ${err.message}${hint}`);
  process.exit(1);
}
