// A small static file server (node:http, no dependency) for the page: serves one folder on 127.0.0.1, cross-origin
// isolated (COOP + COEP) so the page gets SharedArrayBuffer and the wasm backend its worker threads. Node only.

import { createServer, type Server } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.md': 'text/plain; charset=utf-8',
  '.gz': 'application/gzip',
};

/** What `serveStatic` returns: the running server, its URL (with the port it got) and a close function. */
export interface StaticServer {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The file under `root` that a request path names, or null when it leaves `root` or is malformed. `/` and folder
 * paths map to their index.html.
 */
export function resolvePath(root: string, urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath.split(/[?#]/)[0]);
  } catch {
    return null;
  }
  if (!path.startsWith('/') || path.includes('\0')) return null;
  const base = resolve(root);
  const file = resolve(base, `.${path}`);
  if (file !== base && !file.startsWith(base + sep)) return null;
  return path.endsWith('/') ? join(file, 'index.html') : file;
}

/**
 * Serves `root` on `host:port` (port 0 picks a free one) with COOP `same-origin` and COEP `require-corp` on every
 * response, `no-store` caching and a content type from the extension. GET and HEAD only; 404 for missing files.
 * @example const s = await serveStatic('dist/app', { port: 0 }); console.log(s.url); await s.close();
 */
export function serveStatic(root: string, opts: { port?: number; host?: string } = {}): Promise<StaticServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return Promise.reject(new RangeError(`serveStatic: port must be an integer in [0, 65535], got ${port}`));
  }
  const server = createServer(async (req, res) => {
    const headers = {
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cache-control': 'no-store',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: 'GET, HEAD' }).end();
      return;
    }
    let file = resolvePath(root, req.url ?? '/');
    try {
      if (file && (await stat(file)).isDirectory()) file = join(file, 'index.html');
      if (!file) throw new Error('outside the root');
      const body = await readFile(file);
      res.writeHead(200, {
        ...headers,
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const addr = server.address();
      const got = typeof addr === 'object' && addr ? addr.port : port;
      ok({
        server,
        port: got,
        url: `http://${host}:${got}/`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
