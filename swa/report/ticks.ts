// Axis ticks for the SVG charts: "nice" linear ticks in 1-2-5 steps, 1-2-5 ticks on log axes, and their labels.

/** Linear ticks: evenly spaced values, `step` = 1, 2 or 5 × 10^k, with the first ≤ min and the last ≥ max. */
export interface Ticks {
  ticks: number[];
  step: number;
}

/**
 * The smallest step of the form {1, 2, 5} × 10^k that is at least `span / count` (Heckbert 1990, "Nice numbers for
 * graph labels", Graphics Gems), so an axis over `span` gets at most about `count` intervals.
 */
export function niceStep(span: number, count = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) throw new RangeError(`span must be a positive finite number, got ${span}`);
  if (!(count >= 1)) throw new RangeError(`count must be ≥ 1, got ${count}`);
  const raw = span / count;
  const e = 10 ** Math.floor(Math.log10(raw));
  const f = raw / e;
  const nice = f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10;
  return clean(nice * e);
}

/**
 * Ticks covering [min, max] in 1-2-5 steps: from floor(min/step)·step to ceil(max/step)·step, so the axis ends on a
 * tick. A zero-width range is widened (by 10% of |min|, or by 1 around 0). Values are rounded to 12 significant
 * digits, so 0.1·3 comes out as 0.3.
 *
 * @example
 * niceTicks(0, 0.97).ticks // [0, 0.2, 0.4, 0.6, 0.8, 1]
 */
export function niceTicks(min: number, max: number, count = 5): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max)
    throw new RangeError(`bad tick range [${min}, ${max}]`);
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep(max - min, count);
  const lo = Math.floor(min / step + 1e-9);
  const hi = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  for (let i = lo; i <= hi; i++) ticks.push(clean(i * step));
  return { ticks, step };
}

/**
 * Ticks for a log axis over [min, max] (both > 0): powers of ten, plus 2·10^k and 5·10^k when the range spans at most
 * two decades. The first tick is the largest candidate ≤ min and the last the smallest ≥ max.
 *
 * @example
 * logTicks(5, 60) // [5, 10, 20, 50, 100]
 */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !Number.isFinite(max) || min > max) throw new RangeError(`bad log tick range [${min}, ${max}]`);
  const lo = Math.floor(Math.log10(min) + 1e-9);
  let hi = Math.ceil(Math.log10(max) - 1e-9);
  if (hi === lo) hi = lo + 1;
  const mantissas = hi - lo <= 2 ? [1, 2, 5] : [1];
  const all: number[] = [];
  for (let k = lo; k <= hi; k++) for (const m of mantissas) all.push(clean(m * 10 ** k));
  let first = 0;
  while (first + 1 < all.length && all[first + 1] <= min * (1 + 1e-9)) first++;
  let last = all.length - 1;
  while (last - 1 > first && all[last - 1] >= max * (1 - 1e-9)) last--;
  return all.slice(first, last + 1);
}

/**
 * A tick label: as many decimals as the step needs (step 0.2 → "0.4", step 5 → "15") on linear axes; on log axes
 * (no step) plain numbers between 0.001 and 10^6 and "1e-4" style outside.
 */
export function formatTick(x: number, step?: number): string {
  if (step === undefined) {
    const a = Math.abs(x);
    return a === 0 || (a >= 1e-3 && a < 1e6) ? String(clean(x)) : x.toExponential(0).replace('e+', 'e');
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const t = x.toFixed(Math.min(decimals, 20));
  return /^-0\.?0*$/.test(t) ? t.slice(1) : t;
}

/** Rounds away binary noise (0.30000000000000004 → 0.3). */
function clean(x: number): number {
  return Number(x.toPrecision(12));
}
