// Filled contour maps as standalone SVG: values on a grid, banded at (by default log-spaced) levels over a
// perceptual colour map, isolines by marching squares, a labelled colour scale and marked points; browser-safe.

import { escapeXml } from '../report/svg.ts';
import { formatTick, niceTicks } from '../report/ticks.ts';

/** A marked point (a solution, a snapshot): a black cross with a label, or an open circle for projected points. */
export interface ContourMark {
  label: string;
  x: number;
  y: number;
  shape?: 'cross' | 'circle';
}

export interface ContourOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Label beside the colour scale. */
  valueLabel?: string;
  /** Band boundaries, ascending (≥ 2); `contourLevels` of the finite values by default. */
  levels?: readonly number[];
  marks?: readonly ContourMark[];
  /** Prefix of the ids in the SVG; give panels of one figure different ids. */
  id?: string;
}

/** Viridis (van der Walt & Smith, matplotlib) at ten evenly spaced stops, dark (low) to yellow (high). */
const VIRIDIS = [
  '#440154',
  '#482878',
  '#3e4989',
  '#31688e',
  '#26828e',
  '#1f9e89',
  '#35b779',
  '#6ece58',
  '#b5de2b',
  '#fde725',
];
const FONT = 'font-family="Helvetica, Arial, sans-serif"';
const NO_VALUE = '#d9d9d9';

/** The colour at position t ∈ [0, 1] of the map (linear between the stops), as #rrggbb. */
export function colourMap(t: number): string {
  const u = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(u));
  const f = u - k;
  const rgb = (hex: string): number[] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const [a, b] = [rgb(VIRIDIS[k]), rgb(VIRIDIS[k + 1])];
  return `#${a
    .map((v, i) =>
      Math.round(v + f * (b[i] - v))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

/**
 * `count` bands from min to max whose boundaries crowd towards the minimum:
 * min + (max − min)·exp(−spread·(1 − k/count)), k = 1 … count, after min itself. Like the log-spaced levels of
 * Garipov et al.'s plane plots (dnn-mode-connectivity), but relative to the range, so losses (nats) and errors (%)
 * get the same resolution near their minimum; with the default spread 4.5 the first band holds the lowest 2% of the
 * range and each next one is about twice as wide.
 */
export function contourLevels(min: number, max: number, count = 7, spread = 4.5): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max) && min <= max))
    throw new RangeError(`contourLevels: bad range [${min}, ${max}]`);
  if (!(Number.isInteger(count) && count >= 1))
    throw new RangeError(`contourLevels: count must be an integer ≥ 1, got ${count}`);
  if (!(Number.isFinite(spread) && spread >= 0))
    throw new RangeError(`contourLevels: spread must be a number ≥ 0, got ${spread}`);
  if (max === min) return [min, min + (Math.abs(min) || 1) * 1e-6];
  const out = [min];
  for (let k = 1; k < count; k++) out.push(min + (max - min) * Math.exp(-spread * (1 - k / count)));
  out.push(max);
  return out;
}

/** Band index of v for ascending boundaries (values above the last are in the top band); −1 for a non-finite v. */
export function bandOf(v: number, levels: readonly number[]): number {
  if (!Number.isFinite(v)) return -1;
  let b = 0;
  while (b + 1 < levels.length - 1 && v >= levels[b + 1]) b++;
  return b;
}

/** A line segment [x1, y1, x2, y2] in data coordinates. */
export type Segment = [number, number, number, number];

/**
 * The isoline z = level through the grid by marching squares: z[j][i] is the value at (xs[i], ys[j]); crossings are
 * placed on cell edges by linear interpolation, and saddle cells are split by their centre value.
 */
export function isolines(
  xs: readonly number[],
  ys: readonly number[],
  z: readonly (readonly number[])[],
  level: number,
): Segment[] {
  const out: Segment[] = [];
  for (let j = 0; j + 1 < ys.length; j++) {
    for (let i = 0; i + 1 < xs.length; i++) {
      const c = [z[j][i], z[j][i + 1], z[j + 1][i + 1], z[j + 1][i]];
      if (!c.every(Number.isFinite)) continue;
      const px = [xs[i], xs[i + 1], xs[i + 1], xs[i]];
      const py = [ys[j], ys[j], ys[j + 1], ys[j + 1]];
      // Edge e joins corners e and e + 1 (mod 4); collect the crossed edges' points in order.
      const cross: [number, number][] = [];
      for (let e = 0; e < 4; e++) {
        const a = c[e];
        const b = c[(e + 1) % 4];
        if (a < level !== b < level) {
          const f = (level - a) / (b - a);
          const n = (e + 1) % 4;
          cross.push([px[e] + f * (px[n] - px[e]), py[e] + f * (py[n] - py[e])]);
        }
      }
      if (cross.length === 2) {
        out.push([cross[0][0], cross[0][1], cross[1][0], cross[1][1]]);
      } else if (cross.length === 4) {
        const centre = (c[0] + c[1] + c[2] + c[3]) / 4;
        // Corner 0 above the level and the centre too: its region joins corners 0 and 2, so pair edges (0,1),(2,3).
        const joined = c[0] >= level === centre >= level;
        const [p, q, r, s] = joined ? [0, 1, 2, 3] : [0, 3, 1, 2];
        out.push(
          [cross[p][0], cross[p][1], cross[q][0], cross[q][1]],
          [cross[r][0], cross[r][1], cross[s][0], cross[s][1]],
        );
      }
    }
  }
  return out;
}

/** The bilinear interpolant of the grid at (x, y) (x, y inside the grid's range). */
export function bilinear(
  xs: readonly number[],
  ys: readonly number[],
  z: readonly (readonly number[])[],
  x: number,
  y: number,
): number {
  const i = cellOf(xs, x);
  const j = cellOf(ys, y);
  const fx = (x - xs[i]) / (xs[i + 1] - xs[i]);
  const fy = (y - ys[j]) / (ys[j + 1] - ys[j]);
  return (1 - fy) * ((1 - fx) * z[j][i] + fx * z[j][i + 1]) + fy * ((1 - fx) * z[j + 1][i] + fx * z[j + 1][i + 1]);
}

function cellOf(v: readonly number[], x: number): number {
  let k = 0;
  while (k + 2 < v.length && x >= v[k + 1]) k++;
  return k;
}

/**
 * Draws z over the grid (xs, ys) as a filled contour map: the bilinear interpolant rendered in bands on a fine raster
 * (horizontal runs merged into rectangles), isolines at the inner boundaries, marks, axes with 1-2-5 ticks, and a
 * colour scale with the boundaries labelled. Both axes use the same scale (distances in weight space look as they
 * are) unless a side would get under 35% of the space, which it then gets; the document's height shrinks to the plot's.
 * Non-finite values are drawn grey. Returns a standalone SVG document.
 */
export function contourMap(
  xs: readonly number[],
  ys: readonly number[],
  z: readonly (readonly number[])[],
  options: ContourOptions = {},
): string {
  if (xs.length < 2 || ys.length < 2)
    throw new RangeError(`contourMap: needs at least a 2×2 grid, got ${xs.length}×${ys.length}`);
  if (z.length !== ys.length || z.some((row) => row.length !== xs.length))
    throw new RangeError(`contourMap: values must be ${ys.length} rows of ${xs.length}`);
  const W = options.width ?? 480;
  const H = options.height ?? 420;
  const id = (options.id ?? 'contour').replace(/[^A-Za-z0-9_-]/g, '_');
  const finite = z.flat().filter(Number.isFinite);
  const levels = options.levels ?? (finite.length ? contourLevels(Math.min(...finite), Math.max(...finite)) : [0, 1]);
  if (levels.length < 2 || levels.some((l, k) => k > 0 && !(l > levels[k - 1])))
    throw new RangeError('contourMap: levels must be ≥ 2 ascending values');
  const bands = levels.length - 1;
  const colours = Array.from({ length: bands }, (_, b) => colourMap(bands === 1 ? 0.5 : b / (bands - 1)));
  const [x0, x1, y0, y1] = [xs[0], xs[xs.length - 1], ys[0], ys[ys.length - 1]];
  const area = {
    left: options.yLabel ? 64 : 48,
    right: W - 92,
    top: options.title ? 40 : 14,
    bottom: H - (options.xLabel ? 48 : 30),
  };
  const [aw, ah] = [area.right - area.left, area.bottom - area.top];
  const k = Math.min(aw / (x1 - x0), ah / (y1 - y0));
  const box = {
    left: area.left,
    top: area.top,
    w: Math.max((x1 - x0) * k, 0.35 * aw),
    h: Math.max((y1 - y0) * k, 0.35 * ah),
  };
  const sx = (x: number): number => box.left + ((x - x0) / (x1 - x0)) * box.w;
  const sy = (y: number): number => box.top + box.h - ((y - y0) / (y1 - y0)) * box.h;
  const Hc = Math.ceil(box.top + box.h + (H - area.bottom));
  const frame = { x: box.left, y: box.top, width: box.w, height: box.h };
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Hc}" viewBox="0 0 ${W} ${Hc}" ${FONT}>`];
  if (options.title) out.push(el('title', {}, options.title));
  out.push(
    `<defs><clipPath id="${id}-plot">${el('rect', frame)}</clipPath></defs>`,
    el('rect', { width: W, height: Hc, fill: '#ffffff' }),
    `<g clip-path="url(#${id}-plot)" font-size="12">`,
  );
  // Fill: a raster of about 3 px cells, each row's runs of one band merged into one rectangle.
  const nx = Math.max(xs.length, Math.ceil(box.w / 3));
  const ny = Math.max(ys.length, Math.ceil(box.h / 3));
  out.push('<g shape-rendering="crispEdges">');
  for (let row = 0; row < ny; row++) {
    const y = y1 - ((row + 0.5) / ny) * (y1 - y0);
    let start = 0;
    let band = NaN;
    const flush = (end: number): void => {
      if (end === start) return;
      const [a, b] = [box.left + (start / nx) * box.w, box.left + (end / nx) * box.w];
      const fill = band < 0 ? NO_VALUE : colours[band];
      out.push(
        el('rect', { x: a, y: box.top + (row / ny) * box.h, width: b - a + 0.5, height: box.h / ny + 0.5, fill }),
      );
      start = end;
    };
    for (let col = 0; col < nx; col++) {
      const b = bandOf(bilinear(xs, ys, z, x0 + ((col + 0.5) / nx) * (x1 - x0), y), levels);
      if (col > 0 && b !== band) flush(col);
      band = b;
    }
    flush(nx);
  }
  out.push('</g>');
  for (let b = 1; b < bands; b++) {
    const d = isolines(xs, ys, z, levels[b])
      .map(([a, c, e, f]) => `M${r(sx(a))} ${r(sy(c))}L${r(sx(e))} ${r(sy(f))}`)
      .join('');
    if (d) out.push(el('path', { d, fill: 'none', stroke: '#000000', 'stroke-opacity': 0.45, 'stroke-width': 0.8 }));
  }
  out.push('</g>', el('rect', { ...frame, fill: 'none', stroke: '#333333' }), '<g font-size="12">');
  out.push(...axes(x0, x1, y0, y1, sx, sy, box));
  for (const m of options.marks ?? []) out.push(...mark(m, sx(m.x), sy(m.y)));
  out.push(...colourScale(levels, colours, { x: box.left + box.w + 16, top: box.top, h: box.h }, options.valueLabel));
  const middle = { 'text-anchor': 'middle' };
  if (options.title) {
    out.push(el('text', { x: W / 2, y: 24, ...middle, 'font-size': 14, 'font-weight': 'bold' }, options.title));
  }
  if (options.xLabel)
    out.push(el('text', { x: box.left + box.w / 2, y: box.top + box.h + 36, ...middle }, options.xLabel));
  if (options.yLabel) {
    const cy = r(box.top + box.h / 2);
    out.push(el('text', { x: 16, y: cy, ...middle, transform: `rotate(-90 16 ${cy})` }, options.yLabel));
  }
  out.push('</g>', '</svg>');
  return `${out.join('\n')}\n`;
}

/** An SVG element `<tag a="v" …/>`, or `<tag …>text</tag>`; numbers are rounded to 0.01 px, text is escaped. */
function el(tag: string, attrs: Readonly<Record<string, string | number>>, text?: string): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? r(v) : escapeXml(v)}"`)
    .join('');
  return text === undefined ? `<${tag}${a}/>` : `<${tag}${a}>${escapeXml(text)}</${tag}>`;
}

function axes(
  x0: number,
  x1: number,
  y0: number,
  y1: number,
  sx: (x: number) => number,
  sy: (y: number) => number,
  box: { left: number; top: number; w: number; h: number },
): string[] {
  const out = ['<g fill="#333333">'];
  const tx = niceTicks(x0, x1, 5);
  const ty = niceTicks(y0, y1, 5);
  const inside = (t: number, a: number, b: number): boolean => t >= a - 1e-9 * (b - a) && t <= b + 1e-9 * (b - a);
  const bottom = box.top + box.h;
  for (const t of tx.ticks.filter((t) => inside(t, x0, x1))) {
    out.push(
      el('line', { x1: sx(t), y1: bottom, x2: sx(t), y2: bottom + 4, stroke: '#333333' }),
      el('text', { x: sx(t), y: bottom + 16, 'text-anchor': 'middle' }, formatTick(t, tx.step)),
    );
  }
  for (const t of ty.ticks.filter((t) => inside(t, y0, y1))) {
    out.push(
      el('line', { x1: box.left - 4, y1: sy(t), x2: box.left, y2: sy(t), stroke: '#333333' }),
      el('text', { x: box.left - 6, y: sy(t), dy: '0.32em', 'text-anchor': 'end' }, formatTick(t, ty.step)),
    );
  }
  out.push('</g>');
  return out;
}

function mark(m: ContourMark, x: number, y: number): string[] {
  const s = 5;
  const cross = `M${r(x - s)} ${r(y - s)}L${r(x + s)} ${r(y + s)}M${r(x - s)} ${r(y + s)}L${r(x + s)} ${r(y - s)}`;
  const shape =
    m.shape === 'circle'
      ? el('circle', { cx: x, cy: y, r: 4.5, fill: 'none', stroke: '#000000', 'stroke-width': 1.8 })
      : el('path', { d: cross, stroke: '#000000', 'stroke-width': 2.2 });
  const halo = { stroke: '#ffffff', 'stroke-width': 3, 'paint-order': 'stroke', 'stroke-opacity': 0.8 };
  return [shape, el('text', { x: x + 7, y: y - 7, 'font-size': 11, 'font-weight': 'bold', ...halo }, m.label)];
}

function colourScale(
  levels: readonly number[],
  colours: readonly string[],
  at: { x: number; top: number; h: number },
  label?: string,
): string[] {
  const bh = at.h / colours.length;
  const out = ['<g>'];
  colours.forEach((fill, b) =>
    out.push(el('rect', { x: at.x, y: at.top + at.h - (b + 1) * bh, width: 14, height: bh + 0.3, fill })),
  );
  out.push(el('rect', { x: at.x, y: at.top, width: 14, height: at.h, fill: 'none', stroke: '#333333' }));
  out.push('<g fill="#333333" font-size="10">');
  levelLabels(levels).forEach((t, b) =>
    out.push(el('text', { x: at.x + 18, y: at.top + at.h - b * bh, dy: '0.32em' }, t)),
  );
  out.push('</g>');
  if (label) {
    const [cx, cy] = [r(at.x + 66), r(at.top + at.h / 2)];
    out.push(el('text', { x: cx, y: cy, 'text-anchor': 'middle', transform: `rotate(90 ${cx} ${cy})` }, label));
  }
  out.push('</g>');
  return out;
}

/** `digits` significant digits without trailing zeros (0.0123, 1.5, 230; 1.2e-5 outside [1e-3, 1e5)). */
export function levelLabel(v: number, digits = 3): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    return v
      .toExponential(digits - 1)
      .replace(/\.?0+e/, 'e')
      .replace('e+', 'e');
  }
  return String(Number(v.toPrecision(digits)));
}

/** Labels for ascending levels with the fewest significant digits (3 to 6) that tell neighbours apart. */
export function levelLabels(levels: readonly number[]): string[] {
  let labels: string[] = [];
  for (let d = 3; d <= 6; d++) {
    labels = levels.map((l) => levelLabel(l, d));
    if (labels.every((t, k) => k === 0 || t !== labels[k - 1])) break;
  }
  return labels;
}

/** Coordinates rounded to 0.01 px keep the file small. */
function r(x: number): number {
  return Math.round(x * 100) / 100;
}
