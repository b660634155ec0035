// Every op case against PyTorch 1.13 in float64, on every backend: forward outputs, every input gradient under a fixed
// random upstream gradient, and batch norm's running statistics. Fixtures: test/fixtures/make_fixtures.py ops.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OPS } from '../index.ts';
import { OP_CASES } from './op-cases.ts';
import { backendLabel, testBackends } from './util/backends.ts';
import { countCase } from './util/count.ts';
import { loadTorchFixture, runTorchCase, torchTolerance } from './util/torch-cases.ts';

const fx = loadTorchFixture();
const backends = await testBackends({ threaded: true });

test('the PyTorch fixtures cover every op and mirror every op case (same op, same input shapes)', () => {
  const byName = new Map(fx.cases.map((c) => [c.name, c]));
  const uncovered = Object.keys(OPS).filter((op) => !fx.cases.some((c) => c.op === op));
  assert.equal(uncovered, [], `ops without PyTorch cases: ${uncovered.join(', ')}`);
  for (const c of OP_CASES) {
    const t = byName.get(c.name);
    const shapes = (s: { shape: number[] }[]): string => JSON.stringify(s.map((i) => i.shape));
    const ok = t !== undefined && t.op === c.op && shapes(t.inputs) === shapes(c.inputs);
    const why = `op case "${c.name}" has no PyTorch fixture of op ${c.op} on ${shapes(c.inputs)}`;
    assert.ok(ok, `${why}: rerun test/fixtures/make_fixtures.py ops`);
  }
});

for (const be of backends) {
  const label = backendLabel(be);
  // The largest scaled error, and the largest as a fraction of its case's tolerance, printed after the cases.
  const worst = { err: 0, errCase: '', ratio: 0, ratioCase: '' };
  for (const c of fx.cases) {
    test(`${label}: ${c.name} (PyTorch)`, async () => {
      const tol = torchTolerance(c.op);
      const r = await runTorchCase(fx, c, be, tol);
      if (r.worst > worst.err) Object.assign(worst, { err: r.worst, errCase: c.name });
      if (r.worst / tol > worst.ratio) Object.assign(worst, { ratio: r.worst / tol, ratioCase: c.name });
      if (r.failure) assert.unreachable(`${c.name} on ${label}: ${r.failure}`);
      countCase(`node-${label}-torch`);
    });
  }
  test(`${label}: no buffer leaked by the PyTorch cases`, () => {
    console.log(
      `[torch-ops] ${label}: largest scaled error ${worst.err.toExponential(2)} (${worst.errCase}); ` +
        `closest to its tolerance: ${(100 * worst.ratio).toFixed(1)}% (${worst.ratioCase})`,
    );
    assert.is(be.liveBuffers(), 0);
  });
}

test.run();
