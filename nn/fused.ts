// Layers run as fused ops: a BatchNorm followed by a ReLU as one batchNormRelu (the ReLU inside the normalising
// kernel, its gradient inside batch norm's), on its own or wherever a FusedSequential meets the pair.

import { batchNormRelu, type Tensor } from '../engine/index.ts';
import { BatchNorm, ReLU, Sequential } from './layers.ts';

/**
 * relu(bn.forward(x)) in one op, with exactly BatchNorm.forward's bookkeeping (num_batches_tracked and the
 * cumulative momentum when bn.momentum is null, as PyTorch). NOTE: that bookkeeping repeats BatchNorm.forward's five
 * lines; the two must change together.
 */
export function batchNormReluOf(bn: BatchNorm, x: Tensor): Tensor {
  let momentum = 0;
  if (bn.training) {
    bn.setBatchesTracked(bn.batchesTracked + 1);
    momentum = bn.momentum ?? 1 / bn.batchesTracked;
    bn.numBatchesTracked.fill_(bn.batchesTracked);
  }
  return batchNormRelu(x, bn.weight, bn.bias, bn.runningMean, bn.runningVar, {
    training: bn.training,
    momentum,
    eps: bn.eps,
  });
}

/**
 * A Sequential (same children, names and state-dict keys as torch.nn.Sequential) that runs each BatchNorm directly
 * followed by a ReLU as one batchNormRelu; every other child runs as in Sequential.
 */
export class FusedSequential extends Sequential {
  override forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const m = this.layers[i];
      if (m instanceof BatchNorm && this.layers[i + 1] instanceof ReLU) {
        h = batchNormReluOf(m, h);
        i++;
      } else {
        h = m.forward(h);
      }
    }
    return h;
  }
}
