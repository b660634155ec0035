// Command line: reproduces the SWA paper's Table 1 for one model and data set (SGD, FGE, SWA at 1/1.25/1.5 budgets,
// SWAG) over several seeds; resumable (rerun the same command), prints the table and writes a report folder.
// Usage: swa-engine swa --model small-cnn --data fashion-mnist --budget 4 --seeds 0,1,2 --out runs/table1-small-cnn

// NOTE: the CLI uses only the package's public API (node.ts), as a user's script would.
import {
  CIFAR_AUGMENT,
  channelStats,
  dataFolder,
  defaultBackend,
  FASHION_MNIST_STATS,
  loadDataSet,
  runTable1,
  type Dataset,
  type DataSetName,
} from '../node.ts';
import { DATA_OPTIONS, DEVICE_OPTIONS, SGD_OPTIONS, startDevice } from './common.ts';
import { parseCommand, UsageError, type Command, type OptionTable } from './options.ts';

const SWA = {
  name: 'swa-engine swa',
  summary: 'reproduces Table 1 of the SWA paper (Izmailov et al., 2018) for one model and data set',
  options: {
    ...DATA_OPTIONS,
    budget: {
      type: 'number',
      arg: 'B',
      integer: true,
      min: 1,
      required: true,
      help: 'epochs of the SGD baseline (one budget); SWA runs to 1.5·B',
    },
    seeds: { type: 'list', arg: 'LIST', integer: true, min: 0, default: [0], help: 'comma-separated seeds' },
    lr: {
      type: 'number',
      arg: 'A',
      above: 0,
      default: 0.05,
      help: 'SGD α1: held to 0.5B, linear decay to 0.01·α1 at 0.9B',
    },
    'swa-lr': { type: 'number', arg: 'A', min: 0, defaultText: '0.2·lr', help: 'SWA learning rate (or cyclical α1)' },
    'swa-start': {
      type: 'number',
      arg: 'E',
      integer: true,
      min: 1,
      defaultText: '⌊0.75·B⌋',
      help: 'epoch at which SWA and FGE branch off the SGD run',
    },
    schedule: {
      type: 'choice',
      arg: 'KIND',
      values: ['constant', 'cyclical'],
      default: 'constant',
      noun: 'schedule',
      help: 'constant (capture every epoch) | cyclical (capture at cycle ends)',
    },
    cycle: {
      type: 'number',
      arg: 'C',
      integer: true,
      min: 1,
      defaultText: 'one epoch',
      help: 'cyclical cycle length in iterations',
    },
    alpha2: { type: 'number', arg: 'A', min: 0, defaultText: '0.02·swa-lr', help: 'cyclical α2' },
    'fge-cycle': {
      type: 'number',
      arg: 'E',
      above: 0,
      defaultText: '2',
      help: 'FGE cycle in epochs (even: snapshots at epoch ends; or e.g. 0.5)',
    },
    'fge-alpha1': { type: 'number', arg: 'A', min: 0, defaultText: '0.5·lr', help: 'FGE α1' },
    'fge-alpha2': { type: 'number', arg: 'A', min: 0, defaultText: '0.001·lr', help: 'FGE α2' },
    'swag-samples': {
      type: 'number',
      arg: 'S',
      integer: true,
      min: 0,
      defaultText: '10',
      help: 'SWAG samples for the model average (0: no SWAG)',
    },
    'swag-bn-batches': {
      type: 'number',
      arg: 'N',
      integer: true,
      min: 1,
      defaultText: 'all',
      help: "training batches per SWAG sample's BN refresh",
    },
    'swa-eval': {
      type: 'choice',
      arg: 'WHEN',
      values: ['epoch', 'budget'],
      default: 'epoch',
      noun: 'evaluation point',
      help: 'epoch (evaluate w_SWA every epoch, for the figures) | budget',
    },
    ...SGD_OPTIONS,
    augment: { type: 'flag', defaultText: 'on for CIFAR, off for Fashion-MNIST', help: 'random crop + flip' },
    ...DEVICE_OPTIONS,
    out: {
      type: 'string',
      arg: 'DIR',
      defaultText: 'runs/table1-<model>-<data>',
      help: 'output folder (checkpoints, table.md, runs.csv, report.json, SVGs)',
    },
    progress: { type: 'flag', default: true, help: 'progress bars' },
  },
  notes:
    'Rerunning the same command resumes: finished phases are skipped, an interrupted one continues from its last ' +
    'epoch.\nCtrl-C once stops at the next epoch end (checkpointed); twice stops at once.',
} as const satisfies Command<OptionTable>;

const a = parseCommand(SWA);
const data: DataSetName = a.data;
if (data.startsWith('cifar') && !a['data-dir']) {
  throw new UsageError(`--data ${data} needs --data-dir (the folder with the binary batches)`);
}
const load = (split: 'train' | 'test'): Dataset => loadDataSet(data, { dir: a['data-dir'], split });

const t0 = performance.now();
// The data before the device: a bad folder or --limit fails before any work (in one line, cli/errors.ts).
let train = load('train');
const test = load('test');
console.log(`data: ${data} from ${dataFolder(data, a['data-dir'])}, ${train.n} train / ${test.n} test images`);
if (a.limit !== undefined) {
  const n = a.limit;
  if (n > train.n) throw new UsageError(`--limit must be at most the ${train.n} training images, got ${n}`);
  const per = train.images.length / train.n;
  train = { ...train, n, images: train.images.subarray(0, n * per), labels: train.labels.subarray(0, n) };
}
const report = await startDevice(a);
const cifar = data.startsWith('cifar');
const ac = new AbortController();
process.on('SIGINT', () => {
  if (ac.signal.aborted) process.exit(130);
  console.error('\nswa: stopping at the end of this epoch (checkpointed); press Ctrl-C again to stop now');
  ac.abort();
});

const r = await runTable1({
  model: a.model,
  width: a.width,
  dataset: a.data,
  train,
  test,
  normalize: cifar ? channelStats(train) : FASHION_MNIST_STATS,
  augment: (a.augment ?? cifar) ? CIFAR_AUGMENT : undefined,
  budget: a.budget,
  seeds: a.seeds,
  lr: a.lr,
  swaLr: a['swa-lr'],
  swaStart: a['swa-start'],
  schedule: a.schedule,
  cycle: a.cycle,
  alpha2: a.alpha2,
  fgeCycle: a['fge-cycle'],
  fgeAlpha1: a['fge-alpha1'],
  fgeAlpha2: a['fge-alpha2'],
  swagSamples: a['swag-samples'],
  swagBnBatches: a['swag-bn-batches'],
  swaEval: a['swa-eval'],
  batchSize: a.batch,
  weightDecay: a.wd,
  momentum: a.momentum,
  device: defaultBackend(),
  out: a.out ?? `runs/table1-${a.model}-${a.data}`,
  progress: a.progress,
  signal: ac.signal,
});
console.log(`\n${r.markdown}`);
console.log(`wrote ${r.files.join(', ')}`);
console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s on ${report.device}`);
