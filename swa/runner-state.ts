// Where the Table 1 runner keeps its state on disk: per-seed, per-phase folders with an epoch-end checkpoint, the
// SGD branch point and a result file; the run's settings file; and packing of SWA/SWAG/FGE tensors into checkpoints.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keep, tensor, type Backend, type Tensor } from '../engine/index.ts';
import { writeFileAtomic } from '../nn/atomic-file.ts';
import type { HostTensor } from '../nn/checkpoint.ts';
import { Counter } from '../nn/module.ts';
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

/** Writes `value` as indented JSON, atomically. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
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

/** Restores an averaged model packed by `packAverage`; its n_averaged must be the `n` of the metadata. */
export function unpackAverage(avg: AveragedModel, extra: HostTensors, n: number): void {
  try {
    avg.loadStateDict(strip(extra, AVG));
  } catch (e) {
    throw new Error(`SWA checkpoint: ${(e as Error).message}`);
  }
  if (avg.nAveraged !== n) throw new Error(`SWA checkpoint: n_averaged is ${avg.nAveraged}, the metadata says ${n}`);
}

/** Extra checkpoint tensors holding SWAG's moments and deviation columns (in ring order). */
export function packSwag(swag: Swag, into: Map<string, Tensor>): void {
  for (const [name, t] of swag.mean) into.set(SWAG_MEAN + name, t);
  for (const [name, t] of swag.sqMean) into.set(SWAG_SQ + name, t);
  for (const [name, cols] of swag.deviations) cols.forEach((t, j) => into.set(swagDev(j) + name, t));
}

/** Restores SWAG state packed by `packSwag` into a freshly made `Swag` of the same model, with `n` collected models. */
export function unpackSwag(swag: Swag, extra: HostTensors, n: number, device: Backend): void {
  const write = (targets: Map<string, Tensor>, prefix: string): void => {
    const values = strip(extra, prefix);
    for (const [name, t] of targets) {
      const v = values.get(name);
      if (!v || v.data.length !== t.size)
        throw new Error(`SWAG checkpoint: ${prefix}${name} is missing or has the wrong size`);
      t.copy_(v.data);
    }
  };
  write(swag.mean, SWAG_MEAN);
  write(swag.sqMean, SWAG_SQ);
  const rank = Math.min(n, swag.maxRank);
  for (const [name, cols] of swag.deviations) {
    for (const t of cols) t.dispose();
    cols.length = 0;
    for (let j = 0; j < rank; j++) {
      const v = extra.get(swagDev(j) + name);
      if (!v) throw new Error(`SWAG checkpoint: deviation ${j} of ${name} is missing`);
      cols.push(keep(tensor(v.data, v.shape, { device })));
    }
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

/** Restores `count` FGE snapshots packed by `packFge` onto `device` (counters, stored as I64, keep their value). */
export function unpackFge(fge: FgeEnsemble, extra: HostTensors, count: number, device: Backend): void {
  for (let k = 0; k < count; k++) {
    const snap = new Map<string, Tensor>();
    for (const [name, v] of strip(extra, fgeSnap(k))) {
      const t = keep(tensor(v.data, v.shape, { device }));
      if (v.stored === 'I64') new Counter(t, v.data[0]);
      snap.set(name, t);
    }
    if (snap.size === 0) throw new Error(`FGE checkpoint: snapshot ${k} is missing`);
    fge.snapshots.push(snap);
  }
}

/** The entries under `prefix`, keyed by the rest of their name. */
function strip(extra: HostTensors, prefix: string): HostTensors {
  const out: HostTensors = new Map();
  for (const [name, v] of extra) if (name.startsWith(prefix)) out.set(name.slice(prefix.length), v);
  return out;
}
