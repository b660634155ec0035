// The three training phases of one seed for Table 1: the SGD baseline (saving the branch point at swaStart), SWA with
// SWAG collecting at the same captures, and FGE; each checkpoints at every epoch end and resumes from there.

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { globalGenerator, type Tensor } from '../engine/index.ts';
import { checkFiniteMetrics } from '../nn/finite.ts';
import type { Module } from '../nn/module.ts';
import { Progress } from '../nn/progress.ts';
import { AveragedModel } from './averaged-model.ts';
import { updateBn } from './bn-update.ts';
import { FgeEnsemble } from './fge.ts';
import type { Table1Plan } from './runner-config.ts';
import { checkPhaseMeta, readResult } from './runner-check.ts';
import { capturesWhat } from './runner-plan.ts';
import {
  packAverage,
  packFge,
  packSwag,
  phasePaths,
  unpackAverage,
  unpackFge,
  unpackSwag,
  writeJson,
} from './runner-state.ts';
import {
  bnBatches,
  evalAverage,
  evalModel,
  metricsOf,
  mixSeed,
  trainEpoch,
  type EpochRecord,
  type TestMetrics,
} from './runner-train.ts';
import { bench, epochDone, log, pct, restore, save, skipped, workbench, type PhaseMeta } from './runner-workbench.ts';
import { Swag } from './swag.ts';

/** The SGD run: one record per epoch (each with its test metrics); its result is the final model's. */
export interface SgdResult {
  history: EpochRecord[];
  final: TestMetrics;
  /** Wall seconds of the whole run, and of its first swaStart epochs (the part SWA and FGE share). */
  seconds: number;
  branchSeconds: number;
}

/** One evaluation of w_SWA after `epoch` completed epochs, over `n` captured models. */
export interface SwaEvaluation {
  epoch: number;
  n: number;
  test: TestMetrics;
}

/** The SWA run at one budget point (and SWAG there, when evaluated). Seconds include the shared SGD epochs. */
export interface SwaPoint {
  budget: number;
  epochs: number;
  n: number;
  test: TestMetrics;
  seconds: number;
  swag?: { test: TestMetrics; samples: number; seconds: number };
}

/** The SWA run: the iterates' per-epoch records (test metrics of the SGD iterate), w_SWA's evaluations, the points. */
export interface SwaResult {
  history: (EpochRecord & { captured: boolean })[];
  evaluations: SwaEvaluation[];
  points: SwaPoint[];
  /** Captures made in all. */
  n: number;
}

/** The FGE run: snapshots taken and the ensemble's test metrics at 1 budget. */
export interface FgeResult {
  history: EpochRecord[];
  snapshots: number;
  test: TestMetrics;
  seconds: number;
}

interface SwaMeta extends PhaseMeta<EpochRecord & { captured: boolean }> {
  n: number;
  evaluations: SwaEvaluation[];
  points: SwaPoint[];
}

interface FgeMeta extends PhaseMeta<EpochRecord> {
  snapshots: number;
}

const noBeat = (): void => undefined;

/** What a divergence in the epoch after `epochsDone` leaves on disk, for its error message. */
function keptLine(paths: { state: string }, epochsDone: number, fresh: boolean, from?: string): string {
  if (!fresh) return `${paths.state} (after epoch ${epochsDone}) is kept`;
  return `nothing of this phase was saved${from ? `; ${from} is kept` : ''}`;
}

/** Test metrics as `checkFiniteMetrics` takes them. */
const named = (what: string, t: TestMetrics): Record<string, number> => ({
  [`${what} accuracy`]: t.accuracy,
  [`${what} NLL`]: t.nll,
  [`${what} ECE`]: t.ece,
});

/**
 * The SGD baseline for B epochs at `sgdBaselineLr((epoch + fraction)/B, lr)`, evaluated on the test set after every
 * epoch; saves the branch checkpoint at the end of epoch swaStart − 1. Skipped when its result file exists.
 */
export async function runSgd(plan: Table1Plan, seed: number, beat = noBeat): Promise<SgdResult> {
  const paths = phasePaths(plan.options.out, seed, 'sgd');
  const done = await readResult<SgdResult>('sgd', paths.result, plan);
  if (done) return skipped(plan, seed, 'SGD', done);
  await mkdir(paths.dir, { recursive: true });
  const w = workbench(plan, seed);
  try {
    let meta: Omit<PhaseMeta<EpochRecord>, 'loader' | 'rng'> & { branchSeconds: number } = {
      epochsDone: 0,
      history: [],
      seconds: 0,
      branchSeconds: 0,
    };
    const fresh = !existsSync(paths.state);
    if (!fresh) {
      const check = (m: unknown): void => checkPhaseMeta(m, 'sgd', plan, paths.state);
      meta = (await restore<PhaseMeta<EpochRecord> & { branchSeconds: number }>(paths.state, w, check)).meta;
      log(plan, `seed ${seed} SGD: resuming after epoch ${meta.epochsDone}`);
    } else {
      globalGenerator.seed(mixSeed([seed, 3]));
    }
    for (let e = meta.epochsDone; e < plan.budget; e++) {
      const t0 = performance.now();
      const r = await trainEpoch({
        ...bench(plan, w),
        schedule: plan.sgdSchedule,
        epoch: e,
        label: `seed ${seed} SGD epoch ${e + 1}/${plan.budget}`,
        where: `seed ${seed} SGD`,
        previousLoss: meta.history[meta.history.length - 1]?.trainLoss,
        kept: keptLine(paths, e, fresh && e === 0),
        beat,
      });
      const test = await evalModel(w.model, plan);
      const kept = keptLine(paths, e, fresh && e === 0);
      checkFiniteMetrics(named('test', test), { where: `seed ${seed} SGD`, epoch: e + 1, kept });
      meta.history.push({ ...r, test });
      meta.epochsDone = e + 1;
      meta.seconds += (performance.now() - t0) / 1000;
      if (e + 1 === plan.swaStart) {
        meta.branchSeconds = meta.seconds;
        await save(paths.branch, w, meta, undefined, `seed ${seed} SGD`);
      }
      await save(paths.state, w, meta, undefined, `seed ${seed} SGD`);
      log(plan, `seed ${seed} SGD epoch ${e + 1}: test acc ${pct(test.accuracy)} nll ${test.nll.toFixed(4)}`);
      epochDone(plan, seed, 'sgd', e + 1);
    }
    const last = meta.history[meta.history.length - 1].test!;
    const result: SgdResult = {
      history: meta.history,
      final: last,
      seconds: meta.seconds,
      branchSeconds: meta.branchSeconds,
    };
    await writeJson(paths.result, result);
    return result;
  } finally {
    w.dispose();
  }
}

/**
 * SWA from the SGD branch point (ŵ at the end of epoch swaStart − 1) with the constant or cyclical rate, capturing by
 * the plan's rule (ŵ first, as Algorithm 1's w_SWA ← ŵ), SWAG collecting at the same captures; w_SWA is evaluated
 * (BN refreshed) every epoch or at the budget points only, SWAG at its budget points.
 */
export async function runSwa(plan: Table1Plan, seed: number, sgd: SgdResult, beat = noBeat): Promise<SwaResult> {
  const o = plan.options;
  const paths = phasePaths(o.out, seed, 'swa');
  const done = await readResult<SwaResult>('swa', paths.result, plan);
  if (done) return skipped(plan, seed, 'SWA', done);
  await mkdir(paths.dir, { recursive: true });
  const w = workbench(plan, seed);
  const avg = new AveragedModel(w.model);
  const swag = plan.swagSamples > 0 ? new Swag(w.model, { maxRank: plan.swagRank }) : null;
  const capture = (): void => {
    avg.updateParameters(w.model);
    swag?.collect(w.model);
  };
  try {
    let meta: Omit<SwaMeta, 'loader' | 'rng'>;
    const fresh = !existsSync(paths.state);
    const branch = phasePaths(o.out, seed, 'sgd').branch;
    if (!fresh) {
      const r = await restore<SwaMeta>(paths.state, w, (m) => checkPhaseMeta(m, 'swa', plan, paths.state));
      meta = r.meta;
      unpackAverage(avg, r.extra, meta.n, paths.state);
      if (swag) unpackSwag(swag, r.extra, meta.n, o.device, paths.state);
      log(plan, `seed ${seed} SWA: resuming after epoch ${meta.epochsDone} (${meta.n} models averaged)`);
    } else {
      const r = await restore<PhaseMeta<EpochRecord>>(branch, w, (m) => checkPhaseMeta(m, 'sgd', plan, branch, true));
      const captured = capturesWhat(plan.swaCapture, plan.swaStart, plan.itersPerEpoch);
      if (captured) capture();
      const start = { ...r.meta.history[plan.swaStart - 1], captured };
      meta = { epochsDone: plan.swaStart, history: [start], seconds: 0, n: avg.nAveraged, evaluations: [], points: [] };
    }
    for (let e = meta.epochsDone; e < plan.swaEnd; e++) {
      const t0 = performance.now();
      const ipe = plan.itersPerEpoch;
      let capturedLast = false;
      const r = await trainEpoch({
        ...bench(plan, w),
        schedule: plan.swaSchedule,
        epoch: e,
        label: `seed ${seed} SWA epoch ${e + 1}/${plan.swaEnd}`,
        where: `seed ${seed} SWA`,
        previousLoss: meta.history[meta.history.length - 1]?.trainLoss,
        kept: keptLine(paths, e, fresh && e === plan.swaStart, `the SGD branch point ${branch}`),
        beat,
        afterStep: (i) => {
          const hit = plan.swaCapture.atIteration(i, ipe);
          if (hit) capture();
          capturedLast = hit && i === (e + 1) * ipe;
        },
      });
      if (plan.swaCapture.atEpochEnd(e)) {
        capture();
        capturedLast = true;
      }
      const test = await evalModel(w.model, plan);
      const at = {
        where: `seed ${seed} SWA`,
        epoch: e + 1,
        kept: keptLine(paths, e, fresh && e === plan.swaStart, `the SGD branch point ${branch}`),
      };
      checkFiniteMetrics(named('test', test), at);
      meta.history.push({ ...r, test, captured: capturedLast });
      const points = plan.points.filter((p) => p.epochs === e + 1);
      let line = `seed ${seed} SWA epoch ${e + 1}: iterate acc ${pct(test.accuracy)}`;
      if (plan.swaEval === 'epoch' || points.length) {
        const swaTest = await evalAverage(avg, plan, [seed, 4, e], beat);
        checkFiniteMetrics(named('w_SWA test', swaTest), at);
        meta.evaluations.push({ epoch: e + 1, n: avg.nAveraged, test: swaTest });
        line += ` | SWA (n=${avg.nAveraged}) acc ${pct(swaTest.accuracy)} nll ${swaTest.nll.toFixed(4)}`;
        let swagResult: SwaPoint['swag'];
        if (swag && points.some((p) => plan.swagBudgets.includes(p.budget))) {
          swagResult = await evalSwag(plan, w.model, swag, seed, e, beat);
          const t = swagResult.test;
          checkFiniteMetrics(named('SWAG test', t), at);
          line += ` | SWAG acc ${pct(t.accuracy)} nll ${t.nll.toFixed(4)} ece ${t.ece.toFixed(4)}`;
        }
        // The phase's time leaves SWAG's evaluations out (a SWAG record adds its own back).
        meta.seconds += (performance.now() - t0) / 1000 - (swagResult?.seconds ?? 0);
        for (const p of points) {
          const swagHere = plan.swagBudgets.includes(p.budget) ? swagResult : undefined;
          const seconds = sgd.branchSeconds + meta.seconds;
          meta.points.push({ ...p, n: avg.nAveraged, test: swaTest, seconds, ...(swagHere ? { swag: swagHere } : {}) });
        }
      } else {
        meta.seconds += (performance.now() - t0) / 1000;
      }
      meta.epochsDone = e + 1;
      meta.n = avg.nAveraged;
      const extra = new Map<string, Tensor>();
      packAverage(avg, extra);
      if (swag) packSwag(swag, extra);
      await save(paths.state, w, meta, extra, `seed ${seed} SWA`);
      log(plan, line);
      epochDone(plan, seed, 'swa', e + 1);
    }
    const result: SwaResult = { history: meta.history, evaluations: meta.evaluations, points: meta.points, n: meta.n };
    await writeJson(paths.result, result);
    return result;
  } finally {
    swag?.dispose();
    avg.dispose();
    w.dispose();
  }
}

/** SWAG's Bayesian model average over S samples, each with a BN refresh on `swagBnBatches` training batches. */
async function evalSwag(
  plan: Table1Plan,
  model: Module,
  swag: Swag,
  seed: number,
  epoch: number,
  beat: () => void,
): Promise<NonNullable<SwaPoint['swag']>> {
  const o = plan.options;
  const t0 = performance.now();
  const bar = new Progress(`seed ${seed} SWAG samples`, plan.swagSamples, o.progress ?? true);
  let k = 0;
  const r = await swag.evaluate(model, o.test, o.device, {
    samples: plan.swagSamples,
    scale: plan.swagScale,
    seed: mixSeed([seed, 5, epoch]),
    normalize: o.normalize,
    refreshBn: (m) => {
      const batches = bnBatches(plan, [seed, 6, epoch, k], plan.swagBnBatches, beat);
      updateBn(batches, m, { weighting: 'samples', device: o.device });
      bar.update(++k);
    },
  });
  const test = metricsOf(r, o.test.classes);
  const seconds = (performance.now() - t0) / 1000;
  bar.done(`acc ${pct(test.accuracy)} nll ${test.nll.toFixed(4)} ece ${test.ece.toFixed(4)} | ${seconds.toFixed(1)} s`);
  return { test, samples: plan.swagSamples, seconds };
}

/**
 * FGE from the SGD branch point to B epochs with the triangular cyclic rate, a snapshot at each cycle's minimum;
 * the ensemble (mean of the snapshots' softmax) is evaluated at the end.
 */
export async function runFge(plan: Table1Plan, seed: number, sgd: SgdResult, beat = noBeat): Promise<FgeResult> {
  const o = plan.options;
  const paths = phasePaths(o.out, seed, 'fge');
  const done = await readResult<FgeResult>('fge', paths.result, plan);
  if (done) return skipped(plan, seed, 'FGE', done);
  await mkdir(paths.dir, { recursive: true });
  const w = workbench(plan, seed);
  const fge = new FgeEnsemble('device');
  try {
    let meta: Omit<FgeMeta, 'loader' | 'rng'>;
    const fresh = !existsSync(paths.state);
    const branch = phasePaths(o.out, seed, 'sgd').branch;
    if (!fresh) {
      const r = await restore<FgeMeta>(paths.state, w, (m) => checkPhaseMeta(m, 'fge', plan, paths.state));
      meta = r.meta;
      unpackFge(fge, r.extra, meta.snapshots, o.device, w.model, paths.state);
      log(plan, `seed ${seed} FGE: resuming after epoch ${meta.epochsDone} (${meta.snapshots} snapshots)`);
    } else {
      await restore(branch, w, (m) => checkPhaseMeta(m, 'sgd', plan, branch, true));
      meta = { epochsDone: plan.swaStart, history: [], seconds: 0, snapshots: 0 };
    }
    for (let e = meta.epochsDone; e < plan.budget; e++) {
      const t0 = performance.now();
      const r = await trainEpoch({
        ...bench(plan, w),
        schedule: plan.fgeSchedule,
        epoch: e,
        label: `seed ${seed} FGE epoch ${e + 1}/${plan.budget}`,
        where: `seed ${seed} FGE`,
        previousLoss: meta.history[meta.history.length - 1]?.trainLoss,
        kept: keptLine(paths, e, fresh && e === plan.swaStart, `the SGD branch point ${branch}`),
        beat,
        afterStep: async (i) => {
          if (plan.fgeCapture.atIteration(i, plan.itersPerEpoch)) await fge.add(w.model);
        },
      });
      if (plan.fgeCapture.atEpochEnd(e)) await fge.add(w.model);
      meta.history.push(r);
      meta.epochsDone = e + 1;
      meta.snapshots = fge.size;
      meta.seconds += (performance.now() - t0) / 1000;
      const extra = new Map<string, Tensor>();
      packFge(fge, extra);
      await save(paths.state, w, meta, extra, `seed ${seed} FGE`);
      log(plan, `seed ${seed} FGE epoch ${e + 1}: ${fge.size} snapshot(s)`);
      epochDone(plan, seed, 'fge', e + 1);
    }
    const t0 = performance.now();
    const test = metricsOf(await fge.evaluate(w.model, o.test, o.device, { normalize: o.normalize }), o.test.classes);
    const kept = `${paths.state} (after epoch ${meta.epochsDone}) is kept`;
    checkFiniteMetrics(named('FGE ensemble test', test), { where: `seed ${seed} FGE`, epoch: meta.epochsDone, kept });
    const seconds = sgd.branchSeconds + meta.seconds + (performance.now() - t0) / 1000;
    const result: FgeResult = { history: meta.history, snapshots: fge.size, test, seconds };
    log(plan, `seed ${seed} FGE ensemble of ${fge.size}: acc ${pct(test.accuracy)} nll ${test.nll.toFixed(4)}`);
    await writeJson(paths.result, result);
    return result;
  } finally {
    fge.dispose();
    w.dispose();
  }
}
