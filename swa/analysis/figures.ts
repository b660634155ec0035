// The analyses' figures in the style of the SWA paper: rays (Figure 4), the line SWA–SGD (Figure 5) and planes
// (Figures 1 and 3), each a two-panel SVG (L2-regularised train loss beside test error); browser-safe.

import { FIGURE_COLOURS, lineChart, type Series } from '../report/svg.ts';
import { contourMap, type ContourMark } from './contour.ts';
import type { PointMetrics } from './evaluate.ts';
import type { LineResult, RaysResult } from './rays-line.ts';
import type { PlaneResult } from './plane.ts';

/** Places standalone SVG documents left to right in one (each kept whole as a nested <svg>, sized by its root). */
export function sideBySide(panels: readonly string[], title?: string): string {
  const sizes = panels.map((p) => {
    const m = /^<svg[^>]*?\swidth="([\d.]+)"\s+height="([\d.]+)"/.exec(p.trim());
    if (!m) throw new Error('sideBySide: a panel is not an SVG document with width and height');
    return { width: Number(m[1]), height: Number(m[2]) };
  });
  const top = title ? 30 : 0;
  const width = sizes.reduce((s, p) => s + p.width, 0);
  const height = top + Math.max(...sizes.map((p) => p.height));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (title) {
    out.push(
      `<title>${esc(title)}</title>`,
      `<text x="${width / 2}" y="20" text-anchor="middle" font-family="Helvetica, Arial, sans-serif" font-size="15" ` +
        `font-weight="bold">${esc(title)}</text>`,
    );
  }
  let x = 0;
  panels.forEach((p, k) => {
    out.push(p.trim().replace(/^<svg /, `<svg x="${x}" y="${top}" `));
    x += sizes[k].width;
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** SWA red and SGD blue, as in the paper; other solutions get further colours. */
const colourOf = (name: string, k: number): string =>
  name === 'SWA' ? FIGURE_COLOURS.swa : name === 'SGD' ? FIGURE_COLOURS.sgd : ['#2ca02c', '#9467bd', '#8c564b'][k % 3];
const pct = (v: number): number => 100 * v;

/**
 * Figure 4: train loss and test error (%) against distance along each random ray, one thin line per direction and a
 * colour per solution (SWA red, SGD blue as in the paper); the legend names each solution once with its mean width.
 */
export function raysFigure(r: RaysResult, title = 'Rays from each solution (Izmailov et al. 2018, Figure 4)'): string {
  const order = [...r.solutions].sort((a, b) => (a.name === 'SWA' ? -1 : b.name === 'SWA' ? 1 : 0));
  const panel = (metric: 'trainLossL2' | 'testError', id: string, yLabel: string): string => {
    const series: Series[] = order.flatMap((s) => {
      const colour = colourOf(s.name, r.solutions.indexOf(s));
      const w = s.width.mean === null ? `none within ${r.options.distance}` : `${s.width.mean.toPrecision(3)}`;
      return s.curves.map((c, k): Series => ({
        name: k === 0 ? (metric === 'testError' ? `${s.name} (width ${w})` : s.name) : '',
        colour,
        width: 1.4,
        points: r.distances.map(
          (t, i) => [t, metric === 'testError' ? pct(c.metrics[i].testError) : c.metrics[i].trainLossL2] as const,
        ),
      }));
    });
    return lineChart(series, { id, xLabel: 'Distance', yLabel, width: 520, height: 380 });
  };
  return sideBySide(
    [
      panel('trainLossL2', 'rays-loss', 'Train loss (L2-regularised)'),
      panel('testError', 'rays-error', 'Test error (%)'),
    ],
    title,
  );
}

/**
 * Figure 5: train loss and test error (%) along w(t) = t·w_SGD + (1 − t)·w_SWA against the signed distance from
 * w_SWA; the two solutions are marked (SWA red, SGD blue) on the curve and by dotted rules, and named in the legend.
 */
export function lineFigure(r: LineResult, title = 'The line from SWA to SGD (Izmailov et al. 2018, Figure 5)'): string {
  const vlines = r.marks.map((m) => ({ x: m.distance }));
  const value = (metric: 'trainLossL2' | 'testError', m: PointMetrics): number =>
    metric === 'testError' ? pct(m.testError) : m.trainLossL2;
  const panel = (metric: 'trainLossL2' | 'testError', id: string, yLabel: string, name: string): string => {
    const series: Series[] = [
      {
        name,
        colour: '#444444',
        width: 1.6,
        points: r.distance.map((d, i) => [d, value(metric, r.metrics[i])] as const),
      },
      ...r.marks.map((m, k) => ({
        name: `${m.label} (distance ${m.distance.toPrecision(3)})`,
        colour: colourOf(m.label, k),
        line: false,
        markers: true,
        points: [[m.distance, value(metric, m.metrics)] as const],
      })),
    ];
    return lineChart(series, { id, xLabel: 'Signed distance from SWA', yLabel, vlines, width: 520, height: 380 });
  };
  return sideBySide(
    [
      panel('trainLossL2', 'line-loss', 'Train loss (L2-regularised)', 'Train loss (L2)'),
      panel('testError', 'line-error', 'Test error (%)', 'Test error'),
    ],
    title,
  );
}

/**
 * Figures 1 and 3: contour maps of train loss and test error (%) over the plane's grid, the three points that span
 * it as crosses and projected points as circles (their distance from the plane is in the JSON).
 */
export function planeFigure(r: PlaneResult): string {
  const marks: ContourMark[] = r.marks.map((m) => ({
    label: m.label,
    x: m.x,
    y: m.y,
    shape: m.defines ? 'cross' : 'circle',
  }));
  const panel = (metric: 'trainLossL2' | 'testError', id: string, label: string): string => {
    const z = r.grid.map((row) => row.map((m) => (metric === 'testError' ? pct(m.testError) : m.trainLossL2)));
    return contourMap(r.xs, r.ys, z, {
      id,
      marks,
      valueLabel: label,
      xLabel: 'x (along u)',
      yLabel: 'y (along v)',
      width: 500,
      height: 440,
    });
  };
  return sideBySide(
    [
      panel('trainLossL2', `${r.name}-loss`, 'Train loss (L2-regularised)'),
      panel('testError', `${r.name}-error`, 'Test error (%)'),
    ],
    r.title,
  );
}
