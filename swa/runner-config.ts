// The Table 1 runner's options, the plan type made from them (swa/runner-plan.ts makes it), the error a rejected
// plan throws, the budget points of Table 1 and the network description handed to the model builder.

import type { Backend, Generator } from '../engine/index.ts';
import type { AugmentOptions } from '../nn/data/augment.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import type { ChannelStats } from '../nn/data/normalize.ts';
import type { ModelSpec } from '../nn/models/index.ts';
import type { Module } from '../nn/module.ts';
import type { CaptureRule } from './capture.ts';
import type { LrSchedule } from './schedules.ts';

/** How the SWA phase sets its learning rate: the paper's constant α1, or its cyclical α1 → α2 over c iterations. */
export type SwaScheduleKind = 'constant' | 'cyclical';

/** Where the runner stands, handed to `onEpoch` after each epoch's checkpoint is written. */
export interface EpochEvent {
  seed: number;
  phase: PhaseName;
  /** Completed global epochs (1-based, as `EpochMetrics.epoch`). */
  epoch: number;
}

/** The three training phases of one seed; SWAG rides on the SWA phase. */
export type PhaseName = 'sgd' | 'swa' | 'fge';

/** Everything `runTable1` needs. Defaults in brackets. */
export interface Table1Options {
  /** Model name for `createModel` (small-cnn, preresnet110, vgg16bn, wrn28-10, …) and the table's row label. */
  model: string;
  /** Width multiplier / widen factor passed to `createModel`. */
  width?: number;
  /** Builds the network instead of `createModel(model, spec)` (tiny test nets, custom models). */
  modelFactory?: (spec: ModelSpec) => Module;
  /** Data set label for the table (fashion-mnist, cifar10, …). */
  dataset: string;
  train: Dataset;
  test: Dataset;
  /** Per-channel normalisation applied by every loader. */
  normalize?: ChannelStats;
  /** Training augmentation (e.g. CIFAR_AUGMENT); also used by the BN refresh passes, as the reference code does. */
  augment?: AugmentOptions;
  /** B: epochs of the SGD baseline (one budget). */
  budget: number;
  seeds: readonly number[];
  /** α1 of the SGD baseline (held for 0.5B, then linear decay to 0.01·α1 at 0.9B). */
  lr: number;
  /** SWA learning rate (constant α1, or the cyclical schedule's α1) [lr/5: the VGG-16 recipe, 0.05 → 0.01]. */
  swaLr?: number;
  /** Epoch at which SWA and FGE branch off the SGD run [max(1, ⌊0.75·B⌋)]; integer in [1, B − 1]. */
  swaStart?: number;
  schedule?: SwaScheduleKind;
  /** Cyclical cycle length c in iterations [one epoch of iterations]. */
  cycle?: number;
  /** Cyclical α2 [swaLr/50: the paper's PyramidNet recipe, α1 0.05, α2 0.001]. */
  alpha2?: number;
  /** Constant schedule: capture every this many epochs [1]. */
  captureEvery?: number;
  /** FGE cycle in epochs [2]: even integers snapshot at epoch ends, any other number > 0 (e.g. 0.5) mid-epoch. */
  fgeCycle?: number;
  /** FGE α1 [lr/2] and α2 [lr/1000]: the reference's 0.05 and 1e-4 for lr_init 0.1 models. */
  fgeAlpha1?: number;
  fgeAlpha2?: number;
  /** SWAG samples S for Bayesian model averaging (30 in the SWAG paper) [10]; 0 skips SWAG. */
  swagSamples?: number;
  /** SWAG sampling scale [0.5] and rank K [20]. */
  swagScale?: number;
  swagRank?: number;
  /** Training batches used by each SWAG sample's BN refresh [all]. */
  swagBnBatches?: number;
  /** Budget points (of 1, 1.25, 1.5) at which SWAG is evaluated [[1.5]]. */
  swagBudgets?: readonly number[];
  /** Evaluate w_SWA after every SWA epoch ('epoch', for the figures) or only at the budget points ['epoch']. */
  swaEval?: 'epoch' | 'budget';
  /** Mini-batch size [128], SGD momentum [0.9] and weight decay [5e-4]. */
  batchSize?: number;
  momentum?: number;
  weightDecay?: number;
  device: Backend;
  /** Output folder: checkpoints, phase results, table.md, runs.csv, report.json, SVG figures. */
  out: string;
  /** Show progress bars on stderr [true]. */
  progress?: boolean;
  /** Where status lines go [console.log]. */
  log?: (line: string) => void;
  /** Checked after every epoch's checkpoint: when aborted, the run stops there with a `RunInterrupted` error. */
  signal?: AbortSignal;
  /** Called after every epoch's checkpoint (before the signal is checked). */
  onEpoch?: (e: EpochEvent) => void;
  /**
   * When another live process holds a seed's phase (its lock file names it): wait for it to finish (true, or at most
   * this many seconds) instead of refusing with a `RunLockedError` [false].
   */
  waitForLock?: boolean | number;
  /**
   * Seconds this run's locks stay valid without a refresh; a holder on another host that stops refreshing for
   * longer is taken to be gone [600]. The holder refreshes every tenth of it while it works.
   */
  lockLease?: number;
}

/** One column of the SWA phase: a budget (in budgets) and the epoch count it rounds to. */
export interface BudgetPoint {
  budget: number;
  epochs: number;
}

/** The options with every default filled in, plus the schedules and rules derived from them. */
export interface Table1Plan {
  options: Table1Options;
  budget: number;
  seeds: number[];
  lr: number;
  swaLr: number;
  swaStart: number;
  schedule: SwaScheduleKind;
  cycle: number;
  alpha2: number;
  captureEvery: number;
  fgeCycle: number;
  fgeAlpha1: number;
  fgeAlpha2: number;
  swagSamples: number;
  swagScale: number;
  swagRank: number;
  swagBnBatches: number;
  swagBudgets: number[];
  swaEval: 'epoch' | 'budget';
  batchSize: number;
  momentum: number;
  weightDecay: number;
  itersPerEpoch: number;
  /**
   * SWA evaluation points at 1, 1.25 and 1.5 budgets; epochs rounded to whole epochs (they may coincide for
   * tiny B).
   */
  points: BudgetPoint[];
  /** Epochs of the SWA run: the last point's. */
  swaEnd: number;
  sgdSchedule: LrSchedule;
  swaSchedule: LrSchedule;
  swaCapture: CaptureRule;
  fgeSchedule: LrSchedule;
  fgeCapture: CaptureRule;
  /** Builds the network for a seed's generator. */
  build: (spec: ModelSpec) => Module;
  /** `dataChecksum` of the training and test sets (part of the run's fingerprint). */
  checksums: { train: string; test: string };
}

/**
 * Hyperparameters that were rejected before training; `problems` lists every one found.
 * @example try { await runTable1(o); } catch (e) { if (e instanceof RunnerConfigError) console.error(e.problems); }
 */
export class RunnerConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid SWA run settings:\n  - ${problems.join('\n  - ')}`);
    this.name = 'RunnerConfigError';
  }
}

/** The SWA points of Table 1, in budgets. @example TABLE1_BUDGETS.map((b) => Math.round(b * 4)) // epochs for B = 4 */
export const TABLE1_BUDGETS: readonly number[] = [1, 1.25, 1.5];

/** Integers lo, lo + 1, …, hi − 1. */
export const range = (lo: number, hi: number): number[] =>
  Array.from({ length: Math.max(0, hi - lo) }, (_, i) => lo + i);

/** The network's description for a seed: sized for the data, initialised from `generator`, on the run's device. */
export function modelSpec(o: Table1Options, generator: Generator): ModelSpec {
  const [inChannels, size] = o.train.shape;
  return { inChannels, size, classes: o.train.classes, width: o.width, device: o.device, generator };
}
