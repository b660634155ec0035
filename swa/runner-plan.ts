// The Table 1 runner's plan, made from its options before any training: every default filled in and every
// hyperparameter checked (reported all at once), the SGD/SWA/FGE schedules and capture rules, the run's fingerprint.

import { Generator } from '../engine/index.ts';
import { checkModelData } from '../nn/data-check.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { createModel, type ModelSpec } from '../nn/models/index.ts';
import { sgdBaselineLr } from '../nn/schedule.ts';
import { captureCyclical, captureEvery, captureFgeMidCycle, type CaptureRule } from './capture.ts';
import { modelSpec, RunnerConfigError, TABLE1_BUDGETS, type Table1Options, type Table1Plan } from './runner-config.ts';
import { constantLr, cyclicalLr, fgeTriangularLr, piecewise, userLr, type LrSchedule } from './schedules.ts';

const isInt = (x: number, min: number): boolean => Number.isInteger(x) && x >= min;
const isLr = (x: number): boolean => Number.isFinite(x) && x >= 0;

/**
 * Checks every option and derives the plan: schedules are built (their own checks run) and probed at the first and
 * last step of their phase, and the capture rules are counted so that FGE gets at least one snapshot and SWAG at least
 * two models. Throws one `RunnerConfigError` naming every problem; nothing is trained or written before this passes.
 * @example const plan = planTable1({ ...options, budget: 4 }); console.log(plan.swaStart, plan.points);
 */
export function planTable1(o: Table1Options): Table1Plan {
  const problems: string[] = [];
  const need = (ok: boolean, message: string): void => {
    if (!ok) problems.push(message);
  };
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      problems.push((e as Error).message);
      return undefined;
    }
  };
  const B = o.budget;
  need(isInt(B, 1), `budget must be a whole number of epochs ≥ 1, got ${B}`);
  const seeds = [...(o.seeds ?? [])];
  need(seeds.length > 0, 'seeds: give at least one seed');
  need(
    seeds.every((s) => isInt(s, 0) && s < 2 ** 31),
    `seeds must be integers in [0, 2^31), got ${seeds.join(', ')}`,
  );
  need(new Set(seeds).size === seeds.length, `seeds must be distinct, got ${seeds.join(', ')}`);
  const lrOk = Number.isFinite(o.lr) && o.lr > 0;
  need(lrOk, `lr must be a finite learning rate > 0, got ${o.lr}`);
  const lr = o.lr;
  const swaLr = o.swaLr ?? lr / 5;
  // Rates derived from a bad lr are not reported again.
  need(isLr(swaLr) || (!lrOk && o.swaLr === undefined), `swa-lr must be a finite learning rate ≥ 0, got ${swaLr}`);
  const swaStart = o.swaStart ?? Math.max(1, Math.floor(0.75 * B));
  const startOk = isInt(B, 1) && isInt(swaStart, 1) && swaStart < B;
  need(
    startOk,
    `swa start must be an epoch in [1, budget − 1] (SWA and FGE branch off the SGD run before it ends), ` +
      `got ${swaStart} ` +
      `for budget ${B}${B < 2 ? ' (use a budget ≥ 2)' : ''}`,
  );
  const batchSize = o.batchSize ?? 128;
  need(isInt(batchSize, 1), `batch size must be an integer ≥ 1, got ${batchSize}`);
  const momentum = o.momentum ?? 0.9;
  need(momentum >= 0 && momentum < 1, `momentum must be in [0, 1), got ${momentum}`);
  const weightDecay = o.weightDecay ?? 5e-4;
  need(isLr(weightDecay), `weight decay must be finite and ≥ 0, got ${weightDecay}`);
  need(
    o.train.n > 0 && o.test.n > 0,
    `train and test sets must be non-empty (got ${o.train.n} and ${o.test.n} images)`,
  );
  need(o.train.classes === o.test.classes, `train has ${o.train.classes} classes, test ${o.test.classes}`);
  need(
    o.train.shape.every((d, i) => d === o.test.shape[i]),
    `train images are [${o.train.shape}], test images [${o.test.shape}]`,
  );
  const itersPerEpoch = Math.max(1, Math.ceil(o.train.n / Math.max(1, batchSize)));
  const schedule = o.schedule ?? 'constant';
  need(
    schedule === 'constant' || schedule === 'cyclical',
    `schedule must be 'constant' or 'cyclical', got ${String(schedule)}`,
  );
  const cycle = o.cycle ?? itersPerEpoch;
  const alpha2 = o.alpha2 ?? swaLr / 50;
  const every = o.captureEvery ?? 1;
  need(isInt(every, 1), `capture-every must be an integer ≥ 1 (epochs), got ${every}`);
  const before = problems.length;
  if (schedule === 'cyclical') {
    need(isInt(cycle, 1), `cycle c must be an integer ≥ 1 (iterations), got ${cycle}`);
    need(isLr(alpha2), `alpha2 must be a finite learning rate ≥ 0, got ${alpha2}`);
    need(
      !(alpha2 > swaLr),
      `cyclical schedule needs α2 ≤ α1 = swa-lr (each cycle falls from α1 to α2), got α2=${alpha2} > α1=${swaLr}`,
    );
  }
  const swaOk = startOk && problems.length === before && isLr(swaLr);
  const fgeCycle = o.fgeCycle ?? 2;
  const fgeAlpha1 = o.fgeAlpha1 ?? lr / 2;
  const fgeAlpha2 = o.fgeAlpha2 ?? lr / 1000;
  const fgeBefore = problems.length;
  need(Number.isFinite(fgeCycle) && fgeCycle > 0, `fge cycle must be a number of epochs > 0, got ${fgeCycle}`);
  const fgeRatesOk =
    (isLr(fgeAlpha1) && isLr(fgeAlpha2)) || (!lrOk && (o.fgeAlpha1 === undefined || o.fgeAlpha2 === undefined));
  need(fgeRatesOk, `fge α1 and α2 must be finite learning rates ≥ 0, got ${fgeAlpha1} and ${fgeAlpha2}`);
  need(!(fgeAlpha2 > fgeAlpha1), `FGE needs α2 ≤ α1 (mid-cycle is the minimum), got α1=${fgeAlpha1} < α2=${fgeAlpha2}`);
  const fgeOk = startOk && problems.length === fgeBefore;
  const swagSamples = o.swagSamples ?? 10;
  need(isInt(swagSamples, 0), `swag samples must be an integer ≥ 0, got ${swagSamples}`);
  const swagScale = o.swagScale ?? 0.5;
  need(Number.isFinite(swagScale) && swagScale >= 0, `swag scale must be finite and ≥ 0, got ${swagScale}`);
  const swagRank = o.swagRank ?? 20;
  need(isInt(swagRank, 2), `swag rank must be an integer ≥ 2, got ${swagRank}`);
  const swagBnBatches = o.swagBnBatches ?? itersPerEpoch;
  need(isInt(swagBnBatches, 1), `swag BN batches must be an integer ≥ 1, got ${swagBnBatches}`);
  const swagBudgets = [...(o.swagBudgets ?? [1.5])];
  need(
    swagBudgets.every((b) => TABLE1_BUDGETS.includes(b)),
    `swag budgets must be among ${TABLE1_BUDGETS.join(', ')}, got ${swagBudgets.join(', ')}`,
  );
  const swaEval = o.swaEval ?? 'epoch';
  need(swaEval === 'epoch' || swaEval === 'budget', `swa eval must be 'epoch' or 'budget', got ${String(swaEval)}`);
  const points = TABLE1_BUDGETS.map((b) => ({ budget: b, epochs: Math.round(b * B) }));
  const swaEnd = points[points.length - 1].epochs;

  const sgdSchedule = userLr((p) => sgdBaselineLr((p.epoch + p.fraction) / B, lr), 'SGD baseline (sgdBaselineLr)');
  // Built only when the checks above passed, so each problem is reported once, in the runner's words.
  const swaPhase = !swaOk
    ? undefined
    : attempt(() =>
        schedule === 'cyclical'
          ? cyclicalLr({ alpha1: swaLr, alpha2, c: cycle, startEpoch: swaStart })
          : constantLr(swaLr),
      );
  const swaCapture = !swaOk
    ? undefined
    : attempt(() =>
        schedule === 'cyclical'
          ? captureCyclical(cycle, { start: swaStart })
          : captureEvery({ epochs: every, start: swaStart }),
      );
  const fgeSchedule = !fgeOk
    ? undefined
    : attempt(() => fgeTriangularLr({ alpha1: fgeAlpha1, alpha2: fgeAlpha2, cycle: fgeCycle, startEpoch: swaStart }));
  const fgeCapture = !fgeOk ? undefined : attempt(() => captureFgeMidCycle(fgeCycle, { start: swaStart }));
  const build = o.modelFactory ?? ((spec: ModelSpec) => createModel(o.model, spec));
  need(
    o.width === undefined || (Number.isFinite(o.width) && o.width > 0),
    `width must be a positive number, got ${o.width}`,
  );
  const wait = o.waitForLock ?? false;
  need(
    typeof wait === 'boolean' || (Number.isFinite(wait) && wait >= 0),
    `waitForLock must be true, false or seconds ≥ 0, got ${String(wait)}`,
  );
  const lease = o.lockLease ?? 600;
  need(Number.isFinite(lease) && lease > 0, `lock lease must be seconds > 0, got ${lease}`);
  // Build the network once (then free it): createModel is the authority on model names and their depths, and one
  // image of each set must go through it (sizes that do not fit fail here, not after an epoch of training).
  if (problems.length === 0) {
    attempt(() => {
      const net = build(modelSpec(o, new Generator(0)));
      try {
        checkModelData(net, o.train, { device: o.device, role: 'training set' });
        checkModelData(net, o.test, { device: o.device, role: 'test set' });
      } finally {
        net.dispose();
      }
    });
  }
  need(typeof o.out === 'string' && o.out.length > 0, 'out: give an output folder');

  if (problems.length === 0 && swaPhase && swaCapture && fgeSchedule && fgeCapture) {
    const swaSchedule = piecewise([
      { until: swaStart, schedule: sgdSchedule },
      { until: Infinity, schedule: swaPhase },
    ]);
    // Probe the first and last step of every phase, so a schedule that fails later fails now.
    const probe = (s: LrSchedule, epoch: number, last: boolean): void => {
      const step = last ? itersPerEpoch - 1 : 0;
      attempt(() =>
        s({ iteration: epoch * itersPerEpoch + step + 1, epoch, fraction: step / itersPerEpoch, itersPerEpoch }),
      );
    };
    for (const last of [false, true]) {
      probe(sgdSchedule, 0, last);
      probe(sgdSchedule, B - 1, last);
      probe(swaSchedule, swaStart, last);
      probe(swaSchedule, swaEnd - 1, last);
      probe(fgeSchedule, swaStart, last);
      probe(fgeSchedule, B - 1, last);
    }
    const fgeSnapshots =
      expectedCaptures(fgeCapture, swaStart, B, itersPerEpoch) -
      (capturesWhat(fgeCapture, swaStart, itersPerEpoch) ? 1 : 0);
    need(
      fgeSnapshots > 0,
      `FGE takes no snapshot between epochs ${swaStart} and ${B}: its cycle of ${fgeCycle} epochs needs ` +
        `at least ${fgeCycle / 2} epochs after swa start (lower --fge-cycle, or raise the budget)`,
    );
    if (swagSamples > 0) {
      for (const b of swagBudgets) {
        const at = points.find((p) => p.budget === b)!.epochs;
        const n = expectedCaptures(swaCapture, swaStart, at, itersPerEpoch);
        need(n >= 2, `SWAG at ${b} budgets would have ${n} captured model(s); it needs at least 2`);
      }
    }
    if (problems.length === 0) {
      return {
        options: o,
        budget: B,
        seeds,
        lr,
        swaLr,
        swaStart,
        schedule,
        cycle,
        alpha2,
        captureEvery: every,
        fgeCycle,
        fgeAlpha1,
        fgeAlpha2,
        swagSamples,
        swagScale,
        swagRank,
        swagBnBatches,
        swagBudgets,
        swaEval,
        batchSize,
        momentum,
        weightDecay,
        itersPerEpoch,
        points,
        swaEnd,
        sgdSchedule,
        swaSchedule,
        swaCapture,
        fgeSchedule,
        fgeCapture,
        build,
        checksums: { train: dataChecksum(o.train), test: dataChecksum(o.test) },
      };
    }
  }
  throw new RunnerConfigError(problems);
}

/**
 * Captures `rule` makes in an SWA run that starts from the pretrained ŵ at the end of epoch `start − 1` and trains to
 * `epochs` completed epochs: ŵ itself when the rule takes it, then every rule hit of the later iterations and epochs.
 */
export function expectedCaptures(rule: CaptureRule, start: number, epochs: number, itersPerEpoch: number): number {
  let n = capturesWhat(rule, start, itersPerEpoch) ? 1 : 0;
  for (let e = start; e < epochs; e++) {
    for (let s = 0; s < itersPerEpoch; s++) if (rule.atIteration(e * itersPerEpoch + s + 1, itersPerEpoch)) n++;
    if (rule.atEpochEnd(e)) n++;
  }
  return n;
}

/** Whether `rule` takes the pretrained ŵ (the weights at the end of epoch `start − 1`, after iteration start·ipe). */
export function capturesWhat(rule: CaptureRule, start: number, itersPerEpoch: number): boolean {
  return start >= 1 && (rule.atEpochEnd(start - 1) || rule.atIteration(start * itersPerEpoch, itersPerEpoch));
}

/**
 * A 32-bit FNV-1a hash (8 hex digits) of a data set's image bits, labels, count and shape: two data sets with the
 * same size but other contents give other numbers, so they are other settings.
 */
export function dataChecksum(d: Dataset): string {
  let h = 0x811c9dc5;
  const mix = (w: number): void => {
    h = Math.imul(h ^ w, 0x01000193) >>> 0;
  };
  const bits = new Uint32Array(d.images.buffer, d.images.byteOffset, d.images.length);
  for (let i = 0; i < bits.length; i++) mix(bits[i]);
  for (let i = 0; i < d.labels.length; i++) mix(d.labels[i]);
  [d.n, ...d.shape, d.classes].forEach(mix);
  return h.toString(16).padStart(8, '0');
}

/**
 * The settings that decide a run's numbers; a rerun into the same folder must match them (seeds may differ). They
 * include the device and its description (`Backend.info`: the GPU adapter, or the wasm thread count, which changes
 * how conv's weight gradient is summed and so its rounding) and checksums of the data.
 */
export function planFingerprint(p: Table1Plan): Record<string, unknown> {
  const o = p.options;
  return {
    model: o.model,
    width: o.width ?? null,
    dataset: o.dataset,
    device: o.device.name,
    deviceInfo: o.device.info,
    train: { n: o.train.n, shape: [...o.train.shape], classes: o.train.classes, checksum: p.checksums.train },
    test: { n: o.test.n, checksum: p.checksums.test },
    normalize: o.normalize ?? null,
    augment: o.augment ?? null,
    budget: p.budget,
    lr: p.lr,
    swaLr: p.swaLr,
    swaStart: p.swaStart,
    schedule: p.schedule,
    cycle: p.schedule === 'cyclical' ? p.cycle : null,
    alpha2: p.schedule === 'cyclical' ? p.alpha2 : null,
    captureEvery: p.captureEvery,
    fgeCycle: p.fgeCycle,
    fgeAlpha1: p.fgeAlpha1,
    fgeAlpha2: p.fgeAlpha2,
    swagSamples: p.swagSamples,
    swagScale: p.swagScale,
    swagRank: p.swagRank,
    swagBnBatches: p.swagBnBatches,
    swagBudgets: p.swagBudgets,
    swaEval: p.swaEval,
    batchSize: p.batchSize,
    momentum: p.momentum,
    weightDecay: p.weightDecay,
  };
}
