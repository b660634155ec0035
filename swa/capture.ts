// Capture rules: when SWA's Algorithm 1 (and the SWA reference code, and FGE) takes the current weights into the
// average or the ensemble. Pure predicates over the global clock (1-based iteration, 0-based epoch).

import { checkFgeCycle, fgeCyclePosition } from './schedules.ts';

/**
 * A capture rule. The trainer asks `atIteration(i)` after every SGD step and `atEpochEnd(e)` after every epoch; an
 * 'iteration' rule only ever answers true to the first, an 'epoch' rule only to the second, so a capture is never
 * counted twice.
 *
 * `start` (every rule; default 0) has the SWA reference code's meaning of `swa_start`: the number of epochs done before
 * the SWA phase, i.e. the 0-based index of its first epoch, the same number as a schedule's `startEpoch`. With
 * start ≥ 1 the first capture is the pretrained ŵ at the end of epoch `start − 1` (Algorithm 1 starts from
 * `w_SWA ← ŵ`; the reference code averages once `e + 1 ≥ swa_start`). FGE's mid-cycle rule does not capture ŵ.
 */
export interface CaptureRule {
  /** Which of the two questions this rule answers. */
  readonly kind: 'iteration' | 'epoch';
  /**
   * True when the weights just produced by global iteration `i` (1-based) are captured. Iteration rules with
   * start ≥ 1 need `itersPerEpoch` to place the phase's first iteration.
   */
  atIteration(i: number, itersPerEpoch?: number): boolean;
  /** True when the weights at the end of 0-based epoch `epoch` are captured. */
  atEpochEnd(epoch: number): boolean;
  /** The rule in words, for logs and run summaries. */
  describe(): string;
}

/** Options shared by every rule: `start` as described on `CaptureRule`. */
export interface CaptureStart {
  start?: number;
}

function fail(name: string, message: string): never {
  throw new Error(`${name}: ${message}`);
}

function checkInt(name: string, key: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) fail(name, `${key} must be an integer ≥ ${min}, got ${value}`);
}

/** Captures every `every` iterations of the phase: `i' mod every = 0` with `i' = i − start·itersPerEpoch ≥ 0`. */
function iterationRule(name: string, every: number, start: number, what: string): CaptureRule {
  checkInt(name, 'start', start, 0);
  return {
    kind: 'iteration',
    atIteration(i, itersPerEpoch) {
      checkInt(name, 'iteration', i, 1);
      let offset = 0;
      if (start > 0) {
        if (itersPerEpoch === undefined) fail(name, `atIteration needs itersPerEpoch when start=${start} > 0`);
        checkInt(name, 'itersPerEpoch', itersPerEpoch, 1);
        offset = start * itersPerEpoch;
      }
      const local = i - offset;
      return local >= 0 && local % every === 0;
    },
    atEpochEnd(epoch) {
      checkInt(name, 'epoch', epoch, 0);
      return false;
    },
    describe() {
      const from = start > 0 ? `, counted from epoch ${start} (first: ŵ at the end of epoch ${start - 1})` : '';
      return `${what}${from}`;
    },
  };
}

/** Captures at the end of epoch e when `e + 1 ≥ start` and `(e + 1 − start) mod every = 0` (reference code). */
function epochRule(name: string, every: number, start: number, what: string): CaptureRule {
  checkInt(name, 'start', start, 0);
  return {
    kind: 'epoch',
    atIteration(i) {
      checkInt(name, 'iteration', i, 1);
      return false;
    },
    atEpochEnd(epoch) {
      checkInt(name, 'epoch', epoch, 0);
      const done = epoch + 1 - start;
      return done >= 0 && done % every === 0;
    },
    describe() {
      const from = start > 0 ? `, from the end of epoch ${start - 1} (ŵ) on` : '';
      return `${what}${from}`;
    },
  };
}

/**
 * Algorithm 1's capture for the cyclical LR (Izmailov et al., 2018): after iteration i when `i mod c = 0`, the end of
 * each cycle, where `cyclicalLr` with the same c and `startEpoch = start` has just used its minimum α2.
 */
export function captureCyclical(c: number, opts: CaptureStart = {}): CaptureRule {
  const name = 'captureCyclical';
  checkInt(name, 'c (cycle length in iterations)', c, 1);
  return iterationRule(name, c, opts.start ?? 0, `every ${c} iterations (i mod ${c} = 0, Algorithm 1)`);
}

/**
 * The paper's capture for a constant LR (Izmailov et al., 2018, §3.2: "we capture models at each epoch"): at the end
 * of every epoch e with `e + 1 ≥ start`. Equals the reference code's rule with `swa_c_epochs = 1`.
 */
export function captureEpochly(opts: CaptureStart = {}): CaptureRule {
  return epochRule('captureEpochly', 1, opts.start ?? 0, 'at the end of every epoch');
}

/** Options of `captureEvery`: exactly one of `iterations` or `epochs`, plus `start`. */
export type CaptureEveryOptions =
  { iterations: number; epochs?: never; start?: number } | { epochs: number; iterations?: never; start?: number };

/**
 * Captures at a fixed period. `{ epochs: k, start: S }` is the SWA reference code's rule exactly (timgaripov/swa
 * `train.py`, `swa_c_epochs = k`, `swa_start = S`): at the end of epoch e when `e + 1 ≥ S` and
 * `(e + 1 − S) mod k = 0`; with S = 0 that is after k, 2k, … epochs. `{ iterations: k, start: S }`: after iteration i
 * when `i' mod k = 0`, `i' = i − S·itersPerEpoch ≥ 0` (Algorithm 1 with c = k).
 */
export function captureEvery(opts: CaptureEveryOptions): CaptureRule {
  const name = 'captureEvery';
  const start = opts.start ?? 0;
  if ((opts.iterations === undefined) === (opts.epochs === undefined)) {
    fail(name, `give exactly one of iterations or epochs, got iterations=${opts.iterations}, epochs=${opts.epochs}`);
  }
  if (opts.iterations !== undefined) {
    checkInt(name, 'iterations', opts.iterations, 1);
    return iterationRule(name, opts.iterations, start, `every ${opts.iterations} iterations`);
  }
  const k = opts.epochs as number;
  checkInt(name, 'epochs', k, 1);
  return epochRule(name, k, start, `every ${k} epochs ((e + 1 − ${start}) mod ${k} = 0)`);
}

/**
 * FGE's snapshot (Garipov et al., 2018; dnn-mode-connectivity `fge.py`): the iterate just before the cycle's minimum.
 *
 * With an even integer `cycle` (epochs; the reference's case) it is an epoch rule: at the end of epoch e when
 * `((e − start) mod cycle) + 1 = cycle/2`, for e ≥ start. Derivation from `fgeTriangularLr`: the step after that epoch
 * starts at fraction 0 of phase epoch `e − start + 1 ≡ cycle/2`, so `t = (cycle/2)/cycle = 0.5` and its rate is
 * `(2·0.5 − 1)·α1 + (2 − 2·0.5)·α2 = α2`, the cycle's minimum.
 *
 * With any other cycle > 0 (e.g. 0.5: two cycles per epoch) it is an iteration rule: after the phase's step s (1-based)
 * when step s ran at `t < 0.5` and step s + 1 runs at `t ≥ 0.5` of the same cycle, t from `fgeCyclePosition` as the
 * schedule computes it (step s runs at phase epoch ⌊(s − 1)/ipe⌋, fraction ((s − 1) mod ipe)/ipe). Both rules take
 * the same iterate when both apply. The snapshot is a real SGD iterate, so it needs no BN refresh.
 */
export function captureFgeMidCycle(cycle: number, opts: CaptureStart = {}): CaptureRule {
  const name = 'captureFgeMidCycle';
  checkFgeCycle(name, cycle);
  const start = opts.start ?? 0;
  checkInt(name, 'start', start, 0);
  if (Number.isInteger(cycle) && cycle % 2 === 0) return fgeEpochRule(name, cycle, start);
  const from = start > 0 ? ` counted from epoch ${start}` : '';
  return {
    kind: 'iteration',
    atIteration(i, itersPerEpoch) {
      checkInt(name, 'iteration', i, 1);
      if (itersPerEpoch === undefined)
        fail(name, `atIteration needs itersPerEpoch (cycle ${cycle} is not an even number of epochs)`);
      checkInt(name, 'itersPerEpoch', itersPerEpoch, 1);
      const s = i - start * itersPerEpoch;
      if (s < 1) return false;
      const at = (k: number): number =>
        fgeCyclePosition(Math.floor(k / itersPerEpoch), (k % itersPerEpoch) / itersPerEpoch, cycle);
      const now = at(s - 1);
      const next = at(s);
      return now < 0.5 && next >= 0.5 && next > now;
    },
    atEpochEnd(epoch) {
      checkInt(name, 'epoch', epoch, 0);
      return false;
    },
    describe() {
      return `FGE mid-cycle: after the last step with t < 0.5 of each ${cycle}-epoch cycle${from}`;
    },
  };
}

function fgeEpochRule(name: string, cycle: number, start: number): CaptureRule {
  const half = cycle / 2;
  return {
    kind: 'epoch',
    atIteration(i) {
      checkInt(name, 'iteration', i, 1);
      return false;
    },
    atEpochEnd(epoch) {
      checkInt(name, 'epoch', epoch, 0);
      return epoch >= start && ((epoch - start) % cycle) + 1 === half;
    },
    describe() {
      const from = start > 0 ? ` counted from epoch ${start}` : '';
      return `FGE mid-cycle: end of epochs with ((e − ${start}) mod ${cycle}) + 1 = ${half}${from}`;
    },
  };
}
