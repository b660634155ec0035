// Figure 4 and Figure 5 of the SWA paper as computations: train loss and test error along random rays from each
// solution (with the width at which test error has risen by a margin), and along the line through w_SGD and w_SWA.

import type { PointMetrics } from './evaluate.ts';
import { lineGrid, linePoint, rayGrid, rayPoint, widthAt } from './geometry.ts';
import { evaluatePoints, summarize, type AnalysisContext, type Summary } from './points.ts';
import { distance, norm, seededDirection } from './weights.ts';

/** A named solution of weight space (SGD, SWA, …). */
export interface NamedWeights {
  name: string;
  weights: Float32Array;
}

export interface RayOptions {
  /** K: random directions, shared by all solutions [10, as the paper]. */
  directions: number;
  /** T: the largest distance. */
  distance: number;
  /** Distances 0, T/(steps − 1), …, T. */
  steps: number;
  /** Seed of the directions: direction k is drawn from mixSeed([seed, k]). */
  seed: number;
  /** Width: distance at which test error first rises by this much (a fraction: 0.05 = 5 points). */
  errorMargin: number;
  /** Also the distance at which the L2-regularised train loss rises by this much (nats). */
  lossMargin: number;
}

/** One ray: the metrics at each distance, and its widths (null: not reached within T). */
export interface RayCurve {
  direction: number;
  metrics: PointMetrics[];
  width: number | null;
  lossWidth: number | null;
}

/** All rays of one solution, with ‖w‖ and the widths summarised over directions. */
export interface RaySolution {
  name: string;
  norm: number;
  curves: RayCurve[];
  width: Summary;
  lossWidth: Summary;
}

/**
 * The second solution's widths minus the first's, direction by direction: the directions are shared, so each pair
 * sees the same perturbation, and the paired difference is sharper than comparing the two means.
 */
export interface RayDifference {
  first: string;
  second: string;
  /** Width differences over the directions where both widths were reached. */
  width: Summary;
  lossWidth: Summary;
  /** Directions along which the second solution is wider (test error, train loss), of those `width.count`, … */
  wider: number;
  lossWider: number;
}

export interface RaysResult {
  options: RayOptions;
  distances: number[];
  solutions: RaySolution[];
  /** solutions[1] − solutions[0], when there are two or more. */
  difference?: RayDifference;
}

/** Paired width differences `second − first` over the directions both solutions share. */
export function rayDifference(first: RaySolution, second: RaySolution): RayDifference {
  if (first.curves.length !== second.curves.length)
    throw new Error(
      `rayDifference: ${first.curves.length} directions for ${first.name}, ${second.curves.length} for ${second.name}`,
    );
  const diff = (k: 'width' | 'lossWidth'): (number | null)[] =>
    first.curves.map((c, i) => {
      const a = c[k],
        b = second.curves[i][k];
      return a === null || b === null ? null : b - a;
    });
  const w = diff('width'),
    l = diff('lossWidth');
  return {
    first: first.name,
    second: second.name,
    width: summarize(w),
    lossWidth: summarize(l),
    wider: w.filter((d) => d !== null && d > 0).length,
    lossWider: l.filter((d) => d !== null && d > 0).length,
  };
}

/**
 * Rays w(t, d_k) = w + t·d_k for each solution w and K directions d_k drawn uniformly on the unit sphere of weight
 * space (Izmailov et al., 2018, §3.4, Figure 4), at distances t = 0 … T. The point t = 0 is w itself (one evaluation
 * shared by all of its rays). Width: the first t at which test error reaches its t = 0 value plus `errorMargin`.
 */
export async function rays(
  ctx: AnalysisContext,
  solutions: readonly NamedWeights[],
  o: RayOptions,
): Promise<RaysResult> {
  if (!(Number.isInteger(o.directions) && o.directions >= 1))
    throw new Error(`rays: directions must be an integer ≥ 1, got ${o.directions}`);
  const distances = rayGrid(o.distance, o.steps);
  const metrics: PointMetrics[][][] = solutions.map(() => []);
  for (let k = 0; k < o.directions; k++) {
    const d = seededDirection(solutions[0].weights.length, o.seed, k);
    for (const [s, sol] of solutions.entries()) {
      const points = distances.map((t, i) => ({
        label: `ray ${sol.name} d${k} t${i}`,
        weights: () => rayPoint(sol.weights, d, t),
      }));
      metrics[s].push(await evaluatePoints(ctx, `rays: ${sol.name}, direction ${k + 1}/${o.directions}`, points));
    }
  }
  const result: RaysResult = {
    options: { ...o },
    distances,
    solutions: solutions.map((sol, s) => {
      const curves = metrics[s].map((m, k) => ({
        direction: k,
        metrics: m,
        width: widthAt(
          distances,
          m.map((p) => p.testError),
          o.errorMargin,
        ),
        lossWidth: widthAt(
          distances,
          m.map((p) => p.trainLossL2),
          o.lossMargin,
        ),
      }));
      return {
        name: sol.name,
        norm: norm(sol.weights),
        curves,
        width: summarize(curves.map((c) => c.width)),
        lossWidth: summarize(curves.map((c) => c.lossWidth)),
      };
    }),
  };
  if (result.solutions.length >= 2) result.difference = rayDifference(result.solutions[0], result.solutions[1]);
  return result;
}

export interface LineOptions {
  /** Points over [0, 1] (t = 0, 1/(steps − 1), …, 1). */
  steps: number;
  /** a: the grid continues over [−a, 0) and (1, 1 + a] with the same spacing. */
  margin: number;
}

export interface LineResult {
  options: LineOptions;
  t: number[];
  /** Signed distance from w_SWA along the line: t·‖w_SGD − w_SWA‖ (the paper's x axis). */
  distance: number[];
  metrics: PointMetrics[];
  /** ‖w_SGD − w_SWA‖. */
  length: number;
  /** Where the two solutions sit: SWA at t = 0, SGD at t = 1. */
  marks: { label: string; t: number; distance: number; metrics: PointMetrics }[];
}

/**
 * The line w(t) = t·w_SGD + (1 − t)·w_SWA over t ∈ [−a, 1 + a] (Izmailov et al., 2018, §3.4, Figure 5); t = 0 and
 * t = 1 are on the grid, and their weights are w_SWA and w_SGD exactly.
 */
export async function line(
  ctx: AnalysisContext,
  sgd: Float32Array,
  swa: Float32Array,
  o: LineOptions,
): Promise<LineResult> {
  const t = lineGrid(o.steps, o.margin);
  const length = distance(sgd, swa);
  const metrics = await evaluatePoints(
    ctx,
    'line SWA → SGD',
    t.map((x, i) => ({ label: `line t${i}`, weights: () => linePoint(sgd, swa, x) })),
  );
  const at = (x: number): PointMetrics => metrics[t.indexOf(x)];
  return {
    options: { ...o },
    t,
    distance: t.map((x) => x * length),
    metrics,
    length,
    marks: [
      { label: 'SWA', t: 0, distance: 0, metrics: at(0) },
      { label: 'SGD', t: 1, distance: length, metrics: at(1) },
    ],
  };
}
