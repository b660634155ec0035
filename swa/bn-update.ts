// Recomputes BatchNorm running statistics for a model's current weights (e.g. w_SWA) with one pass over data
// without gradients, as the SWA paper prescribes after averaging.

import { noGrad, tidy, type Backend, type Tensor } from '../engine/index.ts';
import { BatchNorm } from '../nn/layers.ts';
import type { Module } from '../nn/module.ts';
import type { Batch } from '../nn/data/loader.ts';
import { toTensors } from '../nn/data/to-tensors.ts';

export interface BnUpdateOptions<B> {
  /**
   * 'samples' (SWA reference code): each batch weighs by its sample count, so the running mean is the exact mean over
   * all samples (momentum b/(n + b)). 'batches' (PyTorch's update_bn): every batch weighs equally (momentum None).
   */
  weighting?: 'samples' | 'batches';
  /** Runs the model on one batch (any batch structure); returns the batch size. Default: `model.forward(x)` of a loader batch. */
  forward?: (model: Module, batch: B) => number;
  /** Device for the default forward's tensors. */
  device?: Backend;
}

/**
 * One pass over `batches` in training mode without gradients: resets every BatchNorm's running statistics, then
 * accumulates them as a cumulative average. Momentum and train/eval mode are restored afterwards.
 * @returns the number of samples seen (0 when the model has no BatchNorm, which is then left untouched).
 * @see https://arxiv.org/abs/1803.05407 (§3.2, batch normalization)
 */
export function updateBn<B = Batch>(model: Module, batches: Iterable<B>, opts: BnUpdateOptions<B> = {}): number {
  const bns = [...model.walk()].map(([, m]) => m).filter((m): m is BatchNorm => m instanceof BatchNorm);
  if (bns.length === 0) return 0;
  const weighting = opts.weighting ?? 'samples';
  const forward =
    opts.forward ??
    ((m: Module, b: B): number => {
      const batch = b as unknown as Batch;
      tidy(() => {
        m.forward(toTensors(batch, opts.device).x);
      });
      return batch.size;
    });
  const momenta = bns.map((bn) => bn.momentum);
  const modes = [...model.walk()].map(([, m]) => m.training);
  let seen = 0;
  try {
    for (const bn of bns) {
      bn.resetRunningStats();
      bn.momentum = null;
    }
    model.train();
    for (const b of batches) {
      noGrad(() => {
        if (weighting === 'samples') {
          // momentum b/(n + b) makes the running mean the sample-weighted mean (the SWA reference's bn_update).
          const size = batchSizeOf(b);
          for (const bn of bns) bn.momentum = size / (seen + size);
        }
        seen += forward(model, b);
      });
    }
  } finally {
    bns.forEach((bn, i) => {
      bn.momentum = momenta[i];
    });
    [...model.walk()].forEach(([, m], i) => {
      m.training = modes[i];
    });
  }
  return seen;
}

/** The sample count of a loader batch or of a tensor (its first dimension). */
function batchSizeOf(b: unknown): number {
  if (b && typeof b === 'object') {
    if ('size' in b && typeof (b as Batch).size === 'number' && 'x' in b) return (b as Batch).size;
    if ('shape' in b) return (b as Tensor).shape[0];
    if ('x' in b && (b as { x: Tensor }).x && 'shape' in (b as { x: Tensor }).x) return (b as { x: Tensor }).x.shape[0];
  }
  throw new Error(
    'updateBn: sample weighting needs batches with a size (loader batches, tensors, or { x: tensor }); pass weighting "batches" otherwise',
  );
}
