// A small dependency-free SVG line-chart writer (series, 1-2-5 ticks, labels, legend, optional log y) and the SWA
// paper's test-error-vs-epoch figure (Figures 2 and 7). Output is standalone SVG text; browser-safe.

import { formatTick, logTicks, niceTicks } from './ticks.ts';

/** A point [x, y]; points with a non-finite coordinate (or y ≤ 0 on a log axis) break the line there. */
export type Point = readonly [number, number];

/** One series of a chart. */
export interface Series {
  name: string;
  /** Any SVG paint: "#d62728", "red", "rgb(…)". */
  colour: string;
  points: readonly Point[];
  dashed?: boolean;
  /** Draw the connecting line (default true). */
  line?: boolean;
  /** Draw a circle at each point (default false). */
  markers?: boolean;
  /** Line width in px (default 2). */
  width?: number;
}

/** A labelled vertical rule, e.g. where SWA starts averaging. */
export interface VLine {
  x: number;
  label?: string;
}

/** Options of `lineChart`; sizes in px. */
export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  logY?: boolean;
  /** Fixed axis ranges; by default each axis spans the data, widened to the nearest ticks. */
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
  /** Show the legend (default true when there is a named series). */
  legend?: boolean;
  vlines?: readonly VLine[];
  /** Prefix of the ids in the SVG (default "chart"); give charts inlined into one HTML page different ids. */
  id?: string;
}

const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const MARKER_R = 3;
const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Escapes text for XML content and attribute values: & < > " '. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/**
 * Draws `series` as an SVG line chart (640×400 by default): white background, a framed plot area with grid lines at
 * 1-2-5 ticks (`niceTicks`; `logTicks` when `logY`), tick labels, axis labels, a title, a legend in the top-right
 * corner and optional vertical rules. Lines are clipped to the plot area. Returns a standalone document with
 * `xmlns` and `viewBox`, all text escaped.
 *
 * @example
 * lineChart([{ name: 'SGD', colour: '#1f77b4', points: [[1, 40], [2, 30]] }],
 *   { xLabel: 'Epoch', yLabel: 'Test error (%)' })
 */
export function lineChart(series: readonly Series[], options: ChartOptions = {}): string {
  const W = options.width ?? 640;
  const H = options.height ?? 400;
  const id = (options.id ?? 'chart').replace(/[^A-Za-z0-9_-]/g, '_');
  const logY = options.logY ?? false;
  const box = {
    left: options.yLabel ? 70 : 54,
    right: W - 16,
    top: options.title ? 40 : 16,
    bottom: H - (options.xLabel ? 50 : 32),
  };
  if (box.right - box.left < 20 || box.bottom - box.top < 20) throw new RangeError(`chart ${W}×${H} is too small`);
  for (const [name, range] of [
    ['xRange', options.xRange],
    ['yRange', options.yRange],
  ] as const) {
    if (range && !(range[0] < range[1] && Number.isFinite(range[0]) && Number.isFinite(range[1]))) {
      throw new RangeError(`${name} must be finite with min < max, got [${range[0]}, ${range[1]}]`);
    }
  }
  const usable = (p: Point): boolean => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!logY || p[1] > 0);
  const pts = series.flatMap((s) => s.points.filter(usable));
  const vx = (options.vlines ?? []).map((v) => v.x).filter(Number.isFinite);
  const xs = niceTicks(...(options.xRange ?? extent([...pts.map((p) => p[0]), ...vx], [0, 1])), 6);
  const yExtent =
    options.yRange ??
    extent(
      pts.map((p) => p[1]),
      logY ? [1, 10] : [0, 1],
    );
  const yTicks = logY ? logTicks(...yExtent) : niceTicks(...yExtent, 5).ticks;
  const xDom = options.xRange ?? [xs.ticks[0], xs.ticks[xs.ticks.length - 1]];
  const yDom = options.yRange ?? [yTicks[0], yTicks[yTicks.length - 1]];
  const f = logY ? Math.log10 : (v: number): number => v;
  const sx = (x: number): number => box.left + ((x - xDom[0]) / (xDom[1] - xDom[0])) * (box.right - box.left);
  const sy = (y: number): number =>
    box.bottom - ((f(y) - f(yDom[0])) / (f(yDom[1]) - f(yDom[0]))) * (box.bottom - box.top);
  const within = (v: number, [a, b]: readonly [number, number]): boolean => {
    const tol = 1e-9 * Math.abs(b - a);
    return v >= Math.min(a, b) - tol && v <= Math.max(a, b) + tol;
  };
  const inX = (x: number): boolean => within(x, xDom);
  const inY = (y: number): boolean => within(f(y), [f(yDom[0]), f(yDom[1])]);

  const plotRect = `x="${box.left}" y="${box.top}" width="${box.right - box.left}" height="${box.bottom - box.top}"`;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `${FONT} font-size="12">`,
  ];
  if (options.title) out.push(`<title>${escapeXml(options.title)}</title>`);
  out.push(
    `<defs><clipPath id="${id}-plot"><rect ${plotRect}/></clipPath></defs>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
  );
  // Grid and tick labels.
  out.push('<g stroke="#e3e3e3" stroke-width="1">');
  for (const t of xs.ticks)
    if (inX(t)) out.push(`<line x1="${r(sx(t))}" y1="${box.top}" x2="${r(sx(t))}" y2="${box.bottom}"/>`);
  for (const t of yTicks)
    if (inY(t)) out.push(`<line x1="${box.left}" y1="${r(sy(t))}" x2="${box.right}" y2="${r(sy(t))}"/>`);
  out.push('</g>', '<g fill="#333333">');
  for (const t of xs.ticks) {
    if (inX(t))
      out.push(
        `<text x="${r(sx(t))}" y="${box.bottom + 16}" text-anchor="middle">${escapeXml(formatTick(t, xs.step))}</text>`,
      );
  }
  const yStep = logY ? undefined : yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
  for (const t of yTicks) {
    if (inY(t))
      out.push(
        `<text x="${box.left - 6}" y="${r(sy(t))}" dy="0.32em" ` +
          `text-anchor="end">${escapeXml(formatTick(t, yStep))}</text>`,
      );
  }
  out.push('</g>');
  // Vertical rules, series, frame.
  for (const v of options.vlines ?? []) {
    if (!Number.isFinite(v.x) || !inX(v.x)) continue;
    const x = r(sx(v.x));
    out.push(
      `<line x1="${x}" y1="${box.top}" x2="${x}" y2="${box.bottom}" ` +
        `stroke="#777777" stroke-width="1" stroke-dasharray="2 3"/>`,
    );
    if (v.label)
      out.push(`<text x="${r(x + 4)}" y="${box.top + 14}" fill="#555555" font-size="11">${escapeXml(v.label)}</text>`);
  }
  out.push(`<g clip-path="url(#${id}-plot)" fill="none">`);
  for (const s of series) {
    const colour = escapeXml(s.colour);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (s.line ?? true) {
      const d = pathData(s.points, usable, sx, sy);
      if (d)
        out.push(`<path d="${d}" stroke="${colour}" stroke-width="${s.width ?? 2}"${dash} stroke-linejoin="round"/>`);
    }
    if (s.markers) {
      out.push(`<g fill="${colour}" stroke="#ffffff" stroke-width="0.75">`);
      for (const p of s.points)
        if (usable(p)) out.push(`<circle cx="${r(sx(p[0]))}" cy="${r(sy(p[1]))}" r="${MARKER_R}"/>`);
      out.push('</g>');
    }
  }
  out.push('</g>');
  out.push(`<rect ${plotRect} fill="none" stroke="#333333"/>`);
  // Labels and legend.
  if (options.title) {
    out.push(
      `<text x="${r(W / 2)}" y="24" text-anchor="middle" font-size="15" ` +
        `font-weight="bold">${escapeXml(options.title)}</text>`,
    );
  }
  if (options.xLabel) {
    out.push(
      `<text x="${r((box.left + box.right) / 2)}" y="${H - 12}" ` +
        `text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    );
  }
  if (options.yLabel) {
    const cy = r((box.top + box.bottom) / 2);
    out.push(
      `<text x="18" y="${cy}" text-anchor="middle" ` +
        `transform="rotate(-90 18 ${cy})">${escapeXml(options.yLabel)}</text>`,
    );
  }
  const named = series.filter((s) => s.name !== '');
  if ((options.legend ?? true) && named.length) out.push(...legend(named, box.right - 8, box.top + 8));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * One evaluation of a model: `epoch` (may be fractional) and test accuracy as a fraction; points without one are
 * skipped.
 */
export interface EpochPoint {
  epoch: number;
  testAccuracy?: number;
}

/**
 * What `testErrorFigure` draws. Each list is sorted by epoch here; `EpochMetrics[]` from nn/trainer.ts fits as is.
 *
 * NOTE: x is the `epoch` given, unchanged. `EpochMetrics.epoch` counts completed epochs (1-based) while swa/capture.ts
 * numbers epochs from 0; pass `swaStart` and the points in the same convention.
 */
export interface TestErrorHistory {
  /** Conventional SGD (decaying learning rate), evaluated each epoch: the blue curve of Figure 7. */
  sgd?: readonly EpochPoint[];
  /** The SGD run SWA follows (constant or cyclical learning rate), each epoch: Figure 7's green curve. */
  trajectory?: readonly EpochPoint[];
  /** The individual iterates SWA averaged, evaluated when captured: Figure 2's circles. */
  iterates?: readonly EpochPoint[];
  /** The SWA average, evaluated after each capture: Figure 7's red curve. */
  swa?: readonly EpochPoint[];
  /** Epoch at which averaging starts (a dotted rule). */
  swaStart?: number;
}

/** Colours of `testErrorFigure`, as in the paper's Figure 7 (SGD blue, constant-rate SGD green, SWA red). */
export const FIGURE_COLOURS = { sgd: '#1f77b4', trajectory: '#2ca02c', iterates: '#2ca02c', swa: '#d62728' } as const;

/**
 * Test error (%) = 100 · (1 − test accuracy) against epoch, in the style of Figures 2 and 7 of Izmailov et al. 2018
 * ("Averaging Weights Leads to Wider Optima and Better Generalization"): SGD as a blue line, the SGD trajectory SWA
 * follows as a dashed green line, the iterates SWA averages as green circles, and the SWA average as a red line with
 * a marker at each evaluation. Empty parts are left out of the plot and the legend.
 */
export function testErrorFigure(history: TestErrorHistory, options: ChartOptions = {}): string {
  const pts = (h: readonly EpochPoint[] | undefined): Point[] =>
    (h ?? [])
      .flatMap((p) => (p.testAccuracy === undefined ? [] : [[p.epoch, 100 * (1 - p.testAccuracy)] as const]))
      .sort((a, b) => a[0] - b[0]);
  const c = FIGURE_COLOURS;
  const series: Series[] = [
    { name: 'SGD', colour: c.sgd, points: pts(history.sgd) },
    { name: 'SGD (SWA run)', colour: c.trajectory, points: pts(history.trajectory), dashed: true, width: 1.5 },
    { name: 'SWA iterates', colour: c.iterates, points: pts(history.iterates), line: false, markers: true },
    { name: 'SWA', colour: c.swa, points: pts(history.swa), markers: true },
  ];
  return lineChart(
    series.filter((s) => s.points.length > 0),
    {
      title: 'Test error vs epoch',
      xLabel: 'Epoch',
      yLabel: 'Test error (%)',
      vlines: history.swaStart === undefined ? [] : [{ x: history.swaStart, label: 'SWA start' }],
      ...options,
    },
  );
}

function legend(series: readonly Series[], right: number, top: number): string[] {
  const rowH = 18;
  const w = 42 + Math.max(...series.map((s) => s.name.length)) * 6.6;
  const x = right - w;
  const h = series.length * rowH + 8;
  const out = [
    '<g>',
    `<rect x="${r(x)}" y="${top}" width="${r(w)}" height="${h}" fill="#ffffff" fill-opacity="0.85" stroke="#bbbbbb"/>`,
  ];
  series.forEach((s, i) => {
    const y = top + 4 + rowH * i + rowH / 2;
    const colour = escapeXml(s.colour);
    if (s.line ?? true) {
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
      out.push(
        `<line x1="${r(x + 8)}" y1="${y}" x2="${r(x + 32)}" y2="${y}" ` +
          `stroke="${colour}" stroke-width="${s.width ?? 2}"${dash}/>`,
      );
    }
    if (s.markers) out.push(`<circle cx="${r(x + 20)}" cy="${y}" r="${MARKER_R}" fill="${colour}"/>`);
    out.push(`<text x="${r(x + 38)}" y="${y}" dy="0.32em">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  return out;
}

/** "M x y L x y …", starting a new subpath after each unusable point. */
function pathData(
  points: readonly Point[],
  usable: (p: Point) => boolean,
  sx: (x: number) => number,
  sy: (y: number) => number,
): string {
  const parts: string[] = [];
  let pen = false;
  for (const p of points) {
    if (!usable(p)) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? 'L' : 'M'}${r(sx(p[0]))} ${r(sy(p[1]))}`);
    pen = true;
  }
  return parts.join(' ');
}

/** The [min, max] of `values`, or `empty` when there are none. */
function extent(values: readonly number[], empty: readonly [number, number]): [number, number] {
  if (values.length === 0) return [empty[0], empty[1]];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

/** Coordinates rounded to 0.01 px keep the file small. */
function r(x: number): number {
  return Math.round(x * 100) / 100;
}
