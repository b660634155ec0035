// The runner's inner loops: one SGD epoch on the global clock (learning rate and capture rule asked at every step,
// the running loss read back and checked every few steps), single-model and averaged-model evaluation with
// calibration, and the deterministic BN-refresh batches.

import { Generator, globalGenerator, tidy, type Backend } from '../engine/index.ts';
import { DataLoader, type Batch } from '../nn/data/loader.ts';
import { toTensors } from '../nn/data/to-tensors.ts';
import { DivergenceError } from '../nn/finite.ts';
import { RunningMetrics } from '../nn/metrics.ts';
import type { Module } from '../nn/module.ts';
import type { SGD } from '../nn/optim.ts';
import { Progress } from '../nn/progress.ts';
import { trainStep } from '../nn/trainer.ts';
import type { AveragedModel } from './averaged-model.ts';
import { updateBn } from './bn-update.ts';
import { ensemblePredict, type EnsembleResult } from './ensemble.ts';
import { ece } from './report/calibration.ts';
import type { Table1Plan } from './runner-config.ts';
import type { LrSchedule } from './schedules.ts';

/** Test metrics of one model or ensemble: accuracy and ECE as fractions, NLL as the mean −log p(label). */
export interface TestMetrics {
  accuracy: number;
  nll: number;
  ece: number;
}

/** One trained epoch. `epoch` counts completed global epochs (1-based), as `EpochMetrics.epoch` does. */
export interface EpochRecord {
  epoch: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  /** Test metrics of the weights at the end of the epoch (absent when not evaluated). */
  test?: TestMetrics;
  seconds: number;
}

/** What a training epoch needs. */
export interface EpochLoop {
  model: Module;
  optimizer: SGD;
  loader: DataLoader;
  device: Backend;
  schedule: LrSchedule;
  /** 0-based global epoch being trained. */
  epoch: number;
  label: string;
  progress: boolean;
  /** Called after every step with the 1-based global iteration just taken (captures on iteration rules). */
  afterStep?: (iteration: number) => void | Promise<void>;
  /** Names the phase in a `DivergenceError` ('seed 0 SGD'). */
  where: string;
  /** The previous epoch's training loss, named as the last finite one when this epoch's first read diverges. */
  previousLoss?: number;
  /** What is kept on disk when this epoch diverges, for the error message. */
  kept?: string;
  /** Called after every step (the run lock's `beat`, which refreshes its lease when due). */
  beat?: () => void;
}

/** Steps between read-backs of the running loss (the progress bar's and the divergence check's). */
export const READ_EVERY = 20;

/**
 * Trains one epoch: before step s the learning rate is
 * `schedule({ iteration: epoch·ipe + s + 1, epoch, fraction: s/ipe })`, the global clock of swa/schedules.ts, so a
 * phase resumed at any epoch sets exactly the same rates. The running loss is read back every `READ_EVERY` steps and
 * at the end (one scalar pair; no other sync), and a NaN or infinite value stops the run with a `DivergenceError`.
 * @throws when the loader is not at the start of `epoch` (a resumed run whose state does not line up).
 */
export async function trainEpoch(o: EpochLoop): Promise<Omit<EpochRecord, 'test'>> {
  const ipe = o.loader.length;
  if (o.loader.epoch !== o.epoch || o.loader.position !== 0) {
    throw new Error(
      `runner: the data loader stands at epoch ${o.loader.epoch} position ${o.loader.position}, ` +
        `expected the start of epoch ${o.epoch}`,
    );
  }
  o.model.train();
  const metrics = new RunningMetrics(o.device);
  const bar = new Progress(o.label, ipe, o.progress);
  const t0 = performance.now();
  let step = 0;
  let lr = o.optimizer.lr;
  let lastFinite =
    o.previousLoss !== undefined && Number.isFinite(o.previousLoss)
      ? { value: o.previousLoss, epoch: o.epoch, step: ipe }
      : undefined;
  const read = async (): Promise<Awaited<ReturnType<RunningMetrics['read']>>> => {
    const r = await metrics.read();
    if (!Number.isFinite(r.loss)) {
      const since = lastFinite?.epoch === o.epoch + 1 ? lastFinite.step : 0;
      throw new DivergenceError({
        where: o.where,
        quantity: 'training loss',
        value: r.loss,
        epoch: o.epoch + 1,
        step,
        steps: ipe,
        since,
        lastFinite,
        kept: o.kept,
      });
    }
    lastFinite = { value: r.loss, epoch: o.epoch + 1, step };
    return r;
  };
  try {
    for (const b of o.loader) {
      const iteration = o.epoch * ipe + step + 1;
      lr = o.optimizer.lr = o.schedule({ iteration, epoch: o.epoch, fraction: step / ipe, itersPerEpoch: ipe });
      tidy(() => {
        const { x, y } = toTensors(b, o.device);
        trainStep(o.model, o.optimizer, x, y, metrics);
      });
      step++;
      o.beat?.();
      if (step % READ_EVERY === 0 || step === ipe) {
        const r = await read();
        bar.update(step, { loss: r.loss, acc: r.accuracy, lr });
      }
      await o.afterStep?.(iteration);
    }
    const r = await read();
    const seconds = (performance.now() - t0) / 1000;
    bar.done(
      `loss ${r.loss.toFixed(4)} acc ${(100 * r.accuracy).toFixed(2)}% lr ${lr.toPrecision(3)} ` +
        `| ${seconds.toFixed(1)} s`,
    );
    return { epoch: o.epoch + 1, lr, trainLoss: r.loss, trainAccuracy: r.accuracy, seconds };
  } finally {
    metrics.dispose();
  }
}

/** Accuracy, NLL and ECE (15 bins) of an ensemble's averaged probabilities. */
export function metricsOf(r: EnsembleResult, classes: number): TestMetrics {
  return { accuracy: r.accuracy, nll: r.nll, ece: ece(r.probs, r.labels, classes) };
}

/**
 * Test metrics of the model as it stands (eval mode; one member of `ensemblePredict`, so NLL matches the
 * ensembles').
 */
export async function evalModel(model: Module, plan: Table1Plan): Promise<TestMetrics> {
  const o = plan.options;
  const r = await ensemblePredict(model, 1, () => undefined, o.test, o.device, { normalize: o.normalize });
  return metricsOf(r, o.test.classes);
}

/**
 * Training batches for a BN refresh: a fresh loader over the training set with the training augmentation and a
 * generator seeded from `key`, so every refresh is reproducible and never touches the training loader's stream.
 * At most `limit` batches (a shuffled subset when fewer than an epoch).
 */
export function* bnBatches(
  plan: Table1Plan,
  key: readonly number[],
  limit = Infinity,
  beat?: () => void,
): IterableIterator<Batch> {
  const o = plan.options;
  const loader = new DataLoader(o.train, {
    batchSize: plan.batchSize,
    shuffle: limit < plan.itersPerEpoch,
    augment: o.augment,
    normalize: o.normalize,
    generator: new Generator(mixSeed(key)),
  });
  let k = 0;
  for (const b of loader) {
    if (k++ >= limit) return;
    beat?.();
    yield b;
  }
}

/**
 * Test metrics of w_SWA: recompute the averaged model's BN statistics with one pass over the training data
 * (sample-weighted, as the SWA reference code), then evaluate it. The training model is not touched.
 */
export async function evalAverage(
  avg: AveragedModel,
  plan: Table1Plan,
  key: readonly number[],
  beat?: () => void,
): Promise<TestMetrics> {
  updateBn(bnBatches(plan, key, Infinity, beat), avg, { weighting: 'samples', device: plan.options.device });
  return evalModel(avg, plan);
}

/** A 32-bit seed from a list of integers (FNV-1a over their 32-bit words). */
export function mixSeed(key: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const k of key) {
    let x = k >>> 0;
    for (let i = 0; i < 4; i++) {
      h = Math.imul(h ^ (x & 0xff), 0x01000193) >>> 0;
      x >>>= 8;
    }
  }
  return h;
}

/** Random streams a run depends on besides the loader's: the model's generator (dropout) and the global one. */
export interface RngState {
  model: (number | null)[];
  global: (number | null)[];
}

/** Both streams' states, JSON-safe (a NaN spare normal becomes null). */
export function rngState(modelGenerator: Generator): RngState {
  const safe = (s: number[]): (number | null)[] => s.map((v) => (Number.isNaN(v) ? null : v));
  return { model: safe(modelGenerator.getState()), global: safe(globalGenerator.getState()) };
}

/** Restores `rngState`'s result. */
export function setRngState(modelGenerator: Generator, s: RngState): void {
  const back = (a: (number | null)[]): number[] => a.map((v) => (v === null ? NaN : v));
  modelGenerator.setState(back(s.model));
  globalGenerator.setState(back(s.global));
}
