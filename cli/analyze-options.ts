// The options of `swa-engine analyze` (one table for the parser and --help), the library request they make, and the
// library's option problems renamed after the flags. The defaults and their range checks are the library's
// (planAnalysis, swa/analysis/options.ts): the table passes numbers through and shows those defaults.

import type { Backend } from '../engine/index.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import {
  AnalysisConfigError,
  PLANE_CASES,
  planAnalysis,
  type AnalysisName,
  type AnalyzeOptions,
  type PlaneCase,
} from '../swa/analysis/index.ts';
import { DATA_OPTIONS, DEVICE_OPTIONS } from './common.ts';
import { UsageError, type Command, type OptionTable, type Values } from './options.ts';

/** No data and no device: planAnalysis checks the options and fills in the defaults without reading either. */
const NOTHING = {
  train: undefined as unknown as Dataset,
  test: undefined as unknown as Dataset,
  device: undefined as unknown as Backend,
};
/** The library's defaults, full and --quick. */
const FULL = planAnalysis({ run: '', ...NOTHING });
const QUICK = planAnalysis({ run: '', ...NOTHING, quick: true });

/** A number the library range-checks, with its full and --quick defaults for --help. */
const num = (arg: string, help: string, full: number, quick = full) =>
  ({
    type: 'number',
    arg,
    help,
    defaultText: full === quick ? String(full) : `${full}; --quick ${quick}`,
  }) as const;

/** `swa-engine analyze`: the geometry of a Table 1 runner folder. */
export const ANALYZE = {
  name: 'swa-engine analyze',
  summary: 'the geometry of a Table 1 run (Izmailov et al., 2018, §3.4–3.5, Figures 1, 3, 4, 5)',
  options: {
    run: { type: 'string', positional: true, arg: 'RUN_DIR', required: true, help: 'the folder `swa --out` wrote' },
    seed: { type: 'number', arg: 'N', defaultText: 'the lowest seed in the folder', help: 'seed to analyse' },
    analyses: {
      type: 'string',
      arg: 'LIST',
      defaultText: 'all the folder allows',
      help: 'comma-separated rays (Figure 4), line (Figure 5), planes (Figures 1, 3), fge (SWA vs FGE, §3.5); or all',
    },
    planes: {
      type: 'string',
      arg: 'LIST',
      defaultText: PLANE_CASES.join(','),
      help: 'comma-separated fge (through 3 FGE snapshots), sgd-swa (through the start, SGD and SWA)',
    },
    out: {
      type: 'string',
      arg: 'DIR',
      defaultText: 'RUN_DIR/analysis/seed-N, with --quick seed-N-quick',
      help: 'output folder',
    },
    quick: {
      type: 'flag',
      help:
        `smoke settings (${QUICK.bnImages} images each, ${QUICK.rays.directions} rays of ${QUICK.rays.steps} ` +
        `points, ${QUICK.line.steps} line points over [0, 1], ${QUICK.plane.grid}×${QUICK.plane.grid} planes)`,
    },
    'bn-images': num('N', 'training images for the BN statistics', FULL.bnImages, QUICK.bnImages),
    'train-images': num('N', 'training images for the train metrics', FULL.trainImages, QUICK.trainImages),
    'test-images': num('N', 'test images for the test metrics', FULL.testImages, QUICK.testImages),
    'subset-seed': num('N', 'seed of the three image subsets', FULL.subsetSeed),
    'bn-batch': num('N', 'BN pass batch size (barely changes the statistics)', 128),
    'eval-batch': num('N', 'metric pass batch size', FULL.evalBatchSize),
    directions: num('K', 'rays (Figure 4): random directions', FULL.rays.directions, QUICK.rays.directions),
    'ray-steps': num('S', 'rays: points per ray', FULL.rays.steps, QUICK.rays.steps),
    'direction-seed': num('N', 'rays: seed of the random directions', FULL.rays.seed),
    'ray-distance': {
      type: 'number',
      arg: 'T',
      defaultText: '3·max(‖w_SGD‖, ‖w_SWA‖)',
      help: 'rays: largest distance',
    },
    'width-margin': num('M', 'rays: width = where the test error rises by M (0.05: 5 points)', FULL.rays.errorMargin),
    'loss-margin': num('M', 'rays: … and where the L2 train loss rises by M (nats)', FULL.rays.lossMargin),
    'line-steps': num('S', 'line (Figure 5): points over [0, 1]', FULL.line.steps, QUICK.line.steps),
    'line-margin': num('A', 'line: t runs over [−A, 1 + A]', FULL.line.margin),
    'plane-grid': num('G', 'planes (Figures 1, 3): points per axis', FULL.plane.grid, QUICK.plane.grid),
    'plane-margin': num('M', "planes: margin, a fraction of the points' extent", FULL.plane.margin),
    fresh: { type: 'flag', help: 'discard the points stored by an earlier analysis in the output folder' },
    'flush-seconds': {
      type: 'number',
      arg: 'S',
      defaultText: '0: after every point',
      help: 'rewrite the point store at most every S seconds',
    },
    'data-dir': DATA_OPTIONS['data-dir'],
    ...DEVICE_OPTIONS,
    progress: { type: 'flag', default: true, help: 'progress bars' },
  },
  notes:
    'Every point: BN statistics recomputed on a training subset, metrics on train and test subsets.\n' +
    'Rerunning the same command resumes: stored points are not evaluated again.\n' +
    'Ctrl-C stops after the current point (everything saved); twice stops at once.',
} as const satisfies Command<OptionTable>;

/** The command-line flag of each option key that the library's checks name (dotted for nested ones). */
export const FLAGS: Readonly<Record<string, string>> = {
  seed: '--seed',
  analyses: '--analyses',
  planes: '--planes',
  bnImages: '--bn-images',
  trainImages: '--train-images',
  testImages: '--test-images',
  subsetSeed: '--subset-seed',
  bnBatchSize: '--bn-batch',
  evalBatchSize: '--eval-batch',
  'rays.directions': '--directions',
  'rays.steps': '--ray-steps',
  'rays.seed': '--direction-seed',
  'rays.distance': '--ray-distance',
  'rays.errorMargin': '--width-margin',
  'rays.lossMargin': '--loss-margin',
  'line.steps': '--line-steps',
  'line.margin': '--line-margin',
  'plane.grid': '--plane-grid',
  'plane.margin': '--plane-margin',
  flushSeconds: '--flush-seconds',
};

/** Everything analyzeRun takes but the data sets and the device. */
export type AnalyzeRequest = Omit<AnalyzeOptions, 'train' | 'test' | 'device'>;

const list = (v: string | undefined): string[] | undefined =>
  v
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The library request of the parsed options (their checks are the library's: `checkRequest`). */
export function analyzeRequest(a: Values<typeof ANALYZE.options>): AnalyzeRequest {
  const analyses = a.analyses === 'all' ? ['rays', 'line', 'planes', 'fge'] : list(a.analyses);
  return {
    run: a.run,
    out: a.out,
    quick: a.quick,
    analyses: analyses as AnalysisName[] | undefined,
    planes: list(a.planes) as PlaneCase[] | undefined,
    fresh: a.fresh,
    progress: a.progress,
    seed: a.seed,
    bnImages: a['bn-images'],
    trainImages: a['train-images'],
    testImages: a['test-images'],
    subsetSeed: a['subset-seed'],
    bnBatchSize: a['bn-batch'],
    evalBatchSize: a['eval-batch'],
    flushSeconds: a['flush-seconds'],
    rays: {
      directions: a.directions,
      steps: a['ray-steps'],
      seed: a['direction-seed'],
      distance: a['ray-distance'],
      errorMargin: a['width-margin'],
      lossMargin: a['loss-margin'],
    },
    line: { steps: a['line-steps'], margin: a['line-margin'] },
    plane: { grid: a['plane-grid'], margin: a['plane-margin'] },
  };
}

/**
 * The error as the command line names it: the library's option problems (AnalysisConfigError, keyed by
 * AnalyzeOptions names) become one UsageError naming the flags; any other error is returned as it is.
 */
export function flagged(e: unknown): unknown {
  if (!(e instanceof AnalysisConfigError)) return e;
  return new UsageError(e.problems.map((p) => `${FLAGS[p.option] ?? p.option} ${p.problem}`).join('; '));
}

/** Runs the library's option checks (planAnalysis) before anything is read; throws UsageError naming the flags. */
export function checkRequest(r: AnalyzeRequest): void {
  try {
    planAnalysis({ ...r, ...NOTHING });
  } catch (e) {
    throw flagged(e);
  }
}
