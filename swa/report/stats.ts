// Mean and sample standard deviation of repeated runs, and the "93.64 ± 0.18" cells of the SWA paper's Table 1.

/** Summary of repeated measurements; `std` is NaN when fewer than two values exist, `mean` NaN when none do. */
export interface MeanStd {
  n: number;
  mean: number;
  std: number;
}

/** What `formatMeanStd` writes for an empty cell (the paper's Table 1 uses an en dash for missing entries). */
export const MISSING = '–';

/**
 * Mean and sample standard deviation (Bessel-corrected, divisor n − 1) of `values`:
 * x̄ = (1/n) Σ x_i, s = √( Σ (x_i − x̄)² / (n − 1) ). Two passes, so large means do not cancel the spread away.
 * Non-finite values are kept, so one diverged run shows up as a NaN or Infinity rather than disappearing.
 */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { n, mean: NaN, std: NaN };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  if (n === 1) return { n, mean, std: NaN };
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { n, mean, std: Math.sqrt(ss / (n - 1)) };
}

/** Options of `formatMeanStd`. */
export interface FormatOptions {
  /** Digits after the decimal point, for both mean and std (default 2, as in Table 1). */
  digits?: number;
  /** Multiplier applied before formatting, e.g. 100 to show fractions as percentages (default 1). */
  scale?: number;
}

/**
 * Formats repeated runs like a cell of Table 1 in Izmailov et al. 2018 ("Averaging Weights Leads to Wider Optima and
 * Better Generalization"): "93.64 ± 0.18" (mean ± sample std), just "93.64" for a single run and "–" for none.
 *
 * @example
 * formatMeanStd([0.9346, 0.9382, 0.9364], { scale: 100 }) // "93.64 ± 0.18"
 */
export function formatMeanStd(values: readonly number[], options: FormatOptions = {}): string {
  const scale = options.scale ?? 1;
  return formatSummary(meanStd(values.map((v) => v * scale)), options.digits);
}

/** Formats an already computed summary the way `formatMeanStd` does (no scaling). */
export function formatSummary(s: MeanStd, digits = 2): string {
  if (!Number.isInteger(digits) || digits < 0 || digits > 20)
    throw new RangeError(`digits must be an integer in [0, 20], got ${digits}`);
  if (s.n === 0) return MISSING;
  const mean = fixed(s.mean, digits);
  return s.n === 1 ? mean : `${mean} ± ${fixed(s.std, digits)}`;
}

/** `toFixed` that writes "0.00" rather than "-0.00" for tiny negative values. */
function fixed(x: number, digits: number): string {
  const t = x.toFixed(digits);
  return /^-0\.?0*$/.test(t) ? t.slice(1) : t;
}
