// Model registry: build any of the paper's architectures by name, sized for the data.

import type { LayerOptions } from '../layers.ts';
import type { Module } from '../module.ts';
import { PreResNet } from './preresnet.ts';
import { SmallCnn } from './small-cnn.ts';
import { Vgg } from './vgg.ts';
import { WideResNet } from './wide-resnet.ts';

export { PreResNet, SmallCnn, Vgg, WideResNet };

export interface ModelSpec extends LayerOptions {
  inChannels: number;
  size: number;
  classes: number;
  /** Width multiplier (VGG, PreResNet) or widen factor (WideResNet). */
  width?: number;
}

/**
 * Names: `small-cnn`, `preresnet<depth>` (e.g. preresnet20, preresnet164), `vgg<depth>` / `vgg<depth>bn`
 * (e.g. vgg16bn), `wrn<depth>-<k>` (e.g. wrn28-10).
 */
export function createModel(name: string, spec: ModelSpec): Module {
  checkSpec(name, spec);
  const { inChannels, size, classes } = spec;
  let m: RegExpMatchArray | null;
  if (name === 'small-cnn') return new SmallCnn({ ...spec, inChannels, size, classes });
  if ((m = name.match(/^preresnet(\d+)$/)))
    return new PreResNet({ ...spec, depth: Number(m[1]), inChannels, classes, width: spec.width });
  if ((m = name.match(/^vgg(11|13|16|19)(bn)?$/))) {
    return new Vgg({
      ...spec,
      depth: Number(m[1]) as 11 | 13 | 16 | 19,
      batchNorm: Boolean(m[2]),
      inChannels,
      size,
      classes,
      width: spec.width,
    });
  }
  if ((m = name.match(/^wrn(\d+)-(\d+)$/)))
    return new WideResNet({ ...spec, depth: Number(m[1]), widen: Number(m[2]), inChannels, classes });
  throw new Error(`unknown model '${name}': use small-cnn, preresnet<depth>, vgg<11|13|16|19>[bn] or wrn<depth>-<k>`);
}

/** Rejects sizes that make no network: channels, image size and classes must be integers ≥ 1, width > 0. */
function checkSpec(name: string, spec: ModelSpec): void {
  const whole = (what: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name}: ${what} must be an integer ≥ 1, got ${v}`);
  };
  whole('inChannels', spec.inChannels);
  whole('size (image height and width)', spec.size);
  whole('classes', spec.classes);
  const w = spec.width;
  if (w !== undefined && !(Number.isFinite(w) && w > 0))
    throw new RangeError(`${name}: width must be a finite number > 0, got ${w}`);
}
