// Initialisations the SWA reference models use on top of PyTorch's defaults.

import { randn } from '../../engine/creation.ts';
import { copyInPlace } from '../../engine/ops/update.ts';
import type { Generator } from '../../engine/random.ts';
import { Conv2d } from '../layers.ts';
import type { Module } from '../module.ts';

/** Conv weights ~ N(0, 2/n) with n = kH·kW·out_channels (He et al., fan-out), biases 0; as the SWA repository's VGG and PreResNet. */
export function heFanOutInit(model: Module, generator: Generator): void {
  for (const [, m] of model.walk()) {
    if (!(m instanceof Conv2d)) continue;
    const [out, , kh, kw] = m.weight.shape;
    const w = randn(m.weight.shape, { device: m.weight.backend, generator, std: Math.sqrt(2 / (kh * kw * out)) });
    copyInPlace(m.weight, w);
    w.dispose();
    if (m.bias) m.bias.backend.run('fill', [], m.bias.buf('init'), { size: m.bias.size, value: 0 });
  }
}
