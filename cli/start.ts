// `npm start`: the main job. SGD against SWA and FGE (the SWA paper's Table 1 at small scale) on the embedded
// Fashion-MNIST subset with a small CNN on wasm, sized to finish in about 3 minutes on 2 quiet cores; prints the table,
// what it means, and writes the report folder (table.md, runs.csv, report.json, one SVG figure per seed).
// Usage: node dist/cli/start.js [--budget 6] [--seeds 0,1,2] [--device wasm] [--out runs/start] [--fresh]

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// NOTE: the CLI uses only the package's public API (node.ts), as a user's script would.
import {
  defaultBackend,
  FASHION_MNIST_STATS,
  fashionMnistMiniDir,
  loadFashionMnistMini,
  RunFolderError,
  RunInterrupted,
  RunnerConfigError,
  runTable1,
  setDevice,
  SmallCnn,
} from '../node.ts';
import { verdict } from '../app/summary.ts';

/** The preset: what fits 3 minutes on 2 cores (measured: see the README's "main job" section). */
const PRESET = { budget: 12, seeds: '0,1,2', widths: '8,16,32', lr: 0.05, swaLr: 0.01, batch: 128 };

const HELP = `swa-engine start: SGD vs SWA vs FGE on the embedded Fashion-MNIST subset (10000 train / 2000 test images).

Per seed: SGD for B epochs with the paper's schedule (α1 to 0.5B, linear decay to 0.01·α1 at 0.9B); SWA branches off
it at ⌊0.75·B⌋ with a constant rate, captures once per epoch and is evaluated (BN recomputed) at 1, 1.25 and 1.5
budgets; FGE branches at the same point and ensembles its cycle snapshots within one budget.

  --budget B       SGD epochs (one budget)                                         [${PRESET.budget}]
  --seeds LIST     comma-separated seeds (three give the spread)                    [${PRESET.seeds}]
  --widths LIST    the small CNN's conv, conv and hidden widths                      [${PRESET.widths}]
  --lr A           SGD α1 [${PRESET.lr}];  --swa-lr A  SWA's constant rate [${PRESET.swaLr}]
  --device D       wasm | webgpu | auto                                            [wasm]
  --threads N      wasm threads                                     [cores, at most 8; SWA_WASM_THREADS]
  --out DIR        report folder (and checkpoints; a rerun resumes from them)       [runs/start]
  --fresh          delete DIR's previous run first and train from scratch
  --no-progress    no progress bars
  -h, --help`;

const { values: a } = parseArgs({
  allowNegative: true,
  options: {
    budget: { type: 'string', default: String(PRESET.budget) },
    seeds: { type: 'string', default: PRESET.seeds },
    widths: { type: 'string', default: PRESET.widths },
    lr: { type: 'string', default: String(PRESET.lr) },
    'swa-lr': { type: 'string', default: String(PRESET.swaLr) },
    device: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
    out: { type: 'string', default: 'runs/start' },
    fresh: { type: 'boolean', default: false },
    progress: { type: 'boolean', default: true },
    help: { type: 'boolean', short: 'h' },
  },
});

if (a.help) {
  console.log(HELP);
  process.exit(0);
}

function fail(message: string): never {
  console.error(`start: ${message}\n(see --help)`);
  process.exit(2);
}

const ints = (name: string, text: string): number[] => {
  const xs = text.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || !xs.every((x) => Number.isInteger(x) && x >= 0)) {
    fail(`--${name} must be comma-separated integers ≥ 0, got '${text}'`);
  }
  return xs;
};
const widths = ints('widths', a.widths!);
if (widths.length !== 3 || widths.some((w) => w < 1)) fail(`--widths takes three widths ≥ 1, got '${a.widths}'`);
const device = a.device!;
if (device !== 'wasm' && device !== 'webgpu' && device !== 'auto') {
  fail(`--device must be wasm, webgpu or auto, got '${device}'`);
}
// The library reads no environment: SWA_WASM_THREADS is this CLI's, passed on as an option.
const threadArg = a.threads ?? (process.env.SWA_WASM_THREADS || undefined);
const threads = threadArg === undefined ? undefined : Number(threadArg);
if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
  fail(`--threads (or SWA_WASM_THREADS) must be an integer in [1, 64], got '${threadArg}'`);
}
const budget = Number(a.budget);
const out = a.out!;
if (a.fresh && existsSync(out)) {
  // Only a runner's folder is deleted: it holds settings.json and seed-<n>/ folders.
  if (!existsSync(join(out, 'settings.json')))
    fail(`--fresh: ${out} is not a run folder (no settings.json); not deleting it`);
  await rm(out, { recursive: true, force: true });
}
const resuming = existsSync(join(out, 'settings.json'));

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const report = await setDevice(device, { wasm: { threads } });
const why = report.fallbackReason ? ` — WebGPU unavailable: ${report.fallbackReason}` : '';
console.log(`device: ${report.device} (${report.info})${why}`);
const train = loadFashionMnistMini({ split: 'train' });
const test = loadFashionMnistMini({ split: 'test' });
console.log(
  `data: fashion-mnist-mini, embedded in the package (${fashionMnistMiniDir()}): ${train.n} train / ${test.n} test ` +
    'Fashion-MNIST images (Zalando, MIT licence)',
);
if (resuming) console.log(`resuming the run in ${out}: finished phases are reused (--fresh trains from scratch)`);

const ac = new AbortController();
process.on('SIGINT', () => {
  if (ac.signal.aborted) process.exit(130);
  console.error('\nstart: stopping at the end of this epoch (checkpointed); press Ctrl-C again to stop now');
  ac.abort();
});

try {
  const r = await runTable1({
    model: 'small-cnn',
    modelFactory: (spec) => new SmallCnn({ ...spec, widths: widths as [number, number, number] }),
    dataset: 'fashion-mnist-mini',
    train,
    test,
    normalize: FASHION_MNIST_STATS,
    budget,
    seeds: ints('seeds', a.seeds!),
    lr: Number(a.lr),
    swaLr: Number(a['swa-lr']),
    // Two FGE snapshots within the budget: a cycle of half the epochs from the branch to B (at most 2, the default).
    fgeCycle: Math.min(2, (budget - Math.max(1, Math.floor(0.75 * budget))) / 2),
    swagSamples: 0,
    batchSize: PRESET.batch,
    device: defaultBackend(),
    out,
    progress: a.progress,
    signal: ac.signal,
  });
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  console.log(`\n${r.markdown}`);
  console.log(`What it means: ${verdict(r.records).text}\n`);
  console.log(`wrote ${r.files.join(', ')}`);
  console.log(
    `total ${seconds.toFixed(1)} s on ${report.device} (${((c.user + c.system) / 1e6).toFixed(1)} s of CPU time, ` +
      `small CNN ${widths.join('/')})`,
  );
} catch (e) {
  if (e instanceof RunnerConfigError || e instanceof RunFolderError) fail(e.message);
  if (e instanceof RunInterrupted) {
    console.error(`start: ${e.message}`);
    process.exit(130);
  }
  throw e;
}
