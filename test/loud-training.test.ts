// Hostile inputs to training, on every backend: a diverging learning rate stops `fit` with a DivergenceError (loss
// and gradient norm checks), data that does not fit the model fails before the first step, models reject sizes
// that make no network, and tensor creation refuses impossible sizes before any host work.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  add,
  arange,
  crossEntropy,
  Generator,
  rand,
  randn,
  reshape,
  sqrt,
  tensor,
  tidy,
  zeros,
  type Backend,
  type Tensor,
} from '../index.ts';
import { Linear } from '../nn/layers.ts';
import { Module } from '../nn/module.ts';
import { toTensors } from '../nn/data/to-tensors.ts';
import { parseCifar, encodeCifar } from '../nn/data/cifar.ts';
import { DataError, type Dataset } from '../nn/data/dataset.ts';
import { DataLoader } from '../nn/data/loader.ts';
import { checkModelData } from '../nn/data-check.ts';
import { DivergenceError } from '../nn/finite.ts';
import { RunningMetrics } from '../nn/metrics.ts';
import { createModel, PreResNet, SmallCnn, Vgg, WideResNet } from '../nn/models/index.ts';
import { SGD } from '../nn/optim.ts';
import { evaluate, fit, trainStep, type EpochMetrics } from '../nn/trainer.ts';
import { testBackends } from './util/backends.ts';

const backends: Backend[] = await testBackends();

/** n images 1×8×8 of 2 classes (bright left or right half, with noise). */
function tiny(n: number, seed: number, size = 8): Dataset {
  const g = new Generator(seed);
  const images = new Float32Array(n * size * size);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  labels.forEach((c, i) => {
    for (let p = 0; p < size * size; p++) {
      images[i * size * size + p] = (p % size < size / 2 === (c === 0) ? 1 : 0) + 0.1 * g.normal();
    }
  });
  return { images, labels, n, shape: [1, size, size], classes: 2 };
}

/** Linear logits plus √b (b = 0, a parameter): a finite loss whose gradient in b is infinite. */
class SqrtBias extends Module {
  readonly fc: Linear;
  readonly b: Tensor;
  constructor(be: Backend) {
    super();
    this.fc = this.child('fc', new Linear(64, 2, { generator: new Generator(2), device: be }));
    this.b = this.param('b', zeros([2], { device: be }));
  }
  forward(x: Tensor): Tensor {
    return add(this.fc.forward(reshape(x, [x.shape[0], 64])), sqrt(this.b));
  }
}

const net = (be: Backend, size = 8): SmallCnn =>
  new SmallCnn({ size, classes: 2, widths: [4, 4, 8], generator: new Generator(1), device: be });

/** The error `p` rejects with; fails the test when it resolves. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

for (const be of backends) {
  test(
    `${be.name}: lr = Infinity stops fit with a DivergenceError before onEpoch; ` +
      'lr = 1e30 names the last finite loss',
    async () => {
      for (const [lr, every] of [
        [Infinity, 20],
        [1e30, 1],
      ] as const) {
        const model = net(be);
        const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
        const epochs: EpochMetrics[] = [];
        const e = await rejection(
          fit({
            model,
            optimizer: opt,
            device: be,
            epochs: 2,
            progress: false,
            reportEvery: every,
            train: new DataLoader(tiny(48, 2), { batchSize: 8, shuffle: true, generator: new Generator(3) }),
            test: tiny(16, 4),
            lr: () => lr,
            label: 'tiny run',
            onEpoch: (m) => void epochs.push(m),
          }),
        );
        assert.instance(e, DivergenceError, `lr ${lr}: ${e.message}`);
        const info = (e as DivergenceError).info;
        assert.is(info.where, 'tiny run');
        assert.is(info.quantity, 'training loss');
        assert.ok(!Number.isFinite(info.value), `value ${info.value}`);
        assert.is(info.epoch, 1);
        assert.is(epochs.length, 0, 'onEpoch never ran with the diverged state');
        assert.match(e.message, /tiny run diverged: training loss is (NaN|-?Infinity) at epoch 1, step \d+ of 6/);
        if (lr === 1e30) {
          // Step 1 uses the initial weights, so its loss is finite; the huge step then ruins the weights.
          assert.equal(info.lastFinite?.step, 1, e.message);
          assert.ok(Number.isFinite(info.lastFinite!.value) && info.step === 2, e.message);
        } else assert.match(e.message, /no finite training loss was read before/);
        model.dispose();
        opt.dispose();
      }
    },
  );

  test(
    `${be.name}: checkGradNorm stops on an infinite gradient under a finite loss; ` + "its norm matches the host's",
    async () => {
      // A finite-gradient model first: the device's √(Σ‖g‖²) of one step against the host's sum over p.grad.
      const model = net(be);
      const opt = new SGD(model.parameters(), { lr: 0 });
      const b = new DataLoader(tiny(8, 5), { batchSize: 8 }).next();
      tidy(() => {
        const { x, y } = toTensors(b, be);
        crossEntropy(model.forward(x), y).backward();
      });
      let want = 0;
      for (const p of model.parameters()) for (const g of await p.grad!.data()) want += g * g;
      model.zeroGrad();
      const metrics = new RunningMetrics(be, { gradNorm: true });
      tidy(() => {
        const { x, y } = toTensors(b, be);
        trainStep(model, opt, x, y, metrics);
      });
      const r = await metrics.read();
      assert.ok(
        Math.abs(r.gradNorm! - Math.sqrt(want)) <= 1e-4 * Math.sqrt(want),
        `${r.gradNorm} vs ${Math.sqrt(want)}`,
      );
      metrics.dispose();
      model.dispose();
      opt.dispose();
      // logits + √b with b = 0: the loss is finite, d√b/db is infinite. Only the gradient check sees it at step 1.
      for (const checkGradNorm of [true, false]) {
        const m = new SqrtBias(be);
        const o = new SGD(m.parameters(), { lr: 0.1 });
        const e = await rejection(
          fit({
            model: m,
            optimizer: o,
            device: be,
            epochs: 1,
            progress: false,
            reportEvery: 1,
            checkGradNorm,
            train: new DataLoader(tiny(16, 5), { batchSize: 8 }),
          }),
        );
        assert.instance(e, DivergenceError, e.message);
        const info = (e as DivergenceError).info;
        if (checkGradNorm) assert.equal([info.quantity, info.step], ['gradient norm', 1], e.message);
        else assert.equal([info.quantity, info.step], ['training loss', 2], e.message);
        m.dispose();
        o.dispose();
      }
    },
  );

  test(`${be.name}: data that does not fit the model fails before training, naming the set`, async () => {
    const model = net(be);
    const opt = new SGD(model.parameters(), { lr: 0.05 });
    const run = (train: Dataset, testSet?: Dataset, batchSize = 8, dropLast = false): Promise<Error> =>
      rejection(
        fit({
          model,
          optimizer: opt,
          device: be,
          epochs: 1,
          progress: false,
          train: new DataLoader(train, { batchSize, dropLast }),
          test: testSet,
        }),
      );
    const empty: Dataset = { ...tiny(1, 6), n: 0, images: new Float32Array(0), labels: new Int32Array(0) };
    const cases: [string, Promise<Error>, RegExp][] = [
      ['zero training images', run(empty, tiny(4, 7)), /^training set: has no images/],
      ['zero test images', run(tiny(8, 7), empty), /^test set: has no images/],
      ['test images 16×16', run(tiny(8, 7), tiny(4, 8, 16)), /^test set: images of shape \[1, 16, 16\] do not fit/],
      ['training images 4×4', run(tiny(8, 7, 4)), /^training set: images of shape \[1, 4, 4\] do not fit/],
      ['dropLast leaves no batch', run(tiny(4, 7), undefined, 8, true), /^training set: its 4 images make no batch/],
      ['3 classes, 2 outputs', run({ ...tiny(8, 7), classes: 3 }), /^training set: has 3 classes but the model has 2/],
    ];
    for (const [what, p, want] of cases) {
      const e = await p;
      assert.instance(e, DataError, `${what}: ${e.message}`);
      assert.match(e.message, want, what);
    }
    const zeroTest = await rejection(evaluate(model, empty, be));
    assert.match(zeroTest.message, /^evaluation set: has no images/);
    assert.is(model.training, true, 'the probe restores training mode');
    checkModelData(model, tiny(4, 9), { device: be, role: 'ok set' });
    model.dispose();
    opt.dispose();
  });
}

test('empty CIFAR batch files are refused naming the file', () => {
  for (const kind of ['cifar10', 'cifar100'] as const) {
    const one = encodeCifar({ kind, pixels: new Uint8Array(3072), labels: [3] });
    assert.is(parseCifar([{ name: 'data_batch_1.bin', bytes: one }], { kind }).n, 1);
    const files = [
      { name: 'data_batch_1.bin', bytes: one },
      { name: 'data_batch_2.bin', bytes: new Uint8Array(0) },
    ];
    assert.throws(
      () => parseCifar(files, { kind }),
      (e: Error) => e instanceof DataError && /^data_batch_2\.bin: is empty/.test(e.message),
      kind,
    );
  }
});

test('models reject sizes that make no network, with one line naming the model and the size', () => {
  const spec = { inChannels: 3, size: 32, classes: 10 };
  const cases: [string, () => unknown, RegExp][] = [
    ['wrn28-0', () => createModel('wrn28-0', spec), /WideResNet: widen factor k must be an integer ≥ 1, got 0/],
    ['wrn27-10', () => createModel('wrn27-10', spec), /WideResNet: depth 27 must be 6n\+4/],
    ['wrn4-1', () => new WideResNet({ depth: 4, widen: 1 }), /depth 4 must be 6n\+4 with n ≥ 1/],
    ['WideResNet widen 1.5', () => new WideResNet({ depth: 10, widen: 1.5 }), /widen factor k .* got 1\.5/],
    ['preresnet21', () => createModel('preresnet21', spec), /PreResNet: depth 21 must be 6n\+2/],
    ['preresnet20 width 0', () => createModel('preresnet20', { ...spec, width: 0 }), /width must be .*> 0, got 0/],
    ['preresnet20 width -1', () => createModel('preresnet20', { ...spec, width: -1 }), /width .* got -1/],
    ['PreResNet width 0.01', () => new PreResNet({ depth: 20, width: 0.01 }), /leaves 0 channels/],
    ['vgg16 width NaN', () => createModel('vgg16', { ...spec, width: NaN }), /width .* got NaN/],
    ['Vgg width 0', () => new Vgg({ width: 0 }), /Vgg: width must be a finite number > 0, got 0/],
    ['small-cnn classes 0', () => createModel('small-cnn', { ...spec, classes: 0 }), /classes must be an integer ≥ 1/],
    ['small-cnn size 2', () => createModel('small-cnn', { ...spec, size: 2 }), /input size 2 is below 4/],
    ['inChannels 1.5', () => createModel('small-cnn', { ...spec, inChannels: 1.5 }), /inChannels must be an integer/],
  ];
  for (const [what, make, want] of cases) {
    assert.throws(make, (e: Error) => want.test(e.message) && !e.message.includes('\n'), what);
  }
  createModel('wrn10-1', { ...spec, size: 8, device: backends[0] }).dispose();
});

for (const be of backends) {
  test(`${be.name}: randn, rand, full, arange and tensor refuse sizes over the device limit in milliseconds`, () => {
    const g = new Generator(11);
    const before = g.getState();
    const huge = [2 ** 20, 2 ** 20]; // 2^40 floats: over every device's limit
    const cases: [string, () => unknown][] = [
      ['randn', () => randn(huge, { device: be, generator: g })],
      ['rand', () => rand(huge, { device: be, generator: g })],
      ['full', () => zeros(huge, { device: be })],
      ['arange', () => arange(0, 2 ** 40, 1, { device: be })],
    ];
    for (const [op, make] of cases) {
      const t0 = performance.now();
      assert.throws(
        make,
        (e: Error) => e.message.startsWith(`${op}: shape [`) && /does not fit on the device/.test(e.message),
      );
      assert.ok(performance.now() - t0 < 1000, `${op} failed after ${performance.now() - t0} ms`);
    }
    assert.equal(g.getState(), before, 'the generator did not advance');
    const live = be.liveBuffers();
    assert.throws(() => tensor(new Array(3).fill(0), [2]), /3 values do not fill shape \[2\]/);
    assert.is(be.liveBuffers(), live, 'no buffer leaked');
    const t = randn([3], { device: be, generator: new Generator(1) });
    assert.is(t.size, 3);
    t.dispose();
  });
}

test.run();
