// PyTorch parity on every backend: the small CNN and a PreResNet-8 with PyTorch's weights on PyTorch's batch must give
// its logits, loss, gradients, BN running statistics, and its state after 3 SGD steps (relative error ≤ 1e-4).
// Fixtures: test/fixtures/make_fixtures.py (PyTorch 1.13).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { crossEntropy, Generator, tidy, withBackend, type Backend, type Tensor } from '../index.ts';
import { decodeSafetensors, toFloat32 } from '../nn/safetensors.ts';
import { SmallCnn } from '../nn/models/small-cnn.ts';
import { PreResNet } from '../nn/models/preresnet.ts';
import { SGD } from '../nn/optim.ts';
import type { Module } from '../nn/module.ts';
import { tensor } from '../engine/creation.ts';
import { backendLabel, testBackends } from './util/backends.ts';
import { countCase } from './util/count.ts';

type Host = { shape: number[]; data: Float32Array };

function loadFixture(name: string): { tensors: Map<string, Host>; meta: Record<string, string> } {
  const path = new URL(`../../test/fixtures/${name}`, import.meta.url).pathname;
  const file = decodeSafetensors(readFileSync(path), path);
  const tensors = new Map<string, Host>();
  for (const [k, t] of file.tensors) tensors.set(k, { shape: t.shape, data: toFloat32(t) });
  return { tensors, meta: file.metadata };
}

/**
 * ‖got − want‖ / max(‖want‖, 1e-3·√n). The floor makes gradients that are zero up to rounding (a conv bias before
 * batch norm, say, ~1e-9 in PyTorch) compare absolutely instead of as noise over noise.
 */
function relErr(got: Float32Array, want: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-3 * Math.sqrt(want.length));
}

async function expectClose(what: string, t: Tensor, want: Host | undefined, tol = 1e-4): Promise<void> {
  if (!want) assert.unreachable(`fixture has no ${what}`);
  assert.equal([...t.shape], want!.shape, `${what} shape`);
  const err = relErr(await t.data(), want!.data);
  if (process.env.PARITY_DEBUG) console.log(`${t.backend.name} ${what} ${err.toExponential(2)}`);
  assert.ok(err <= tol, `${what}: relative error ${err.toExponential(2)} > ${tol}`);
}

const CASES: [string, string, () => Module][] = [
  ['small CNN', 'parity-small-cnn.safetensors', () => new SmallCnn({ generator: new Generator(0) })],
  ['PreResNet-8', 'parity-preresnet8.safetensors', () => new PreResNet({ depth: 8, generator: new Generator(0) })],
];

const backends: Backend[] = await testBackends({ threaded: true });
for (const be of backends) {
  for (const [label, file, make] of CASES) {
    test(`${backendLabel(be)}: ${label} matches PyTorch (forward, gradients, BN statistics, 3 SGD steps)`, async () => {
      const { tensors: fx, meta } = loadFixture(file);
      const get = (k: string): Host => {
        const v = fx.get(k);
        if (!v) throw new Error(`fixture ${file} lacks ${k}`);
        return v;
      };
      const model = withBackend(be, make);
      {
        const keys = JSON.parse(meta.keys) as string[];
        assert.equal([...model.stateDict().keys()], keys, 'state_dict keys and order match PyTorch');
        model.loadStateDict(new Map(keys.map((k) => [k, get(`init.${k}`)])));
        const sgd = JSON.parse(meta.sgd) as { lr: number; momentum: number; weightDecay: number; steps: number };
        const opt = new SGD(model.parameters(), { lr: sgd.lr, momentum: sgd.momentum, weightDecay: sgd.weightDecay });
        const xin = get('input.x');
        const x = tensor(xin.data, xin.shape, { device: be });
        const y = tensor(get('input.y').data, [xin.shape[0]], { device: be });
        for (let step = 0; step < sgd.steps; step++) {
          const { logits, loss } = tidy(() => {
            const l = model.forward(x);
            const ce = crossEntropy(l, y);
            ce.backward();
            return { logits: l, loss: ce };
          });
          await expectClose(`step ${step} logits`, logits, get(`step${step}.logits`));
          await expectClose(`step ${step} loss`, loss, get(`step${step}.loss`));
          for (const [n, p] of model.namedParameters())
            await expectClose(`step ${step} grad ${n}`, p.grad!, get(`step${step}.grad.${n}`));
          for (const [n, b] of model.namedBuffers())
            await expectClose(`step ${step} buffer ${n}`, b, get(`step${step}.buffer.${n}`));
          logits.dispose();
          loss.dispose();
          opt.step();
          opt.zeroGrad();
        }
        for (const [k, t] of model.stateDict())
          await expectClose(`after ${sgd.steps} steps ${k}`, t, get(`step${sgd.steps}.${k}`));
        // The updates themselves (w₃ − w₀), far more sensitive to the optimizer's arithmetic than the weights.
        for (const [k, t] of model.namedParameters()) {
          const [w0, w3, got] = [get(`init.${k}`).data, get(`step${sgd.steps}.${k}`).data, await t.data()];
          const err = relErr(
            got.map((v, i) => v - w0[i]),
            w3.map((v, i) => v - w0[i]),
          );
          assert.ok(err <= 1e-4, `update of ${k}: relative error ${err.toExponential(2)} > 1e-4`);
        }
        x.dispose();
        y.dispose();
        opt.dispose();
        model.dispose();
      }
      assert.is(be.liveBuffers(), 0, 'no buffers left');
      countCase(`parity-${backendLabel(be)}`);
    });
  }
}

test.run();
