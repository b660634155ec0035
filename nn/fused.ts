// Layers run as fused ops: a BatchNorm followed by a ReLU as one batchNormRelu (the ReLU inside the normalising
// kernel, its gradient inside batch norm's), on its own or wherever a FusedSequential meets the pair.

import type { Tensor } from '../engine/index.ts';
import { BatchNorm, ReLU, Sequential } from './layers.ts';

/** relu(bn.forward(x)) in one op (BatchNorm.forwardRelu), with BatchNorm.forward's running-statistics update. */
export function batchNormReluOf(bn: BatchNorm, x: Tensor): Tensor {
  return bn.forwardRelu(x);
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
