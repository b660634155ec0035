// The paper's three views of weight space: rays w + t·d (Figure 4), the line t·w_SGD + (1 − t)·w_SWA (Figure 5) and
// the plane through three weight vectors with Garipov et al.'s orthonormal basis (Figures 1 and 3), with their grids.

import { combine, distance, dot } from './weights.ts';

/** A plane of weight space: origin w1 and orthonormal u, v (float32 vectors of the weight-space dimension). */
export interface Plane {
  origin: Float32Array;
  u: Float32Array;
  v: Float32Array;
  /** (x, y) coordinates of w1, w2, w3: (0, 0), (‖w2 − w1‖, 0) and w3's projection. */
  coords: [[number, number], [number, number], [number, number]];
}

/** Where a weight vector lands on a plane: its coordinates and its distance from the plane. */
export interface Projection {
  x: number;
  y: number;
  /** ‖w − (origin + x·u + y·v)‖: 0 for points of the plane. */
  offPlane: number;
}

/**
 * The plane through w1, w2, w3 (Garipov et al., 2018, https://arxiv.org/abs/1802.10026, §3 and its plane script;
 * Izmailov et al., 2018, Figures 1 and 3): u = (w2 − w1)/‖w2 − w1‖ and v = the part of (w3 − w1) orthogonal to u,
 * normalised. Sums are taken in float64 and v is orthogonalised twice against the rounded u, so ⟨u, v⟩ is at the
 * float32 rounding level.
 * @throws when w2 = w1 or w3 lies on the line through them.
 */
export function planeBasis(w1: Float32Array, w2: Float32Array, w3: Float32Array): Plane {
  const n = w1.length;
  if (w2.length !== n || w3.length !== n)
    throw new Error(`planeBasis: vectors of length ${n}, ${w2.length}, ${w3.length}`);
  const du = distance(w2, w1);
  if (!(du > 0)) throw new Error('planeBasis: w1 and w2 are the same point, so they span no direction');
  const u = new Float32Array(n);
  for (let i = 0; i < n; i++) u[i] = (w2[i] - w1[i]) / du;
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) r[i] = w3[i] - w1[i];
  const scale = Math.sqrt(r.reduce((s, x) => s + x * x, 0));
  for (let pass = 0; pass < 2; pass++) {
    let c = 0;
    for (let i = 0; i < n; i++) c += r[i] * u[i];
    for (let i = 0; i < n; i++) r[i] -= c * u[i];
  }
  const dv = Math.sqrt(r.reduce((s, x) => s + x * x, 0));
  // Below float32 rounding of the inputs (≈ 6e-8·‖w‖ per vector) the height of w3 above the line is noise.
  let w1sq = 0;
  for (let i = 0; i < n; i++) w1sq += w1[i] * w1[i];
  if (!(dv > 1e-6 * (scale + Math.sqrt(w1sq))))
    throw new Error('planeBasis: w3 lies on the line through w1 and w2, so the three span no plane');
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = r[i] / dv;
  const plane: Plane = {
    origin: w1,
    u,
    v,
    coords: [
      [0, 0],
      [0, 0],
      [0, 0],
    ],
  };
  const p2 = project(plane, w2);
  const p3 = project(plane, w3);
  plane.coords = [
    [0, 0],
    [p2.x, p2.y],
    [p3.x, p3.y],
  ];
  return plane;
}

/** Orthogonal projection of w onto the plane: x = ⟨w − w1, u⟩, y = ⟨w − w1, v⟩, and the distance left over. */
export function project(plane: Plane, w: Float32Array): Projection {
  const { origin: o, u, v } = plane;
  if (w.length !== o.length) throw new Error(`project: vector of length ${w.length}, the plane's are ${o.length}`);
  let x = 0;
  let y = 0;
  let sq = 0;
  for (let i = 0; i < w.length; i++) {
    const d = w[i] - o[i];
    x += d * u[i];
    y += d * v[i];
    sq += d * d;
  }
  // ‖d‖² = x² + y² + ‖d⊥‖² for orthonormal u, v; recompute directly when cancellation would lose it.
  let off = sq - x * x - y * y;
  if (off < 1e-6 * sq) {
    off = 0;
    for (let i = 0; i < w.length; i++) {
      const e = w[i] - o[i] - x * u[i] - y * v[i];
      off += e * e;
    }
  }
  return { x, y, offPlane: Math.sqrt(Math.max(0, off)) };
}

/** The weight vector w1 + x·u + y·v. */
export function planePoint(plane: Plane, x: number, y: number): Float32Array {
  return combine([
    [1, plane.origin],
    [x, plane.u],
    [y, plane.v],
  ]);
}

/** w(t) = t·w_SGD + (1 − t)·w_SWA (Izmailov et al., 2018, §3.4): w_SWA at t = 0 and w_SGD at t = 1, bit for bit. */
export function linePoint(sgd: Float32Array, swa: Float32Array, t: number): Float32Array {
  return combine([
    [1 - t, swa],
    [t, sgd],
  ]);
}

/** w + t·d (Izmailov et al., 2018, §3.4); w itself at t = 0, bit for bit. */
export function rayPoint(w: Float32Array, d: Float32Array, t: number): Float32Array {
  return combine([
    [1, w],
    [t, d],
  ]);
}

/** `steps` distances k·T/(steps − 1), k = 0 … steps − 1: exactly 0 first and exactly T last. */
export function rayGrid(distance: number, steps: number): number[] {
  checkSteps('rayGrid', steps, 2);
  if (!(Number.isFinite(distance) && distance > 0))
    throw new Error(`rayGrid: distance must be a number > 0, got ${distance}`);
  return Array.from({ length: steps }, (_, k) => (k === steps - 1 ? distance : (k * distance) / (steps - 1)));
}

/**
 * The line's t values: `steps` evenly spaced points over [0, 1] (spacing h = 1/(steps − 1)) continued with the same
 * spacing over [−margin, 0) and (1, 1 + margin], so t = 0 and t = 1 are on the grid exactly.
 */
export function lineGrid(steps: number, margin: number): number[] {
  checkSteps('lineGrid', steps, 2);
  if (!(Number.isFinite(margin) && margin >= 0))
    throw new Error(`lineGrid: margin must be a number ≥ 0, got ${margin}`);
  const last = steps - 1;
  const extra = Math.floor(margin * last + 1e-9);
  const out: number[] = [];
  for (let i = -extra; i <= last + extra; i++) out.push(i / last);
  return out;
}

/** The grid of a plane: x and y values over the three points' bounding box widened by `margin` of its size. */
export interface PlaneGrid {
  xs: number[];
  ys: number[];
}

/**
 * A `points` × `points` grid around the given (x, y) positions, as Garipov et al.'s plane script: each axis spans
 * the positions' range widened by `margin` (a fraction of that range, 0.2 there) on both sides.
 */
export function planeGrid(
  positions: readonly (readonly [number, number])[],
  points: number,
  margin: number,
): PlaneGrid {
  checkSteps('planeGrid', points, 2);
  if (!(Number.isFinite(margin) && margin >= 0))
    throw new Error(`planeGrid: margin must be a number ≥ 0, got ${margin}`);
  const axis = (vals: number[]): number[] => {
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    const span = hi - lo || Math.max(...vals.map(Math.abs), 1);
    lo -= margin * span;
    hi += margin * span;
    return Array.from({ length: points }, (_, k) => (k === points - 1 ? hi : lo + ((hi - lo) * k) / (points - 1)));
  };
  return { xs: axis(positions.map((p) => p[0])), ys: axis(positions.map((p) => p[1])) };
}

/**
 * The first distance at which `values` (sampled at increasing `ts`) reach `values[0] + margin`, linearly interpolated
 * between the two grid points around the crossing; null when they stay below it over the whole grid. The SWA
 * paper's "width": how far one has to step from a solution to raise its test error by a given amount (§3.4).
 */
export function widthAt(ts: readonly number[], values: readonly number[], margin: number): number | null {
  if (ts.length !== values.length || ts.length === 0)
    throw new Error(`widthAt: ${ts.length} distances and ${values.length} values`);
  const target = values[0] + margin;
  for (let k = 1; k < ts.length; k++) {
    if (values[k] >= target) {
      const [a, b] = [values[k - 1], values[k]];
      return b === a ? ts[k] : ts[k - 1] + ((target - a) / (b - a)) * (ts[k] - ts[k - 1]);
    }
  }
  return null;
}

function checkSteps(op: string, steps: number, min: number): void {
  if (!(Number.isInteger(steps) && steps >= min))
    throw new Error(`${op}: steps must be an integer ≥ ${min}, got ${steps}`);
}
