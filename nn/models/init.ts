// Initialisations the SWA reference models use on top of PyTorch's defaults.

import { noGrad, randn, type Generator } from '../../engine/index.ts';
import { Conv2d } from '../layers.ts';
import type { Module } from '../module.ts';

/**
 * Conv weights ~ N(0, 2/n) with n = kH·kW·out_channels (He et al., fan-out), biases 0; as the SWA repository's VGG and
 * PreResNet.
 */
export function heFanOutInit(model: Module, generator: Generator): void {
  for (const [, m] of model.walk()) {
    if (!(m instanceof Conv2d)) continue;
    const [out, , kh, kw] = m.weight.shape;
    const w = randn(m.weight.shape, { device: m.weight.backend, generator, std: Math.sqrt(2 / (kh * kw * out)) });
    noGrad(() => {
      m.weight.copy_(w);
      m.bias?.zero_();
    });
    w.dispose();
  }
}
