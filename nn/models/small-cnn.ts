// The small CNN for 28×28 inputs: two conv–BN–ReLU–maxpool stages and two linear layers.

import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, type LayerOptions } from '../layers.ts';
import { FusedSequential } from '../fused.ts';
import { Module } from '../module.ts';
import type { Tensor } from '../../engine/index.ts';

export interface SmallCnnOptions extends LayerOptions {
  inChannels?: number;
  /** Input height and width (28 for MNIST-style data). */
  size?: number;
  classes?: number;
  /** Channels of the two conv stages and the hidden linear width. */
  widths?: [number, number, number];
}

/**
 * conv3×3 in→32, BN, ReLU, maxpool 2; conv3×3 32→64, BN, ReLU, maxpool 2; linear 64·7·7→128, ReLU; linear 128→10.
 * State-dict keys: features.{0,1,4,5}.*, classifier.{1,3}.* (the PyTorch module in test/fixtures/make_fixtures.py).
 * The features run each BN–ReLU pair as one fused op (FusedSequential).
 */
export class SmallCnn extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  constructor(opts: SmallCnnOptions = {}) {
    super();
    const [c1, c2, hidden] = opts.widths ?? [32, 64, 128];
    const inC = opts.inChannels ?? 1;
    const size = opts.size ?? 28;
    const spatial = Math.floor(Math.floor(size / 2) / 2);
    if (!(spatial >= 1)) throw new RangeError(`SmallCnn: input size ${size} is below 4 (its two 2×2 max pools need 4)`);
    this.features = this.child(
      'features',
      new FusedSequential(
        new Conv2d(inC, c1, 3, { ...opts, padding: 1 }),
        new BatchNorm2d(c1, opts),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(c1, c2, 3, { ...opts, padding: 1 }),
        new BatchNorm2d(c2, opts),
        new ReLU(),
        new MaxPool2d(2),
      ),
    );
    this.classifier = this.child(
      'classifier',
      new Sequential(
        new Flatten(),
        new Linear(c2 * spatial * spatial, hidden, opts),
        new ReLU(),
        new Linear(hidden, opts.classes ?? 10, opts),
      ),
    );
  }
  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}
