// Custom ops on every backend (wasm, wasm on 3 threads, WebGPU): the shared checks of custom-op-cases.ts, each a test.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tensor } from '../index.ts';
import { CUSTOM_OP_CHECKS } from './custom-op-cases.ts';
import { biasScale, biasScaleOp } from './custom-op-defs.ts';
import { throwsWith } from './util/throws.ts';
import { backendLabel, testBackends } from './util/backends.ts';
import { countCase } from './util/count.ts';

const backends = await testBackends({ threaded: true });

for (const be of backends) {
  const label = backendLabel(be);
  for (const c of CUSTOM_OP_CHECKS) {
    test(`${label}: ${c.name}`, async () => {
      await c.run(be);
      countCase(`node-${label}`);
    });
  }
  test(`${label}: no buffer leaked by the custom-op checks`, () => {
    assert.is(be.liveBuffers(), 0);
  });
}

const [wasm, gpu] = ['wasm', 'webgpu'].map((n) => backends.find((b) => backendLabel(b) === n));
if (wasm && gpu) {
  test('inputs on different devices are a clear error naming the op and the devices', async () => {
    await biasScaleOp.compile(gpu);
    const x = tensor([1, 2], [1, 2], { device: wasm });
    const b = tensor([1, 2], [2], { device: gpu });
    throwsWith(() => biasScale(x, b, b), 'biasScale', 'different devices', 'on wasm', 'on webgpu');
    x.dispose();
    b.dispose();
  });
}

test.run();
