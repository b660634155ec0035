// The op definitions on the reference kernels (float64 kernels rounded to float32): separates engine bugs
// (shapes, strides, backward rules) from kernel bugs.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../index.ts';
import { OP_CASES } from './op-cases.ts';
import { checkCase } from './util/check.ts';
import { createReferenceBackend } from './util/reference-backend.ts';

const be = createReferenceBackend();
OP_CASES.forEach((c, i) => {
  test(`reference kernels: ${c.name}`, async () => {
    const err = await checkCase(c, be, 1000 + i);
    if (err) assert.unreachable(`${c.name}: ${err}`);
  });
});
test('reference kernels: no buffer leaked', () => {
  assert.is(be.liveBuffers(), 0);
});
test.run();
