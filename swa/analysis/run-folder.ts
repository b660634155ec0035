// Reads what the Table 1 runner (swa/runner.ts, `swa --out DIR`) saved for one seed: its settings, the final SGD
// weights, the SWA average, the SGD weights where SWA and FGE start, and FGE's snapshots, as flat weight vectors.

import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileChecked } from '../../nn/atomic-file.ts';
import type { ChannelStats } from '../../nn/data/normalize.ts';
import { decodeSafetensors, toFloat32 } from '../../nn/safetensors.ts';
import { flatten, type HostTensors, type ParamLayout } from './weights.ts';

/** The run's settings.json (planFingerprint of swa/runner-config.ts): the fields the analyses use. */
export interface RunSettings {
  model: string;
  width: number | null;
  dataset: string;
  device?: string;
  train: { n: number; shape: [number, number, number]; classes: number };
  test: { n: number };
  normalize: ChannelStats | null;
  budget: number;
  swaStart: number;
  batchSize: number;
  weightDecay: number;
}

/** An FGE snapshot: its parameters (flat) and its buffers as saved (BN statistics of a real SGD iterate). */
export interface FgeSnapshot {
  weights: Float32Array;
  buffers: HostTensors;
}

/** One seed's solutions, as flat vectors in the model's parameter layout. */
export interface RunSolutions {
  dir: string;
  seed: number;
  settings: RunSettings;
  /** SGD after the whole budget B (the paper's w_SGD). */
  sgd: Float32Array;
  /** The SWA average at the end of the SWA phase (1.5 budgets), over `swaN` captures. */
  swa: Float32Array;
  swaN: number;
  /** The SGD weights after epoch swaStart, where the SWA and FGE runs begin (the "SWA run's start"). */
  start: Float32Array;
  /** FGE's snapshots in the order taken; empty when the run has no finished FGE phase (see `notes`). */
  fge: FgeSnapshot[];
  /** What the analyses might want but the folder does not hold. */
  notes: string[];
}

/** A run folder is missing a file the analyses need, or holds something unreadable. */
export class RunFolderProblem extends Error {
  override name = 'RunFolderProblem';
}

/** Prefixes of the extra tensors swa/runner-state.ts packs into the SWA and FGE checkpoints. */
export const SWA_AVERAGE_PREFIX = 'swa.module.';
export const fgePrefix = (k: number): string => `fge.${k}.`;

/** The seeds with a folder in the run (`seed-<n>`), ascending. */
export function runSeeds(dir: string): number[] {
  if (!existsSync(dir)) throw new RunFolderProblem(`${dir}: no such run folder`);
  return readdirSync(dir)
    .map((f) => /^seed-(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** The run's settings.json. */
export async function readRunSettings(dir: string): Promise<RunSettings> {
  const path = join(dir, 'settings.json');
  if (!existsSync(path))
    throw new RunFolderProblem(`${dir}: no settings.json, so not a folder written by the swa runner`);
  let s: RunSettings;
  try {
    s = JSON.parse(await readFile(path, 'utf8')) as RunSettings;
  } catch (e) {
    throw new RunFolderProblem(`${path}: cannot read it as JSON (${(e as Error).message})`);
  }
  for (const k of ['model', 'dataset', 'train', 'test', 'batchSize', 'weightDecay'] as const) {
    if (s[k] === undefined) throw new RunFolderProblem(`${path}: has no ${k}`);
  }
  return s;
}

interface Checkpoint {
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  meta: Record<string, unknown>;
}

async function readCheckpoint(path: string): Promise<Checkpoint> {
  let file;
  try {
    file = decodeSafetensors(await readFileChecked(path), path);
  } catch (e) {
    throw new RunFolderProblem((e as Error).message);
  }
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of file.tensors) tensors.set(name, { shape: t.shape, data: toFloat32(t) });
  return { tensors, meta: JSON.parse(file.metadata.meta ?? 'null') ?? {} };
}

/** A finished phase's checkpoint, or a one-line problem saying why there is none. */
async function phase(
  dir: string,
  seed: number,
  name: string,
  file = 'state.safetensors',
): Promise<Checkpoint | string> {
  const folder = join(dir, `seed-${seed}`, name);
  if (!existsSync(join(folder, 'result.json'))) {
    const started = existsSync(join(folder, 'state.safetensors'));
    const state = started ? 'not finished' : 'missing';
    return `seed ${seed}'s ${name} phase is ${state} (${folder}); rerun the swa command to finish it`;
  }
  return readCheckpoint(join(folder, file));
}

const must = <T>(x: T | string): T => {
  if (typeof x === 'string') throw new RunFolderProblem(x);
  return x;
};

function vector(layout: ParamLayout, c: Checkpoint, path: string, prefix = ''): Float32Array {
  try {
    return flatten(layout, c.tensors, path, prefix);
  } catch (e) {
    throw new RunFolderProblem(`${(e as Error).message} (was the run made with another model or width?)`);
  }
}

/**
 * Reads one seed's solutions. SGD and SWA must be finished; FGE is optional (`fge` is then empty, with a note).
 * Needs the model's parameter layout (from a model built with the run's settings).
 */
export async function readRunSolutions(
  dir: string,
  seed: number,
  layout: ParamLayout,
  settings: RunSettings,
): Promise<RunSolutions> {
  const at = (p: string, f = 'state.safetensors'): string => join(dir, `seed-${seed}`, p, f);
  if (!existsSync(join(dir, `seed-${seed}`))) {
    throw new RunFolderProblem(`${dir}: no seed-${seed} folder (seeds there: ${runSeeds(dir).join(', ') || 'none'})`);
  }
  const sgdState = must(await phase(dir, seed, 'sgd'));
  const branch = must(await phase(dir, seed, 'sgd', 'branch.safetensors'));
  const swaState = must(await phase(dir, seed, 'swa'));
  const notes = [
    'w_SWA is saved only at the end of the SWA phase (1.5 budgets); the averages at 1 and 1.25 budgets are not saved',
    "the SWA phase's intermediate iterates (Figure 3's trajectory) are not saved; the planes use the saved points only",
  ];
  const swaN = Number(swaState.meta.n ?? NaN);
  const fgeOrNote = await phase(dir, seed, 'fge');
  const fge: FgeSnapshot[] = [];
  if (typeof fgeOrNote === 'string') {
    notes.push(fgeOrNote);
  } else {
    const count = Number(fgeOrNote.meta.snapshots ?? 0);
    for (let k = 0; k < count; k++) {
      const prefix = fgePrefix(k);
      const buffers = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [name, t] of fgeOrNote.tensors) {
        if (name.startsWith(prefix) && !layout.names.includes(name.slice(prefix.length)))
          buffers.set(name.slice(prefix.length), t);
      }
      fge.push({ weights: vector(layout, fgeOrNote, at('fge'), prefix), buffers });
    }
  }
  return {
    dir,
    seed,
    settings,
    sgd: vector(layout, sgdState, at('sgd')),
    swa: vector(layout, swaState, at('swa'), SWA_AVERAGE_PREFIX),
    swaN,
    start: vector(layout, branch, at('sgd', 'branch.safetensors')),
    fge,
    notes,
  };
}
