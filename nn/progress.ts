// A one-line progress bar with named figures and an ETA: redrawn in place on a terminal, printed every few seconds
// to logs and browser consoles.

type Figures = Record<string, number>;

interface Sink {
  write(s: string): void;
  isTTY: boolean;
}

function sink(): Sink {
  const err = (globalThis as { process?: { stderr?: { write(s: string): boolean; isTTY?: boolean } } }).process?.stderr;
  if (err)
    return {
      write: (s) => {
        err.write(s);
      },
      isTTY: Boolean(err.isTTY),
    };
  return { write: (s) => console.log(s.replace(/[\r\n]+$/, '')), isTTY: false };
}

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
};

const fmtFigure = (k: string, v: number): string =>
  `${k} ${k === 'acc' ? `${(100 * v).toFixed(2)}%` : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(4)}`;

export class Progress {
  private readonly start = performance.now();
  private lastPrint = 0;
  private readonly out = sink();

  constructor(
    readonly label: string,
    readonly total: number,
    readonly enabled = true,
  ) {}

  /** Shows `done` of `total` steps with the given figures. */
  update(done: number, figures: Figures = {}): void {
    if (!this.enabled) return;
    const now = performance.now();
    const elapsed = (now - this.start) / 1000;
    const eta = done > 0 ? (elapsed * (this.total - done)) / done : NaN;
    const width = 24;
    const filled = Math.round((width * done) / Math.max(this.total, 1));
    const line =
      `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ` +
      `${Object.entries(figures)
        .map(([k, v]) => fmtFigure(k, v))
        .join(' ')} | ${fmtTime(elapsed)} < ${fmtTime(eta)}`;
    if (this.out.isTTY) {
      this.out.write(`\r${line}\x1b[K`);
    } else if (now - this.lastPrint > 10000 || done === this.total) {
      this.lastPrint = now;
      this.out.write(`${line}\n`);
    }
  }

  /** Ends the bar with a summary line. */
  done(summary: string): void {
    if (!this.enabled) return;
    this.out.write(`${this.out.isTTY ? '\r\x1b[K' : ''}${this.label}: ${summary}\n`);
  }
}
