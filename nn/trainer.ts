// Epoch loop: trains a model with SGD over a DataLoader (learning rate from a function or a scheduler), evaluates on
// a test set, shows a progress bar (loss, accuracy, images/s, ETA), records per-epoch metrics and stops loudly
// (DivergenceError) when the loss read back every few steps is no longer finite.

import { crossEntropy, noGrad, synchronize, tidy, type Backend, type Tensor } from '../engine/index.ts';
import { checkModelData } from './data-check.ts';
import { DataError, type Dataset } from './data/dataset.ts';
import { DataLoader } from './data/loader.ts';
import type { ChannelStats } from './data/normalize.ts';
import { toTensors } from './data/to-tensors.ts';
import { RunningMetrics } from './metrics.ts';
import { checkFiniteMetrics, DivergenceError } from './finite.ts';
import { describe, type Module } from './module.ts';
import type { LrScheduler, SGD } from './optim.ts';
import { Progress } from './progress.ts';

/** One epoch of `fit`: its rate (of the last step), training loss and accuracy, test metrics, time. */
export interface EpochMetrics {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss?: number;
  testAccuracy?: number;
  seconds: number;
  imagesPerSecond: number;
}

/**
 * One training step on a batch: forward, cross-entropy, backward, SGD step; intermediates are freed.
 * @example for (const b of loader) tidy(() => { const { x, y } = toTensors(b); trainStep(model, opt, x, y); });
 */
export function trainStep(model: Module, opt: SGD, x: Tensor, y: Tensor, metrics?: RunningMetrics): void {
  tidy(() => {
    const logits = model.forward(x);
    const loss = crossEntropy(logits, y);
    loss.backward();
    if (metrics?.tracksGradients) metrics.addGradients(opt.params);
    opt.step();
    opt.zeroGrad();
    if (metrics) noGrad(() => metrics.add(loss, logits, y));
  });
}

/**
 * Mean cross-entropy and accuracy of `model` (in eval mode; its mode is restored) on a dataset.
 * @throws DataError when the data set is empty or its images do not fit the model (see `checkModelData`).
 * @example const { accuracy } = await evaluate(swaModel, test, device, { normalize: FASHION_MNIST_STATS });
 */
export async function evaluate(
  model: Module,
  data: Dataset,
  device: Backend,
  opts: { batchSize?: number; normalize?: ChannelStats } = {},
): Promise<{ loss: number; accuracy: number }> {
  checkModelData(model, data, { device, role: 'evaluation set' });
  const wasTraining = model.training;
  model.eval();
  const metrics = new RunningMetrics(device);
  const loader = new DataLoader(data, { batchSize: opts.batchSize ?? 500, normalize: opts.normalize });
  try {
    for (const b of loader) {
      noGrad(() =>
        tidy(() => {
          const { x, y } = toTensors(b, device);
          const logits = model.forward(x);
          metrics.add(crossEntropy(logits, y), logits, y);
        }),
      );
    }
    const r = await metrics.read();
    return { loss: r.loss, accuracy: r.accuracy };
  } finally {
    metrics.dispose();
    model.train(wasTraining);
  }
}

/** What `fit` trains: model, optimizer, loader, device, epochs, and the learning rate (a function or a scheduler). */
export interface FitOptions {
  model: Module;
  optimizer: SGD;
  train: DataLoader;
  device: Backend;
  epochs: number;
  /**
   * The learning rate: a function of the epoch (0-based) and the fraction of it done, applied before every step; or a
   * scheduler (SWALR, SwaCyclicalLR, …) of this optimizer, stepped after every epoch or every step as its `interval`
   * says. Without it the optimizer's `lr` stays as it is.
   */
  lr?: ((epoch: number, fraction: number) => number) | LrScheduler;
  test?: Dataset;
  testNormalize?: ChannelStats;
  /** Read the running loss for the progress bar every this many steps (each read waits for the device). */
  reportEvery?: number;
  /** Called after each epoch (save metrics, checkpoints…). */
  onEpoch?: (m: EpochMetrics) => void | Promise<void>;
  progress?: boolean;
  /** First epoch to run (when resuming). */
  startEpoch?: number;
  /**
   * Also sum every step's squared gradient norm on the device and stop when it is not finite (a little device work
   * per step, no extra read-back) [false]. The training loss is always checked.
   */
  checkGradNorm?: boolean;
  /** Names the run in a `DivergenceError` ['training']. */
  label?: string;
}

/** Throws unless `lr` is a rate function or a scheduler of `optimizer`; returns which one it is. */
type LrFunction = (epoch: number, fraction: number) => number;

function lrSource(lr: FitOptions['lr'], optimizer: SGD): { fn?: LrFunction; scheduler?: LrScheduler } {
  if (lr === undefined) return {};
  if (typeof lr === 'function') return { fn: lr };
  const s = lr as Partial<LrScheduler> | null;
  const interval = s && typeof s === 'object' ? s.interval : undefined;
  if (s && typeof s.step === 'function' && (interval === 'epoch' || interval === 'iteration')) {
    if (s.optimizer !== undefined && s.optimizer !== optimizer) {
      throw new Error("fit: the lr scheduler drives another optimizer than fit's");
    }
    return { scheduler: lr as LrScheduler };
  }
  throw new TypeError(
    'fit: lr must be a function (epoch, fraction) => number or a scheduler with step() and ' +
      `interval 'epoch' or 'iteration' (SWALR, SwaCyclicalLR, …); got ${describe(lr)}`,
  );
}

/**
 * Trains for `epochs` epochs; returns the metrics of each epoch. Before the first step the training and test sets
 * are checked against the model (`checkModelData`). The running loss (and gradient norm, with `checkGradNorm`) is
 * read back every `reportEvery` steps and at the end of each epoch, as the progress bar needs anyway; a NaN or
 * infinite value there, or in the test metrics, throws a `DivergenceError` before `onEpoch` runs, so nothing of the
 * diverged state is handed on to be saved.
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
 * await fit({ model, optimizer: opt, train: loader, device, epochs: 10, lr: new SWALR(opt, { swaLr: 0.01 }), test });
 */
export async function fit(o: FitOptions): Promise<EpochMetrics[]> {
  const { fn, scheduler } = lrSource(o.lr, o.optimizer);
  checkModelData(o.model, o.train.dataset, { device: o.device, role: 'training set' });
  if (o.train.length === 0) {
    throw new DataError('training set', `its ${o.train.dataset.n} images make no batch of ${o.train.batchSize}`);
  }
  if (o.test) checkModelData(o.model, o.test, { device: o.device, role: 'test set' });
  const history: EpochMetrics[] = [];
  const metrics = new RunningMetrics(o.device, { gradNorm: o.checkGradNorm });
  const every = o.reportEvery ?? 20;
  const where = o.label ?? 'training';
  let lastFinite: { value: number; epoch: number; step: number } | undefined;
  try {
    for (let epoch = o.startEpoch ?? 0; epoch < o.epochs; epoch++) {
      o.model.train();
      metrics.reset();
      const steps = o.train.length;
      const bar = new Progress(`epoch ${epoch + 1}/${o.epochs}`, steps, o.progress ?? true);
      const t0 = performance.now();
      let step = 0;
      let lr = o.optimizer.lr;
      /** Reads the running sums and throws when the loss or gradient norm is no longer finite. */
      const readChecked = async (): Promise<Awaited<ReturnType<RunningMetrics['read']>>> => {
        const r = await metrics.read();
        const since = lastFinite?.epoch === epoch + 1 ? lastFinite.step : 0;
        const at = { where, epoch: epoch + 1, step, steps, since, lastFinite };
        if (!Number.isFinite(r.loss)) throw new DivergenceError({ ...at, quantity: 'training loss', value: r.loss });
        if (r.gradNorm !== undefined && !Number.isFinite(r.gradNorm))
          throw new DivergenceError({ ...at, quantity: 'gradient norm', value: r.gradNorm });
        lastFinite = { value: r.loss, epoch: epoch + 1, step };
        return r;
      };
      for (const b of o.train) {
        lr = fn ? (o.optimizer.lr = fn(epoch, step / steps)) : o.optimizer.lr;
        tidy(() => {
          const { x, y } = toTensors(b, o.device);
          trainStep(o.model, o.optimizer, x, y, metrics);
        });
        if (scheduler?.interval === 'iteration') scheduler.step();
        step++;
        if (step % every === 0 || step === steps) {
          const r = await readChecked();
          bar.update(step, { loss: r.loss, acc: r.accuracy, 'img/s': r.count / ((performance.now() - t0) / 1000) });
        }
      }
      await synchronize(o.device);
      const seconds = (performance.now() - t0) / 1000;
      const r = await readChecked();
      const m: EpochMetrics = {
        epoch: epoch + 1,
        lr,
        trainLoss: r.loss,
        trainAccuracy: r.accuracy,
        seconds,
        imagesPerSecond: r.count / seconds,
      };
      if (o.test) {
        const t = await evaluate(o.model, o.test, o.device, { normalize: o.testNormalize });
        checkFiniteMetrics({ 'test loss': t.loss, 'test accuracy': t.accuracy }, { where, epoch: epoch + 1 });
        m.testLoss = t.loss;
        m.testAccuracy = t.accuracy;
      }
      bar.done(
        `loss ${m.trainLoss.toFixed(4)} acc ${(100 * m.trainAccuracy).toFixed(2)}%` +
          (m.testAccuracy !== undefined
            ? ` | test loss ${m.testLoss!.toFixed(4)} acc ${(100 * m.testAccuracy).toFixed(2)}%`
            : '') +
          ` | ${seconds.toFixed(1)} s, ${m.imagesPerSecond.toFixed(0)} img/s`,
      );
      history.push(m);
      if (scheduler?.interval === 'epoch') scheduler.step();
      await o.onEpoch?.(m);
    }
  } finally {
    metrics.dispose();
  }
  return history;
}
