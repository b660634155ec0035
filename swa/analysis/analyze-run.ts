// Runs the geometry analyses of the SWA paper on one seed of a Table 1 runner folder: the model is rebuilt from the
// run's settings, the solutions read, points evaluated through the resumable store, figures and tables written.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Generator } from '../../engine/index.ts';
import { writeFileAtomic } from '../../nn/atomic-file.ts';
import { createModel } from '../../nn/models/index.ts';
import type { Module } from '../../nn/module.ts';
import { PointEvaluator, subset, type PointMetrics } from './evaluate.ts';
import { fgeVsSwa, type FgeVsSwaResult } from './fge-vs-swa.ts';
import { lineFigure, planeFigure, raysFigure } from './figures.ts';
import {
  AnalysisConfigError,
  planAnalysis,
  roundTo2,
  type AnalysisName,
  type AnalyzeOptions,
  type PlaneCase,
} from './options.ts';
import { plane, type PlaneResult } from './plane.ts';
import { evaluatePoints, type AnalysisContext } from './points.ts';
import { line, rays, type LineResult, type NamedWeights, type RaysResult } from './rays-line.ts';
import { readRunSettings, readRunSolutions, RunFolderProblem, runSeeds, type RunSolutions } from './run-folder.ts';
import { PointStore } from './store.ts';
import { fgeCsv, lineCsv, planeCsv, rayWidthsCsv, raysCsv, summaryMarkdown } from './tables.ts';
import { acquireLock, lockPath } from '../runner-lock.ts';
import { mixSeed } from '../runner-train.ts';
import { combine, distance, norm, paramLayout } from './weights.ts';

/** What `analyzeRun` found and wrote. */
export interface AnalysisReport {
  out: string;
  seed: number;
  files: string[];
  solutions: { name: string; metrics: PointMetrics }[];
  rays?: RaysResult;
  line?: LineResult;
  planes: PlaneResult[];
  fge?: FgeVsSwaResult;
  /** Points evaluated now, points found in the store, and the evaluation seconds (points/s = computed / seconds). */
  stats: { computed: number; reused: number; seconds: number; pointsPerSecond: number | null; wallSeconds: number };
  notes: string[];
}

/**
 * The geometry of a run (Izmailov et al., 2018, §3.4–3.5, Figures 1, 3, 4 and 5, https://arxiv.org/abs/1803.05407):
 * rays from w_SGD and w_SWA, the line through them, planes through three FGE snapshots and through (start, SGD,
 * SWA), and SWA against the FGE ensemble. Every point gets BN statistics recomputed on a fixed subset of training
 * images and is measured on fixed train and test subsets; points are stored by the content of their weights in
 * `<out>/points.json`, so a rerun (after a kill, or with more directions or a finer grid) evaluates only new points.
 * @example
 * const r = await analyzeRun({ run: 'runs/table1', train, test, device, quick: true });
 * console.log(r.files, r.stats.pointsPerSecond);
 */
export async function analyzeRun(o: AnalyzeOptions): Promise<AnalysisReport> {
  const t0 = performance.now();
  const plan = planAnalysis(o);
  const log = o.log ?? console.log;
  const settings = await readRunSettings(o.run);
  const seeds = runSeeds(o.run);
  const seed = o.seed ?? seeds[0];
  if (seed === undefined) throw new RunFolderProblem(`${o.run}: no seed-<n> folders, so the run has not started`);
  const [c, h] = settings.train.shape;
  if (o.train.shape.some((v, i) => v !== settings.train.shape[i]) || o.train.classes !== settings.train.classes) {
    throw new RunFolderProblem(
      `${o.run}: the run's images are [${settings.train.shape}] in ${settings.train.classes} classes, ` +
        `the data given are [${o.train.shape}] in ${o.train.classes}`,
    );
  }
  const generator = new Generator(mixSeed([seed, 7]));
  const spec = {
    inChannels: c,
    size: h,
    classes: settings.train.classes,
    width: settings.width ?? undefined,
    device: o.device,
    generator,
  };
  let model: Module;
  try {
    model = (o.modelFactory ?? ((s) => createModel(settings.model, s)))(spec);
  } catch (e) {
    throw new RunFolderProblem(
      `${o.run}/settings.json: cannot build model '${settings.model}': ${(e as Error).message}`,
    );
  }
  // --quick gets a folder of its own: its points, on other subsets, could not share the full analysis' store.
  const out = o.out ?? join(o.run, 'analysis', o.quick ? `seed-${seed}-quick` : `seed-${seed}`);
  try {
    const layout = paramLayout(model);
    const sol = await readRunSolutions(o.run, seed, layout, settings);
    const todo = choose(plan.analyses, plan.planes, sol);
    await mkdir(out, { recursive: true });
    // One analysis per output folder at a time: a second process would redo the points and overwrite the store.
    const lock = await acquireLock(lockPath(out), {
      what: `the analysis in ${out}`,
      log,
      advice: 'Wait for it, give another --out, or delete the lock file if that process is gone for good',
    });
    try {
      const sets = {
        bn: subset(o.train, plan.bnImages, mixSeed([plan.subsetSeed, 1])),
        train: subset(o.train, plan.trainImages, mixSeed([plan.subsetSeed, 2])),
        test: subset(o.test, plan.testImages, mixSeed([plan.subsetSeed, 3])),
      };
      const bnBatchSize = plan.bnBatchSize ?? 128;
      const evaluator = new PointEvaluator(model, layout, sets, {
        device: o.device,
        normalize: settings.normalize ?? undefined,
        bnBatchSize,
        evalBatchSize: plan.evalBatchSize,
        weightDecay: settings.weightDecay,
        generator,
        seed: mixSeed([seed, 8]),
      });
      const fingerprint = {
        model: settings.model,
        width: settings.width,
        dataset: settings.dataset,
        seed,
        device: o.device.name,
        parameters: layout.size,
        bn: { images: sets.bn.n, batch: bnBatchSize },
        train: sets.train.n,
        test: sets.test.n,
        subsetSeed: plan.subsetSeed,
        evalBatch: plan.evalBatchSize,
        weightDecay: settings.weightDecay,
        normalize: settings.normalize,
      };
      const store = await PointStore.open(join(out, 'points.json'), fingerprint, {
        fresh: o.fresh,
        flushSeconds: plan.flushSeconds,
      });
      const ctx: AnalysisContext = {
        evaluator,
        store,
        predictionsDir: join(out, 'predictions'),
        progress: o.progress,
        log,
        signal: o.signal,
        onPoint: o.onPoint,
        stats: { computed: 0, reused: 0, seconds: 0 },
      };
      log(
        `analysis of ${o.run} seed ${seed}: ${settings.model} (${layout.size} weights) on ${settings.dataset}; ` +
          `BN from ${sets.bn.n} train images (batch ${bnBatchSize}), ` +
          `metrics on ${sets.train.n} train / ${sets.test.n} test images; ` +
          `${todo.analyses.join(', ')}; ${store.loaded} points already in ${store.path}`,
      );
      const files: string[] = [];
      const write = async (name: string, text: string): Promise<void> => {
        const path = join(out, name);
        await writeFileAtomic(path, new TextEncoder().encode(text));
        files.push(path);
      };
      const json = (v: unknown): string => `${JSON.stringify(v, null, 1)}\n`;
      const meta = { run: o.run, seed, model: settings.model, dataset: settings.dataset, evaluation: fingerprint };
      try {
        const named: NamedWeights[] = [
          { name: 'SGD', weights: sol.sgd },
          { name: 'SWA', weights: sol.swa },
          { name: 'SWA start', weights: sol.start },
        ];
        const fgeMean = sol.fge.length
          ? combine(sol.fge.map((s) => [1 / sol.fge.length, s.weights] as const))
          : undefined;
        if (fgeMean) named.push({ name: 'FGE average', weights: fgeMean });
        const own = await evaluatePoints(
          ctx,
          'solutions',
          named.map((n) => ({ label: n.name, weights: () => n.weights })),
          { probs: true },
        );
        const solutions = named.map((n, k) => ({ name: n.name, metrics: own[k] }));
        const report: AnalysisReport = {
          out,
          seed,
          files,
          solutions,
          planes: [],
          stats: { computed: 0, reused: 0, seconds: 0, pointsPerSecond: null, wallSeconds: 0 },
          notes: [...sol.notes, ...todo.notes],
        };
        if (todo.analyses.includes('line')) {
          report.line = await line(ctx, sol.sgd, sol.swa, plan.line);
          await write('line.json', json({ ...meta, ...report.line }));
          await write('line.csv', lineCsv(report.line));
          await write('line.svg', lineFigure(report.line));
        }
        if (todo.analyses.includes('rays')) {
          const distanceT = plan.rays.distance ?? roundTo2(3 * Math.max(norm(sol.sgd), norm(sol.swa)));
          report.rays = await rays(ctx, named.slice(0, 2), { ...plan.rays, distance: distanceT });
          await write('rays.json', json({ ...meta, ...report.rays }));
          await write('rays.csv', raysCsv(report.rays));
          await write('rays-widths.csv', rayWidthsCsv(report.rays));
          await write('rays.svg', raysFigure(report.rays));
        }
        if (todo.analyses.includes('fge')) {
          report.fge = await fgeVsSwa(ctx, sol.fge, sol);
          await write('fge-vs-swa.json', json({ ...meta, ...report.fge }));
          await write('fge-vs-swa.csv', fgeCsv(report.fge));
        }
        for (const p of todo.planes) {
          const r =
            p === 'fge'
              ? await fgePlane(ctx, sol, fgeMean!, plan.plane)
              : await plane(
                  ctx,
                  'sgd-swa',
                  "Plane through the SWA run's start, SGD and SWA (Figure 1, middle and right)",
                  [
                    { name: 'start', weights: sol.start },
                    { name: 'SGD', weights: sol.sgd },
                    { name: 'SWA', weights: sol.swa },
                  ],
                  [],
                  plan.plane,
                );
          report.planes.push(r);
          await write(`plane-${r.name}.json`, json({ ...meta, ...r }));
          await write(`plane-${r.name}.csv`, planeCsv(r));
          await write(`plane-${r.name}.svg`, planeFigure(r));
        }
        const s = ctx.stats;
        report.stats = {
          ...s,
          pointsPerSecond: s.computed ? s.computed / s.seconds : null,
          wallSeconds: (performance.now() - t0) / 1000,
        };
        const distances = {
          'SGD–SWA': distance(sol.sgd, sol.swa),
          'start–SGD': distance(sol.start, sol.sgd),
          'start–SWA': distance(sol.start, sol.swa),
          ...(fgeMean ? { 'SWA–FGE average': distance(sol.swa, fgeMean) } : {}),
        };
        const md = summaryMarkdown({
          solutions,
          distances,
          rays: report.rays,
          line: report.line,
          fge: report.fge,
          planes: report.planes.map((p) => p.name),
          notes: report.notes,
        });
        await write('summary.md', md);
        const summary = {
          ...meta,
          solutions,
          distances,
          swaCaptures: sol.swaN,
          fgeSnapshots: sol.fge.length,
          stats: report.stats,
          notes: report.notes,
        };
        await write('summary.json', json({ ...summary, files: [...files, join(out, 'summary.json')] }));
        log(
          `analysis done: ${s.computed} points evaluated ` +
            `(${report.stats.pointsPerSecond?.toFixed(2) ?? '–'} points/s), ${s.reused} from the store; ` +
            `${report.stats.wallSeconds.toFixed(1)} s; files in ${out}`,
        );
        return report;
      } finally {
        evaluator.dispose();
        await store.flush();
      }
    } finally {
      await lock.release();
    }
  } finally {
    model.dispose();
  }
}

/** The analyses to run: those asked for (each must be possible), or all the folder allows, with notes on the rest. */
function choose(
  asked: AnalysisName[] | undefined,
  planes: PlaneCase[],
  sol: RunSolutions,
): { analyses: AnalysisName[]; planes: PlaneCase[]; notes: string[] } {
  const n = sol.fge.length;
  const why: Partial<Record<AnalysisName | 'plane fge', string>> = {};
  if (n < 2) why.fge = `the FGE comparison needs at least 2 FGE snapshots, seed ${sol.seed} has ${n}`;
  if (n < 3) why['plane fge'] = `the FGE plane needs 3 FGE snapshots, seed ${sol.seed} has ${n}`;
  const notes: string[] = [];
  if (asked) {
    const problems = asked
      .filter((a) => why[a])
      .map((a) => ({ option: 'analyses', problem: `includes ${a}, but ${why[a]}` }));
    if (asked.includes('planes') && planes.includes('fge') && why['plane fge']) {
      problems.push({ option: 'planes', problem: `includes fge, but ${why['plane fge']}` });
    }
    if (problems.length) throw new AnalysisConfigError(problems);
    return { analyses: asked, planes: asked.includes('planes') ? planes : [], notes };
  }
  const analyses = (['line', 'rays', 'fge', 'planes'] as AnalysisName[]).filter((a) => {
    if (why[a]) notes.push(`skipped: ${why[a]}`);
    return !why[a];
  });
  const ok = planes.filter((p) => p !== 'fge' || !why['plane fge']);
  if (ok.length < planes.length) notes.push(`skipped: ${why['plane fge']}`);
  return { analyses, planes: ok, notes };
}

/** Figure 1 (left): the plane through FGE's first, middle and last snapshots; their average and the rest projected. */
async function fgePlane(
  ctx: AnalysisContext,
  sol: RunSolutions,
  mean: Float32Array,
  o: { grid: number; margin: number },
): Promise<PlaneResult> {
  const n = sol.fge.length;
  const ids = [0, Math.floor((n - 1) / 2), n - 1];
  const snap = (k: number): NamedWeights => ({ name: `FGE ${k + 1}`, weights: sol.fge[k].weights });
  const rest = sol.fge
    .map((_, k) => k)
    .filter((k) => !ids.includes(k))
    .map(snap);
  return plane(
    ctx,
    'fge',
    'Plane through three FGE snapshots, their weight average projected (Figure 1, left)',
    [snap(ids[0]), snap(ids[1]), snap(ids[2])],
    [{ name: 'FGE avg', weights: mean }, ...rest],
    o,
  );
}
