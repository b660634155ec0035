// A live SVG line chart for the page: named series of (x, y) points, point markers, vertical event lines, nice ticks
// and a legend; points are added as training runs and the chart redraws at most once per animation frame.

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 250;
const M = { left: 52, right: 12, top: 40, bottom: 34 };

/** How one series looks: its legend name, colour, and dashes / point dots. */
export interface SeriesStyle {
  name: string;
  color: string;
  dash?: string;
  /** Draw every point as a dot (sparse series: per-epoch test error). */
  dots?: boolean;
  /** Draw only dots, no line (events such as captures). */
  dotsOnly?: boolean;
}

/** A labelled vertical line (the branch point, one budget). */
interface VLine {
  x: number;
  label: string;
  color: string;
}

/** Evenly spaced round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const fmt = (v: number): string => {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
};

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number> = {}) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/**
 * A chart inside `host`: `add(series, x, y)` appends a point, `vline(x, label)` marks an event, `clear()` empties it.
 * The y range starts at 0, or (`fitY`) fits the data with a margin; x and y ranges grow to fit the data.
 * @example
 * const p = new LivePlot(div, { title: 'loss', xLabel: 'iteration', series: [{ name: 'SGD', color: '#c33' }] });
 */
export class LivePlot {
  readonly svg: SVGSVGElement;
  private readonly data = new Map<string, [number, number][]>();
  private readonly styles: SeriesStyle[];
  private vlines: VLine[] = [];
  private pending = false;
  /** A fixed x range to show at least (the planned run length), so lines grow across the chart. */
  xMax = 0;

  constructor(
    host: HTMLElement,
    private readonly o: { title: string; xLabel: string; series: SeriesStyle[]; fitY?: boolean },
  ) {
    this.styles = o.series;
    for (const s of o.series) this.data.set(s.name, []);
    this.svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': o.title, class: 'plot' });
    host.append(this.svg);
    this.draw();
  }

  /** Appends a point to a series (by name). */
  add(series: string, x: number, y: number): void {
    const pts = this.data.get(series);
    if (!pts) throw new Error(`LivePlot '${this.o.title}': no series named '${series}'`);
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    pts.push([x, y]);
    this.schedule();
  }

  /** A vertical line at `x`, labelled at the top. */
  vline(x: number, label: string, color = '#888'): void {
    this.vlines.push({ x, label, color });
    this.schedule();
  }

  /** Points per series, for tests and the page's status. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.data].map(([k, v]) => [k, v.length]));
  }

  clear(): void {
    for (const v of this.data.values()) v.length = 0;
    this.vlines = [];
    this.xMax = 0;
    this.schedule();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    const run = (): void => {
      if (!this.pending) return;
      this.pending = false;
      this.draw();
    };
    // A frame when the page is visible; the timer covers hidden tabs (no frames there).
    requestAnimationFrame(run);
    setTimeout(run, 250);
  }

  private draw(): void {
    const all = [...this.data.values()].flat();
    const xs = all.map((p) => p[0]).concat(this.vlines.map((v) => v.x));
    const ys = all.map((p) => p[1]);
    const x0 = 0;
    const x1 = Math.max(1, this.xMax, ...xs);
    const lo = ys.length ? Math.min(...ys) : 0;
    const hi = ys.length ? Math.max(...ys) : 1;
    const pad = 0.08 * (hi - lo || Math.abs(hi) || 1);
    const y0 = this.o.fitY ? Math.max(0, lo - pad) : Math.min(0, lo);
    const y1 = this.o.fitY ? hi + pad : hi * 1.05 || 1;
    const sx = (x: number): number => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
    const sy = (y: number): number => H - M.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - M.top - M.bottom);
    const svg = this.svg;
    svg.replaceChildren();
    const title = el('text', { x: M.left, y: 16, class: 'plot-title' });
    title.textContent = this.o.title;
    svg.append(title);
    const axis = el('g', { class: 'plot-axis' });
    for (const t of niceTicks(y0, y1)) {
      axis.append(el('line', { x1: M.left, x2: W - M.right, y1: sy(t), y2: sy(t), class: 'plot-grid' }));
      const lab = el('text', { x: M.left - 6, y: sy(t) + 4, 'text-anchor': 'end' });
      lab.textContent = fmt(t);
      axis.append(lab);
    }
    for (const t of niceTicks(x0, x1, 8)) {
      const lab = el('text', { x: sx(t), y: H - M.bottom + 16, 'text-anchor': 'middle' });
      lab.textContent = fmt(t);
      axis.append(lab);
    }
    const xl = el('text', { x: (M.left + W - M.right) / 2, y: H - 4, 'text-anchor': 'middle' });
    xl.textContent = this.o.xLabel;
    axis.append(xl, el('rect', { x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom }));
    svg.append(axis);
    for (const v of this.vlines) {
      svg.append(
        el('line', { x1: sx(v.x), x2: sx(v.x), y1: M.top, y2: H - M.bottom, stroke: v.color, class: 'vline' }),
      );
      const lab = el('text', { x: sx(v.x) + 3, y: M.top + 10, fill: v.color, class: 'vline-label' });
      lab.textContent = v.label;
      svg.append(lab);
    }
    let lx = M.left;
    for (const s of this.styles) {
      const pts = this.data.get(s.name)!;
      if (pts.length && !s.dotsOnly) {
        const points = pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
        const line = el('polyline', {
          points,
          stroke: s.color,
          fill: 'none',
          'stroke-width': 1.5,
          'data-series': s.name,
        });
        if (s.dash) line.setAttribute('stroke-dasharray', s.dash);
        svg.append(line);
      }
      if (s.dots || s.dotsOnly) {
        const g = el('g', { fill: s.color, 'data-series': s.name });
        for (const [x, y] of pts) g.append(el('circle', { cx: sx(x), cy: sy(y), r: s.dotsOnly ? 3.5 : 2.5 }));
        svg.append(g);
      }
      // Legend: one row under the title, in series order.
      const label = el('text', { x: lx, y: 31, fill: s.color, class: 'plot-legend' });
      label.textContent = `${s.dotsOnly ? '●' : s.dash ? '┄' : '—'} ${s.name}`;
      svg.append(label);
      lx += 14 + 6 * (s.name.length + 2);
    }
  }
}
