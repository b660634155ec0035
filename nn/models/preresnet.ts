// Preactivation ResNet (He et al., 2016) as in the SWA paper's code: depth 6n+2 with basic blocks, or 9n+2 with
// bottleneck blocks (depth ≥ 44), e.g. PreResNet-20/56/110/164. Each BN–ReLU pair runs as one fused op.

import { add, globalGenerator, mean, type Tensor } from '../../engine/index.ts';
import { batchNormReluOf } from '../fused.ts';
import { BatchNorm2d, Conv2d, Linear, Sequential, type LayerOptions } from '../layers.ts';
import { Module } from '../module.ts';
import { heFanOutInit } from './init.ts';

const conv3x3 = (i: number, o: number, stride: number, opts: LayerOptions): Conv2d =>
  new Conv2d(i, o, 3, { ...opts, stride, padding: 1, bias: false });

class BasicBlock extends Module {
  static expansion = 1;
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly downsample: Sequential | null;
  constructor(inplanes: number, planes: number, stride: number, downsample: Sequential | null, opts: LayerOptions) {
    super();
    this.bn1 = this.child('bn1', new BatchNorm2d(inplanes, opts));
    this.conv1 = this.child('conv1', conv3x3(inplanes, planes, stride, opts));
    this.bn2 = this.child('bn2', new BatchNorm2d(planes, opts));
    this.conv2 = this.child('conv2', conv3x3(planes, planes, 1, opts));
    this.downsample = downsample && this.child('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    const out = batchNormReluOf(this.bn1, x);
    const res = this.downsample ? this.downsample.forward(out) : x;
    const y = this.conv2.forward(batchNormReluOf(this.bn2, this.conv1.forward(out)));
    return add(y, res);
  }
}

class Bottleneck extends Module {
  static expansion = 4;
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly downsample: Sequential | null;
  constructor(inplanes: number, planes: number, stride: number, downsample: Sequential | null, opts: LayerOptions) {
    super();
    this.bn1 = this.child('bn1', new BatchNorm2d(inplanes, opts));
    this.conv1 = this.child('conv1', new Conv2d(inplanes, planes, 1, { ...opts, bias: false }));
    this.bn2 = this.child('bn2', new BatchNorm2d(planes, opts));
    this.conv2 = this.child('conv2', conv3x3(planes, planes, stride, opts));
    this.bn3 = this.child('bn3', new BatchNorm2d(planes, opts));
    this.conv3 = this.child('conv3', new Conv2d(planes, planes * 4, 1, { ...opts, bias: false }));
    this.downsample = downsample && this.child('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    const out = batchNormReluOf(this.bn1, x);
    const res = this.downsample ? this.downsample.forward(out) : x;
    let y = this.conv1.forward(out);
    y = this.conv2.forward(batchNormReluOf(this.bn2, y));
    y = this.conv3.forward(batchNormReluOf(this.bn3, y));
    return add(y, res);
  }
}

export interface PreResNetOptions extends LayerOptions {
  depth?: number;
  classes?: number;
  inChannels?: number;
  /** Multiplies the stage widths 16, 32, 64 (1 by default). */
  width?: number;
}

/** Preactivation ResNet: conv 3×3 → 3 stages of blocks (stride 1, 2, 2) → BN → ReLU → global average → linear. */
export class PreResNet extends Module {
  readonly conv1: Conv2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly bn: BatchNorm2d;
  readonly fc: Linear;
  constructor(opts: PreResNetOptions = {}) {
    super();
    const depth = opts.depth ?? 20;
    const bottleneck = depth >= 44;
    const per = bottleneck ? 9 : 6;
    if ((depth - 2) % per !== 0 || depth < per + 2) {
      throw new Error(
        `PreResNet: depth ${depth} must be ${per}n+2 ` +
          `(${bottleneck ? 'bottleneck blocks for depth ≥ 44' : 'basic blocks'})`,
      );
    }
    const n = (depth - 2) / per;
    const Block = bottleneck ? Bottleneck : BasicBlock;
    const expansion = Block.expansion;
    const w = opts.width ?? 1;
    const [s1, s2, s3] = [16, 32, 64].map((c) => Math.round(c * w));
    if (!(s1 >= 1)) throw new RangeError(`PreResNet: width ${w} leaves ${s1} channels in the first stage (need ≥ 1)`);
    let inplanes = s1;
    const makeLayer = (planes: number, stride: number): Sequential => {
      const ds =
        stride !== 1 || inplanes !== planes * expansion
          ? new Sequential(new Conv2d(inplanes, planes * expansion, 1, { ...opts, stride, bias: false }))
          : null;
      const blocks: Module[] = [new Block(inplanes, planes, stride, ds, opts)];
      inplanes = planes * expansion;
      for (let i = 1; i < n; i++) blocks.push(new Block(inplanes, planes, 1, null, opts));
      return new Sequential(...blocks);
    };
    this.conv1 = this.child('conv1', new Conv2d(opts.inChannels ?? 3, s1, 3, { ...opts, padding: 1, bias: false }));
    this.layer1 = this.child('layer1', makeLayer(s1, 1));
    this.layer2 = this.child('layer2', makeLayer(s2, 2));
    this.layer3 = this.child('layer3', makeLayer(s3, 2));
    this.bn = this.child('bn', new BatchNorm2d(s3 * expansion, opts));
    this.fc = this.child('fc', new Linear(s3 * expansion, opts.classes ?? 10, opts));
    heFanOutInit(this, opts.generator ?? globalGenerator);
  }
  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(x);
    h = this.layer3.forward(this.layer2.forward(this.layer1.forward(h)));
    return this.fc.forward(mean(batchNormReluOf(this.bn, h), [2, 3]));
  }
}
