// Checks what the Table 1 runner reads back from disk before trusting it: phase result files and the metadata of
// phase checkpoints. A null, missing or non-finite number is an error naming the file and field, never a 0.

import { CheckpointError } from '../nn/checkpoint.ts';
import { finiteField, NonFiniteJsonError } from '../nn/finite.ts';
import type { PhaseName, Table1Plan } from './runner-config.ts';
import { readJson } from './runner-state.ts';

/** A result file or checkpoint metadata that does not hold what the runner wrote. */
const fail = (file: string, what: string): never => {
  throw new NonFiniteJsonError(`${file}: ${what}`);
};

/** `root[key]` as an array, or an error naming the field. */
function list(root: unknown, key: string, file: string): unknown[] {
  const v = root !== null && typeof root === 'object' ? (root as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(v))
    return fail(file, `field ${key} is ${v === undefined ? 'missing' : JSON.stringify(v)}, expected a list`);
  return v;
}

const has = (root: unknown, key: string): boolean =>
  root !== null && typeof root === 'object' && (root as Record<string, unknown>)[key] !== undefined;

/** Accuracy, NLL and ECE of a `TestMetrics` at `path`. */
function checkTest(root: unknown, path: string, file: string): void {
  for (const k of ['accuracy', 'nll', 'ece']) finiteField(root, `${path}.${k}`, file);
}

/** Every number of each epoch record in `root[key]` (and its test metrics when it has them). */
function checkHistory(root: unknown, key: string, file: string): unknown[] {
  const records = list(root, key, file);
  records.forEach((r, i) => {
    for (const k of ['epoch', 'lr', 'trainLoss', 'trainAccuracy', 'seconds'])
      finiteField(root, `${key}[${i}].${k}`, file);
    if (has(r, 'test')) checkTest(root, `${key}[${i}].test`, file);
  });
  return records;
}

/**
 * Checks a phase's result file as parsed from `file`: every metric a finite number, the lists it must have, as many
 * SWA budget points as the plan has. Throws a `NonFiniteJsonError` naming the file and the first bad field.
 */
export function checkResult(phase: PhaseName, value: unknown, plan: Table1Plan, file: string): void {
  if (value === null || typeof value !== 'object') fail(file, `expected a JSON object, got ${JSON.stringify(value)}`);
  checkHistory(value, 'history', file);
  if (phase === 'sgd') {
    checkTest(value, 'final', file);
    finiteField(value, 'seconds', file);
    finiteField(value, 'branchSeconds', file);
  } else if (phase === 'swa') {
    finiteField(value, 'n', file);
    list(value, 'evaluations', file).forEach((_, i) => {
      finiteField(value, `evaluations[${i}].epoch`, file);
      checkTest(value, `evaluations[${i}].test`, file);
    });
    const points = list(value, 'points', file);
    if (points.length !== plan.points.length)
      fail(file, `holds ${points.length} SWA budget points, the plan has ${plan.points.length}`);
    points.forEach((p, i) => {
      for (const k of ['budget', 'epochs', 'n', 'seconds']) finiteField(value, `points[${i}].${k}`, file);
      checkTest(value, `points[${i}].test`, file);
      if (has(p, 'swag')) {
        checkTest(value, `points[${i}].swag.test`, file);
        finiteField(value, `points[${i}].swag.seconds`, file);
      }
    });
  } else {
    finiteField(value, 'snapshots', file);
    finiteField(value, 'seconds', file);
    checkTest(value, 'test', file);
  }
}

/**
 * A phase's result file, checked (`checkResult`), or undefined when there is none.
 * @throws NonFiniteJsonError naming the file and field, with the way out (delete the file to redo the phase).
 */
export async function readResult<T>(phase: PhaseName, path: string, plan: Table1Plan): Promise<T | undefined> {
  const value = await readJson<unknown>(path);
  if (value === undefined) return undefined;
  try {
    checkResult(phase, value, plan, path);
  } catch (e) {
    throw new NonFiniteJsonError(`${(e as Error).message}; delete it to redo that phase`, { cause: e });
  }
  return value as T;
}

/** The epochs a phase checkpoint may stand at, and how many history records it then holds. */
function phaseRange(phase: PhaseName, plan: Table1Plan): { from: number; to: number; records: (e: number) => number } {
  if (phase === 'sgd') return { from: 1, to: plan.budget, records: (e) => e };
  if (phase === 'swa') return { from: plan.swaStart + 1, to: plan.swaEnd, records: (e) => e - plan.swaStart + 1 };
  return { from: plan.swaStart + 1, to: plan.budget, records: (e) => e - plan.swaStart };
}

/** A 5-entry generator state: four 32-bit words and a spare normal (a number, or null for none). */
function checkRngState(v: unknown, key: string, file: string): void {
  const ok =
    Array.isArray(v) &&
    v.length === 5 &&
    v.slice(0, 4).every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32) &&
    (v[4] === null || Number.isFinite(v[4]));
  if (!ok)
    throw new CheckpointError(`${file}: metadata meta.${key} is ${JSON.stringify(v)}, expected a generator state`);
}

/**
 * Checks the metadata of a phase checkpoint (the runner's own, or the SGD branch point for SWA and FGE, whose
 * `phase` is then 'sgd' and `branch` true): epochs within the phase, history records to match, the loader and random
 * states, and the phase's own counts. Throws a `CheckpointError` naming the file and key.
 */
export function checkPhaseMeta(meta: unknown, phase: PhaseName, plan: Table1Plan, file: string, branch = false): void {
  const bad = (key: string, want: string): never => {
    const v = meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>)[key] : meta;
    throw new CheckpointError(`${file}: metadata meta.${key} is ${JSON.stringify(v) ?? 'missing'}, expected ${want}`);
  };
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return bad('(top level)', 'an object');
  const m = meta as Record<string, unknown>;
  const range = branch
    ? { from: plan.swaStart, to: plan.swaStart, records: (e: number) => e }
    : phaseRange(phase, plan);
  const e = m.epochsDone;
  if (!(Number.isInteger(e) && (e as number) >= range.from && (e as number) <= range.to))
    bad('epochsDone', `an epoch in [${range.from}, ${range.to}]`);
  const history = m.history;
  if (!Array.isArray(history) || history.length !== range.records(e as number))
    bad('history', `${range.records(e as number)} epoch records`);
  try {
    checkHistory(m, 'history', file);
  } catch (err) {
    throw new CheckpointError(`${file}: metadata meta: ${(err as Error).message.slice(file.length + 2)}`);
  }
  if (!(Number.isFinite(m.seconds) && (m.seconds as number) >= 0)) bad('seconds', 'seconds ≥ 0');
  const loader = m.loader as Record<string, unknown> | null;
  if (!loader || typeof loader !== 'object' || !Number.isInteger(loader.epoch) || !Number.isInteger(loader.position))
    bad('loader', 'a data loader state');
  checkRngState(loader!.epochRng, 'loader.epochRng', file);
  checkRngState(loader!.rng, 'loader.rng', file);
  const rng = m.rng as Record<string, unknown> | null;
  if (!rng || typeof rng !== 'object') bad('rng', 'the random streams');
  checkRngState(rng!.model, 'rng.model', file);
  checkRngState(rng!.global, 'rng.global', file);
  if (phase === 'sgd' && !(Number.isFinite(m.branchSeconds) && (m.branchSeconds as number) >= 0))
    bad('branchSeconds', 'seconds ≥ 0');
  if (branch || phase === 'sgd') return;
  if (phase === 'swa') {
    if (!(Number.isInteger(m.n) && (m.n as number) >= 0)) bad('n', 'a count of captured models ≥ 0');
    if (!Array.isArray(m.evaluations)) bad('evaluations', 'a list');
    if (!Array.isArray(m.points)) bad('points', 'a list');
  } else if (!(Number.isInteger(m.snapshots) && (m.snapshots as number) >= 0)) bad('snapshots', 'a count ≥ 0');
}
