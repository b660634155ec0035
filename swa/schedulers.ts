// Learning-rate schedulers with step(), as torch.optim.lr_scheduler's: PyTorch's SWALR (per epoch), the SWA paper's
// cyclical rate and FGE's triangle (per iteration), and the SWA reference code's per-epoch schedule.

import type { LrScheduler } from '../nn/optim.ts';
import {
  annealFactor,
  checkCyclical,
  checkFgeCycle,
  checkInt,
  checkLr,
  cyclicalRate,
  fail,
  fgeCyclePosition,
  fgeTriangularRate,
  swaReferenceLr,
  type AnnealStrategy,
  type LrSchedule,
} from './schedules.ts';

/** What a scheduler drives: any optimizer with a settable `lr` (SGD). */
export interface LrHolder {
  lr: number;
}

function checkOptimizer(name: string, o: LrHolder): void {
  if (!o || typeof o !== 'object' || typeof o.lr !== 'number') fail(name, 'needs an optimizer with a numeric lr (SGD)');
}

/** PyTorch's SWALR arguments: swa_lr, anneal_epochs (10), anneal_strategy ('cos'). */
export interface SwalrOptions {
  /** The rate annealed to and then held (PyTorch's swa_lr). */
  swaLr: number;
  /** Epochs (step() calls) of the anneal, an integer ≥ 0 (default 10). */
  annealEpochs?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: AnnealStrategy;
}

/**
 * PyTorch's `torch.optim.swa_utils.SWALR` (1.13's sequence exactly), stepped once per epoch: it anneals the
 * optimizer's rate from whatever it is to `swaLr` over `annealEpochs` steps, then holds it (Izmailov et al., 2018,
 * https://arxiv.org/abs/1803.05407). At its k-th call (k = 0 is the constructor, as PyTorch's scheduler constructors
 * step once) with E = annealEpochs and s = k (s = max(1, k) when E = 0):
 * `a(t) = (1 − cos(π·t))/2` ('cos') or `t` ('linear'), `t = clamp(s/max(1, E), 0, 1)`,
 * `a' = a(clamp((s − 1)/max(1, E)))`;
 * `lr0 = (lr − a'·swa_lr)/(1 − a')` (swa_lr when a' = 1) recovers the starting rate from the optimizer's current one
 * (so another scheduler may have set it before), and `lr ← a·swa_lr + (1 − a)·lr0`.
 * So with E > 0 the constructor leaves the rate as it is and step k gives the anneal at t = k/E; with E = 0 the
 * constructor already sets swa_lr.
 * @example
 * const swaScheduler = new SWALR(opt, { swaLr: 0.05, annealEpochs: 5, annealStrategy: 'cos' });
 * for (let epoch = 0; epoch < 30; epoch++) { trainOneEpoch(); if (epoch > swaStart) swaScheduler.step(); }
 */
export class SWALR implements LrScheduler {
  readonly interval = 'epoch';
  readonly swaLr: number;
  readonly annealEpochs: number;
  readonly annealStrategy: AnnealStrategy;
  /** step() calls so far, the constructor's included (PyTorch's `_step_count`). */
  stepCount = 0;
  private last: number[] = [];

  constructor(
    readonly optimizer: LrHolder,
    opts: SwalrOptions,
  ) {
    const name = 'SWALR';
    checkOptimizer(name, optimizer);
    const { swaLr, annealEpochs = 10, annealStrategy = 'cos' } = opts ?? ({} as SwalrOptions);
    checkLr(name, 'swaLr', swaLr);
    checkInt(name, 'annealEpochs', annealEpochs, 0);
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') {
      fail(name, `annealStrategy must be 'cos' or 'linear', got ${String(annealStrategy)}`);
    }
    this.swaLr = swaLr;
    this.annealEpochs = annealEpochs;
    this.annealStrategy = annealStrategy;
    this.step();
  }

  step(): void {
    this.stepCount++;
    const E = this.annealEpochs;
    let s = this.stepCount - 1;
    if (E === 0) s = Math.max(1, s);
    const clamp = (t: number): number => Math.max(0, Math.min(1, t));
    const prevAlpha = annealFactor(this.annealStrategy, clamp((s - 1) / Math.max(1, E)));
    const lr = this.optimizer.lr;
    const lr0 = prevAlpha === 1 ? this.swaLr : (lr - prevAlpha * this.swaLr) / (1 - prevAlpha);
    const alpha = annealFactor(this.annealStrategy, clamp(s / Math.max(1, E)));
    this.optimizer.lr = this.swaLr * alpha + lr0 * (1 - alpha);
    this.last = [this.optimizer.lr];
  }

  getLastLr(): number[] {
    return [...this.last];
  }
}

/**
 * The SWA paper's cyclical learning rate (Izmailov et al., 2018, §3.1, Algorithm 1), stepped after every optimizer
 * step: at iteration i = 1, 2, … `t(i) = (((i − 1) mod c) + 1)/c`, `α(i) = (1 − t(i))·α1 + t(i)·α2`; each cycle falls
 * from just below α1 to α2 at its last iteration, then jumps back. The constructor sets α(1); `cycleEnd` is true while
 * the current iteration is a cycle's last (i mod c = 0), where Algorithm 1 captures. (c = 1 gives α2 throughout: for
 * the paper's constant rate set `opt.lr = α1` and capture once per epoch.)
 * @example
 * const sched = new SwaCyclicalLR(opt, { alpha1: 0.05, alpha2: 0.0005, cycle: loader.length });
 * for (const b of loader) {
 *   step(model, opt, b);                                   // iteration sched.iteration at α(i)
 *   if (sched.cycleEnd) swaModel.updateParameters(model);  // Algorithm 1: mod(i, c) = 0
 *   sched.step();
 * }
 */
export class SwaCyclicalLR implements LrScheduler {
  readonly interval = 'iteration';
  readonly alpha1: number;
  readonly alpha2: number;
  readonly cycle: number;
  /** Algorithm 1's i: the 1-based iteration the optimizer's current rate is for. */
  iteration = 0;

  constructor(
    readonly optimizer: LrHolder,
    opts: { alpha1: number; alpha2: number; cycle: number },
  ) {
    checkOptimizer('SwaCyclicalLR', optimizer);
    checkCyclical('SwaCyclicalLR', opts?.alpha1, opts?.alpha2, opts?.cycle);
    this.alpha1 = opts.alpha1;
    this.alpha2 = opts.alpha2;
    this.cycle = opts.cycle;
    this.step();
  }

  /** True when the current iteration ends a cycle (its rate is α2): capture after its optimizer step. */
  get cycleEnd(): boolean {
    return this.iteration % this.cycle === 0;
  }

  step(): void {
    this.iteration++;
    this.optimizer.lr = cyclicalRate(this.iteration, this.alpha1, this.alpha2, this.cycle);
  }

  getLastLr(): number[] {
    return [this.optimizer.lr];
  }
}

/**
 * FGE's triangular cyclic rate (Garipov et al., 2018, https://arxiv.org/abs/1802.10026; the reference code's
 * `cyclic_learning_rate`), stepped after every optimizer step: with `t = ((epoch mod cycle) + j/itersPerEpoch)/cycle`
 * for batch j, `lr = (1 − 2t)·α1 + 2t·α2` if t < 0.5, else `(2t − 1)·α1 + (2 − 2t)·α2`: α1 → α2 at mid-cycle → α1.
 * `cycle` is in epochs (the reference's even integers, or e.g. 0.5). `snapshotNow` is true after the last step below
 * mid-cycle, where FGE takes its snapshot (the next step runs at the minimum α2).
 * @example
 * const sched = new FgeCyclicalLR(opt, { alpha1: 0.05, alpha2: 1e-4, cycle: 4, itersPerEpoch: loader.length });
 * for (const b of loader) { step(model, opt, b); if (sched.snapshotNow) await fge.add(model); sched.step(); }
 */
export class FgeCyclicalLR implements LrScheduler {
  readonly interval = 'iteration';
  readonly alpha1: number;
  readonly alpha2: number;
  readonly cycle: number;
  readonly itersPerEpoch: number;
  /** Steps taken so far: the current rate is for step `steps + 1`. */
  steps = 0;

  constructor(
    readonly optimizer: LrHolder,
    opts: { alpha1: number; alpha2: number; cycle: number; itersPerEpoch: number },
  ) {
    const name = 'FgeCyclicalLR';
    checkOptimizer(name, optimizer);
    checkLr(name, 'alpha1', opts?.alpha1);
    checkLr(name, 'alpha2', opts.alpha2);
    if (opts.alpha2 > opts.alpha1) {
      fail(name, `needs alpha1 ≥ alpha2 (mid-cycle is the minimum), got alpha1=${opts.alpha1} < alpha2=${opts.alpha2}`);
    }
    checkFgeCycle(name, opts.cycle);
    checkInt(name, 'itersPerEpoch', opts.itersPerEpoch, 1);
    this.alpha1 = opts.alpha1;
    this.alpha2 = opts.alpha2;
    this.cycle = opts.cycle;
    this.itersPerEpoch = opts.itersPerEpoch;
    this.set();
  }

  /** Cycle position t of the step after `k` steps. */
  private position(k: number): number {
    const ipe = this.itersPerEpoch;
    return fgeCyclePosition(Math.floor(k / ipe), (k % ipe) / ipe, this.cycle);
  }

  private set(): void {
    this.optimizer.lr = fgeTriangularRate(this.position(this.steps), this.alpha1, this.alpha2);
  }

  /** True when the step about to be counted (the last one taken) is the last below mid-cycle: FGE's snapshot point. */
  get snapshotNow(): boolean {
    const now = this.position(this.steps);
    const next = this.position(this.steps + 1);
    return now < 0.5 && next >= 0.5 && next > now;
  }

  step(): void {
    this.steps++;
    this.set();
  }

  getLastLr(): number[] {
    return [this.optimizer.lr];
  }
}

/**
 * The SWA reference code's per-epoch schedule (timgaripov/swa `train.py`'s `schedule(epoch)`), stepped once per epoch:
 * for epoch e (from 0), `t = e/swaStart` (SWA run) or `e/epochs` (SGD baseline, r = 0.01), `r = swaLr/lrInit`;
 * `lr = lrInit` for t ≤ 0.5, `lrInit·(1 − (1 − r)(t − 0.5)/0.4)` for t ≤ 0.9, else `lrInit·r`. The constructor sets
 * epoch 0's rate.
 * @example const sched = new SwaReferenceLR(opt, { lrInit: 0.05, epochs: 300, swaStart: 161, swaLr: 0.01 });
 */
export class SwaReferenceLR implements LrScheduler {
  readonly interval = 'epoch';
  /** The 0-based epoch the optimizer's current rate is for. */
  epoch = 0;
  private readonly schedule: LrSchedule;

  constructor(
    readonly optimizer: LrHolder,
    opts: { lrInit: number; epochs: number; swaStart?: number; swaLr?: number },
  ) {
    checkOptimizer('SwaReferenceLR', optimizer);
    this.schedule = swaReferenceLr(opts, 'SwaReferenceLR');
    this.set();
  }

  private set(): void {
    this.optimizer.lr = this.schedule({ iteration: 1, epoch: this.epoch, fraction: 0, itersPerEpoch: 1 });
  }

  step(): void {
    this.epoch++;
    this.set();
  }

  getLastLr(): number[] {
    return [this.optimizer.lr];
  }
}
