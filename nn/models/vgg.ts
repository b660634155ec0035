// VGG (Simonyan & Zisserman, 2015) as in the SWA paper's code: conv3×3 stacks with optional batch norm, max pools,
// and a dropout–linear classifier; a width multiplier scales every layer to fit small machines.

import { globalGenerator, reshape, type Tensor } from '../../engine/index.ts';
import { BatchNorm2d, Conv2d, Dropout, Linear, MaxPool2d, ReLU, Sequential, type LayerOptions } from '../layers.ts';
import { FusedSequential } from '../fused.ts';
import { Module } from '../module.ts';
import { heFanOutInit } from './init.ts';

const CONFIGS: Record<number, (number | 'M')[]> = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

export interface VggOptions extends LayerOptions {
  depth?: 11 | 13 | 16 | 19;
  batchNorm?: boolean;
  /** Multiplies every channel count and the classifier width (1 = the paper's VGG-16). */
  width?: number;
  classes?: number;
  inChannels?: number;
  /** Input height and width; pools that would shrink the map below 1×1 are left out (28 → 14 → 7 → 3 → 1). */
  size?: number;
  dropout?: number;
}

/** VGG-{11,13,16,19}, optionally with batch norm (VGG-16BN). Keys: features.N.*, classifier.{1,4,6}.* as PyTorch. */
export class Vgg extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  constructor(opts: VggOptions = {}) {
    super();
    const w = opts.width ?? 1;
    if (!(Number.isFinite(w) && w > 0)) throw new RangeError(`Vgg: width must be a finite number > 0, got ${w}`);
    const scale = (c: number): number => Math.max(1, Math.round(c * w));
    let inC = opts.inChannels ?? 3;
    let size = opts.size ?? 32;
    const layers: Module[] = [];
    for (const v of CONFIGS[opts.depth ?? 16]) {
      if (v === 'M') {
        if (size >= 2) {
          layers.push(new MaxPool2d(2));
          size = Math.floor(size / 2);
        }
        continue;
      }
      const c = scale(v);
      layers.push(new Conv2d(inC, c, 3, { ...opts, padding: 1 }));
      if (opts.batchNorm) layers.push(new BatchNorm2d(c, opts));
      layers.push(new ReLU());
      inC = c;
    }
    this.features = this.child('features', new FusedSequential(...layers));
    const hidden = scale(512);
    const p = opts.dropout ?? 0.5;
    this.classifier = this.child(
      'classifier',
      new Sequential(
        new Dropout(p, opts),
        new Linear(inC * size * size, hidden, opts),
        new ReLU(),
        new Dropout(p, opts),
        new Linear(hidden, hidden, opts),
        new ReLU(),
        new Linear(hidden, opts.classes ?? 10, opts),
      ),
    );
    heFanOutInit(this, opts.generator ?? globalGenerator);
  }
  forward(x: Tensor): Tensor {
    const f = this.features.forward(x);
    return this.classifier.forward(reshape(f, [f.shape[0], -1]));
  }
}
