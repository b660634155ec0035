// The analysis library's one call of `updateBn`: BatchNorm statistics recomputed for the weights being evaluated.

import type { Tensor } from '../../engine/index.ts';
import type { Module } from '../../nn/module.ts';
import { updateBn } from '../bn-update.ts';

/**
 * Recomputes every BatchNorm's running statistics of `model` with one pass over `batches`, image tensors already on
 * the device (sample-weighted, as the SWA reference code and Garipov et al.'s plane script do); returns the number of
 * images seen.
 */
export function refreshBn(model: Module, batches: readonly Tensor[]): number {
  updateBn(batches, model, { weighting: 'samples', forward: (m, x: Tensor) => m.forward(x) });
  return batches.reduce((n, x) => n + x.shape[0], 0);
}
