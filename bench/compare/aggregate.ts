// Medians over the comparison's interleaved rounds: one figure's results (one per round) become its median with the
// min–max spread, and for a peer measured at several thread counts, the count whose median is highest wins.

import type { FigureResult } from './figures.ts';

/** A figure over its rounds. `value` is the median of the measured rounds (or the tightest bound if all ran out). */
export interface Summary extends FigureResult {
  /** Rounds this figure was run in. */
  rounds: number;
  /** The measured values, in round order (rounds that failed or ran out of time left out). */
  samples: number[];
  min?: number;
  max?: number;
  /** Rounds that ended in an error, and rounds that ran out of their time budget. */
  failed: number;
  timedOut: number;
  /** For a peer swept over thread counts: the count whose median won, and every count's summary. */
  threads?: number;
  byThreads?: Record<string, Summary>;
}

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median: no values');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Summarises one figure's results over rounds: the median and spread of the measured ones. */
export function summarize(id: string, runs: readonly FigureResult[]): Summary {
  const measured = runs.filter((r) => r.error === undefined && r.value !== undefined && !r.bound);
  const bounded = runs.filter((r) => r.error === undefined && r.value !== undefined && r.bound);
  const failed = runs.filter((r) => r.error !== undefined);
  const base = { id, rounds: runs.length, failed: failed.length, timedOut: bounded.length };
  if (measured.length) {
    const samples = measured.map((r) => r.value as number);
    const detail = runs
      .map((r, k) => `round ${k + 1}: ${r.error ? 'error' : (r.detail ?? String(r.value))}`)
      .join('; ');
    return { ...base, value: median(samples), samples, min: Math.min(...samples), max: Math.max(...samples), detail };
  }
  if (bounded.length) {
    // Every round ran out of time: the rate is below each round's bound, so below the smallest.
    const value = Math.min(...bounded.map((r) => r.value as number));
    return { ...base, value, bound: '<', samples: [], detail: bounded[0].detail };
  }
  return { ...base, samples: [], error: failed[0]?.error ?? 'not run' };
}

/** Measured medians rank above bounds, bounds above errors; within a kind the higher value wins. */
function rank(s: Summary): [number, number] {
  if (s.error !== undefined || s.value === undefined) return [0, 0];
  return [s.bound ? 1 : 2, s.value];
}

/**
 * The best of one figure's summaries at several thread counts (keyed by the count): the one with the highest median,
 * labelled with its thread count and carrying every count's summary.
 */
export function bestOfThreads(byThreads: ReadonlyMap<number, Summary>): Summary {
  let best: [number, Summary] | null = null;
  for (const [t, s] of byThreads) {
    const [kind, value] = rank(s);
    if (!best || kind > rank(best[1])[0] || (kind === rank(best[1])[0] && value > rank(best[1])[1])) best = [t, s];
  }
  if (!best) throw new Error('bestOfThreads: no thread counts');
  const all = Object.fromEntries([...byThreads].map(([t, s]) => [String(t), s]));
  return { ...best[1], threads: best[0], byThreads: all };
}
