// Figures 1 and 3 of the SWA paper as computations: train loss and test error over a grid in the plane through three
// weight vectors (Garipov et al.'s construction), with the three points and any others projected onto it.

import type { PointMetrics } from './evaluate.ts';
import { planeBasis, planeGrid, planePoint, project } from './geometry.ts';
import { evaluatePoints, type AnalysisContext } from './points.ts';
import type { NamedWeights } from './rays-line.ts';

export interface PlaneOptions {
  /** Grid points per axis [21, as Garipov et al.]. */
  grid: number;
  /** Margin around the points, as a fraction of their extent on each axis [0.2]. */
  margin: number;
}

/** A point shown on the plane: where it projects, how far off the plane it lies, and its own metrics. */
export interface PlaneMark {
  label: string;
  x: number;
  y: number;
  /** Distance from the plane (0 for the three that define it). */
  offPlane: number;
  /** True for the three points that span the plane. */
  defines: boolean;
  metrics: PointMetrics;
}

export interface PlaneResult {
  /** File-name stem of the case (e.g. 'fge', 'sgd-swa'). */
  name: string;
  title: string;
  options: PlaneOptions;
  xs: number[];
  ys: number[];
  /** grid[j][i]: the metrics at (xs[i], ys[j]). */
  grid: PointMetrics[][];
  marks: PlaneMark[];
  /** ‖w2 − w1‖ and the height of w3 above the line w1w2 (the plane's scales). */
  scale: { u: number; v: number };
}

/**
 * Evaluates the plane through `defining` = [w1, w2, w3] with u = (w2 − w1)/‖w2 − w1‖ and v the normalised part of
 * (w3 − w1) orthogonal to u (Garipov et al., 2018, https://arxiv.org/abs/1802.10026; Izmailov et al., 2018, §3.1),
 * on a grid × grid lattice of points w1 + x·u + y·v around the three. `extra` points (e.g. the SWA average of the
 * FGE snapshots) are projected onto the plane and marked with their distance from it; every marked point is also
 * evaluated itself (its own weights, not its projection).
 */
export async function plane(
  ctx: AnalysisContext,
  name: string,
  title: string,
  defining: readonly [NamedWeights, NamedWeights, NamedWeights],
  extra: readonly NamedWeights[],
  o: PlaneOptions,
): Promise<PlaneResult> {
  const basis = planeBasis(defining[0].weights, defining[1].weights, defining[2].weights);
  const projected = extra.map((p) => ({ p, at: project(basis, p.weights) }));
  const positions = [...basis.coords, ...projected.map(({ at }) => [at.x, at.y] as [number, number])];
  const { xs, ys } = planeGrid(positions, o.grid, o.margin);
  const specs = ys.flatMap((y, j) =>
    xs.map((x, i) => ({ label: `plane ${name} (${i},${j})`, weights: () => planePoint(basis, x, y) })),
  );
  const flat = await evaluatePoints(ctx, `plane ${name}: ${o.grid}×${o.grid} grid`, specs);
  const grid = ys.map((_, j) => flat.slice(j * xs.length, (j + 1) * xs.length));
  const all = [...defining, ...extra];
  const own = await evaluatePoints(
    ctx,
    `plane ${name}: marked points`,
    all.map((p) => ({ label: `${p.name}`, weights: () => p.weights })),
  );
  const marks: PlaneMark[] = all.map((p, k) => {
    const at = k < 3 ? { x: basis.coords[k][0], y: basis.coords[k][1], offPlane: 0 } : projected[k - 3].at;
    return { label: p.name, x: at.x, y: at.y, offPlane: at.offPlane, defines: k < 3, metrics: own[k] };
  });
  return {
    name,
    title,
    options: { ...o },
    xs,
    ys,
    grid,
    marks,
    scale: { u: basis.coords[1][0], v: basis.coords[2][1] },
  };
}
