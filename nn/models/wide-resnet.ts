// Wide ResNet-d-k (Zagoruyko & Komodakis, 2016) as in the SWA paper's code: preactivation wide basic blocks with
// dropout between the convolutions.

import { add, mean, type Tensor } from '../../engine/index.ts';
import { batchNormReluOf } from '../fused.ts';
import { BatchNorm2d, Conv2d, Dropout, Linear, Sequential, type LayerOptions } from '../layers.ts';
import { Module } from '../module.ts';

class WideBasic extends Module {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly dropout: Dropout;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly shortcut: Sequential | null;
  constructor(inPlanes: number, planes: number, dropoutRate: number, stride: number, opts: LayerOptions) {
    super();
    this.bn1 = this.child('bn1', new BatchNorm2d(inPlanes, opts));
    this.conv1 = this.child('conv1', new Conv2d(inPlanes, planes, 3, { ...opts, padding: 1 }));
    this.dropout = this.child('dropout', new Dropout(dropoutRate, opts));
    this.bn2 = this.child('bn2', new BatchNorm2d(planes, opts));
    this.conv2 = this.child('conv2', new Conv2d(planes, planes, 3, { ...opts, stride, padding: 1 }));
    this.shortcut =
      stride !== 1 || inPlanes !== planes
        ? this.child('shortcut', new Sequential(new Conv2d(inPlanes, planes, 1, { ...opts, stride })))
        : null;
  }
  forward(x: Tensor): Tensor {
    const out = this.dropout.forward(this.conv1.forward(batchNormReluOf(this.bn1, x)));
    const y = this.conv2.forward(batchNormReluOf(this.bn2, out));
    return add(y, this.shortcut ? this.shortcut.forward(x) : x);
  }
}

export interface WideResNetOptions extends LayerOptions {
  /** 6n+4, e.g. 28. */
  depth?: number;
  /** Widen factor k, e.g. 10. */
  widen?: number;
  dropout?: number;
  classes?: number;
  inChannels?: number;
}

/** WRN-d-k: conv 3×3 → 3 stages of n wide blocks (16k, 32k, 64k channels) → BN → ReLU → global average → linear. */
export class WideResNet extends Module {
  readonly conv1: Conv2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly bn1: BatchNorm2d;
  readonly linear: Linear;
  constructor(opts: WideResNetOptions = {}) {
    super();
    const depth = opts.depth ?? 28;
    if (!Number.isInteger(depth) || (depth - 4) % 6 !== 0 || depth < 10)
      throw new RangeError(`WideResNet: depth ${depth} must be 6n+4 with n ≥ 1`);
    const n = (depth - 4) / 6;
    const k = opts.widen ?? 10;
    if (!Number.isInteger(k) || k < 1)
      throw new RangeError(`WideResNet: widen factor k must be an integer ≥ 1, got ${k}`);
    const stages = [16, 16 * k, 32 * k, 64 * k];
    let inPlanes = stages[0];
    const layer = (planes: number, stride: number): Sequential => {
      const blocks: Module[] = [];
      for (let i = 0; i < n; i++) {
        blocks.push(new WideBasic(inPlanes, planes, opts.dropout ?? 0, i === 0 ? stride : 1, opts));
        inPlanes = planes;
      }
      return new Sequential(...blocks);
    };
    this.conv1 = this.child('conv1', new Conv2d(opts.inChannels ?? 3, stages[0], 3, { ...opts, padding: 1 }));
    this.layer1 = this.child('layer1', layer(stages[1], 1));
    this.layer2 = this.child('layer2', layer(stages[2], 2));
    this.layer3 = this.child('layer3', layer(stages[3], 2));
    // NOTE: the SWA repository's WideResNet uses momentum 0.9 on this last batch norm; kept for fidelity.
    this.bn1 = this.child('bn1', new BatchNorm2d(stages[3], { ...opts, momentum: 0.9 }));
    this.linear = this.child('linear', new Linear(stages[3], opts.classes ?? 10, opts));
  }
  forward(x: Tensor): Tensor {
    const h = this.layer3.forward(this.layer2.forward(this.layer1.forward(this.conv1.forward(x))));
    return this.linear.forward(mean(batchNormReluOf(this.bn1, h), [2, 3]));
  }
}
