// The analysis library's one call of `updateBn`: BatchNorm statistics recomputed for the weights being evaluated.
// NOTE: `updateBn` is moving to PyTorch's argument order (loader, model, opts); adapt this one line when it does.

import { tidy, type Tensor } from '../../engine/index.ts';
import type { Module } from '../../nn/module.ts';
import { updateBn } from '../bn-update.ts';

/**
 * Recomputes every BatchNorm's running statistics of `model` with one pass over `batches`, image tensors already on
 * the device (sample-weighted, as the SWA reference code and Garipov et al.'s plane script do); returns the number of
 * images seen.
 */
export function refreshBn(model: Module, batches: readonly Tensor[]): number {
  return updateBn(model, batches, {
    weighting: 'samples',
    forward: (m, x) =>
      tidy(() => {
        m.forward(x);
        return x.shape[0];
      }),
  });
}
