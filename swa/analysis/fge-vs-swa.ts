// §3.5 of the SWA paper: how well one averaged model stands in for the FGE ensemble. Predictions of every snapshot,
// of their weight average and of the run's w_SWA on the test subset: agreement, probability gaps, distances, accuracy.

import { combine, distance } from './weights.ts';
import { predictPoint, summarize, type AnalysisContext, type Summary } from './points.ts';
import type { FgeSnapshot } from './run-folder.ts';

/** A model's (or the ensemble's) test error (fraction) and NLL on the test subset. */
export interface Score {
  testError: number;
  testNll: number;
}

/** A single model compared with the FGE ensemble. */
export interface Compared extends Score {
  label: string;
  /** Fraction of test images given the ensemble's label. */
  agreement: number;
  /** Mean over test images of ‖p_model(x) − p_ensemble(x)‖₂. */
  probDiff: number;
  /** ‖w − w̄_FGE‖: distance from the snapshots' weight average. */
  distanceToAverage: number;
}

export interface FgeVsSwaResult {
  snapshots: number;
  /** Each snapshot with its saved BN statistics, as FGE uses it. */
  members: Compared[];
  /** The FGE ensemble: the mean of the snapshots' softmax outputs. */
  ensemble: Score;
  /** w̄_FGE = (1/n)·Σ w_i, BN statistics recomputed: the paper's "average the weights of the proposals". */
  fgeAverage: Compared;
  /** The run's own w_SWA (BN recomputed). */
  swa: Compared;
  /** Consecutive snapshots i, i + 1 (1-based labels): mean ‖Δp‖, label agreement and distance in weight space. */
  pairs: { a: number; b: number; probDiff: number; agreement: number; distance: number }[];
  /** The pairs summarised (the paper's 0.126 and ≤ 87.33% for PreResNet-110 on CIFAR-100). */
  consecutive: { probDiff: Summary; agreement: Summary; distance: Summary };
  /** Further distances in weight space. */
  distances: {
    swaToFgeAverage: number;
    sgdToSwa: number;
    startToSwa: number;
    startToSgd: number;
    startToFgeAverage: number;
  };
  /** Test images compared. */
  images: number;
}

/**
 * Compares the FGE ensemble with weight averages (Izmailov et al., 2018, §3.5): the mean ‖Δp‖ between consecutive
 * proposals against the one between the averaged model and the ensemble, and the fractions of identical labels.
 * Needs at least two snapshots.
 */
export async function fgeVsSwa(
  ctx: AnalysisContext,
  fge: readonly FgeSnapshot[],
  sol: { sgd: Float32Array; swa: Float32Array; start: Float32Array },
): Promise<FgeVsSwaResult> {
  if (fge.length < 2) throw new Error(`FGE comparison: needs at least 2 FGE snapshots, the run has ${fge.length}`);
  const test = ctx.evaluator.sets.test;
  const c = test.classes;
  const members: { probs: Float32Array }[] = [];
  for (const [k, s] of fge.entries())
    members.push(await predictPoint(ctx, { label: `FGE ${k + 1}`, weights: () => s.weights, buffers: s.buffers }));
  const mean = combine(fge.map((s) => [1 / fge.length, s.weights] as const));
  const avg = await predictPoint(ctx, { label: 'FGE average', weights: () => mean });
  const swa = await predictPoint(ctx, { label: 'SWA', weights: () => sol.swa });
  const ens = new Float32Array(test.n * c);
  for (let i = 0; i < ens.length; i++) {
    let s = 0;
    for (const m of members) s += m.probs[i];
    ens[i] = s / members.length;
  }
  const compared = (label: string, probs: Float32Array, w: Float32Array): Compared => ({
    label,
    ...score(probs, test.labels, c),
    agreement: agreement(probs, ens, c),
    probDiff: probDiff(probs, ens, c),
    distanceToAverage: distance(w, mean),
  });
  const pairs = members.slice(1).map((m, k) => ({
    a: k + 1,
    b: k + 2,
    probDiff: probDiff(members[k].probs, m.probs, c),
    agreement: agreement(members[k].probs, m.probs, c),
    distance: distance(fge[k].weights, fge[k + 1].weights),
  }));
  return {
    snapshots: fge.length,
    members: members.map((m, k) => compared(`FGE ${k + 1}`, m.probs, fge[k].weights)),
    ensemble: score(ens, test.labels, c),
    fgeAverage: compared('FGE average', avg.probs, mean),
    swa: compared('SWA', swa.probs, sol.swa),
    pairs,
    consecutive: {
      probDiff: summarize(pairs.map((p) => p.probDiff)),
      agreement: summarize(pairs.map((p) => p.agreement)),
      distance: summarize(pairs.map((p) => p.distance)),
    },
    distances: {
      swaToFgeAverage: distance(sol.swa, mean),
      sgdToSwa: distance(sol.sgd, sol.swa),
      startToSwa: distance(sol.start, sol.swa),
      startToSgd: distance(sol.start, sol.sgd),
      startToFgeAverage: distance(sol.start, mean),
    },
    images: test.n,
  };
}

/** Index of the first largest entry of row i (−1 when the row holds NaN). */
function argmax(p: Float32Array, i: number, c: number): number {
  let best = -1;
  let m = -Infinity;
  for (let k = 0; k < c; k++)
    if (p[i * c + k] > m) {
      m = p[i * c + k];
      best = k;
    }
  return best;
}

/** Error and NLL (−log p[label], clamped at 1e-12 as swa/report/calibration.ts) of probability rows. */
export function score(p: Float32Array, labels: ArrayLike<number>, c: number): Score {
  let wrong = 0;
  let nll = 0;
  for (let i = 0; i < labels.length; i++) {
    if (argmax(p, i, c) !== labels[i]) wrong++;
    const q = p[i * c + labels[i]];
    nll -= Math.log(Number.isFinite(q) ? Math.max(q, 1e-12) : 1e-12);
  }
  return { testError: wrong / labels.length, testNll: nll / labels.length };
}

/** Fraction of rows whose largest entries are in the same class. */
export function agreement(a: Float32Array, b: Float32Array, c: number): number {
  const n = a.length / c;
  let same = 0;
  for (let i = 0; i < n; i++) if (argmax(a, i, c) === argmax(b, i, c)) same++;
  return same / n;
}

/** Mean over rows of the Euclidean norm of the difference of two probability rows. */
export function probDiff(a: Float32Array, b: Float32Array, c: number): number {
  const n = a.length / c;
  let s = 0;
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let k = 0; k < c; k++) q += (a[i * c + k] - b[i * c + k]) ** 2;
    s += Math.sqrt(q);
  }
  return s / n;
}
