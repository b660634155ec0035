// The package as a user gets it: `npm pack`; an offline install of the tarball into a fresh project; strict tsc on
// the consumer in examples/consumer under bundler and node16 resolution; the consumer run in Node without and with the
// optional `webgpu`; its page bundled with no configuration by esbuild, Vite and webpack and trained in Chromium on
// wasm and WebGPU. Under CI=true a missing bundler, browser or adapter is a failure.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { gzipSync } from 'node:zlib';
import { DAWN_MISSING } from '../engine/backends/webgpu-device.ts';
import { bundlerModules, CHROMIUM, importFrom, launchChromium, run, runAsync, serveIsolated } from './util/consumer.ts';

const CI = process.env.CI === 'true';
const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'swa-package-'));
const app = join(tmp, 'app');
/** What the consumer's train() returns (examples/consumer/train.ts, which compiles against the installed package). */
interface TrainResult {
  device: string;
  info: string;
  fallbackReason?: string;
  product: number[];
  losses: number[];
  averaged: number;
  bnBatches: number;
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;

/** Bytes of every file under `dir`, following no links. */
function duBytes(dir: string): number {
  let n = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    if (f.isDirectory()) n += duBytes(p);
    else if (f.isFile()) n += statSync(p).size;
  }
  return n;
}

/** The consumer's Node program on `device`: its parsed result (or null when it failed) and its stderr lines. */
function node(device: string): { result: (TrainResult & { mini: number }) | null; stderr: string[]; status: number } {
  const r = run(process.execPath, ['src/out/node-main.js', device], app, false);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return {
    result: r.status === 0 ? (JSON.parse(line) as TrainResult & { mini: number }) : null,
    stderr: r.stderr.split('\n').filter((l) => l.trim() !== ''),
    status: r.status ?? -1,
  };
}

/** A run that trained: the known product, finite losses for 2 epochs × 4 batches, 2 averages, 32 BN samples. */
function assertTrained(r: TrainResult | null, label: string): asserts r is TrainResult {
  assert.ok(r, `${label}: the run failed`);
  assert.equal(r.product, [7, 10, 15, 22], `${label}: [[1,2],[3,4]]²`);
  assert.is(r.losses.length, 8, `${label}: 8 steps`);
  assert.ok(
    r.losses.every((l) => Number.isFinite(l) && l > 0),
    `${label}: losses ${r.losses}`,
  );
  assert.is(r.averaged, 2, `${label}: models averaged`);
  assert.is(r.bnBatches, 4, `${label}: BN batches (32 images, batch 8)`);
}

const DAWN_LINES = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced/;

test('npm pack: the tarball holds the bundles, types, LICENSE, README and the data subset, and nothing else', () => {
  run(process.execPath, [join(root, 'build.mjs'), 'types'], root);
  const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], root);
  const [info] = JSON.parse(r.stdout) as {
    filename: string;
    size: number;
    unpackedSize: number;
    files: { path: string }[];
  }[];
  const paths = info.files.map((f) => f.path);
  const allowed = [
    /^dist\/(browser|node|cli)\/[\w-]+\.js$/,
    /^dist\/types\/[\w/-]+\.d\.ts$/,
    /^data\/fashion-mnist-mini\/.+$/,
    /^(LICENSE|README\.md|package\.json)$/,
  ];
  for (const p of paths)
    assert.ok(
      allowed.some((r) => r.test(p)),
      `unexpected file in the tarball: ${p}`,
    );
  for (const p of [
    'LICENSE',
    'README.md',
    'dist/browser/swa-engine.js',
    'dist/browser/wasm-worker.js',
    'dist/node/index.js',
    'dist/node/wasm-worker.js',
    'dist/node/webgpu-probe.js',
    'dist/cli/main.js',
    'dist/types/index.d.ts',
    'dist/types/node.d.ts',
    'data/fashion-mnist-mini/manifest.json',
  ]) {
    assert.ok(paths.includes(p), `the tarball lacks ${p}`);
  }
  assert.ok(!paths.includes('dist/cli/train.js'), 'the CLI ships once, as dist/cli/main.js');
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  assert.match(license, /^MIT License\n\nCopyright \(c\) \d{4} swa-engine contributors\n/);
  console.log(`[package] tarball ${kb(info.size)}, unpacked ${kb(info.unpackedSize)}, ${paths.length} files`);
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(tmp, info.filename)], app);
  assert.equal(
    readdirSync(join(app, 'node_modules')).filter((f) => !f.startsWith('.')),
    ['swa-engine'],
  );
  console.log(`[package] installed without webgpu: ${kb(duBytes(join(app, 'node_modules')))}`);
  for (const f of ['train.ts', 'node-main.ts', 'index.js']) {
    cpSync(join(root, 'examples/consumer', f), join(app, 'src', f));
  }
  cpSync(join(root, 'examples/consumer/index.html'), join(app, 'index.html'));
});

test('tsc: the consumer compiles strictly against the installed types (bundler and node16 resolution)', async () => {
  const strict = { strict: true, target: 'ES2022', skipLibCheck: false, forceConsistentCasingInFileNames: true };
  const configs = {
    'tsconfig.bundler.json': {
      compilerOptions: { ...strict, module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'] },
      files: ['src/train.ts'],
    },
    'tsconfig.node16.json': {
      compilerOptions: {
        ...strict,
        module: 'Node16',
        moduleResolution: 'Node16',
        lib: ['ES2022'],
        types: ['node'],
        typeRoots: [join(root, 'node_modules/@types')],
        outDir: 'src/out',
        rootDir: 'src',
      },
      files: ['src/train.ts', 'src/node-main.ts'],
    },
  };
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const checks = Object.entries(configs).map(([file, config]) => {
    const noEmit = file.includes('bundler') ? { noEmit: true, types: [] } : {};
    writeFileSync(
      join(app, file),
      JSON.stringify({ ...config, compilerOptions: { ...config.compilerOptions, ...noEmit } }),
    );
    return runAsync(process.execPath, [tsc, '-p', file], app).then((r) => ({ file, ...r }));
  });
  for (const r of await Promise.all(checks)) assert.is(r.status, 0, `tsc -p ${r.file}:\n${r.stdout}${r.stderr}`);
  assert.ok(existsSync(join(app, 'src/out/node-main.js')));
});

test('Node without webgpu: wasm trains; auto falls back saying why; webgpu and the bin say what to install', () => {
  const wasm = node('wasm');
  assertTrained(wasm.result, 'node wasm');
  assert.is(wasm.result.device, 'wasm');
  assert.is(wasm.result.mini, 2000, 'the Node entry loads the embedded subset');
  assert.equal(wasm.stderr, []);
  const auto = node('auto');
  assertTrained(auto.result, 'node auto');
  assert.is(auto.result.device, 'wasm');
  assert.is(auto.result.fallbackReason, DAWN_MISSING);
  assert.equal(auto.stderr, []);
  const bin = join(app, 'node_modules/.bin/swa-engine');
  assert.match(run(bin, ['train', '--help'], app).stdout, /^swa-engine train: /);
  const cli = run(bin, ['train', '--device', 'webgpu', '--data', 'fashion-mnist-mini'], app, false);
  assert.equal([cli.status, cli.stderr], [1, `swa-engine train: ${DAWN_MISSING}\n`], 'the bin: one line, exit 1');
  const gpu = node('webgpu');
  assert.is(gpu.status, 1);
  assert.ok(
    gpu.stderr.some((l) => l.includes(`DeviceError: ${DAWN_MISSING}`)),
    gpu.stderr.join('\n'),
  );
});

test('Node ESM with webgpu installed: auto takes a hardware adapter, skips a software one without a Dawn line', () => {
  symlinkSync(join(root, 'node_modules/webgpu'), join(app, 'node_modules/webgpu'), 'dir');
  console.log(`[package] webgpu adds ${kb(duBytes(join(root, 'node_modules/webgpu')))} (plus @webgpu/types, debug)`);
  const probe = run(process.execPath, ['node_modules/swa-engine/dist/node/webgpu-probe.js'], app);
  const { adapter } = JSON.parse(probe.stdout) as { adapter: { architecture: string; description: string } | null };
  if (!adapter) {
    assert.ok(!CI, 'CI=true requires a WebGPU adapter (lavapipe)');
    return;
  }
  const software = /software|llvmpipe|swiftshader/i.test(`${adapter.architecture} ${adapter.description}`);
  const auto = node('auto');
  assertTrained(auto.result, 'node auto');
  assert.is(auto.result.device, software ? 'wasm' : 'webgpu');
  if (software)
    assert.match(auto.result.fallbackReason ?? '', /^skipped the software adapter .*(llvmpipe|swiftshader)/i);
  assert.equal(auto.stderr, [], 'auto prints nothing on stderr, Dawn included');
  const gpu = node('webgpu');
  assertTrained(gpu.result, 'node webgpu');
  assert.is(gpu.result.device, 'webgpu');
  for (const l of gpu.stderr) assert.match(l, DAWN_LINES, "explicit webgpu: only Dawn's own enumeration lines");
});

const bundlers = bundlerModules(root);
const haveChromium = existsSync(CHROMIUM);
if (CI && !bundlers) throw new Error('CI=true requires vite and webpack in node_modules (npm ci)');
if (CI && !haveChromium) throw new Error(`CI=true requires Chromium at ${CHROMIUM}`);

if (bundlers) {
  test('bundlers: esbuild, Vite and webpack bundle the page with no configuration and no warning', async () => {
    const esbuild = await import('esbuild');
    const e = await esbuild.build({
      entryPoints: [join(app, 'src/index.js')],
      bundle: true,
      format: 'esm',
      outdir: join(app, 'web-esbuild'),
      absWorkingDir: app,
      logLevel: 'silent',
    });
    assert.equal([...e.errors, ...e.warnings], [], 'esbuild');
    const min = await esbuild.build({
      entryPoints: [join(app, 'src/index.js')],
      bundle: true,
      format: 'esm',
      minify: true,
      write: false,
      absWorkingDir: app,
      logLevel: 'silent',
    });
    const minified = min.outputFiles[0].contents;
    console.log(
      `[package] esbuild page: ${kb(statSync(join(app, 'web-esbuild/index.js')).size)}, ` +
        `minified ${kb(minified.length)}, gzip ${kb(gzipSync(minified).length)}`,
    );
    writeFileSync(
      join(app, 'web-esbuild/index.html'),
      '<!doctype html><script type="module" src="./index.js"></script>',
    );

    type Vite = { build(c: object): Promise<unknown>; createLogger(): object };
    const vite = await importFrom<Vite>(bundlers, 'vite');
    const warnings: string[] = [];
    const base = vite.createLogger() as Record<string, unknown>;
    const customLogger = {
      ...base,
      warn: (m: string) => warnings.push(m),
      warnOnce: (m: string) => warnings.push(m),
      info: () => {},
    };
    await vite.build({ root: app, configFile: false, logLevel: 'warn', customLogger });
    // Rolldown's PLUGIN_TIMINGS notes that plugins ran slowly on a loaded machine: about the machine, not the page.
    assert.equal(
      warnings.filter((m) => !m.includes('[PLUGIN_TIMINGS]')),
      [],
      'vite',
    );
    renameSync(join(app, 'dist'), join(app, 'web-vite'));
    const assets = readdirSync(join(app, 'web-vite/assets'));
    console.log(
      `[package] vite: ${assets.map((f) => `${f} ${kb(statSync(join(app, 'web-vite/assets', f)).size)}`).join(', ')}`,
    );

    type Stats = {
      hasErrors(): boolean;
      toJson(o: object): {
        errors?: { message: string }[];
        warnings?: { message: string }[];
        assets?: { name: string; size: number }[];
      };
    };
    const webpack = await importFrom<{ default: (c: object, cb: (err: Error | null, s?: Stats) => void) => void }>(
      bundlers,
      'webpack',
    );
    const stats = await new Promise<Stats>((resolve, reject) =>
      (webpack.default ?? webpack)(
        // What `npx webpack` run in the project folder does: entry ./src/index.js, output ./dist (webpack takes
        // both from the working directory, so they are named here rather than by changing this process's).
        { context: app, mode: 'production', output: { path: join(app, 'dist') } },
        (err, s) => (err || !s ? reject(err) : resolve(s)),
      ),
    );
    const w = stats.toJson({ all: false, errors: true, warnings: true, assets: true });
    assert.equal(
      (w.errors ?? []).map((x) => x.message),
      [],
      'webpack errors',
    );
    const otherWarnings = (w.warnings ?? []).map((x) => x.message).filter((m) => !/size limit|performance/i.test(m));
    assert.equal(otherWarnings, [], 'webpack warnings besides its size hints');
    console.log(
      `[package] webpack: ${(w.assets ?? []).map((a) => `${a.name ?? '(unnamed)'} ${kb(a.size)}`).join(', ')}; ` +
        `${(w.warnings ?? []).length} size hints`,
    );
    renameSync(join(app, 'dist'), join(app, 'web-webpack'));
    writeFileSync(join(app, 'web-webpack/index.html'), '<!doctype html><script src="./main.js"></script>');
  });
}

/** Runs the consumer's train() in the page `tab` on `device` (with `threads` for wasm). */
function trainIn(tab: Page, device: string, threads?: number): Promise<TrainResult> {
  type Consumer = { consumerTrain(d: string, t?: number): Promise<TrainResult> };
  return tab.evaluate(([d, t]) => (globalThis as unknown as Consumer).consumerTrain(d, t), [device, threads] as const);
}

if (bundlers && haveChromium) {
  // The WebGPU path is the same code whichever bundler packed it (and costs seconds of SwiftShader shader compiles),
  // so webpack's page trains on wasm and 'auto' only; the wasm worker is what the bundlers treat differently.
  const pages = [
    { name: 'esbuild', workers: false, webgpu: true },
    { name: 'vite', workers: true, webgpu: true },
    { name: 'webpack', workers: true, webgpu: false },
  ];
  test('Chromium: the bundles train on wasm (threads where the worker is bundled) and WebGPU; auto', async () => {
    const browser = await launchChromium();
    let software: boolean | null = null;
    try {
      for (const { name, workers, webgpu } of pages) {
        const { server, url } = await serveIsolated(join(app, `web-${name}`));
        const tab = await browser.newPage();
        const logs: string[] = [];
        tab.on('console', (m) => logs.push(m.text()));
        tab.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
        await tab.goto(url);
        const ready = () => (globalThis as { consumerReady?: boolean }).consumerReady === true;
        await tab.waitForFunction(ready, undefined, { timeout: 30000 });
        const wasm = await trainIn(tab, 'wasm', 2);
        assertTrained(wasm, `${name} wasm: ${JSON.stringify(wasm)} ${logs.join('\n')}`);
        console.log(`[package] ${name} wasm: ${wasm.info}`);
        // esbuild leaves new URL('./wasm-worker.js', import.meta.url) as it is: the page has no such file.
        const threads = workers
          ? /^WebAssembly SIMD, 2 threads$/
          : /^WebAssembly SIMD, 1 thread \(2 asked: .*wasm-worker/;
        assert.match(wasm.info, threads, `${name}: wasm threads`);
        if (webgpu) {
          const gpu = await trainIn(tab, 'webgpu');
          assertTrained(gpu, `${name} webgpu: ${JSON.stringify(gpu)}`);
          assert.is(gpu.device, 'webgpu');
          software = gpu.info.includes('(software adapter)');
          console.log(`[package] ${name} webgpu: ${gpu.info}`);
        }
        const auto = await trainIn(tab, 'auto');
        assertTrained(auto, `${name} auto`);
        assert.is(auto.device, software ? 'wasm' : 'webgpu', `${name} auto: ${auto.fallbackReason}`);
        if (software) assert.match(auto.fallbackReason ?? '', /^skipped the software adapter /);
        console.log(`[package] ${name} auto: ${auto.device} (${auto.fallbackReason ?? ''})`);
        await tab.close();
        server.close();
      }
    } finally {
      await browser.close();
    }
  });
} else {
  const missing = [bundlers ? '' : 'vite/webpack not installed', haveChromium ? '' : 'no Chromium'];
  test.skip(`bundlers and Chromium: ${missing.filter(Boolean).join('; ')}`, () => {});
}

test.run();
