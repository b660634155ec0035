// Builds everything: AssemblyScript kernels to wasm (SIMD), the library bundles for Node and browsers and the CLI
// (esbuild), the test and benchmark bundles that `npm test` and `npm run bench` execute, and (`types`, on request and
// before `npm pack`) the declaration files. Usage: node build.mjs [wasm] [lib] [test] [bench] [types]
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appBuilds } from './app/build.mjs';

const root = new URL('.', import.meta.url).pathname;
const only = process.argv.slice(2);
const want = (part) => (only.length === 0 && part !== 'types') || only.includes(part);

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

/** The library bundles in dist/ carry no source maps: the package ships without them (its sources are not in it). */
const lib = { ...common, sourcemap: false };

/**
 * Browser bundles must not import anything Node-only, so that any bundler takes them as they are: the `node:*`
 * modules and Dawn (`webgpu`) become empty modules there. The code reaches them only when it runs in Node
 * (`isNode` in webgpu-device.ts and wasm-threads.ts); in browsers WebGPU is navigator.gpu.
 */
const nodeOnlyEmpty = {
  name: 'node-only-empty',
  setup(b) {
    b.onResolve({ filter: /^(node:.*|webgpu)$/ }, (a) => ({ path: a.path, namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({ contents: '', loader: 'js' }));
  },
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
const worker = (dir, platform, base = common) =>
  build({
    ...base,
    entryPoints: [join(root, 'engine/backends/wasm-worker.ts')],
    outfile: join(root, dir, 'wasm-worker.js'),
    platform,
    ...(platform === 'browser' ? { plugins: [nodeOnlyEmpty] } : { external: ['node:*'] }),
  });

/**
 * The WebGPU adapter probe, bundled into `dir` beside Node bundles: setDevice('auto') runs it as a child process
 * (engine/backends/webgpu-adapter.ts finds it beside itself).
 */
const probe = (dir, base = common) =>
  build({
    ...base,
    entryPoints: [join(root, 'engine/backends/webgpu-probe.ts')],
    outfile: join(root, dir, 'webgpu-probe.js'),
    platform: 'node',
    external: ['webgpu'],
  });

/**
 * Declaration files (tsconfig.types.json) into dist/types, with the sources' `.ts` import paths rewritten to `.js`
 * (the paths the .d.ts files sit at for TypeScript: `./x.js` resolves to `./x.d.ts` under every moduleResolution).
 */
function buildTypes() {
  rmSync(join(root, 'dist/types'), { recursive: true, force: true });
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.types.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  const rewrite = (dir) => {
    for (const f of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, f.name);
      if (f.isDirectory()) rewrite(path);
      else if (f.name.endsWith('.d.ts')) {
        const text = readFileSync(path, 'utf8');
        writeFileSync(path, text.replace(/((?:from |import\()['"]\.{1,2}\/[^'"]*)\.ts(['"])/g, '$1.js$2'));
      }
    }
  };
  rewrite(join(root, 'dist/types'));
}

async function main() {
  if (want('wasm')) buildWasm();
  const tasks = [];
  if (want('lib')) {
    const node = (entry, outfile, extra = {}) =>
      build({
        ...lib,
        entryPoints: [join(root, entry)],
        outfile: join(root, outfile),
        platform: 'node',
        external: ['webgpu'],
        ...extra,
      });
    // The CLI is one bundle (the package's bin); dist/cli/train.js and swa.js are copies of it for the repository's
    // own commands: cli/main.ts runs the command its file is named after.
    const cli = node('cli/main.ts', 'dist/cli/main.js', { banner: { js: '#!/usr/bin/env node' } }).then(() => {
      for (const name of ['train', 'swa', 'analyze', 'start'])
        copyFileSync(join(root, 'dist/cli/main.js'), join(root, `dist/cli/${name}.js`));
    });
    tasks.push(node('node.ts', 'dist/node/index.js'), cli);
    tasks.push(
      build({
        ...lib,
        entryPoints: [join(root, 'index.ts')],
        outfile: join(root, 'dist/browser/swa-engine.js'),
        platform: 'browser',
        plugins: [nodeOnlyEmpty],
      }),
    );
    tasks.push(
      worker('dist/node', 'node', lib),
      worker('dist/cli', 'node', lib),
      worker('dist/browser', 'browser', lib),
    );
    tasks.push(probe('dist/node', lib), probe('dist/cli', lib));
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
        external: ['webgpu', 'uvu', 'uvu/*', 'playwright-core', 'typescript', 'prettier', 'esbuild'],
      }),
      worker('build/test', 'node'),
      probe('build/test'),
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
      probe('build/bench'),
    );
  }
  await Promise.all(tasks);
  if (want('types')) buildTypes();
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
