// Builds everything: AssemblyScript kernels to wasm (SIMD), the library bundles for Node and browsers (esbuild),
// and the test and benchmark bundles that `npm test` and `npm run bench` execute.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

async function main() {
  if (want('wasm')) buildWasm();
  const tasks = [];
  if (want('lib')) {
    tasks.push(
      build({
        ...common,
        entryPoints: [join(root, 'node.ts')],
        outfile: join(root, 'dist/node/index.js'),
        platform: 'node',
        external: ['webgpu'],
      }),
    );
    tasks.push(
      build({
        ...common,
        entryPoints: [join(root, 'cli/train.ts')],
        outfile: join(root, 'dist/cli/train.js'),
        platform: 'node',
        external: ['webgpu'],
      }),
    );
    tasks.push(
      build({
        ...common,
        entryPoints: [join(root, 'cli/swa.ts')],
        outfile: join(root, 'dist/cli/swa.js'),
        platform: 'node',
        external: ['webgpu'],
      }),
    );
    tasks.push(
      build({
        ...common,
        entryPoints: [join(root, 'cli/analyze.ts')],
        outfile: join(root, 'dist/cli/analyze.js'),
        platform: 'node',
        external: ['webgpu'],
      }),
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
  }
  if (want('test')) {
    tasks.push(
      build({
        ...common,
        entryPoints: entries('test'),
        outdir: join(root, 'build/test'),
        platform: 'node',
        external: ['webgpu', 'uvu', 'uvu/*', 'playwright-core'],
      }),
    );
    // The page imports the real browser bundle (served as /swa-engine.js), not a second copy of the sources.
    const useBundle = {
      name: 'use-browser-bundle',
      setup(b) {
        b.onResolve({ filter: /(^|\/)index\.ts$/ }, () => ({ path: '/swa-engine.js', external: true }));
      },
    };
    tasks.push(
      build({
        ...common,
        entryPoints: [join(root, 'test/browser/page.ts')],
        outfile: join(root, 'build/browser/page.js'),
        platform: 'browser',
        external: ['webgpu', 'node:*'],
        plugins: [useBundle],
      }).then(() =>
        writeFileSync(
          join(root, 'build/browser/index.html'),
          '<!doctype html><meta charset="utf-8"><title>swa-engine browser tests</title><script type="module" src="page.js"></script>\n',
        ),
      ),
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
    );
  }
  await Promise.all(tasks);
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
