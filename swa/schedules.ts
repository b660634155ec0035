// Learning-rate schedules for SWA and its relatives (the paper's cyclical and constant rates, the SWA reference code's
// per-epoch schedule, PyTorch's SWALR, FGE's triangle) as pure functions of training progress, checked before training.

/**
 * Where training stands when the learning rate of the next SGD step is asked for. All schedules here read the same
 * global clock; a phase that starts later (SWA after pre-training) says so with its own `startEpoch`.
 */
export interface LrProgress {
  /** 1-based global iteration: the step about to be taken (one batch). */
  iteration: number;
  /** 0-based epoch the step belongs to. */
  epoch: number;
  /** Fraction of the current epoch done before this step, `batchIndex / itersPerEpoch`, in [0, 1). */
  fraction: number;
  /** Iterations (batches) per epoch. */
  itersPerEpoch: number;
}

/** A learning-rate schedule: the LR for the step described by `p`. Pure; never negative, never NaN. */
export type LrSchedule = (p: LrProgress) => number;

/** Throws `name: message`. */
export function fail(name: string, message: string): never {
  throw new Error(`${name}: ${message}`);
}

/** Throws unless `value` is a finite learning rate ≥ 0. */
export function checkLr(name: string, key: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(name, `${key} must be a finite learning rate ≥ 0, got ${value}`);
  }
}

/** Throws unless `value` is an integer ≥ `min`. */
export function checkInt(name: string, key: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) fail(name, `${key} must be an integer ≥ ${min}, got ${value}`);
}

/** Checks the paper's cyclical schedule's options (α1 ≥ α2 ≥ 0, an integer cycle c ≥ 1). */
export function checkCyclical(name: string, alpha1: number, alpha2: number, c: number): void {
  checkLr(name, 'alpha1', alpha1);
  checkLr(name, 'alpha2', alpha2);
  if (alpha2 > alpha1) {
    fail(name, `needs alpha1 ≥ alpha2 (each cycle falls from α1 to α2), got alpha1=${alpha1} < alpha2=${alpha2}`);
  }
  checkInt(name, 'c (cycle length in iterations)', c, 1);
}

/** α(i) of the paper's cyclical schedule: `t = (((i − 1) mod c) + 1)/c`, `(1 − t)·α1 + t·α2` (i ≥ 1). */
export function cyclicalRate(i: number, alpha1: number, alpha2: number, c: number): number {
  const t = (((i - 1) % c) + 1) / c;
  return (1 - t) * alpha1 + t * alpha2;
}

/** SWALR's anneal factor at t ∈ [0, 1]: `(1 − cos(π·t))/2` ('cos') or `t` ('linear'). */
export function annealFactor(strategy: AnnealStrategy, t: number): number {
  return strategy === 'cos' ? (1 - Math.cos(Math.PI * t)) / 2 : t;
}

/** The SWA reference code's factor at t: 1 to 0.5, linear to `ratio` at 0.9, then `ratio`. */
export function swaReferenceFactor(t: number, ratio: number): number {
  if (t <= 0.5) return 1.0;
  if (t <= 0.9) return 1.0 - ((1.0 - ratio) * (t - 0.5)) / 0.4;
  return ratio;
}

/** FGE's triangle at cycle position t: α1 → α2 (t = 0.5) → α1. */
export function fgeTriangularRate(t: number, alpha1: number, alpha2: number): number {
  if (t < 0.5) return alpha1 * (1.0 - 2.0 * t) + alpha2 * 2.0 * t;
  return alpha1 * (2.0 * t - 1.0) + alpha2 * (2.0 - 2.0 * t);
}

function checkProgress(name: string, p: LrProgress): void {
  checkInt(name, 'iteration', p.iteration, 1);
  checkInt(name, 'epoch', p.epoch, 0);
  checkInt(name, 'itersPerEpoch', p.itersPerEpoch, 1);
  if (!(p.fraction >= 0 && p.fraction < 1)) fail(name, `fraction must be in [0, 1), got ${p.fraction}`);
}

/**
 * The SWA paper's cyclical learning rate (Izmailov et al., 2018, §3.1 and Algorithm 1), per iteration:
 * `t(i) = (((i − 1) mod c) + 1) / c`, `α(i) = (1 − t(i))·α1 + t(i)·α2`, with `c` in iterations and α1 ≥ α2.
 * Each cycle falls linearly from just below α1 to exactly α2 at `i mod c = 0` (where `captureCyclical` captures), then
 * jumps back up. `i` is Algorithm 1's counter, which starts at 1 on the pretrained ŵ: the first iteration of epoch
 * `startEpoch` (default 0) is i = 1, i.e. `i = iteration − startEpoch·itersPerEpoch`.
 *
 * NOTE: c = 1 gives α2 at every step, not α1: Algorithm 1's "c = 1 for a constant LR" is about capturing; use
 * `constantLr(α1)` for the paper's constant schedule.
 *
 * @example
 * const swa = cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 390, startEpoch: 100 });
 * piecewise([{ until: 100, schedule: pretrain }, { until: 150, schedule: swa }]);
 */
export function cyclicalLr(opts: { alpha1: number; alpha2: number; c: number; startEpoch?: number }): LrSchedule {
  const name = 'cyclicalLr';
  const { alpha1, alpha2, c, startEpoch = 0 } = opts;
  checkCyclical(name, alpha1, alpha2, c);
  checkInt(name, 'startEpoch', startEpoch, 0);
  return (p) => {
    checkProgress(name, p);
    const i = p.iteration - startEpoch * p.itersPerEpoch;
    if (i < 1 || p.epoch < startEpoch) {
      fail(name, `asked at iteration ${p.iteration} (epoch ${p.epoch}), before its startEpoch ${startEpoch}`);
    }
    return cyclicalRate(i, alpha1, alpha2, c);
  };
}

/**
 * The SWA paper's constant learning rate `α(i) = α1` (Izmailov et al., 2018, §3.1); models are then captured once per
 * epoch (`captureEpochly`).
 */
export function constantLr(alpha: number): LrSchedule {
  const name = 'constantLr';
  checkLr(name, 'alpha', alpha);
  return (p) => {
    checkProgress(name, p);
    return alpha;
  };
}

/**
 * The SWA reference code's per-epoch schedule (timgaripov/swa, `train.py`'s `schedule(epoch)`), set once at the start
 * of each epoch e (0-based; `fraction` is ignored):
 * - SWA run (`swaStart` given): `t = e / swa_start`, `r = swa_lr / lr_init`;
 * - SGD baseline (`swaStart` undefined): `t = e / epochs`, `r = 0.01` (the paper's baseline, §5);
 * - `lr = lr_init` if `t ≤ 0.5`; `lr_init·(1 − (1 − r)·(t − 0.5)/0.4)` if `t ≤ 0.9`; else `lr_init·r`.
 * Averaging then runs as `captureEvery({ epochs: swa_c_epochs, start: swa_start })`.
 *
 * `swaStart` must lie in (0, epochs]; `swaLr` is required with it and rejected without it. Epochs past the budget keep
 * the final rate `lr_init·r`.
 *
 * @example swaReferenceLr({ lrInit: 0.05, epochs: 300, swaStart: 161, swaLr: 0.01 }) // VGG-16, CIFAR-100
 */
export function swaReferenceLr(
  opts: { lrInit: number; epochs: number; swaStart?: number; swaLr?: number },
  name = 'swaReferenceLr',
): LrSchedule {
  const { lrInit, epochs, swaStart, swaLr } = opts;
  checkLr(name, 'lrInit', lrInit);
  if (lrInit === 0) fail(name, `lrInit must be > 0 (the ratio r = swaLr / lrInit divides by it), got 0`);
  checkInt(name, 'epochs', epochs, 1);
  if (swaStart === undefined && swaLr !== undefined) {
    fail(
      name,
      `swaLr=${swaLr} given without swaStart (an SGD-baseline run has r = 0.01); pass swaStart for an SWA run`,
    );
  }
  let horizon = epochs;
  let ratio = 0.01;
  if (swaStart !== undefined) {
    if (!Number.isFinite(swaStart) || swaStart <= 0) fail(name, `swaStart must be > 0, got ${swaStart}`);
    if (swaStart > epochs) fail(name, `swaStart=${swaStart} is beyond the epoch budget (epochs=${epochs})`);
    if (swaLr === undefined) fail(name, `swaLr is required when swaStart is given`);
    checkLr(name, 'swaLr', swaLr);
    horizon = swaStart;
    ratio = swaLr / lrInit;
  }
  return (p) => {
    checkProgress(name, p);
    return lrInit * swaReferenceFactor(p.epoch / horizon, ratio);
  };
}

/** Anneal shapes of PyTorch's SWALR. */
export type AnnealStrategy = 'cos' | 'linear';

/**
 * PyTorch's `torch.optim.swa_utils.SWALR` (1.13 and later), stepped once per epoch as its docs do:
 * `t = clamp(s / max(1, E), 0, 1)`, `a = (1 − cos(π·t))/2` ('cos') or `a = t` ('linear'),
 * `lr = a·swa_lr + (1 − a)·lr0`, where E = `annealEpochs` (default 10, an integer ≥ 0) and s is the number of
 * `SWALR.step()` calls made before epoch `epoch` starts: `s = epoch − startEpoch + 1`. So `startEpoch` is the first
 * epoch trained after one step (s = 1), and epoch `startEpoch − 1` runs at s = 0 (lr0, the state right after
 * construction). Calling `swa_scheduler.step()` at the end of every epoch e with `e + 1 ≥ S` gives `startEpoch = S`
 * (the same S as `captureEvery({ epochs: 1, start: S })`); PyTorch's docs example (`if i > swa_start: step()`) gives
 * `startEpoch = swa_start + 2`. `fraction` is ignored: the rate is constant within an epoch.
 *
 * Exactness notes: with E = 0 PyTorch forces `s = max(1, s)`, so the rate is swa_lr from construction on; s < 0 (not
 * a PyTorch state) clamps to lr0. PyTorch recovers lr0 from the param group at each step as
 * `(lr − a_prev·swa_lr)/(1 − a_prev)`, so its rates match this closed form up to float64 rounding; `lr0` is the
 * group's LR at SWALR's first `step()` (in the docs example, whatever the previous scheduler left).
 */
export function swalrAnneal(opts: {
  swaLr: number;
  lr0: number;
  startEpoch: number;
  annealEpochs?: number;
  strategy?: AnnealStrategy;
}): LrSchedule {
  const name = 'swalrAnneal';
  const { swaLr, lr0, startEpoch, annealEpochs = 10, strategy = 'cos' } = opts;
  checkLr(name, 'swaLr', swaLr);
  checkLr(name, 'lr0', lr0);
  checkInt(name, 'startEpoch', startEpoch, 0);
  if (!Number.isInteger(annealEpochs) || annealEpochs < 0) {
    fail(name, `annealEpochs must be an integer ≥ 0, got ${annealEpochs}`);
  }
  if (strategy !== 'cos' && strategy !== 'linear')
    fail(name, `strategy must be 'cos' or 'linear', got ${String(strategy)}`);
  return (p) => {
    checkProgress(name, p);
    let s = p.epoch - startEpoch + 1;
    if (annealEpochs === 0) s = Math.max(1, s);
    const t = Math.max(0, Math.min(1, s / Math.max(1, annealEpochs)));
    const a = annealFactor(strategy, t);
    return swaLr * a + lr0 * (1 - a);
  };
}

/** Throws unless `cycle` (FGE's cycle, in epochs) is a finite number > 0. */
export function checkFgeCycle(name: string, cycle: number): void {
  if (typeof cycle !== 'number' || !Number.isFinite(cycle) || cycle <= 0) {
    fail(name, `cycle must be a number of epochs > 0 (the reference uses even integers), got ${cycle}`);
  }
}

/**
 * FGE's position t ∈ [0, 1) in its cycle at `epoch` epochs (counted from FGE's start) plus `fraction` of the next:
 * `((epoch mod cycle) + fraction) / cycle` for an integer cycle (the reference's formula, exactly), else
 * `((epoch + fraction) mod cycle) / cycle`. The schedule and the mid-cycle capture both use this one function.
 */
export function fgeCyclePosition(epoch: number, fraction: number, cycle: number): number {
  if (Number.isInteger(cycle)) return ((epoch % cycle) + fraction) / cycle;
  return ((epoch + fraction) % cycle) / cycle;
}

/**
 * FGE's triangular cyclic learning rate (Garipov et al., 2018, arXiv:1802.10026; reference code's
 * `cyclic_learning_rate(epoch, cycle, alpha_1, alpha_2)(iter)` with `iter = batchIndex / itersPerEpoch`):
 * `t = ((e mod cycle) + fraction) / cycle`; `lr = (1 − 2t)·α1 + 2t·α2` if `t < 0.5`, else `(2t − 1)·α1 + (2 − 2t)·α2`.
 * It goes α1 → α2 (t = 0.5, mid-cycle) → α1; α1 ≥ α2 so that mid-cycle is the minimum. `cycle` is in epochs: the
 * reference's even integers (mid-cycle then falls on an epoch end), or any positive number, e.g. 0.5 for two cycles per
 * epoch when the budget is a few epochs; then `t = ((e + fraction) mod cycle) / cycle` (`fgeCyclePosition`), the same
 * function continued. `e = epoch − startEpoch`: FGE counts epochs from its pretrained checkpoint.
 */
export function fgeTriangularLr(
  opts: { alpha1: number; alpha2: number; cycle: number; startEpoch?: number },
  name = 'fgeTriangularLr',
): LrSchedule {
  const { alpha1, alpha2, cycle, startEpoch = 0 } = opts;
  checkLr(name, 'alpha1', alpha1);
  checkLr(name, 'alpha2', alpha2);
  if (alpha2 > alpha1)
    fail(name, `needs alpha1 ≥ alpha2 (mid-cycle is the minimum), got alpha1=${alpha1} < alpha2=${alpha2}`);
  checkFgeCycle(name, cycle);
  checkInt(name, 'startEpoch', startEpoch, 0);
  return (p) => {
    checkProgress(name, p);
    if (p.epoch < startEpoch) fail(name, `asked at epoch ${p.epoch}, before its startEpoch ${startEpoch}`);
    return fgeTriangularRate(fgeCyclePosition(p.epoch - startEpoch, p.fraction, cycle), alpha1, alpha2);
  };
}

/**
 * Any user function as a schedule. Its result is checked at every call: a NaN, infinite or negative rate throws an
 * error naming `name` (default 'userLr') and the step.
 *
 * @example userLr((p) => sgdBaselineLr(p.epoch / 200, 0.1), 'sgd baseline') // nn/schedule.ts, the paper's §5 baseline
 */
export function userLr(fn: (p: LrProgress) => number, name = 'userLr'): LrSchedule {
  if (typeof fn !== 'function') fail(name, `expects a function (progress) => lr, got ${typeof fn}`);
  return (p) => {
    checkProgress(name, p);
    const lr = fn(p);
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      fail(
        name,
        `returned ${String(lr)} at iteration ${p.iteration} (epoch ${p.epoch}); a learning rate must be finite and ≥ 0`,
      );
    }
    return lr;
  };
}

/** One piece of a `piecewise` schedule: `schedule` runs for epochs before `until` (and from the previous `until`). */
export interface ScheduleSegment {
  /** Exclusive end epoch (0-based): an integer, or Infinity for a last open-ended piece. */
  until: number;
  schedule: LrSchedule;
}

/**
 * Chains schedules by epoch: segment k runs for `segments[k−1].until ≤ epoch < segments[k].until` (the first from 0).
 * Every segment sees the global progress, unchanged; a later phase says where it begins with its own `startEpoch`
 * (so Algorithm 1's i restarts at 1 on the pretrained ŵ). `until` must be strictly increasing integers ≥ 1
 * (Infinity allowed last); an epoch at or past the last `until` throws.
 *
 * @example piecewise([{ until: 100, schedule: sgd }, { until: Infinity, schedule: constantLr(0.05) }])
 */
export function piecewise(segments: readonly ScheduleSegment[]): LrSchedule {
  const name = 'piecewise';
  if (segments.length === 0) fail(name, 'needs at least one segment');
  let previous = 0;
  segments.forEach((seg, k) => {
    if (typeof seg.schedule !== 'function') fail(name, `segment ${k} has no schedule function`);
    const ok = seg.until === Infinity ? k === segments.length - 1 : Number.isInteger(seg.until);
    if (!ok) fail(name, `segment ${k}: until must be an integer epoch (Infinity only last), got ${seg.until}`);
    if (!(seg.until > previous))
      fail(name, `segment ${k}: until must be > ${previous} (strictly increasing), got ${seg.until}`);
    previous = seg.until;
  });
  return (p) => {
    checkProgress(name, p);
    const seg = segments.find((s) => p.epoch < s.until);
    if (!seg) fail(name, `epoch ${p.epoch} is past the last segment (until ${previous})`);
    return seg.schedule(p);
  };
}
