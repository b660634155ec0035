// Custom ops on every backend (wasm, wasm on 3 threads, WebGPU): the shared checks of custom-op-cases.ts, each a test.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../index.ts';
import { CUSTOM_OP_CHECKS } from './custom-op-cases.ts';
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

test.run();
