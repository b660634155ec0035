// Ensembles of weight snapshots (FGE, SWAG samples): predictions are the mean of the members' softmax outputs,
// accumulated on the device batch by batch; metrics are computed from the averaged probabilities.

import { axpbyInPlace, full, keep, noGrad, softmax, tidy, type Backend, type Tensor } from '../engine/index.ts';
import { DataLoader } from '../nn/data/loader.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import type { ChannelStats } from '../nn/data/normalize.ts';
import { toTensors } from '../nn/data/to-tensors.ts';
import { Counter, counterOf, type Module, type StateValue } from '../nn/module.ts';
import { accuracy, nll } from './report/calibration.ts';

/** Accuracy and mean negative log-likelihood of averaged class probabilities. */
export interface EnsembleResult {
  accuracy: number;
  nll: number;
  members: number;
  /** The averaged probabilities, [n, classes] row-major (for calibration analysis). */
  probs: Float32Array;
  labels: Int32Array;
}

/** Accuracy and NLL (−log p[label], clamped at 1e-12) of probability rows against integer labels. */
export function probabilityMetrics(
  probs: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
): { accuracy: number; nll: number } {
  return { accuracy: accuracy(probs, labels, classes), nll: nll(probs, labels, classes) };
}

/** How ensembles read the evaluation data: batch size (500) and the per-channel normalisation of training. */
export interface EnsembleOptions {
  batchSize?: number;
  normalize?: ChannelStats;
}

/**
 * The mean of softmax(model(x)) over `members` weight settings on a data set. `prepare(model, k)` puts member k's
 * weights into the model (and recomputes BN statistics if it must); each member is evaluated in eval mode.
 * The running sums stay on the device (one small tensor per batch) and are read back once at the end.
 */
export async function ensemblePredict(
  model: Module,
  members: number,
  prepare: (model: Module, k: number) => void,
  data: Dataset,
  device: Backend,
  opts: EnsembleOptions = {},
): Promise<EnsembleResult> {
  if (!(members >= 1)) throw new Error(`ensemble: needs at least one member, got ${members}`);
  const sums: Tensor[] = [];
  const wasTraining = model.training;
  try {
    for (let k = 0; k < members; k++) {
      prepare(model, k);
      model.eval();
      let i = 0;
      for (const b of new DataLoader(data, { batchSize: opts.batchSize ?? 500, normalize: opts.normalize })) {
        if (k === 0) sums.push(keep(full([b.size, data.classes], 0, { device })));
        const acc = sums[i++];
        noGrad(() => tidy(() => axpbyInPlace(acc, softmax(model.forward(toTensors(b, device).x), 1), 1, 1 / members)));
      }
    }
    const probs = new Float32Array(data.n * data.classes);
    let at = 0;
    for (const s of sums) {
      probs.set(await s.data(), at);
      at += s.size;
    }
    return { ...probabilityMetrics(probs, data.labels, data.classes), members, probs, labels: data.labels };
  } finally {
    for (const s of sums) s.dispose();
    model.train(wasTraining);
  }
}

/** A weight snapshot: every parameter and buffer by state-dict name, on the device or in host memory. */
export type Snapshot = Map<string, Tensor | Float32Array>;

/**
 * Copies a model's state into a snapshot: device copies (counters keep their exact value), or host arrays when
 * `where` is 'host'.
 */
export async function takeSnapshot(model: Module, where: 'device' | 'host' = 'device'): Promise<Snapshot> {
  const snap: Snapshot = new Map();
  for (const [name, t] of model.stateDict()) {
    const counter = counterOf(t);
    if (where === 'host') {
      snap.set(name, counter ? Float32Array.of(counter.value) : await t.data());
    } else {
      const copy = keep(t.newEmpty(t.shape));
      noGrad(() => copy.copy_(t));
      if (counter) new Counter(copy, counter.value);
      snap.set(name, copy);
    }
  }
  return snap;
}

/** Writes a snapshot into a model's tensors (they keep their identity), with every check of `loadStateDict`. */
export function loadSnapshot(model: Module, snap: Snapshot): void {
  const own = model.stateDict();
  const values = new Map<string, StateValue>();
  for (const [name, v] of snap) {
    values.set(name, v instanceof Float32Array ? { shape: own.get(name)?.shape ?? [v.length], data: v } : v);
  }
  model.loadStateDict(values);
}

export function disposeSnapshot(snap: Snapshot): void {
  for (const v of snap.values()) if (!(v instanceof Float32Array)) v.dispose();
}
