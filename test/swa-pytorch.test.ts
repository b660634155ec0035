// PyTorch's SWA tutorial loop (torch.optim.swa_utils) replayed on every backend against the fixture written by
// test/fixtures/make_swa_fixture.py (PyTorch 1.13): training states, AveragedModel with and without use_buffers, an EMA
// through getEmaMultiAvgFn, SWALR's rates (cos/linear, anneal_epochs 0 and 3), update_bn over unequal batches, and the
// averaged models' eval outputs, each within 1e-4 (|got − want| ≤ 1e-4·max(1, |want|)).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import {
  AveragedModel,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  CosineAnnealingLR,
  Flatten,
  getEmaMultiAvgFn,
  Linear,
  ReLU,
  Sequential,
  SGD,
  SWALR,
  tensor,
  tidy,
  updateBn,
  withBackend,
  type Backend,
  type Tensor,
} from '../index.ts';
import { decodeSafetensors, toFloat32 } from '../nn/safetensors.ts';
import { trainStep } from '../nn/trainer.ts';
import { backendLabel, testBackends } from './util/backends.ts';

type Host = { shape: number[]; data: Float32Array };
const path = new URL('../../test/fixtures/swa-loop.safetensors', import.meta.url).pathname;
const file = decodeSafetensors(readFileSync(path), path);
const fx = new Map<string, Host>([...file.tensors].map(([k, t]) => [k, { shape: t.shape, data: toFloat32(t) }]));
const meta = file.metadata;
const cfg = JSON.parse(meta.config) as {
  lr: number;
  momentum: number;
  weightDecay: number;
  epochs: number;
  swaStart: number;
  swaLr: number;
  annealEpochs: number;
  emaDecay: number;
  trainSizes: number[];
  bnSizes: number[];
};
const get = (k: string): Host => {
  const v = fx.get(k);
  if (!v) throw new Error(`fixture lacks ${k}`);
  return v;
};
/** The prefix's entries of the fixture, by the rest of their key. */
const under = (prefix: string): Map<string, Host> =>
  new Map([...fx].filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), v]));

const network = (): Sequential =>
  new Sequential(
    new Conv2d(1, 3, 3, { padding: 1 }),
    new BatchNorm2d(3),
    new ReLU(),
    new Flatten(),
    new Linear(48, 5),
    new BatchNorm1d(5),
    new ReLU(),
    new Linear(5, 3),
  );

/** Splits host rows [N, …] into consecutive device tensors of `sizes` rows. */
function batches(h: Host, sizes: number[], be: Backend, shape?: number[]): Tensor[] {
  const per = h.data.length / h.shape[0];
  let at = 0;
  return sizes.map((n) => {
    const t = tensor(h.data.slice(at * per, (at + n) * per), [n, ...(shape ?? h.shape.slice(1))], { device: be });
    at += n;
    return t;
  });
}

const worst = new Map<string, number>();
async function expectClose(be: Backend, what: string, t: Tensor, want: Host, tol = 1e-4): Promise<void> {
  assert.equal([...t.shape], want.shape, `${what} shape`);
  const got = await t.data();
  let err = 0;
  for (let i = 0; i < got.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want.data[i]) / Math.max(1, Math.abs(want.data[i])));
  }
  worst.set(backendLabel(be), Math.max(worst.get(backendLabel(be)) ?? 0, err));
  assert.ok(err <= tol, `${what}: error ${err.toExponential(2)} > ${tol}`);
}

test('SWALR: the rates of PyTorch 1.13 (constructor, another scheduler, 6 steps; cos/linear, E = 0 and 3)', () => {
  const rates = JSON.parse(meta.swalr) as Record<string, number[]>;
  assert.equal(Object.keys(rates).sort(), ['cos-0', 'cos-3', 'linear-0', 'linear-3']);
  for (const [key, want] of Object.entries(rates)) {
    const [strategy, e] = key.split('-');
    const opt = { lr: 0.5 };
    const annealStrategy = strategy as 'cos' | 'linear';
    const swalr = new SWALR(opt, { swaLr: 0.05, annealEpochs: Number(e), annealStrategy });
    const got = [opt.lr];
    for (let k = 0; k < 8; k++) {
      if (k < 2)
        opt.lr *= 0.5; // MultiplicativeLR(opt, 0.5).step(), as the fixture
      else swalr.step();
      got.push(opt.lr);
    }
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i] - want[i]) <= 1e-12 * want[i], `${key} rate ${i}: ${got[i]} vs PyTorch ${want[i]}`);
    }
    assert.equal(swalr.getLastLr(), [opt.lr]);
  }
});

test('CosineAnnealingLR: the rates of PyTorch 1.13 (T_max 7, eta_min 0.001, 10 steps: down and back up)', () => {
  const want = JSON.parse(meta.cosine) as number[];
  const opt = { lr: 0.1 };
  const sched = new CosineAnnealingLR(opt, { tMax: 7, etaMin: 0.001 });
  const got = [opt.lr];
  for (let k = 0; k < 10; k++) {
    sched.step();
    got.push(opt.lr);
  }
  assert.is(got.length, want.length);
  got.forEach((lr, i) => assert.ok(Math.abs(lr - want[i]) <= 1e-12, `step ${i}: ${lr} vs PyTorch ${want[i]}`));
});

const backends = await testBackends();
for (const be of backends) {
  test(`${backendLabel(be)}: the torch.optim SWA loop matches PyTorch (AveragedModel, EMA, SWALR)`, async () => {
    const model = withBackend(be, network);
    const keys = JSON.parse(meta.keys) as { swa: string[]; model: string[] };
    assert.equal([...model.stateDict().keys()], keys.model, 'model state_dict keys');
    model.loadStateDict(under('init'));
    const opt = new SGD(model.parameters(), { lr: cfg.lr, momentum: cfg.momentum, weightDecay: cfg.weightDecay });
    const swaModel = new AveragedModel(model);
    const swaBuffers = new AveragedModel(model, { useBuffers: true });
    const ema = new AveragedModel(model, { multiAvgFn: getEmaMultiAvgFn(cfg.emaDecay), useBuffers: true });
    const swaScheduler = new SWALR(opt, { swaLr: cfg.swaLr, annealEpochs: cfg.annealEpochs, annealStrategy: 'cos' });
    assert.equal([...swaModel.stateDict().keys()], keys.swa, "AveragedModel's state_dict keys: n_averaged, module.…");
    const xs = batches(get('x'), cfg.trainSizes, be);
    const ys = batches(get('y'), cfg.trainSizes, be);
    const lrs: number[] = [];
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      lrs.push(opt.lr);
      xs.forEach((x, i) => {
        trainStep(model, opt, x, ys[i]);
        ema.updateParameters(model);
      });
      for (const [k, t] of model.stateDict()) {
        await expectClose(be, `epoch ${epoch} ${k}`, t, get(`epoch${epoch}.${k}`));
      }
      if (epoch > cfg.swaStart) {
        swaModel.updateParameters(model);
        swaBuffers.updateParameters(model);
        swaScheduler.step();
      } else {
        opt.lr *= 0.9; // MultiplicativeLR(opt, lambda e: 0.9).step()
      }
    }
    const want = JSON.parse(meta.lrs) as number[];
    lrs.forEach((lr, i) => assert.ok(Math.abs(lr - want[i]) <= 1e-12 * want[i], `epoch ${i} lr ${lr} vs ${want[i]}`));
    // update_bn(loader, swa_model) over [x, y] batches of 6, 2 and 4 samples, PyTorch's weighting.
    const bnX = batches(get('bn_x'), cfg.bnSizes, be);
    assert.is(
      updateBn(
        bnX.map((x) => [x, null]),
        swaModel,
      ),
      3,
    );
    const n = JSON.parse(meta.n_averaged) as { swa: number; ema: number };
    assert.is(swaModel.nAveraged, n.swa);
    assert.is(ema.nAveraged, n.ema);
    const testX = tensor(get('test_x').data, get('test_x').shape, { device: be });
    for (const [name, m] of [
      ['swa', swaModel],
      ['swa_buffers', swaBuffers],
      ['ema', ema],
    ] as const) {
      for (const [k, t] of m.stateDict()) {
        // NOTE: with use_buffers PyTorch averages num_batches_tracked and truncates; ours follows the model's count.
        if (m.useBuffers && k.endsWith('num_batches_tracked')) {
          assert.equal(await t.data(), await model.stateDict().get(k.slice('module.'.length))!.data(), `${name} ${k}`);
          continue;
        }
        await expectClose(be, `${name} ${k}`, t, get(`${name}.${k}`));
      }
      const out = tidy(() => m.eval().call(testX));
      await expectClose(be, `${name} eval output`, out, get(`${name}.out`));
      out.dispose();
    }
    for (const t of [...xs, ...ys, ...bnX, testX]) t.dispose();
    for (const m of [swaModel, swaBuffers, ema, model]) m.dispose();
    opt.dispose();
    assert.is(be.liveBuffers(), 0, 'no buffers left');
    const largest = worst.get(backendLabel(be))!.toExponential(2);
    console.log(`[swa-pytorch] ${backendLabel(be)}: largest error ${largest} over every compared value`);
  });
}

test.run();
