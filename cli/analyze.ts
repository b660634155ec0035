// Command line: the SWA paper's geometry (rays, the SGD–SWA line, planes, SWA against FGE) for a Table 1 runner
// folder; resumable (rerun the same command), with progress, SVG figures, JSON and CSV.
// Usage: node dist/cli/analyze.js runs/table1-small-cnn [--quick] [--analyses rays,line,planes,fge] [--seed 0]

import { parseArgs } from 'node:util';
import { defaultBackend, setDevice, type Backend } from '../engine/index.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { dataFolder, isDataSetName, loadDataSet, DATA_SETS } from '../nn/data/node-files.ts';
import {
  AnalysisConfigError,
  AnalysisInterrupted,
  analyzeRun,
  planAnalysis,
  readRunSettings,
  RunFolderProblem,
  StoreMismatchError,
  type AnalysisName,
  type PlaneCase,
} from '../swa/analysis/index.ts';

const HELP = `swa-engine analyze: the geometry of a Table 1 run (Izmailov et al., 2018, §3.4–3.5, Figures 1, 3, 4, 5).

  node dist/cli/analyze.js RUN_DIR [options]      RUN_DIR: the folder \`swa --out\` wrote

  --seed N              seed to analyse                                   [lowest seed in the folder]
  --analyses LIST       rays,line,planes,fge or all                       [all the folder allows]
  --planes LIST         fge (3 FGE snapshots), sgd-swa (start, SGD, SWA)   [fge,sgd-swa]
  --out DIR             output folder                                     [RUN_DIR/analysis/seed-N]
  --quick               smoke settings (128 images each, 2 rays of 4 points, 3+2 line points, 4×4 planes)
 Every point: BN statistics recomputed on a training subset, metrics on train and test subsets
  --bn-images N [2000]  --train-images N [5000]  --test-images N [10000]  --subset-seed N [0]
  --bn-batch N          BN pass batch size (barely changes the statistics) [128]
  --eval-batch N        metric pass batch size                            [500]
 Rays (Figure 4)
  --directions K [10]   --ray-steps S [11]   --direction-seed N [0]
  --ray-distance T      largest distance                                  [3·max(‖w_SGD‖, ‖w_SWA‖)]
  --width-margin M      width = distance where test error rises by M (0.05 = 5 points)  [0.05]
  --loss-margin M       … and where the L2 train loss rises by M (nats)   [0.1]
 Line (Figure 5):  --line-steps S [11] points over [0, 1];  --line-margin A [0.5]: t ∈ [−A, 1 + A]
 Planes (Figures 1, 3):  --plane-grid G [21] points per axis;  --plane-margin M [0.2] of the points' extent
  --fresh               discard the points stored by an earlier analysis in the output folder
  --flush-seconds S     rewrite the point store at most every S seconds   [0: after every point]
  --data-dir DIR        data folder (CIFAR: required)
  --device D            auto | webgpu | wasm                               [auto]
  --threads N           wasm kernel threads                                [cores, at most 8]
  --no-progress         no progress bars
  -h, --help

Rerunning the same command resumes: stored points are not evaluated again. Ctrl-C stops after the current point
(everything saved); twice stops at once.`;

/** The command-line flag of each option key that the library's checks name. */
const FLAGS: Readonly<Record<string, string>> = {
  bnImages: '--bn-images',
  trainImages: '--train-images',
  testImages: '--test-images',
  subsetSeed: '--subset-seed',
  evalBatchSize: '--eval-batch',
  bnBatchSize: '--bn-batch',
  'rays.directions': '--directions',
  'rays.steps': '--ray-steps',
  'rays.seed': '--direction-seed',
  'rays.errorMargin': '--width-margin',
  'rays.lossMargin': '--loss-margin',
  'rays.distance': '--ray-distance',
  'line.steps': '--line-steps',
  'line.margin': '--line-margin',
  'plane.grid': '--plane-grid',
  'plane.margin': '--plane-margin',
  flushSeconds: '--flush-seconds',
  analyses: '--analyses',
  planes: '--planes',
  seed: '--seed',
};

function fail(message: string): never {
  console.error(`analyze: ${message} (see --help)`);
  process.exit(2);
}

const str = { type: 'string' } as const;
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    allowNegative: true,
    options: {
      seed: str,
      analyses: str,
      planes: str,
      out: str,
      quick: { type: 'boolean' },
      'bn-images': str,
      'train-images': str,
      'test-images': str,
      'subset-seed': str,
      'bn-batch': str,
      'eval-batch': str,
      directions: str,
      'ray-steps': str,
      'direction-seed': str,
      'ray-distance': str,
      'width-margin': str,
      'loss-margin': str,
      'line-steps': str,
      'line-margin': str,
      'plane-grid': str,
      'plane-margin': str,
      fresh: { type: 'boolean' },
      'flush-seconds': str,
      'data-dir': str,
      device: { type: 'string', default: 'auto' },
      threads: str,
      progress: { type: 'boolean', default: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (e) {
  fail((e as Error).message.split('\n')[0]);
}
const { values: a, positionals } = parsed;
if (a.help) {
  console.log(HELP);
  process.exit(0);
}
if (positionals.length !== 1)
  fail(
    positionals.length
      ? `give one run folder, got ${positionals.length}: ${positionals.join(' ')}`
      : 'give the run folder (RUN_DIR)',
  );
const run = positionals[0];

/** A number option: undefined when absent; the library's checks reject NaN with the option's name. */
function num(name: keyof typeof a): number | undefined {
  const v = a[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(Number(v)))
    fail(`--${name} must be a number, got '${String(v)}'`);
  return Number(v);
}
const list = (v: string | undefined): string[] | undefined =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const analyses = a.analyses === 'all' ? ['rays', 'line', 'planes', 'fge'] : list(a.analyses);
if (!['auto', 'webgpu', 'wasm'].includes(a.device!)) fail(`--device must be auto, webgpu or wasm, got '${a.device}'`);
const threads = num('threads');
if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64))
  fail(`--threads must be an integer in [1, 64], got '${a.threads}'`);
const options = {
  seed: num('seed'),
  bnImages: num('bn-images'),
  trainImages: num('train-images'),
  testImages: num('test-images'),
  subsetSeed: num('subset-seed'),
  bnBatchSize: num('bn-batch'),
  evalBatchSize: num('eval-batch'),
  flushSeconds: num('flush-seconds'),
  rays: {
    directions: num('directions'),
    steps: num('ray-steps'),
    seed: num('direction-seed'),
    distance: num('ray-distance'),
    errorMargin: num('width-margin'),
    lossMargin: num('loss-margin'),
  },
  line: { steps: num('line-steps'), margin: num('line-margin') },
  plane: { grid: num('plane-grid'), margin: num('plane-margin') },
};

const request = {
  run,
  out: a.out,
  quick: a.quick,
  analyses: analyses as AnalysisName[] | undefined,
  planes: list(a.planes) as PlaneCase[] | undefined,
  fresh: a.fresh,
  progress: a.progress,
  ...options,
};
/** The library's option problems, named by their flags, on one line. */
const optionProblems = (e: AnalysisConfigError): string =>
  e.problems.map((p) => `${FLAGS[p.option] ?? p.option} ${p.problem}`).join('; ');
try {
  planAnalysis({
    ...request,
    train: undefined as unknown as Dataset,
    test: undefined as unknown as Dataset,
    device: undefined as unknown as Backend,
  });
} catch (e) {
  if (e instanceof AnalysisConfigError) fail(optionProblems(e));
  throw e;
}

let settings;
try {
  settings = await readRunSettings(run);
} catch (e) {
  fail((e as Error).message);
}
const name = settings.dataset;
if (!isDataSetName(name))
  fail(`${run}/settings.json names data set '${name}', which this command cannot load (${DATA_SETS.join(', ')})`);
if (name.startsWith('cifar') && !a['data-dir'])
  fail(`the run used ${name}: give --data-dir (the folder with the binary batches)`);
const report = await setDevice(a.device as 'auto' | 'webgpu' | 'wasm', { wasm: { threads } });
const fallback = report.fallbackReason ? ` — WebGPU unavailable: ${report.fallbackReason}` : '';
console.log(`device: ${report.device} (${report.info})${fallback}`);
/** The first `n` examples, as the swa command's --limit took them. */
const head = (ds: Dataset, n: number): Dataset => {
  if (!(n < ds.n)) return ds;
  const per = ds.images.length / ds.n;
  return { ...ds, n, images: ds.images.subarray(0, n * per), labels: ds.labels.subarray(0, n) };
};
let train: Dataset;
let test: Dataset;
try {
  train = head(loadDataSet(name, { dir: a['data-dir'], split: 'train' }), settings.train.n);
  test = head(loadDataSet(name, { dir: a['data-dir'], split: 'test' }), settings.test.n);
  const from = dataFolder(name, a['data-dir']);
  console.log(`data: ${name} from ${from}, ${train.n} train / ${test.n} test images (as the run used them)`);
} catch (e) {
  fail((e as Error).message);
}

const ac = new AbortController();
process.on('SIGINT', () => {
  if (ac.signal.aborted) process.exit(130);
  console.error('\nanalyze: stopping after this point (all points saved); press Ctrl-C again to stop now');
  ac.abort();
});

try {
  const r = await analyzeRun({ ...request, train, test, device: defaultBackend(), signal: ac.signal });
  console.log(`wrote ${r.files.join(', ')}`);
  for (const n of r.notes) console.log(`note: ${n}`);
} catch (e) {
  if (e instanceof AnalysisConfigError) fail(optionProblems(e));
  if (e instanceof RunFolderProblem || e instanceof StoreMismatchError) fail(e.message);
  if (e instanceof AnalysisInterrupted) {
    console.error(`analyze: ${e.message}`);
    process.exit(130);
  }
  console.error(`analyze: ${(e as Error).message ?? String(e)}`);
  process.exit(1);
}
