// Builds everything: AssemblyScript kernels to wasm (SIMD), the library bundles for Node and browsers (esbuild),
// and the test and benchmark bundles that `npm test` and `npm run bench` execute.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appBuilds } from './app/build.mjs';

const root = new URL('.', import.meta.url).pathname;
const only = process.argv.slice(2);
const want = (part) => only.length === 0 || only.includes(part);

function buildWasm() {
  mkdirSync(join(root, 'build'), { recursive: true });
  const asc = join(root, 'node_modules', '.bin', 'asc');
  const flags = ['-O3', '--runtime', 'stub', '--noAssert'];
  execFileSync(asc, ['wasm/index.ts', '-o', 'build/kernels.wasm', '--enable', 'simd', ...flags], {
    cwd: root,
    stdio: 'inherit',
  });
  // The same kernels over an imported shared memory, for worker threads (engine/backends/wasm-threads.ts). The memory
  // limits here must match what the glue creates: 16 MiB initially, 4 GiB at most.
  execFileSync(
    asc,
    [
      'wasm/index.ts',
      '-o',
      'build/kernels-mt.wasm',
      '--enable',
      'simd,threads',
      '--importMemory',
      '--sharedMemory',
      '--initialMemory',
      '256',
      '--maximumMemory',
      '65536',
      ...flags,
    ],
    { cwd: root, stdio: 'inherit' },
  );
}

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
  loader: { '.wgsl': 'text', '.wasm': 'binary' },
};

const entries = (dir) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir))
        .filter((f) => /\.(test|bench)\.ts$/.test(f) || (dir === 'bench' && f.endsWith('.ts') && !f.includes('-lib')))
        .map((f) => join(root, dir, f))
    : [];

/**
 * The wasm backend's worker script, bundled on its own into `dir` beside the bundles there: they start it as
 * `new URL('./wasm-worker.js', import.meta.url)` (engine/backends/wasm-threads.ts).
 */
const worker = (dir, platform) =>
  build({
    ...common,
    entryPoints: [join(root, 'engine/backends/wasm-worker.ts')],
    outfile: join(root, dir, 'wasm-worker.js'),
    platform,
    external: ['node:*'],
  });

async function main() {
  if (want('wasm')) buildWasm();
  const tasks = [];
  if (want('lib')) {
    const node = (entry, outfile) =>
      build({
        ...common,
        entryPoints: [join(root, entry)],
        outfile: join(root, outfile),
        platform: 'node',
        external: ['webgpu'],
      });
    tasks.push(
      node('node.ts', 'dist/node/index.js'),
      node('cli/train.ts', 'dist/cli/train.js'),
      node('cli/swa.ts', 'dist/cli/swa.js'),
      node('cli/analyze.ts', 'dist/cli/analyze.js'),
    );
    tasks.push(
      build({
        ...common,
        entryPoints: [join(root, 'index.ts')],
        outfile: join(root, 'dist/browser/swa-engine.js'),
        platform: 'browser',
        external: ['webgpu', 'node:*'],
      }),
    );
    tasks.push(worker('dist/node', 'node'), worker('dist/cli', 'node'), worker('dist/browser', 'browser'));
  }
  // The app (issue 13): `npm start` and `npm run demo` with the library, the page (dist/app) with `app`.
  tasks.push(...appBuilds({ root, build, common, worker, cli: want('lib') || want('app'), page: want('app') }));
  if (want('test')) {
    rmSync(join(root, 'build/test'), { recursive: true, force: true }); // no bundle of a removed test file
    tasks.push(
      build({
        ...common,
        entryPoints: entries('test'),
        outdir: join(root, 'build/test'),
        platform: 'node',
        external: ['webgpu', 'uvu', 'uvu/*', 'playwright-core', 'typescript', 'prettier'],
      }),
      worker('build/test', 'node'),
    );
    // The page imports the real browser bundle (served as /swa-engine.js), not a second copy of the sources.
    const useBundle = {
      name: 'use-browser-bundle',
      setup(b) {
        b.onResolve({ filter: /(^|\/)index\.ts$/ }, () => ({ path: '/swa-engine.js', external: true }));
      },
    };
    const html =
      '<!doctype html><meta charset="utf-8"><title>swa-engine browser tests</title>' +
      '<script type="module" src="page.js"></script>\n';
    tasks.push(
      build({
        ...common,
        entryPoints: [join(root, 'test/browser/page.ts')],
        outfile: join(root, 'build/browser/page.js'),
        platform: 'browser',
        external: ['webgpu', 'node:*'],
        plugins: [useBundle],
      }).then(() => writeFileSync(join(root, 'build/browser/index.html'), html)),
    );
  }
  if (want('bench') && entries('bench').length) {
    tasks.push(
      build({
        ...common,
        entryPoints: entries('bench'),
        outdir: join(root, 'build/bench'),
        platform: 'node',
        external: ['webgpu', '@tensorflow/*', 'playwright-core'],
      }),
      worker('build/bench', 'node'),
    );
  }
  await Promise.all(tasks);
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
