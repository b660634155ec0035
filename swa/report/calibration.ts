// Classification quality from predicted class probabilities: accuracy, NLL, Brier score, expected calibration error
// and the reliability-diagram bins behind it. Pure float64 arithmetic on the CPU; browser-safe.

/** One equal-width confidence bin `(lower, upper]` of a reliability diagram. */
export interface CalibrationBin {
  lower: number;
  upper: number;
  /** Rows whose confidence falls in the bin. */
  count: number;
  /** Mean confidence of those rows (NaN when the bin is empty). */
  confidence: number;
  /** Fraction of those rows predicted correctly (NaN when the bin is empty). */
  accuracy: number;
}

/** Everything `calibration` measures; accuracy, ECE and bin values are fractions in [0, 1]. */
export interface CalibrationReport {
  /** Number of rows (examples). */
  n: number;
  accuracy: number;
  nll: number;
  brier: number;
  ece: number;
  bins: CalibrationBin[];
}

/** Probabilities below this are clamped before the log in `nll`, so a confident miss costs −log 1e-12 ≈ 27.6. */
export const NLL_CLAMP = 1e-12;

/** Bins used by `ece` and `reliabilityBins` unless told otherwise (Guo et al. 2017 use M = 15). */
export const DEFAULT_BINS = 15;

type Probs = Float32Array | Float64Array;

/**
 * Row-wise softmax of logits `[rows × classes]` in float64 (max-subtracted, so large logits do not overflow):
 * p_ik = exp(z_ik − max_j z_ij) / Σ_j exp(z_ij − max_j z_ij). For models that return logits rather than probabilities.
 */
export function softmaxRows(logits: Probs, classes: number): Float64Array {
  const n = rowCount(logits, classes);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    let m = -Infinity;
    for (let k = 0; k < classes; k++) m = Math.max(m, logits[o + k]);
    let s = 0;
    for (let k = 0; k < classes; k++) s += out[o + k] = Math.exp(logits[o + k] - m);
    for (let k = 0; k < classes; k++) out[o + k] /= s;
  }
  return out;
}

/**
 * Top-1 accuracy: (1/n) Σ_i [argmax_k p_ik = y_i].
 *
 * NOTE: on a tie the first (lowest) class index is the prediction, as in `argmax` of NumPy/PyTorch. This differs
 * from `countCorrect` in nn/metrics.ts, which counts a tie that includes the label as correct.
 */
export function accuracy(probs: Probs, labels: ArrayLike<number>, classes: number): number {
  const n = checkInputs(probs, labels, classes);
  let correct = 0;
  for (let i = 0; i < n; i++) if (argmaxRow(probs, i, classes) === labels[i]) correct++;
  return correct / n;
}

/**
 * Mean negative log-likelihood of the labels: (1/n) Σ_i −log max(p_{i,y_i}, 1e-12). The clamp keeps a zero
 * probability from making the mean infinite (see `NLL_CLAMP`).
 */
export function nll(probs: Probs, labels: ArrayLike<number>, classes: number): number {
  const n = checkInputs(probs, labels, classes);
  let s = 0;
  for (let i = 0; i < n; i++) s -= Math.log(Math.max(probs[i * classes + labels[i]], NLL_CLAMP));
  return s / n;
}

/**
 * Multi-class Brier score (Brier 1950, "Verification of forecasts expressed in terms of probability"):
 * (1/n) Σ_i Σ_k (p_ik − [k = y_i])². Ranges over [0, 2]; some papers divide by the number of classes as well.
 */
export function brier(probs: Probs, labels: ArrayLike<number>, classes: number): number {
  const n = checkInputs(probs, labels, classes);
  let s = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < classes; k++) {
      const d = probs[i * classes + k] - (k === labels[i] ? 1 : 0);
      s += d * d;
    }
  }
  return s / n;
}

/**
 * Reliability-diagram data (Guo, Pleiss, Sun & Weinberger 2017, "On Calibration of Modern Neural Networks", §2):
 * rows are grouped by confidence conf_i = max_k p_ik into M equal-width bins B_m = ((m−1)/M, m/M], m = 1..M; each
 * bin reports |B_m|, conf(B_m) = mean confidence and acc(B_m) = fraction correct (prediction = argmax, first on ties).
 *
 * NOTE: a confidence of exactly 0 (only possible for all-zero rows) goes to the first bin. Bin edges are compared in
 * float64 against the given values, so a float32 confidence that prints as 0.2 (0.2000000030) lands in (0.2, 0.2667].
 */
export function reliabilityBins(
  probs: Probs,
  labels: ArrayLike<number>,
  classes: number,
  bins = DEFAULT_BINS,
): CalibrationBin[] {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const n = checkInputs(probs, labels, classes);
  const count = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  const correct = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const k = argmaxRow(probs, i, classes);
    const conf = probs[i * classes + k];
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(conf * bins) - 1));
    count[b]++;
    confSum[b] += conf;
    if (k === labels[i]) correct[b]++;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    out.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      count: count[b],
      confidence: count[b] ? confSum[b] / count[b] : NaN,
      accuracy: count[b] ? correct[b] / count[b] : NaN,
    });
  }
  return out;
}

/**
 * Expected calibration error (Naeini et al. 2015; Guo et al. 2017, eq. 3) from reliability bins:
 * ECE = Σ_m (|B_m| / n) · |acc(B_m) − conf(B_m)|, skipping empty bins. 0 means perfectly calibrated on these bins.
 */
export function eceFromBins(bins: readonly CalibrationBin[]): number {
  let n = 0;
  let s = 0;
  for (const b of bins) {
    if (b.count === 0) continue;
    n += b.count;
    s += b.count * Math.abs(b.accuracy - b.confidence);
  }
  return n ? s / n : NaN;
}

/**
 * Expected calibration error with `bins` equal-width confidence bins (15 by default); see `reliabilityBins`.
 * @example const r = await fge.evaluate(model, test, device); ece(r.probs, r.labels, test.classes);
 */
export function ece(probs: Probs, labels: ArrayLike<number>, classes: number, bins = DEFAULT_BINS): number {
  return eceFromBins(reliabilityBins(probs, labels, classes, bins));
}

/**
 * All metrics at once: accuracy, NLL, Brier score, ECE and the reliability bins.
 * `probs` is row-major `[rows × classes]` (each row a probability vector; use `softmaxRows` on logits first) and
 * `labels` holds one integer class per row.
 *
 * @example
 * const r = calibration(new Float32Array([0.9, 0.1, 0.3, 0.7]), [0, 0], 2);
 * // r.accuracy 0.5, r.nll (−ln 0.9 − ln 0.3)/2, r.ece |1 − 0.9|·½ + |0 − 0.7|·½ = 0.4
 */
export function calibration(
  probs: Probs,
  labels: ArrayLike<number>,
  classes: number,
  bins = DEFAULT_BINS,
): CalibrationReport {
  const b = reliabilityBins(probs, labels, classes, bins);
  return {
    n: labels.length,
    accuracy: accuracy(probs, labels, classes),
    nll: nll(probs, labels, classes),
    brier: brier(probs, labels, classes),
    ece: eceFromBins(b),
    bins: b,
  };
}

function argmaxRow(probs: Probs, row: number, classes: number): number {
  const o = row * classes;
  let best = 0;
  for (let k = 1; k < classes; k++) if (probs[o + k] > probs[o + best]) best = k;
  return best;
}

function rowCount(values: Probs, classes: number): number {
  if (!Number.isInteger(classes) || classes < 1)
    throw new RangeError(`classes must be a positive integer, got ${classes}`);
  if (values.length % classes !== 0) {
    throw new RangeError(`expected rows × ${classes} values, got ${values.length} (not a multiple of ${classes})`);
  }
  return values.length / classes;
}

/** Checks shapes and labels; returns the row count. */
function checkInputs(probs: Probs, labels: ArrayLike<number>, classes: number): number {
  const n = rowCount(probs, classes);
  if (n !== labels.length) throw new RangeError(`${n} rows of probabilities but ${labels.length} labels`);
  if (n === 0) throw new RangeError('no examples: metrics of an empty set are undefined');
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= classes)
      throw new RangeError(`label ${i} is ${y}, expected an integer in [0, ${classes})`);
  }
  return n;
}
