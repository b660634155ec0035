// Every op × every case × every backend: forward against the float64 reference, gradients against finite differences.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OP_CASES } from './op-cases.ts';
import { checkCase } from './util/check.ts';
import { backendLabel, testBackends } from './util/backends.ts';
import { countCase } from './util/count.ts';
import { OPS } from '../engine/ops/index.ts';

const backends = await testBackends({ threaded: true });

test('the case table covers every op', () => {
  const covered = new Set(OP_CASES.map((c) => c.op));
  const missing = Object.keys(OPS).filter((op) => !covered.has(op as never));
  assert.equal(missing, [], `ops without test cases: ${missing.join(', ')}`);
});

for (const be of backends) {
  const label = backendLabel(be);
  OP_CASES.forEach((c, i) => {
    test(`${label}: ${c.name}`, async () => {
      const err = await checkCase(c, be, 1000 + i);
      if (err) assert.unreachable(`${c.name} on ${label}: ${err}`);
      countCase(`node-${label}`);
    });
  });
  test(`${label}: no buffer leaked by the op cases`, () => {
    assert.is(be.liveBuffers(), 0);
  });
}

test.run();
