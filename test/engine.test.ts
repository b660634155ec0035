// The op definitions on the reference kernels (float64 kernels rounded to float32): separates engine bugs
// (shapes, strides, backward rules) from kernel bugs. The reference kernels themselves are checked against PyTorch.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OP_CASES } from './op-cases.ts';
import { checkCase } from './util/check.ts';
import { countCase } from './util/count.ts';
import { createReferenceBackend } from './util/reference-backend.ts';
import { loadTorchFixture, runTorchCase, torchTolerance } from './util/torch-cases.ts';

const be = createReferenceBackend();
const fx = loadTorchFixture();

// Every PyTorch case (outputs, input gradients, running statistics): the oracle for the reference kernels.
for (const c of fx.cases) {
  test(`reference kernels: ${c.name} (PyTorch)`, async () => {
    const r = await runTorchCase(fx, c, be, torchTolerance(c.op));
    if (r.failure) assert.unreachable(`${c.name}: ${r.failure}`);
    countCase('node-reference-torch');
  });
}

// NOTE: on this backend an op case's forward check compares the reference kernels with the very code that defines
// the op's reference (conv, pooling, batch norm and dropout call the same functions), so those ops are checked by the
// PyTorch cases above, which hold every one of their op cases under the same name.
const PYTORCH_ONLY = new Set(['conv2d', 'pool2d', 'batchNorm', 'batchNormRelu', 'dropout']);
test('reference kernels: every conv, pooling, batch norm and dropout op case has its PyTorch case', () => {
  const names = new Set(fx.cases.map((c) => c.name));
  const missing = OP_CASES.filter((c) => PYTORCH_ONLY.has(c.op) && !names.has(c.name)).map((c) => c.name);
  assert.equal(missing, [], `op cases without a PyTorch fixture: ${missing.join(', ')}`);
});
OP_CASES.forEach((c, i) => {
  if (PYTORCH_ONLY.has(c.op)) return;
  test(`reference kernels: ${c.name}`, async () => {
    const err = await checkCase(c, be, 1000 + i);
    if (err) assert.unreachable(`${c.name}: ${err}`);
  });
});
test('reference kernels: no buffer leaked', () => {
  assert.is(be.liveBuffers(), 0);
});
test.run();
