// Where the Table 1 runner keeps its state on disk: per-seed, per-phase folders with an epoch-end checkpoint, the
// SGD branch point and a result file; the run's settings file; and packing of SWA/SWAG/FGE tensors into checkpoints.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keep, tensor, type Backend, type Tensor } from '../engine/index.ts';
import { writeFileAtomic } from '../nn/atomic-file.ts';
import { CheckpointError, type HostTensor } from '../nn/checkpoint.ts';
import { stringifyFinite } from '../nn/finite.ts';
import { Counter, counterOf, type Module } from '../nn/module.ts';
import type { AveragedModel } from './averaged-model.ts';
import type { FgeEnsemble } from './fge.ts';
import type { PhaseName } from './runner-config.ts';
import type { Swag } from './swag.ts';

/** Files of one phase of one seed. */
export interface PhasePaths {
  dir: string;
  /** Checkpoint written atomically at every epoch end (model, momentum, averages, loader and RNG state, history). */
  state: string;
  /** SGD only: the checkpoint at the end of epoch swaStart − 1, from which SWA and FGE start. */
  branch: string;
  /** Written once the phase is finished; its presence makes a rerun skip the phase. */
  result: string;
}

/** `<out>/seed-<seed>/<phase>/{state.safetensors, branch.safetensors, result.json}`. */
export function phasePaths(out: string, seed: number, phase: PhaseName): PhasePaths {
  const dir = join(out, `seed-${seed}`, phase);
  return {
    dir,
    state: join(dir, 'state.safetensors'),
    branch: join(dir, 'branch.safetensors'),
    result: join(dir, 'result.json'),
  };
}

/** Writes `value` as indented JSON, atomically; refuses NaN and ±Infinity (they would be stored as null). */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(`${stringifyFinite(value, path, 2)}\n`));
}

/** The parsed JSON file at `path`, or undefined when there is none. */
export async function readJson<T>(path: string): Promise<T | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${path}: cannot read it as JSON (${(e as Error).message}); delete it to redo that part`);
  }
}

/**
 * The output folder holds a run made with other settings.
 * @example if (e instanceof RunFolderError) console.error(`${e.message}: pick another --out`);
 */
export class RunFolderError extends Error {
  override name = 'RunFolderError';
}

/**
 * Records the run's settings in `<out>/settings.json`, or checks them against the ones already there: a rerun into the
 * same folder must use the same settings (seeds may be added), else its phases would mix two experiments.
 */
export async function checkRunFolder(out: string, fingerprint: Record<string, unknown>): Promise<void> {
  const path = join(out, 'settings.json');
  const old = await readJson<Record<string, unknown>>(path);
  if (!old) {
    await writeJson(path, fingerprint);
    return;
  }
  const diff = Object.keys({ ...old, ...fingerprint })
    .filter((k) => JSON.stringify(old[k]) !== JSON.stringify(fingerprint[k]))
    .map((k) => `${k}: ${JSON.stringify(old[k])} there, ${JSON.stringify(fingerprint[k])} now`);
  if (diff.length) {
    throw new RunFolderError(
      `${out} holds a run with other settings (${diff.join('; ')}); ` +
        `use another --out folder, or delete ${path} and the seed folders`,
    );
  }
}

const AVG = 'swa.';
const SWAG_MEAN = 'swag.mean.';
const SWAG_SQ = 'swag.sq.';
const swagDev = (j: number): string => `swag.dev.${j}.`;
const fgeSnap = (k: number): string => `fge.${k}.`;

type HostTensors = Map<string, HostTensor>;

/** Extra checkpoint tensors holding the averaged model's state dict (`swa.n_averaged`, `swa.module.…`). */
export function packAverage(avg: AveragedModel, into: Map<string, Tensor>): void {
  for (const [name, t] of avg.stateDict()) into.set(AVG + name, t);
}

/** Restores an averaged model packed by `packAverage` from `file`; its n_averaged must be the `n` of the metadata. */
export function unpackAverage(avg: AveragedModel, extra: HostTensors, n: number, file: string): void {
  const values = take(extra, AVG, avg.stateDict(), file, 'averaged model');
  try {
    avg.loadStateDict(values);
  } catch (e) {
    throw new CheckpointError(`${file}: ${(e as Error).message}`);
  }
  if (avg.nAveraged !== n)
    throw new CheckpointError(`${file}: ${AVG}n_averaged is ${avg.nAveraged}, the metadata says ${n}`);
}

/** Extra checkpoint tensors holding SWAG's moments and deviation columns (in ring order). */
export function packSwag(swag: Swag, into: Map<string, Tensor>): void {
  for (const [name, t] of swag.mean) into.set(SWAG_MEAN + name, t);
  for (const [name, t] of swag.sqMean) into.set(SWAG_SQ + name, t);
  for (const [name, cols] of swag.deviations) cols.forEach((t, j) => into.set(swagDev(j) + name, t));
}

/** Restores SWAG state packed by `packSwag` into a freshly made `Swag` of the same model, with `n` collected models. */
export function unpackSwag(swag: Swag, extra: HostTensors, n: number, device: Backend, file: string): void {
  const mean = take(extra, SWAG_MEAN, swag.mean, file, 'SWAG mean');
  const sq = take(extra, SWAG_SQ, swag.sqMean, file, 'SWAG second moment');
  const rank = Math.min(n, swag.maxRank);
  const columns = new Map<string, HostTensor[]>();
  for (const [name] of swag.deviations) {
    const cols: HostTensor[] = [];
    for (let j = 0; j < rank; j++) {
      const one = new Map([[name, swag.mean.get(name)!]]);
      cols.push(take(extra, swagDev(j), one, file, `SWAG deviation ${j}`).get(name)!);
    }
    columns.set(name, cols);
  }
  for (const [name, t] of swag.mean) t.copy_(mean.get(name)!.data);
  for (const [name, t] of swag.sqMean) t.copy_(sq.get(name)!.data);
  for (const [name, cols] of swag.deviations) {
    for (const t of cols) t.dispose();
    cols.length = 0;
    for (const v of columns.get(name)!) cols.push(keep(tensor(v.data, v.shape, { device })));
  }
  swag.n = n;
}

/** Extra checkpoint tensors holding FGE's snapshots (device snapshots: parameters and buffers). */
export function packFge(fge: FgeEnsemble, into: Map<string, Tensor>): void {
  fge.snapshots.forEach((snap, k) => {
    for (const [name, v] of snap) {
      if (v instanceof Float32Array) throw new Error('packFge: the runner keeps FGE snapshots on the device');
      into.set(fgeSnap(k) + name, v);
    }
  });
}

/**
 * Restores `count` FGE snapshots packed by `packFge` onto `device`; each must hold every tensor of `model`'s state
 * dict with its dtype and shape (counters, stored as I64, keep their value).
 */
export function unpackFge(
  fge: FgeEnsemble,
  extra: HostTensors,
  count: number,
  device: Backend,
  model: Module,
  file: string,
): void {
  const own = model.stateDict();
  for (let k = 0; k < count; k++) {
    const snap = new Map<string, Tensor>();
    for (const [name, v] of take(extra, fgeSnap(k), own, file, `FGE snapshot ${k}`)) {
      const t = keep(tensor(v.data, v.shape, { device }));
      if (v.stored === 'I64') new Counter(t, v.data[0]);
      snap.set(name, t);
    }
    fge.snapshots.push(snap);
  }
}

/**
 * The extra tensors `<prefix><name>` for every tensor of `targets`, each required with the exact shape and dtype of
 * its target (I64 for counters, F32 otherwise), as host tensors keyed by `<name>`.
 * @throws CheckpointError naming `file` and every tensor that is missing or wrong.
 */
function take(
  extra: HostTensors,
  prefix: string,
  targets: ReadonlyMap<string, Tensor>,
  file: string,
  what: string,
): HostTensors {
  const out: HostTensors = new Map();
  const problems: string[] = [];
  for (const [name, t] of targets) {
    const key = prefix + name;
    const v = extra.get(key);
    const dtype = counterOf(t) ? 'I64' : 'F32';
    const shape = `[${t.shape.join(', ')}]`;
    if (!v) problems.push(`tensor ${key} (${what}) is missing`);
    else if (v.stored !== dtype) problems.push(`tensor ${key} has dtype ${v.stored}, expected ${dtype} (${what})`);
    else if (`[${v.shape.join(', ')}]` !== shape)
      problems.push(`tensor ${key} has shape [${v.shape.join(', ')}], expected ${shape} (${what})`);
    else out.set(name, v);
  }
  if (problems.length) {
    const more = problems.length > 6 ? `; and ${problems.length - 6} more` : '';
    throw new CheckpointError(`${file}: ${problems.slice(0, 6).join('; ')}${more}`);
  }
  return out;
}
