// What a finished SGD-vs-SWA run means, in one or two sentences computed from its numbers: whether SWA beat SGD, by
// how much, and how that compares with the seed-to-seed spread. Shared by `npm start` and the page; no DOM, no Node.

/** One run's test accuracy (a fraction in [0, 1]): the fields of the runner's RunRecord that the verdict reads. */
export interface AccuracyRecord {
  method: string;
  budget: number;
  seed: number;
  accuracy: number;
}

/** The verdict's numbers: the paired SWA − SGD differences per seed (in points) and how they compare. */
export interface Verdict {
  /** Seeds with both an SGD (1 budget) and an SWA run at `swaBudget`. */
  seeds: number;
  swaBudget: number;
  /** Mean of SWA − SGD over the seeds, in percentage points. */
  gain: number;
  /** Sample std of the paired differences (NaN for one seed). */
  spread: number;
  /** gain / (spread / √seeds): the paired t statistic (NaN for one seed). */
  t: number;
  /** Seeds where SWA's accuracy was above SGD's. */
  wins: number;
  /** Mean FGE − SWA at 1 budget in points (NaN without FGE runs). */
  fgeMinusSwa: number;
  text: string;
}

const pts = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) * (x - m), 0) / (xs.length - 1));
}

/** The accuracy of `method` at `budget` per seed, in points. */
function bySeed(records: readonly AccuracyRecord[], method: string, budget: number): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of records) if (r.method === method && r.budget === budget) m.set(r.seed, 100 * r.accuracy);
  return m;
}

/**
 * Compares SWA at `swaBudget` budgets (Table 1's longest, 1.5, by default) with the SGD baseline, seed by seed (the
 * runs of one seed share the SGD trajectory up to the branch, so the differences are paired), and FGE with SWA at
 * one budget (the paper's §3.5: SWA approximates FGE's ensemble with one model).
 * The gain is called clear when the paired t statistic is at least 2 in size, else within the spread.
 * @example verdict(result.records).text // "SWA (1.5 budgets) beat SGD in 3 of 3 seeds, by +0.41 points …"
 */
export function verdict(records: readonly AccuracyRecord[], swaBudget = 1.5): Verdict {
  const sgd = bySeed(records, 'SGD', 1);
  const swa = bySeed(records, 'SWA', swaBudget);
  const diffs = [...sgd.keys()].filter((s) => swa.has(s)).map((s) => swa.get(s)! - sgd.get(s)!);
  if (diffs.length === 0)
    throw new Error(`verdict: no seed has both an SGD run and an SWA run at ${swaBudget} budgets`);
  const n = diffs.length;
  const gain = mean(diffs);
  const spread = sampleStd(diffs);
  const t = n > 1 ? gain / (spread / Math.sqrt(n)) : NaN;
  const wins = diffs.filter((d) => d > 0).length;
  const fge = bySeed(records, 'FGE', 1);
  const swa1 = bySeed(records, 'SWA', 1);
  const fgeDiffs = [...fge.keys()].filter((s) => swa1.has(s)).map((s) => fge.get(s)! - swa1.get(s)!);
  const fgeMinusSwa = fgeDiffs.length ? mean(fgeDiffs) : NaN;

  const budget = `SWA (${swaBudget} budget${swaBudget === 1 ? '' : 's'})`;
  // Differences below half the printed precision (0.01 points) count as ties.
  const tied = Math.abs(gain) < 0.005;
  const verb = tied ? 'matched' : gain > 0 ? 'beat' : 'trailed';
  let first: string;
  if (n === 1) {
    first =
      `${budget} ${verb} SGD${tied ? '' : ` by ${pts(gain)} points`} on one seed; with a single seed there is ` +
      'no spread to compare it with (run more seeds to tell a gain from noise).';
  } else {
    const same = spread === 0;
    const clear = !tied && (same || Math.abs(t) >= 2);
    const size = same ? 'the same difference in every seed' : `${Math.abs(t).toFixed(1)} standard errors`;
    const count = gain >= 0 ? wins : diffs.filter((d) => d < 0).length;
    first =
      `${budget} ${verb} SGD${tied ? ':' : ` in ${count} of ${n} seeds, by`} ${pts(gain)} points on average ` +
      `(paired std ${spread.toFixed(2)}, so ${size}): ` +
      (clear
        ? `a clear ${gain > 0 ? 'gain' : 'loss'} at this scale.`
        : 'within the seed-to-seed spread at this scale.');
  }
  const second = Number.isNaN(fgeMinusSwa)
    ? ''
    : ` At one budget FGE's ensemble of snapshots scored ${Math.abs(fgeMinusSwa).toFixed(2)} points ` +
      `${fgeMinusSwa >= 0 ? 'above' : 'below'} SWA's single averaged model (§3.5 of the paper: SWA approximates ` +
      'the FGE ensemble with one model).';
  return { seeds: n, swaBudget, gain, spread, t, wins, fgeMinusSwa, text: first + second };
}
