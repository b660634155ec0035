// The resumable record of evaluated points: metrics by the content key of their weights, with the settings that
// produced them; rewritten atomically as points come in, so a killed analysis continues where it stopped.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../nn/atomic-file.ts';
import { METRICS, type PointMetrics } from './evaluate.ts';

const FORMAT = 'swa-engine-analysis-points-1';

/** One stored evaluation: its metrics, the label of the first analysis that asked for it, and its wall seconds. */
export interface StoredPoint extends PointMetrics {
  label: string;
  seconds: number;
}

/** The store file holds points evaluated with other settings. */
export class StoreMismatchError extends Error {
  override name = 'StoreMismatchError';
}

/**
 * Metrics of evaluated points, keyed by `contentKey` of the weights (and of how they were evaluated), so a point that
 * two analyses share (a solution, a ray's start, the line's ends) is evaluated once. `put` rewrites the file with
 * `writeFileAtomic` when `flushSeconds` have passed since the last write (0: after every point).
 */
export class PointStore {
  /** Points found in the file when it was opened, and points evaluated since. */
  readonly loaded: number;
  computed = 0;
  reused = 0;
  private lastFlush = performance.now();
  private dirty = false;

  private constructor(
    readonly path: string,
    readonly fingerprint: Record<string, unknown>,
    private readonly points: Map<string, StoredPoint>,
    readonly flushSeconds: number,
  ) {
    this.loaded = points.size;
  }

  /**
   * Opens (or starts) the store at `path`. With `fresh`, points already there are dropped.
   * @throws StoreMismatchError when the file was written with another fingerprint (names every difference).
   */
  static async open(
    path: string,
    fingerprint: Record<string, unknown>,
    opts: { fresh?: boolean; flushSeconds?: number } = {},
  ): Promise<PointStore> {
    const points = new Map<string, StoredPoint>();
    if (existsSync(path) && !opts.fresh) {
      let file: {
        format?: string;
        fingerprint?: Record<string, unknown>;
        points?: Record<string, Record<string, unknown>>;
      };
      try {
        file = JSON.parse(await readFile(path, 'utf8'));
      } catch (e) {
        throw new StoreMismatchError(
          `${path}: cannot read it as JSON (${(e as Error).message}); delete it or pass --fresh`,
        );
      }
      if (file.format !== FORMAT)
        throw new StoreMismatchError(`${path}: not an analysis point store (format ${JSON.stringify(file.format)})`);
      const old = file.fingerprint ?? {};
      const diff = Object.keys({ ...old, ...fingerprint })
        .filter((k) => JSON.stringify(old[k]) !== JSON.stringify(fingerprint[k]))
        .map((k) => `${k}: ${JSON.stringify(old[k])} there, ${JSON.stringify(fingerprint[k])} now`);
      if (diff.length) {
        throw new StoreMismatchError(
          `${path} holds points evaluated with other settings (${diff.join('; ')}); ` +
            'use another --out folder, or --fresh to discard them',
        );
      }
      for (const [key, p] of Object.entries(file.points ?? {})) points.set(key, fromJson(p));
    }
    return new PointStore(path, fingerprint, points, opts.flushSeconds ?? 0);
  }

  get size(): number {
    return this.points.size;
  }

  has(key: string): boolean {
    return this.points.has(key);
  }

  /** The stored metrics of `key` (counted as reused), or undefined. */
  get(key: string): StoredPoint | undefined {
    const p = this.points.get(key);
    if (p) this.reused++;
    return p;
  }

  /** Records a new evaluation; writes the file when a flush is due. */
  async put(key: string, label: string, metrics: PointMetrics, seconds: number): Promise<void> {
    this.points.set(key, { ...pick(metrics), label, seconds });
    this.computed++;
    this.dirty = true;
    if ((performance.now() - this.lastFlush) / 1000 >= this.flushSeconds) await this.flush();
  }

  /** Writes the file now if anything changed since the last write. */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    const points: Record<string, unknown> = {};
    for (const [k, p] of this.points) points[k] = toJson(p);
    const text = `${JSON.stringify({ format: FORMAT, fingerprint: this.fingerprint, points })}\n`;
    await writeFileAtomic(this.path, new TextEncoder().encode(text));
    this.dirty = false;
    this.lastFlush = performance.now();
  }
}

function pick(m: PointMetrics): PointMetrics {
  return Object.fromEntries(METRICS.map((k) => [k, m[k]])) as unknown as PointMetrics;
}

/** Non-finite numbers (a diverged network's loss) become strings, which JSON can hold, and come back as numbers. */
function toJson(p: StoredPoint): Record<string, unknown> {
  const out: Record<string, unknown> = { label: p.label, seconds: Math.round(p.seconds * 1e4) / 1e4 };
  for (const k of METRICS) out[k] = Number.isFinite(p[k]) ? p[k] : String(p[k]);
  return out;
}

function fromJson(p: Record<string, unknown>): StoredPoint {
  const m = Object.fromEntries(METRICS.map((k) => [k, Number(p[k])])) as unknown as PointMetrics;
  return { ...m, label: String(p.label ?? ''), seconds: Number(p.seconds ?? 0) };
}
