// Fast Geometric Ensembling (Garipov et al., 2018): snapshots of SGD iterates at the minima of a triangular cyclic
// learning rate; the ensemble predicts with the mean of the snapshots' softmax outputs.

import type { Backend } from '../engine/index.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { deepcopy, type Module } from '../nn/module.ts';
import {
  disposeSnapshot,
  ensemblePredict,
  loadSnapshot,
  takeSnapshot,
  type EnsembleOptions,
  type EnsembleResult,
  type Snapshot,
} from './ensemble.ts';

/**
 * Fast Geometric Ensembling (Garipov et al., 2018): holds snapshots of the SGD iterates at the minima of FGE's cyclic
 * rate (on the device, or in host memory to save device memory) and predicts with the mean of their softmax outputs.
 * Snapshots are real SGD iterates, so their BatchNorm statistics are used as they are.
 * @see https://arxiv.org/abs/1802.10026
 * @example
 * const fge = new FgeEnsemble();
 * // after each step: if (sched.snapshotNow) await fge.add(model);   (sched: FgeCyclicalLR)
 * const { accuracy, nll } = await fge.evaluate(model, test, device);
 */
export class FgeEnsemble {
  readonly snapshots: Snapshot[] = [];

  constructor(readonly where: 'device' | 'host' = 'device') {}

  /** Adds a snapshot of the model's current state (call at the LR minimum of each cycle). */
  async add(model: Module): Promise<void> {
    this.snapshots.push(await takeSnapshot(model, this.where));
  }

  get size(): number {
    return this.snapshots.length;
  }

  /**
   * Accuracy and NLL of the ensemble on a data set, computed on a copy of `model` (the model is never changed).
   * @example const r = await fge.evaluate(model, test, device, { normalize: FASHION_MNIST_STATS });
   */
  async evaluate(model: Module, data: Dataset, device: Backend, opts: EnsembleOptions = {}): Promise<EnsembleResult> {
    if (!this.snapshots.length) throw new Error('FgeEnsemble.evaluate: no snapshots yet');
    const copy = deepcopy(model);
    try {
      const load = (m: Module, k: number): void => loadSnapshot(m, this.snapshots[k]);
      return await ensemblePredict(copy, this.snapshots.length, load, data, device, opts);
    } finally {
      copy.dispose();
    }
  }

  dispose(): void {
    for (const s of this.snapshots) disposeSnapshot(s);
    this.snapshots.length = 0;
  }
}

/**
 * Ensemble of saved models (checkpoint state dicts as host arrays): the same mean-of-softmax prediction over a list
 * of checkpoints, e.g. the SWA runs of several seeds; `model` gives the architecture and is never changed.
 */
export async function evaluateStateEnsemble(
  model: Module,
  states: Map<string, { data: Float32Array }>[],
  data: Dataset,
  device: Backend,
  opts: EnsembleOptions = {},
): Promise<EnsembleResult> {
  const copy = deepcopy(model);
  try {
    return await ensemblePredict(
      copy,
      states.length,
      (m, k) => {
        loadSnapshot(m, new Map([...states[k]].map(([n, v]) => [n, v.data])));
      },
      data,
      device,
      opts,
    );
  } finally {
    copy.dispose();
  }
}
