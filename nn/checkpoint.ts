// Checkpoints in the safetensors format: a model's parameters and buffers under their PyTorch names (loadable with
// safetensors + load_state_dict), the optimizer's momentum buffers under `optimizer.`, and JSON metadata. Loading
// checks every tensor's dtype and exact shape against the model and optimizer, and every metadata field.

import type { Tensor } from '../engine/index.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  SafetensorsError,
  toFloat32,
  type Dtype,
  type SafeTensorEntry,
} from './safetensors.ts';
import { counterOf, type Module } from './module.ts';
import type { SGD } from './optim.ts';

/** Keys under this prefix hold optimizer state; PyTorch users filter them out (or load with strict=False). */
export const OPTIMIZER_PREFIX = 'optimizer.momentum_buffer.';
const FORMAT = 'swa-engine-checkpoint-1';

/** What a checkpoint holds: the model's state dict, the optimizer's momentum, extra tensors and JSON metadata. */
export interface CheckpointContents {
  model: Module;
  optimizer?: SGD;
  /** Further named tensors (averaged weights, say), stored as `<name>` keys prefixed by the caller. */
  extra?: Map<string, Tensor>;
  /** JSON-serialisable metadata (epoch, RNG and loader state, schedule position, …). */
  meta?: unknown;
  /** Save even when a float tensor holds NaN or ±Infinity (refused by default: that is a diverged state). */
  allowNonFinite?: boolean;
}

/**
 * A checkpoint that cannot be saved or loaded as asked: corrupt bytes, a tensor missing or of the wrong dtype or
 * shape, bad metadata, non-finite values. The message starts with the file and names the tensor or metadata key.
 * @example
 * try { await loadCheckpoint(p, { model }); } catch (e) { if (e instanceof CheckpointError) console.error(e.message); }
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(message: string, opts?: ErrorOptions & { nonFinite?: { tensor: string; value: number; index: number } }) {
    super(message, opts);
    this.nonFinite = opts?.nonFinite;
  }
  /** Set when a save was refused because a tensor holds NaN or ±Infinity (a diverged state). */
  readonly nonFinite?: { tensor: string; value: number; index: number };
}

/** Index of the first NaN or ±Infinity in `data`, or −1. */
function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * PyTorch stores its counters (BatchNorm's num_batches_tracked, AveragedModel's n_averaged) as int64; they are written
 * as I64, from their exact host value, so load_state_dict accepts them as they are.
 */
async function entry(name: string, t: Tensor): Promise<SafeTensorEntry> {
  const counter = counterOf(t);
  if (counter) return { name, dtype: 'I64', shape: [...t.shape], data: BigInt64Array.of(BigInt(counter.value)) };
  return { name, dtype: 'F32', shape: [...t.shape], data: await t.data() };
}

/**
 * Serialises model state, optimizer state and metadata to safetensors bytes (reads tensors back from the device).
 * The optimizer metadata lists the parameters that have a momentum buffer, so a load can require each of them.
 * @throws CheckpointError when a float tensor holds NaN or ±Infinity (unless `allowNonFinite`), naming it.
 * @example const bytes = await checkpointBytes({ model: swaModel, meta: { epoch } }); // n_averaged saved as I64
 */
export async function checkpointBytes(c: CheckpointContents): Promise<Uint8Array> {
  const entries: SafeTensorEntry[] = [];
  for (const [name, t] of c.model.stateDict()) entries.push(await entry(name, t));
  const names = c.model.namedParameters().map(([n]) => n);
  const buffers: string[] = [];
  if (c.optimizer) {
    for (const [i, v] of c.optimizer.state().momentum) {
      buffers.push(names[i]);
      entries.push(await entry(`${OPTIMIZER_PREFIX}${names[i]}`, v));
    }
  }
  for (const [name, t] of c.extra ?? []) entries.push(await entry(name, t));
  if (!c.allowNonFinite) {
    for (const e of entries) {
      const at = e.dtype === 'F32' ? firstNonFinite(e.data) : -1;
      if (at >= 0 && e.dtype === 'F32') {
        const nonFinite = { tensor: e.name, value: e.data[at], index: at };
        throw new CheckpointError(
          `checkpoint not written: tensor ${e.name} holds ${e.data[at]} at index ${at} (a diverged state)`,
          { nonFinite },
        );
      }
    }
  }
  const metadata: Record<string, string> = { format: FORMAT, meta: JSON.stringify(c.meta ?? null) };
  if (c.optimizer) {
    const o = c.optimizer;
    metadata.optimizer = JSON.stringify({
      type: 'SGD',
      lr: o.lr,
      momentum: o.momentum,
      dampening: o.dampening,
      weightDecay: o.weightDecay,
      nesterov: o.nesterov,
      step: o.stepCount,
      buffers,
    });
  }
  return encodeSafetensors(entries, metadata);
}

/** A tensor read from a checkpoint: float32 values, and the dtype it was stored with ('I64' for counters). */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
  /** The dtype in the file; the values are widened to float32 in `data`. */
  stored: Dtype;
}

/** What `restoreCheckpoint` returns besides loading the model: the metadata and the extra tensors. */
export interface Restored {
  meta: unknown;
  /** Extra tensors found in the file (those not belonging to the model or optimizer), as host arrays. */
  extra: Map<string, HostTensor>;
}

/** The optimizer metadata a checkpoint holds (`metadata.optimizer`). */
interface SavedOptimizer {
  step: number;
  lr: number;
  momentum: number;
  /** Parameters with a momentum buffer; absent in files written before it was recorded. */
  buffers?: string[];
}

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Parses the JSON of metadata `key`, throwing a CheckpointError naming the file and key. */
function metaJson(metadata: Record<string, string>, key: string, source: string): unknown {
  const text = metadata[key];
  if (text === undefined) throw new CheckpointError(`${source}: metadata key ${key} is missing`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${source}: metadata key ${key} is not valid JSON (${(e as Error).message})`);
  }
}

/** The optimizer metadata, each field checked. */
function savedOptimizer(metadata: Record<string, string>, source: string): SavedOptimizer {
  const v = metaJson(metadata, 'optimizer', source) as Record<string, unknown> | null;
  const bad = (field: string, want: string): never => {
    const got = v && typeof v === 'object' ? JSON.stringify(v[field]) : JSON.stringify(v);
    throw new CheckpointError(`${source}: metadata optimizer.${field} is ${got ?? 'missing'}, expected ${want}`);
  };
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad('type', 'an object');
  if (v.type !== 'SGD') bad('type', '"SGD"');
  const { step, lr, momentum, buffers } = v;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) bad('step', 'an integer ≥ 0');
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) bad('lr', 'a finite number ≥ 0');
  if (typeof momentum !== 'number' || !(momentum >= 0 && momentum < 1)) bad('momentum', 'a number in [0, 1)');
  if (buffers !== undefined && !(Array.isArray(buffers) && buffers.every((b) => typeof b === 'string')))
    bad('buffers', 'a list of parameter names');
  return v as unknown as SavedOptimizer;
}

/**
 * Loads checkpoint bytes into `model` (and `optimizer`) in place. Every tensor the model holds must be in the file
 * with its exact shape and dtype (F32; I64 for PyTorch's integer counters) and finite values; with an optimizer,
 * its metadata and every momentum buffer it lists (all parameters, for older files that list none, once it has
 * stepped) are required too, with the parameter's exact shape. Pass no optimizer to load the weights alone. Nothing
 * is written unless everything checks out.
 * @throws CheckpointError naming `source` and every tensor or metadata key that is wrong.
 * @example const { meta } = restoreCheckpoint(bytes, { model, optimizer }, 'run.safetensors');
 */
export function restoreCheckpoint(
  bytes: Uint8Array,
  target: { model: Module; optimizer?: SGD },
  source = 'checkpoint',
): Restored {
  let file;
  try {
    file = decodeSafetensors(bytes, source);
  } catch (e) {
    throw e instanceof SafetensorsError ? new CheckpointError(e.message, { cause: e }) : e;
  }
  if (file.metadata.format !== FORMAT)
    throw new CheckpointError(
      `${source}: not a swa-engine checkpoint (metadata format is ${JSON.stringify(file.metadata.format)})`,
    );
  const meta = metaJson(file.metadata, 'meta', source);
  const problems: string[] = [];
  const host = new Map<string, HostTensor>();
  for (const [name, t] of file.tensors) {
    try {
      host.set(name, { shape: t.shape, data: toFloat32(t), stored: t.dtype });
    } catch {
      problems.push(`tensor ${name} has dtype ${t.dtype}, which no model tensor holds`);
    }
  }
  /** The tensor `name` of the file, checked against the shape and dtype expected; undefined (and a problem) if not. */
  const take = (name: string, shape: readonly number[], dtype: Dtype, what: string): HostTensor | undefined => {
    const v = host.get(name);
    if (!v) {
      if (!problems.some((p) => p.startsWith(`tensor ${name} `))) problems.push(`tensor ${name} (${what}) is missing`);
      return undefined;
    }
    if (v.stored !== dtype) problems.push(`tensor ${name} has dtype ${v.stored}, expected ${dtype} (${what})`);
    else if (!sameShape(v.shape, shape))
      problems.push(`tensor ${name} has shape ${fmtShape(v.shape)}, expected ${fmtShape(shape)} (${what})`);
    else if (dtype === 'F32' && firstNonFinite(v.data) >= 0) {
      const at = firstNonFinite(v.data);
      problems.push(`tensor ${name} holds ${v.data[at]} at index ${at}`);
    } else return v;
    return undefined;
  };
  const own = target.model.stateDict();
  const modelValues = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, t] of own) {
    const counter = counterOf(t) !== undefined;
    const v = take(name, t.shape, counter ? 'I64' : 'F32', counter ? 'an int64 counter' : 'a model tensor');
    if (v) modelValues.set(name, v);
  }
  const momentum = new Map<number, Float32Array>();
  let saved: SavedOptimizer | undefined;
  if (target.optimizer) {
    const o = target.optimizer;
    saved = savedOptimizer(file.metadata, source);
    const params = target.model.namedParameters();
    const listed = saved.buffers ?? (saved.step > 0 && saved.momentum !== 0 ? params.map(([n]) => n) : []);
    const index = new Map(params.map(([n], i) => [n, i]));
    for (const n of listed) {
      const i = index.get(n);
      if (i === undefined) problems.push(`metadata optimizer.buffers names ${n}, which is not a model parameter`);
      else {
        const v = take(`${OPTIMIZER_PREFIX}${n}`, params[i][1].shape, 'F32', 'a momentum buffer');
        if (v) momentum.set(i, v.data);
      }
    }
    for (const name of host.keys()) {
      if (name.startsWith(OPTIMIZER_PREFIX) && !listed.includes(name.slice(OPTIMIZER_PREFIX.length)))
        problems.push(`tensor ${name} is not a momentum buffer the optimizer metadata lists`);
    }
    if (o.params.length !== params.length)
      problems.push(`the optimizer holds ${o.params.length} parameters, the model ${params.length}`);
  }
  if (problems.length) {
    const shown = problems.slice(0, 6).join('; ');
    const more = problems.length > 6 ? `; and ${problems.length - 6} more` : '';
    throw new CheckpointError(`${source}: ${shown}${more}`);
  }
  try {
    target.model.loadStateDict(modelValues);
  } catch (e) {
    throw new CheckpointError(`${source}: ${(e as Error).message}`, { cause: e });
  }
  if (target.optimizer && saved) {
    const o = target.optimizer;
    // A parameter the file has no buffer for starts without one (as PyTorch's load_state_dict), not with a stale one.
    o.params.forEach((p, i) => {
      if (momentum.has(i)) return;
      o.buffers.get(p)?.dispose();
      o.buffers.delete(p);
    });
    o.loadState(saved.step, momentum);
    o.lr = saved.lr;
  }
  const extra = new Map<string, HostTensor>();
  for (const [name, v] of host) {
    if (!own.has(name) && !name.startsWith(OPTIMIZER_PREFIX)) extra.set(name, v);
  }
  return { meta, extra };
}
