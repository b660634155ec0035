// `npm start`: the main job. SGD against SWA and FGE (the SWA paper's Table 1 at small scale) on the embedded
// Fashion-MNIST subset with a small CNN on wasm, sized to finish in about 3 minutes on 2 quiet cores; prints the table,
// what it means, and writes the report folder (table.md, runs.csv, report.json, one SVG figure per seed).
// Usage: node dist/cli/start.js [--budget 12] [--seeds 0,1,2] [--device wasm] [--out runs/start] [--fresh]

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
// NOTE: the CLI uses only the package's public API (node.ts), as a user's script would.
import {
  defaultBackend,
  FASHION_MNIST_STATS,
  fashionMnistMiniDir,
  loadFashionMnistMini,
  runTable1,
  SmallCnn,
} from '../node.ts';
import { verdict } from '../app/summary.ts';
import { DEVICE_OPTIONS, startDevice } from './common.ts';
import { parseCommand, UsageError, type Command, type OptionTable } from './options.ts';

/** The preset: what fits 3 minutes on 2 cores (measured: see the README's "main job" section). */
const PRESET = { budget: 12, seeds: [0, 1, 2], widths: [8, 16, 32], lr: 0.05, swaLr: 0.01, batch: 128 };

const START = {
  name: 'swa-engine start',
  summary: 'SGD vs SWA vs FGE on the embedded Fashion-MNIST subset (10000 train / 2000 test images)',
  options: {
    budget: {
      type: 'number',
      arg: 'B',
      integer: true,
      min: 2,
      default: PRESET.budget,
      help: 'SGD epochs (one budget)',
    },
    seeds: {
      type: 'list',
      arg: 'LIST',
      integer: true,
      min: 0,
      default: PRESET.seeds,
      help: 'seeds (three give the spread)',
    },
    widths: {
      type: 'list',
      arg: 'LIST',
      integer: true,
      min: 1,
      default: PRESET.widths,
      help: "the small CNN's conv, conv and hidden widths",
    },
    lr: { type: 'number', arg: 'A', above: 0, default: PRESET.lr, help: 'SGD α1' },
    'swa-lr': { type: 'number', arg: 'A', above: 0, default: PRESET.swaLr, help: "SWA's constant rate" },
    ...DEVICE_OPTIONS,
    device: { ...DEVICE_OPTIONS.device, default: 'wasm' },
    out: {
      type: 'string',
      arg: 'DIR',
      default: 'runs/start',
      help: 'report folder (and checkpoints; a rerun resumes)',
    },
    fresh: { type: 'flag', help: "delete DIR's previous run first and train from scratch" },
    progress: { type: 'flag', default: true, help: 'progress bars' },
  },
  notes:
    "Per seed: SGD for B epochs with the paper's schedule (α1 to 0.5B, linear decay to 0.01·α1 at 0.9B); " +
    'SWA branches off it at ⌊0.75·B⌋ with a constant rate, captures once per epoch and is evaluated (BN ' +
    'recomputed) at 1, 1.25 and 1.5 budgets; FGE branches at the same point and ensembles its cycle snapshots ' +
    'within one budget.',
} as const satisfies Command<OptionTable>;

const a = parseCommand(START, process.argv.slice(2), { allowEmpty: true });
const { budget, widths } = a;
if (widths.length !== 3) throw new UsageError(`--widths takes three widths, got ${widths.length}`);
const out = a.out;
if (a.fresh && existsSync(out)) {
  // Only a runner's folder is deleted: it holds settings.json and seed-<n>/ folders.
  if (!existsSync(join(out, 'settings.json'))) {
    throw new UsageError(`--fresh: ${out} is not a run folder (no settings.json); not deleting it`);
  }
  await rm(out, { recursive: true, force: true });
}
const resuming = existsSync(join(out, 'settings.json'));

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const report = await startDevice(a);
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

{
  const r = await runTable1({
    model: 'small-cnn',
    modelFactory: (spec) => new SmallCnn({ ...spec, widths: widths as [number, number, number] }),
    dataset: 'fashion-mnist-mini',
    train,
    test,
    normalize: FASHION_MNIST_STATS,
    budget,
    seeds: a.seeds,
    lr: a.lr,
    swaLr: a['swa-lr'],
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
}
