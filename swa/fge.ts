// Fast Geometric Ensembling (Garipov et al., 2018): snapshots of SGD iterates at the minima of a triangular cyclic
// learning rate; the ensemble predicts with the mean of the snapshots' softmax outputs.

import type { Backend } from '../engine/index.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import type { Module } from '../nn/module.ts';
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
 * Holds FGE snapshots (on the device, or in host memory to save device memory). Snapshots are real SGD iterates,
 * so their BatchNorm statistics are used as they are.
 * @see https://arxiv.org/abs/1802.10026
 */
export class FgeEnsemble {
  readonly snapshots: Snapshot[] = [];

  constructor(readonly where: 'device' | 'host' = 'device') {}

  /** Adds the model's current weights (call at the LR minimum of each cycle). */
  async add(model: Module): Promise<void> {
    this.snapshots.push(await takeSnapshot(model, this.where));
  }

  get size(): number {
    return this.snapshots.length;
  }

  /**
   * Accuracy and NLL of the ensemble on a data set. The model's own weights are restored afterwards.
   */
  async evaluate(model: Module, data: Dataset, device: Backend, opts: EnsembleOptions = {}): Promise<EnsembleResult> {
    if (!this.snapshots.length) throw new Error('FgeEnsemble.evaluate: no snapshots yet');
    const own = await takeSnapshot(model, 'device');
    try {
      return await ensemblePredict(
        model,
        this.snapshots.length,
        (m, k) => loadSnapshot(m, this.snapshots[k]),
        data,
        device,
        opts,
      );
    } finally {
      loadSnapshot(model, own);
      disposeSnapshot(own);
    }
  }

  dispose(): void {
    for (const s of this.snapshots) disposeSnapshot(s);
    this.snapshots.length = 0;
  }
}

/**
 * Ensemble of saved models (checkpoint state dicts as host arrays): the same mean-of-softmax prediction over a list
 * of checkpoints, e.g. the SWA runs of several seeds.
 */
export async function evaluateStateEnsemble(
  model: Module,
  states: Map<string, { data: Float32Array }>[],
  data: Dataset,
  device: Backend,
  opts: EnsembleOptions = {},
): Promise<EnsembleResult> {
  const own = await takeSnapshot(model, 'device');
  try {
    return await ensemblePredict(
      model,
      states.length,
      (m, k) => {
        loadSnapshot(m, new Map([...states[k]].map(([n, v]) => [n, v.data])));
      },
      data,
      device,
      opts,
    );
  } finally {
    loadSnapshot(model, own);
    disposeSnapshot(own);
  }
}
