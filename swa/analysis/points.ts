// Evaluating points through the store: a point's weights are built, keyed by content, looked up, and evaluated only
// when new; progress with points per second; a raised signal stops between points after saving what was done.

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../nn/atomic-file.ts';
import { Progress } from '../../nn/progress.ts';
import { METRICS, type PointEvaluator, type PointMetrics } from './evaluate.ts';
import type { PointStore } from './store.ts';
import { contentKey, type HostTensors } from './weights.ts';

/** What every analysis needs: the evaluator, the store, and how to report. */
export interface AnalysisContext {
  evaluator: PointEvaluator;
  store: PointStore;
  /** Folder for cached test-set probabilities (the FGE comparison's predictions). */
  predictionsDir: string;
  /** Progress bars on stderr [true]. */
  progress?: boolean;
  log?: (line: string) => void;
  /** Checked after every point: when aborted, the analysis saves its points and throws `AnalysisInterrupted`. */
  signal?: AbortSignal;
  /** Called after every point, evaluated or found in the store. */
  onPoint?: (p: { label: string; key: string; computed: boolean }) => void;
  /** Running totals over the context's life: points evaluated and their wall seconds. */
  stats: { computed: number; reused: number; seconds: number };
}

/** A point to evaluate: a label and a function building its flat weights (called once, just before it is needed). */
export interface PointSpec {
  label: string;
  weights: () => Float32Array;
  /** Buffers as saved (an FGE snapshot): used instead of recomputing BN statistics. */
  buffers?: HostTensors;
}

/** Thrown when the signal stops an analysis; every point evaluated until then is in the store. */
export class AnalysisInterrupted extends Error {
  constructor(readonly done: number) {
    super(`interrupted after ${done} new point(s), all saved; rerun the same command to continue`);
    this.name = 'AnalysisInterrupted';
  }
}

/** The store key of a point: its weights' content (and buffers' when given) and how BN statistics were obtained. */
export function pointKey(w: Float32Array, buffers?: HostTensors): string {
  if (!buffers) return `${contentKey(w)}-bn`;
  const names = [...buffers.keys()].sort();
  return `${contentKey(w, ...names.map((n) => buffers.get(n)!.data))}-saved`;
}

/**
 * Metrics of every point, in order: those in the store are reused, the others evaluated and stored. Shows a progress
 * bar titled `title` with the rate of newly evaluated points. With `probs`, the test-set probabilities are cached too
 * (for points that `predictPoint` will ask for again).
 */
export async function evaluatePoints(
  ctx: AnalysisContext,
  title: string,
  points: readonly PointSpec[],
  opts: { probs?: boolean } = {},
): Promise<PointMetrics[]> {
  const bar = new Progress(title, points.length, ctx.progress ?? true);
  const out: PointMetrics[] = [];
  let fresh = 0;
  let seconds = 0;
  for (const p of points) {
    const r = await evaluateOne(ctx, p, opts.probs ?? false);
    out.push(r.metrics);
    if (r.seconds !== undefined) {
      fresh++;
      seconds += r.seconds;
    }
    bar.update(out.length, fresh ? { 'pts/s': fresh / seconds } : {});
  }
  bar.done(
    `${points.length} points, ${fresh} evaluated${fresh ? ` at ${(fresh / seconds).toFixed(2)} points/s` : ''}, ` +
      `${points.length - fresh} from the store`,
  );
  return out;
}

/**
 * One point with its test-set probabilities (cached as raw float32 files beside the store, so the FGE comparison is
 * resumable too).
 */
export async function predictPoint(
  ctx: AnalysisContext,
  p: PointSpec,
): Promise<{ metrics: PointMetrics; probs: Float32Array }> {
  const r = await evaluateOne(ctx, p, true);
  return { metrics: r.metrics, probs: r.probs! };
}

async function evaluateOne(
  ctx: AnalysisContext,
  p: PointSpec,
  withProbs: boolean,
): Promise<{ metrics: PointMetrics; probs?: Float32Array; seconds?: number }> {
  const w = p.weights();
  const key = pointKey(w, p.buffers);
  const test = ctx.evaluator.sets.test;
  const probsPath = join(ctx.predictionsDir, `${key}.f32`);
  const stored = ctx.store.has(key) ? ctx.store.get(key) : undefined;
  let probs: Float32Array | undefined;
  if (stored && withProbs && existsSync(probsPath)) {
    const bytes = await readFile(probsPath);
    if (bytes.length === test.n * test.classes * 4)
      probs = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  }
  if (stored && (!withProbs || probs)) {
    ctx.stats.reused++;
    ctx.onPoint?.({ label: p.label, key, computed: false });
    checkSignal(ctx);
    return { metrics: Object.fromEntries(METRICS.map((k) => [k, stored[k]])) as unknown as PointMetrics, probs };
  }
  const t0 = performance.now();
  const r = await ctx.evaluator.evaluate(w, { buffers: p.buffers, probs: withProbs });
  const seconds = (performance.now() - t0) / 1000;
  if (withProbs) {
    await mkdir(ctx.predictionsDir, { recursive: true });
    const f = r.testProbs!;
    await writeFileAtomic(probsPath, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
  }
  await ctx.store.put(key, p.label, r.metrics, seconds);
  ctx.stats.computed++;
  ctx.stats.seconds += seconds;
  ctx.onPoint?.({ label: p.label, key, computed: true });
  checkSignal(ctx);
  return { metrics: r.metrics, probs: r.testProbs, seconds };
}

function checkSignal(ctx: AnalysisContext): void {
  if (ctx.signal?.aborted) throw new AnalysisInterrupted(ctx.stats.computed);
}

/** Mean, sample standard deviation, min and max of the finite values, and how many of all there were. */
export interface Summary {
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  /** Values that were found (finite), of `of`. */
  count: number;
  of: number;
}

/** The `Summary` of `values`; nulls (a width not reached) and non-finite values count in `of` only. */
export function summarize(values: readonly (number | null)[]): Summary {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  const of = values.length;
  if (v.length === 0) return { mean: null, std: null, min: null, max: null, count: 0, of };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, min: Math.min(...v), max: Math.max(...v), count: v.length, of };
}
