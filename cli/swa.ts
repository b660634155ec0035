// Command line: reproduces the SWA paper's Table 1 for one model and data set (SGD, FGE, SWA at 1/1.25/1.5 budgets,
// SWAG) over several seeds; resumable (rerun the same command), prints the table and writes a report folder.
// Usage: node dist/cli/swa.js --model small-cnn --data fashion-mnist --budget 4 --seeds 0,1,2 --out runs/table1-small-cnn

import { parseArgs } from 'node:util';
// NOTE: the CLI uses only the package's public API (node.ts), as a user's script would.
import {
  CheckpointError,
  CIFAR_AUGMENT,
  channelStats,
  DATA_SETS,
  dataFolder,
  defaultBackend,
  DivergenceError,
  FASHION_MNIST_STATS,
  isDataSetName,
  loadDataSet,
  NonFiniteJsonError,
  RunFolderError,
  RunInterrupted,
  RunnerConfigError,
  runTable1,
  setDevice,
  type Dataset,
  type DataSetName,
  type SwaScheduleKind,
} from '../node.ts';

const HELP = `swa-engine swa: reproduce Table 1 of the SWA paper (Izmailov et al., 2018) for one model and data set.

  --model NAME        small-cnn | preresnet<depth> | vgg<11|13|16|19>[bn] | wrn<depth>-<k>   [small-cnn]
  --data NAME         fashion-mnist | fashion-mnist-mini | cifar10 | cifar100                [fashion-mnist]
                      (fashion-mnist-mini: the embedded stratified 10000/2000 subset)
  --data-dir DIR      folder of the data files (CIFAR: required; Fashion-MNIST: the Debian package's by default;
                      fashion-mnist-mini: the package's data/fashion-mnist-mini by default)
  --budget B          epochs of the SGD baseline (one budget); SWA runs to 1.5·B               (required)
  --seeds LIST        comma-separated seeds                                                  [0]
  --lr A              SGD α1: held to 0.5B, linear decay to 0.01·α1 at 0.9B                   [0.05]
  --swa-lr A          SWA learning rate (constant, or the cyclical α1)                       [0.2·lr]
  --swa-start E       epoch at which SWA and FGE branch off the SGD run                     [⌊0.75·B⌋]
  --schedule KIND     constant (capture every epoch) | cyclical (capture at cycle ends)       [constant]
  --cycle C           cyclical cycle length in iterations                                   [one epoch]
  --alpha2 A          cyclical α2                                                            [0.02·swa-lr]
  --fge-cycle E       FGE cycle in epochs (even: snapshots at epoch ends; or e.g. 0.5)        [2]
  --fge-alpha1 A      FGE α1 [0.5·lr];  --fge-alpha2 A  FGE α2 [0.001·lr]
  --swag-samples S    SWAG samples for the model average (0: no SWAG)                        [10]
  --swag-bn-batches N training batches per SWAG sample's BN refresh                         [all]
  --swa-eval WHEN     epoch (evaluate w_SWA every epoch, for the figures) | budget            [epoch]
  --batch N [128]  --wd W [5e-4]  --momentum M [0.9]  --width W (model width multiplier)
  --augment / --no-augment   random crop + flip (default: on for CIFAR, off for Fashion-MNIST)
  --device D          auto | webgpu | wasm                                                   [auto]
  --threads N         wasm kernel threads (1 = no workers)               [cores, at most 8; SWA_WASM_THREADS]
  --limit N           use the first N training images (quick runs)
  --out DIR           output folder (checkpoints, table.md, runs.csv, report.json, SVGs)     [runs/table1-<model>-<data>]
  --no-progress       no progress bars
  -h, --help

Rerunning the same command resumes: finished phases are skipped, an interrupted one continues from its last epoch.
Ctrl-C once stops at the next epoch end (checkpointed); twice stops at once.`;

const { values: a } = parseArgs({
  allowNegative: true,
  options: {
    model: { type: 'string', default: 'small-cnn' },
    data: { type: 'string', default: 'fashion-mnist' },
    'data-dir': { type: 'string' },
    budget: { type: 'string' },
    seeds: { type: 'string', default: '0' },
    lr: { type: 'string', default: '0.05' },
    'swa-lr': { type: 'string' },
    'swa-start': { type: 'string' },
    schedule: { type: 'string', default: 'constant' },
    cycle: { type: 'string' },
    alpha2: { type: 'string' },
    'fge-cycle': { type: 'string' },
    'fge-alpha1': { type: 'string' },
    'fge-alpha2': { type: 'string' },
    'swag-samples': { type: 'string' },
    'swag-bn-batches': { type: 'string' },
    'swa-eval': { type: 'string', default: 'epoch' },
    batch: { type: 'string', default: '128' },
    wd: { type: 'string', default: '5e-4' },
    momentum: { type: 'string', default: '0.9' },
    width: { type: 'string' },
    augment: { type: 'boolean' },
    device: { type: 'string', default: 'auto' },
    threads: { type: 'string' },
    limit: { type: 'string' },
    out: { type: 'string' },
    progress: { type: 'boolean', default: true },
    help: { type: 'boolean', short: 'h' },
  },
});

if (a.help) {
  console.log(HELP);
  process.exit(0);
}

function fail(message: string): never {
  console.error(`swa: ${message}\n(see --help)`);
  process.exit(2);
}

/** A number option (undefined when not given; NaN reaches the runner's checks, which name the option). */
const num = (v: string | undefined): number | undefined =>
  v === undefined ? undefined : v.trim() === '' ? NaN : Number(v);

if (a.budget === undefined) fail('--budget is required (epochs of the SGD baseline)');
if (!isDataSetName(a.data)) fail(`--data: unknown data set '${a.data}' (${DATA_SETS.join(', ')})`);
const data: DataSetName = a.data;
if (a.schedule !== 'constant' && a.schedule !== 'cyclical')
  fail(`--schedule must be constant or cyclical, got '${a.schedule}'`);
if (a['swa-eval'] !== 'epoch' && a['swa-eval'] !== 'budget')
  fail(`--swa-eval must be epoch or budget, got '${a['swa-eval']}'`);
if (!['auto', 'webgpu', 'wasm'].includes(a.device!)) fail(`--device must be auto, webgpu or wasm, got '${a.device}'`);
const seeds = a
  .seeds!.split(',')
  .map((s) => s.trim())
  .filter(Boolean)
  .map(Number);
if (data.startsWith('cifar') && !a['data-dir']) {
  fail(`--data ${data} needs --data-dir (the folder with the binary batches)`);
}
const load = (split: 'train' | 'test'): Dataset => loadDataSet(data, { dir: a['data-dir'], split });

const t0 = performance.now();
// The library reads no environment: SWA_WASM_THREADS and SWA_WASM_WAIT are this CLI's, passed on as options.
const threadArg = a.threads ?? (process.env.SWA_WASM_THREADS || undefined);
const threads = threadArg === undefined ? undefined : Number(threadArg);
if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
  fail(`--threads (or SWA_WASM_THREADS) must be an integer in [1, 64], got '${threadArg}'`);
}
const wait = process.env.SWA_WASM_WAIT || undefined;
if (wait !== undefined && wait !== 'poll' && wait !== 'block' && wait !== 'spin') {
  fail(`SWA_WASM_WAIT must be poll, block or spin, got '${wait}'`);
}
const report = await setDevice(a.device as 'auto' | 'webgpu' | 'wasm', { wasm: { threads, wait } });
console.log(
  `device: ${report.device} (${report.info})${report.fallbackReason ? ` — WebGPU unavailable: ${report.fallbackReason}` : ''}`,
);
let train: Dataset;
let test: Dataset;
try {
  train = load('train');
  test = load('test');
  console.log(`data: ${data} from ${dataFolder(data, a['data-dir'])}, ${train.n} train / ${test.n} test images`);
} catch (e) {
  fail((e as Error).message);
}
if (a.limit !== undefined) {
  const n = Number(a.limit);
  if (!Number.isInteger(n) || n < 1 || n > train.n)
    fail(`--limit must be an integer in [1, ${train.n}], got '${a.limit}'`);
  const per = train.images.length / train.n;
  train = { ...train, n, images: train.images.subarray(0, n * per), labels: train.labels.subarray(0, n) };
}
const cifar = data.startsWith('cifar');
const ac = new AbortController();
process.on('SIGINT', () => {
  if (ac.signal.aborted) process.exit(130);
  console.error('\nswa: stopping at the end of this epoch (checkpointed); press Ctrl-C again to stop now');
  ac.abort();
});

try {
  const r = await runTable1({
    model: a.model!,
    width: num(a.width),
    dataset: a.data!,
    train,
    test,
    normalize: cifar ? channelStats(train) : FASHION_MNIST_STATS,
    augment: (a.augment ?? cifar) ? CIFAR_AUGMENT : undefined,
    budget: Number(a.budget),
    seeds,
    lr: Number(a.lr),
    swaLr: num(a['swa-lr']),
    swaStart: num(a['swa-start']),
    schedule: a.schedule as SwaScheduleKind,
    cycle: num(a.cycle),
    alpha2: num(a.alpha2),
    fgeCycle: num(a['fge-cycle']),
    fgeAlpha1: num(a['fge-alpha1']),
    fgeAlpha2: num(a['fge-alpha2']),
    swagSamples: num(a['swag-samples']),
    swagBnBatches: num(a['swag-bn-batches']),
    swaEval: a['swa-eval'] as 'epoch' | 'budget',
    batchSize: Number(a.batch),
    weightDecay: Number(a.wd),
    momentum: Number(a.momentum),
    device: defaultBackend(),
    out: a.out ?? `runs/table1-${a.model}-${a.data}`,
    progress: a.progress,
    signal: ac.signal,
  });
  console.log(`\n${r.markdown}`);
  console.log(`wrote ${r.files.join(', ')}`);
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s on ${report.device}`);
} catch (e) {
  if (e instanceof RunnerConfigError || e instanceof RunFolderError) fail(e.message);
  if (e instanceof DivergenceError || e instanceof CheckpointError || e instanceof NonFiniteJsonError) {
    console.error(`swa: ${e.message}`);
    process.exit(1);
  }
  if (e instanceof RunInterrupted) {
    console.error(`swa: ${e.message}`);
    process.exit(130);
  }
  throw e;
}
