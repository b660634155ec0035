// Checkpoints in the safetensors format: a model's parameters and buffers under their PyTorch names (loadable with
// safetensors + load_state_dict), the optimizer's momentum buffers under `optimizer.`, and JSON metadata.

import type { Tensor } from '../engine/index.ts';
import { decodeSafetensors, encodeSafetensors, toFloat32, type Dtype, type SafeTensorEntry } from './safetensors.ts';
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
 * @example const bytes = await checkpointBytes({ model: swaModel, meta: { epoch } }); // n_averaged saved as I64
 */
export async function checkpointBytes(c: CheckpointContents): Promise<Uint8Array> {
  const entries: SafeTensorEntry[] = [];
  for (const [name, t] of c.model.stateDict()) entries.push(await entry(name, t));
  const names = c.model.namedParameters().map(([n]) => n);
  if (c.optimizer) {
    for (const [i, v] of c.optimizer.state().momentum) entries.push(await entry(`${OPTIMIZER_PREFIX}${names[i]}`, v));
  }
  for (const [name, t] of c.extra ?? []) entries.push(await entry(name, t));
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

/**
 * Loads checkpoint bytes into `model` (and `optimizer`) in place. Throws naming `source` and the key when a tensor
 * is missing, has the wrong shape, or the file is corrupt.
 * @example const { meta } = restoreCheckpoint(bytes, { model, optimizer }, 'run.safetensors');
 */
export function restoreCheckpoint(
  bytes: Uint8Array,
  target: { model: Module; optimizer?: SGD },
  source = 'checkpoint',
): Restored {
  const file = decodeSafetensors(bytes, source);
  if (file.metadata.format !== FORMAT)
    throw new Error(
      `${source}: not a swa-engine checkpoint (metadata format is ${JSON.stringify(file.metadata.format)})`,
    );
  const host = new Map<string, HostTensor>();
  for (const [name, t] of file.tensors) host.set(name, { shape: t.shape, data: toFloat32(t), stored: t.dtype });
  const own = target.model.stateDict();
  const modelValues = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const name of own.keys()) {
    const v = host.get(name);
    if (!v) throw new Error(`${source}: tensor ${name} is missing`);
    modelValues.set(name, v);
  }
  try {
    target.model.loadStateDict(modelValues);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  if (target.optimizer) {
    const o = target.optimizer;
    const names = target.model.namedParameters().map(([n]) => n);
    const momentum = new Map<number, Float32Array>();
    names.forEach((n, i) => {
      const v = host.get(`${OPTIMIZER_PREFIX}${n}`);
      if (v) momentum.set(i, v.data);
    });
    if (o.momentum !== 0 && momentum.size === 0 && names.length)
      throw new Error(`${source}: optimizer momentum buffers are missing`);
    const saved = file.metadata.optimizer
      ? (JSON.parse(file.metadata.optimizer) as { step: number; lr: number })
      : { step: 0, lr: o.lr };
    o.loadState(saved.step, momentum);
    o.lr = saved.lr;
  }
  const extra = new Map<string, HostTensor>();
  for (const [name, v] of host) {
    if (!own.has(name) && !name.startsWith(OPTIMIZER_PREFIX)) extra.set(name, v);
  }
  return { meta: JSON.parse(file.metadata.meta ?? 'null'), extra };
}
