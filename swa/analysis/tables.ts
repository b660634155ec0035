// Every number of the analyses as CSV (one row per evaluated point or compared model) and the summary as markdown.

import { METRICS, type PointMetrics } from './evaluate.ts';
import type { FgeVsSwaResult } from './fge-vs-swa.ts';
import type { PlaneResult } from './plane.ts';
import type { Summary } from './points.ts';
import type { LineResult, RaysResult } from './rays-line.ts';

type Cell = string | number | boolean | null;

/** CSV text (RFC 4180): cells with a comma, quote or newline are quoted; non-finite numbers are left empty. */
export function csv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cell = (v: Cell): string => {
    if (v === null) return '';
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

/** The metric columns' CSV names (snake_case). */
export const METRIC_COLUMNS = METRICS.map((k) => k.replace(/[A-Z0-9]+/g, (m) => `_${m.toLowerCase()}`));
const values = (m: PointMetrics): number[] => METRICS.map((k) => m[k]);

/** rays.csv: one row per solution, direction and distance. */
export function raysCsv(r: RaysResult): string {
  const rows = r.solutions.flatMap((s) =>
    s.curves.flatMap((c) => r.distances.map((t, i) => [s.name, c.direction, t, ...values(c.metrics[i])])),
  );
  return csv(['solution', 'direction', 'distance', ...METRIC_COLUMNS], rows);
}

/** rays-widths.csv: each ray's width (test error + margin) and loss width; empty when not reached within T. */
export function rayWidthsCsv(r: RaysResult): string {
  const rows = r.solutions.flatMap((s) => s.curves.map((c) => [s.name, c.direction, c.width, c.lossWidth]));
  return csv(['solution', 'direction', 'width_test_error', 'width_train_loss_l2'], rows);
}

/** line.csv: one row per t, with the signed distance from w_SWA. */
export function lineCsv(r: LineResult): string {
  return csv(
    ['t', 'distance_from_swa', ...METRIC_COLUMNS],
    r.t.map((t, i) => [t, r.distance[i], ...values(r.metrics[i])]),
  );
}

/** plane-<case>.csv: the grid (kind grid, indices i, j), then the marked points with their distance off the plane. */
export function planeCsv(r: PlaneResult): string {
  const grid = r.ys.flatMap((y, j) => r.xs.map((x, i) => ['grid', '', i, j, x, y, 0, ...values(r.grid[j][i])]));
  const marks = r.marks.map((m) => [
    m.defines ? 'defining point' : 'projected point',
    m.label,
    '',
    '',
    m.x,
    m.y,
    m.offPlane,
    ...values(m.metrics),
  ]);
  return csv(['kind', 'label', 'i', 'j', 'x', 'y', 'off_plane', ...METRIC_COLUMNS], [...grid, ...marks]);
}

/** fge-vs-swa.csv: each model against the ensemble, then the consecutive snapshot pairs. */
export function fgeCsv(r: FgeVsSwaResult): string {
  const model = (kind: string, m: FgeVsSwaResult['swa']): Cell[] => [
    kind,
    m.label,
    m.testError,
    m.testNll,
    m.agreement,
    m.probDiff,
    m.distanceToAverage,
  ];
  const rows: Cell[][] = [
    ...r.members.map((m) => model('member', m)),
    ['ensemble', 'FGE ensemble', r.ensemble.testError, r.ensemble.testNll, 1, 0, null],
    model('weight average', r.fgeAverage),
    model('weight average', r.swa),
    ...r.pairs.map((p) => [
      'consecutive pair',
      `FGE ${p.a} vs FGE ${p.b}`,
      null,
      null,
      p.agreement,
      p.probDiff,
      p.distance,
    ]),
  ];
  return csv(['kind', 'label', 'test_error', 'test_nll', 'agreement', 'prob_diff', 'distance'], rows);
}

const f = (v: number | null | undefined, digits = 4): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toPrecision(digits);
const pc = (v: number | null | undefined): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(2)}%`;
const ms = (s: Summary, scale = 1): string =>
  s.mean === null
    ? `– (0 of ${s.of} reached)`
    : `${f(s.mean * scale)} ± ${f((s.std ?? 0) * scale, 2)}` +
      (s.count < s.of ? ` (${s.count} of ${s.of} reached)` : '');

/** The findings in a few markdown tables: solutions, widths, line, FGE against SWA. */
export function summaryMarkdown(s: {
  solutions: { name: string; metrics: PointMetrics }[];
  distances: Record<string, number>;
  rays?: RaysResult;
  line?: LineResult;
  fge?: FgeVsSwaResult;
  planes: string[];
  notes: string[];
}): string {
  const out = [
    '# Geometry of the run (Izmailov et al. 2018, §3.4–3.5)',
    '',
    '| Solution | Train loss | Train loss (L2) | Train error | Test loss | Test error |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { name, metrics: m } of s.solutions) {
    out.push(
      `| ${name} | ${f(m.trainLoss)} | ${f(m.trainLossL2)} | ${pc(m.trainError)} | ` +
        `${f(m.testLoss)} | ${pc(m.testError)} |`,
    );
  }
  out.push(
    '',
    'Distances in weight space: ' +
      Object.entries(s.distances)
        .map(([k, v]) => `${k} ${f(v)}`)
        .join(', ') +
      '.',
  );
  if (s.rays) {
    const o = s.rays.options;
    out.push(
      '',
      `## Width along ${o.directions} random directions (t ≤ ${f(o.distance)})`,
      '',
      `| Solution | ‖w‖ | Width: test error +${(100 * o.errorMargin).toFixed(1)} points | ` +
        `Width: train loss (L2) +${o.lossMargin} |`,
      '| --- | ---: | ---: | ---: |',
    );
    for (const r of s.rays.solutions) out.push(`| ${r.name} | ${f(r.norm)} | ${ms(r.width)} | ${ms(r.lossWidth)} |`);
    const d = s.rays.difference;
    if (d)
      out.push(
        '',
        `Paired over the shared directions, ${d.second} − ${d.first}: test-error width ${ms(d.width)} ` +
          `(${d.second} wider along ${d.wider} of ${d.width.count}), train-loss width ${ms(d.lossWidth)} ` +
          `(wider along ${d.lossWider} of ${d.lossWidth.count}).`,
      );
  }
  if (s.line) {
    const l = s.line;
    const best = (k: 'testError' | 'trainLossL2'): number =>
      l.distance[l.metrics.reduce((b, m, i) => (m[k] < l.metrics[b][k] ? i : b), 0)];
    out.push(
      '',
      '## Line SWA → SGD',
      '',
      `‖w_SGD − w_SWA‖ = ${f(l.length)}; lowest test error at distance ${f(best('testError'))} ` +
        `from SWA, lowest train loss (L2) at ${f(best('trainLossL2'))} (SGD at ${f(l.length)}).`,
    );
  }
  if (s.fge) {
    const g = s.fge;
    out.push(
      '',
      `## SWA against the FGE ensemble (${g.snapshots} snapshots, ${g.images} test images)`,
      '',
      '| Model | Test error | Test NLL | Same label as ensemble | Mean ‖p − p_ens‖ |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| FGE ensemble | ${pc(g.ensemble.testError)} | ${f(g.ensemble.testNll)} | – | – |`,
    );
    for (const m of [g.fgeAverage, g.swa, ...g.members])
      out.push(`| ${m.label} | ${pc(m.testError)} | ${f(m.testNll)} | ${pc(m.agreement)} | ${f(m.probDiff)} |`);
    out.push(
      '',
      `Consecutive snapshots: mean ‖Δp‖ ${ms(g.consecutive.probDiff)}, ` +
        `same label ${pc(g.consecutive.agreement.mean)} ` +
        `(lowest ${pc(g.consecutive.agreement.min)}), distance ${ms(g.consecutive.distance)}.`,
    );
  }
  if (s.planes.length) out.push('', `Planes: ${s.planes.join(', ')}.`);
  if (s.notes.length) out.push('', '## Notes', '', ...s.notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}
