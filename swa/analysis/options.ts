// The analysis' options, their defaults (full and --quick), and the checks run before anything is read or evaluated.

import type { Backend } from '../../engine/index.ts';
import type { Dataset } from '../../nn/data/dataset.ts';
import type { ModelSpec } from '../../nn/models/index.ts';
import type { Module } from '../../nn/module.ts';
import type { PlaneOptions } from './plane.ts';
import type { LineOptions, RayOptions } from './rays-line.ts';

/** The four analyses: rays (Figure 4), line (Figure 5), planes (Figures 1 and 3), fge (§3.5). */
export type AnalysisName = 'rays' | 'line' | 'planes' | 'fge';
/** Every analysis, in the order of `AnalysisName`. */
export const ANALYSES: readonly AnalysisName[] = ['rays', 'line', 'planes', 'fge'];

/** Planes: through three FGE snapshots (with their average projected), or through the SWA run's start, SGD and SWA. */
export type PlaneCase = 'fge' | 'sgd-swa';
/** Every plane case. */
export const PLANE_CASES: readonly PlaneCase[] = ['fge', 'sgd-swa'];

/** Everything `analyzeRun` takes. Defaults in brackets; `quick` changes the defaults (see QUICK). */
export interface AnalyzeOptions {
  /** The runner's output folder (`swa --out DIR`). */
  run: string;
  /** Seed to analyse [the lowest seed in the folder]. */
  seed?: number;
  /** Output folder [<run>/analysis/seed-<seed>, with `quick` seed-<seed>-quick]. */
  out?: string;
  /** Analyses to run [all that the folder allows]; naming one that it cannot run is an error. */
  analyses?: readonly AnalysisName[];
  planes?: readonly PlaneCase[];
  /** The run's training and test sets, whole (subsets are drawn here). */
  train: Dataset;
  test: Dataset;
  device: Backend;
  /** Builds the run's network [createModel(settings.model, …)]. */
  modelFactory?: (spec: ModelSpec) => Module;
  /** Smoke settings: few images, directions and grid points. */
  quick?: boolean;
  /** Training images for each point's BN recomputation [2000], for the train metrics [5000]; test images [10000]. */
  bnImages?: number;
  trainImages?: number;
  testImages?: number;
  /** Seed of the three subsets [0]. */
  subsetSeed?: number;
  /** BN pass batch size [128] (see EvaluatorOptions.bnBatchSize); metric pass batch size [500]. */
  bnBatchSize?: number;
  evalBatchSize?: number;
  /**
   * Ray settings; distance [3·max(‖w_SGD‖, ‖w_SWA‖), two significant digits: a random unit direction spreads over all
   * weights, so it takes a distance of the order of ‖w‖ to change the network (the small CNN's test error rises by
   * 5 points near 2.5·‖w‖)].
   */
  rays?: Partial<RayOptions>;
  line?: Partial<LineOptions>;
  plane?: Partial<PlaneOptions>;
  /** Drop the points stored by an earlier analysis in `out`. */
  fresh?: boolean;
  /** Seconds between rewrites of the point store [0: after every point]. */
  flushSeconds?: number;
  progress?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
  onPoint?: (p: { label: string; key: string; computed: boolean }) => void;
}

/** Settings with every default filled in (ray distance still undefined when automatic). */
export interface AnalysisPlan {
  bnImages: number;
  trainImages: number;
  testImages: number;
  subsetSeed: number;
  evalBatchSize: number;
  bnBatchSize?: number;
  rays: Omit<RayOptions, 'distance'> & { distance?: number };
  line: LineOptions;
  plane: PlaneOptions;
  analyses?: AnalysisName[];
  planes: PlaneCase[];
  flushSeconds: number;
}

/** One rejected option: its key in `AnalyzeOptions` (dotted for nested ones: 'rays.steps') and what is wrong. */
export interface OptionProblem {
  option: string;
  problem: string;
}

/** Options that were rejected; `problems` lists every one, the message puts them on one line. */
export class AnalysisConfigError extends Error {
  constructor(readonly problems: OptionProblem[]) {
    super(problems.map((p) => `${p.option} ${p.problem}`).join('; '));
    this.name = 'AnalysisConfigError';
  }
}

const FULL = {
  bnImages: 2000,
  trainImages: 5000,
  testImages: 10000,
  rays: { directions: 10, steps: 11, seed: 0, errorMargin: 0.05, lossMargin: 0.1 },
  line: { steps: 11, margin: 0.5 },
  plane: { grid: 21, margin: 0.2 },
};

/** The --quick defaults: a smoke run of a few dozen points that ends in well under a minute for the small CNN. */
export const QUICK = {
  bnImages: 128,
  trainImages: 128,
  testImages: 128,
  rays: { directions: 2, steps: 4, seed: 0, errorMargin: 0.05, lossMargin: 0.1 },
  line: { steps: 3, margin: 0.5 },
  plane: { grid: 4, margin: 0.2 },
};

/** Checks the options and fills in the defaults; throws one AnalysisConfigError naming every bad option. */
export function planAnalysis(o: AnalyzeOptions): AnalysisPlan {
  const d = o.quick ? QUICK : FULL;
  const problems: OptionProblem[] = [];
  const bad = (option: string, problem: string): void => {
    problems.push({ option, problem });
  };
  const int = (name: string, v: number | undefined, fallback: number, min: number): number => {
    const x = v ?? fallback;
    if (!(Number.isInteger(x) && x >= min)) bad(name, `must be an integer ≥ ${min}, got ${x}`);
    return x;
  };
  const real = (name: string, v: number | undefined, fallback: number, min: number, strict = false): number => {
    const x = v ?? fallback;
    if (!(Number.isFinite(x) && (strict ? x > min : x >= min)))
      bad(name, `must be a number ${strict ? '>' : '≥'} ${min}, got ${x}`);
    return x;
  };
  const r = o.rays ?? {};
  const plan: AnalysisPlan = {
    bnImages: int('bnImages', o.bnImages, d.bnImages, 1),
    trainImages: int('trainImages', o.trainImages, d.trainImages, 1),
    testImages: int('testImages', o.testImages, d.testImages, 1),
    subsetSeed: int('subsetSeed', o.subsetSeed, 0, 0),
    evalBatchSize: int('evalBatchSize', o.evalBatchSize, 500, 1),
    bnBatchSize: o.bnBatchSize === undefined ? undefined : int('bnBatchSize', o.bnBatchSize, 0, 1),
    rays: {
      directions: int('rays.directions', r.directions, d.rays.directions, 1),
      steps: int('rays.steps', r.steps, d.rays.steps, 2),
      seed: int('rays.seed', r.seed, d.rays.seed, 0),
      errorMargin: real('rays.errorMargin', r.errorMargin, d.rays.errorMargin, 0, true),
      lossMargin: real('rays.lossMargin', r.lossMargin, d.rays.lossMargin, 0, true),
      distance: r.distance === undefined ? undefined : real('rays.distance', r.distance, 0, 0, true),
    },
    line: {
      steps: int('line.steps', o.line?.steps, d.line.steps, 2),
      margin: real('line.margin', o.line?.margin, d.line.margin, 0),
    },
    plane: {
      grid: int('plane.grid', o.plane?.grid, d.plane.grid, 2),
      margin: real('plane.margin', o.plane?.margin, d.plane.margin, 0),
    },
    analyses: o.analyses === undefined ? undefined : [...new Set(o.analyses)],
    planes: [...new Set(o.planes ?? PLANE_CASES)],
    flushSeconds: real('flushSeconds', o.flushSeconds, 0, 0),
  };
  for (const a of plan.analyses ?? [])
    if (!ANALYSES.includes(a)) bad('analyses', `has unknown analysis '${a}' (known: ${ANALYSES.join(', ')})`);
  if (plan.analyses?.length === 0) bad('analyses', `must name at least one of ${ANALYSES.join(', ')}`);
  for (const p of plan.planes)
    if (!PLANE_CASES.includes(p)) bad('planes', `has unknown plane '${p}' (known: ${PLANE_CASES.join(', ')})`);
  if (plan.planes.length === 0) bad('planes', `must name at least one of ${PLANE_CASES.join(', ')}`);
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0))
    bad('seed', `must be an integer ≥ 0, got ${o.seed}`);
  if (problems.length) throw new AnalysisConfigError(problems);
  return plan;
}

/** Two significant digits (the automatic ray distance, kept stable so stored points stay usable). */
export const roundTo2 = (x: number): number => Number(x.toPrecision(2));
