// The SWA API without traps, on every backend: evaluating and BN-updating an AveragedModel never changes the training
// model (bit for bit); loadStateDict leaves a model untouched on every kind of bad input; updateBn's inputs and errors;
// deepcopy; fit with schedulers; the per-iteration schedulers against the runner's pure schedules; Subset.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AveragedModel,
  BatchNorm2d,
  Conv2d,
  DataLoader,
  deepcopy,
  Dropout,
  evaluate,
  FgeCyclicalLR,
  fit,
  Flatten,
  Generator,
  Linear,
  noGrad,
  ReLU,
  Sequential,
  SGD,
  Subset,
  SwaCyclicalLR,
  SWALR,
  SwaReferenceLR,
  tensor,
  tidy,
  updateBn,
  withBackend,
  type Backend,
  type Dataset,
  type Module,
  type Tensor,
} from '../index.ts';
import { BatchNorm } from '../nn/layers.ts';
import { captureCyclical, captureFgeMidCycle } from '../swa/capture.ts';
import { cyclicalLr, fgeTriangularLr, swaReferenceLr } from '../swa/schedules.ts';
import { backendLabel, testBackends } from './util/backends.ts';
import { throwsWith } from './util/throws.ts';

/** n images 1×4×4 of 3 classes (a bright row per class on noise). */
function data(n: number, seed: number): Dataset {
  const g = new Generator(seed);
  const images = new Float32Array(n * 16);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = g.int(3);
    for (let p = 0; p < 16; p++) images[i * 16 + p] = 0.5 * g.normal() + (Math.floor(p / 4) === labels[i] ? 1 : 0);
  }
  return { images, labels, n, shape: [1, 4, 4], classes: 3 };
}

const close = (got: number[], want: number[], what: string): void => {
  const ok = got.length === want.length && got.every((v, i) => Math.abs(v - want[i]) < 1e-12);
  assert.ok(ok, `${what}: ${got} vs ${want}`);
};

const net = (g: Generator): Sequential =>
  new Sequential(
    new Conv2d(1, 2, 3, { padding: 1, generator: g }),
    new BatchNorm2d(2),
    new ReLU(),
    new Flatten(),
    new Dropout(0.2, { generator: g }),
    new Linear(32, 3, { generator: g }),
  );

/** Every state value, the BN host counters and every module's mode. */
async function fingerprint(m: Module): Promise<unknown> {
  const state: [string, number[]][] = [];
  for (const [k, t] of m.stateDict()) state.push([k, Array.from(await t.data())]);
  const counters = [...m.walk()]
    .map(([, x]) => x)
    .filter((x) => x instanceof BatchNorm)
    .map((x) => x.batchesTracked);
  return { state, counters, modes: [...m.walk()].map(([, x]) => x.training) };
}

const backends: Backend[] = await testBackends();
for (const be of backends) {
  const label = backendLabel(be);
  const on = <T>(fn: () => T): T => withBackend(be, fn);

  test(`${label}: evaluating and BN-updating the averaged model leaves the training model bit-identical`, async () => {
    const g = new Generator(11);
    const train = data(40, 1);
    const model = on(() => net(g));
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const swa = new AveragedModel(model);
    const loader = new DataLoader(train, { batchSize: 16, shuffle: true, generator: new Generator(2) });
    for (let epoch = 0; epoch < 3; epoch++) {
      const one = { epochs: epoch + 1, startEpoch: epoch, progress: false };
      await fit({ model, optimizer: opt, train: loader, device: be, ...one });
      swa.updateParameters(model);
    }
    const before = await fingerprint(model);
    const bn = model.layers[1] as BatchNorm2d;
    const mean = Array.from(await bn.runningMean.data());
    updateBn(new DataLoader(train, { batchSize: 16 }), swa, { device: be });
    updateBn(train, swa, { weighting: 'samples', batchSize: 7 });
    const x = on(() => tensor(train.images.slice(0, 5 * 16), [5, 1, 4, 4]));
    tidy(() => swa.call(x)); // training mode: batch statistics, running statistics updated (of the copy)
    tidy(() => swa.eval().call(x));
    await evaluate(swa, data(12, 3), be);
    assert.equal(await fingerprint(model), before, 'every parameter, buffer, counter and mode of the model unchanged');
    assert.equal(Array.from(await bn.runningMean.data()), mean, "the issue's trap: running_mean unchanged");
    const swaBn = swa.module.layers[1] as BatchNorm2d;
    assert.not.equal(Array.from(await swaBn.runningMean.data()), mean, 'the average has statistics of its own');
    assert.ok(swaBn.runningMean !== bn.runningMean && swa.module.layers[5] !== model.layers[5]);
    x.dispose();
    swa.dispose();
    opt.dispose();
    model.dispose();
  });

  test(`${label}: loadStateDict checks everything first and leaves the model untouched on bad input`, async () => {
    const model = on(() => net(new Generator(5)));
    const good = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of model.stateDict()) {
      good.set(k, { shape: [...t.shape], data: (await t.data()).map((v) => v + 1) });
    }
    const before = await fingerprint(model);
    const variant = (edit: (m: Map<string, unknown>) => void): Map<string, never> => {
      const m = new Map<string, unknown>(good);
      edit(m);
      return m as Map<string, never>;
    };
    const other = on(() => tensor([1, 2], [2]));
    const count = on(() => tensor([3], []));
    const set = (k: string, v: unknown) => variant((m) => m.set(k, v));
    const f32 = (shape: number[], n: number): unknown => ({ shape, data: new Float32Array(n) });
    const cases: [string, Map<string, never>, string[]][] = [
      ['missing key', variant((m) => m.delete('5.bias')), ['missing keys [5.bias]']],
      ['unexpected key', set('6.weight', f32([1], 1)), ['unexpected keys [6.weight]']],
      ['wrong shape', set('5.weight', f32([32, 3], 96)), ['5.weight has shape [32, 3]', '[3, 32]']],
      ['wrong length', set('0.bias', f32([2], 3)), ['0.bias has 3 values', 'needs 2']],
      ['wrong dtype', set('1.running_var', { shape: [2], data: new Float64Array(2) }), ['running_var has dtype F64']],
      ['dtype vs data', set('1.weight', { shape: [2], data: new Float32Array(2), dtype: 'F16' }), ['says dtype F16']],
      ['integers for a float', set('1.bias', { shape: [2], data: new Int32Array(2), dtype: 'I32' }), ['has dtype I32']],
      ['tensor of another shape', set('0.bias', other.reshape([1, 2])), ['0.bias has shape [1, 2]']],
      ['counter from a plain tensor', set('1.num_batches_tracked', count), ['integer counter']],
      ['not a value', set('0.weight', 42), ['0.weight is number 42']],
    ];
    for (const [what, values, parts] of cases) {
      throwsWith(() => model.loadStateDict(values), 'loadStateDict', ...parts);
      assert.equal(await fingerprint(model), before, `${what}: nothing written`);
    }
    // Several problems are reported together, still with nothing written.
    const two = variant((m) => {
      m.delete('0.weight');
      m.set('0.bias', { shape: [3], data: new Float32Array(3) });
    });
    throwsWith(() => model.loadStateDict(two), 'missing keys [0.weight]', '0.bias has shape [3]');
    assert.equal(await fingerprint(model), before);
    // Non-strict: PyTorch's missing/unexpected keys come back, the rest is written; counters load as integers.
    const partial = variant((m) => {
      m.delete('5.bias');
      m.set('extra', { shape: [1], data: new Float32Array(1) });
    });
    partial.set('1.num_batches_tracked', { shape: [], data: BigInt64Array.of(7n), dtype: 'I64' } as never);
    const result = model.loadStateDict(partial, { strict: false });
    assert.equal(result, { missingKeys: ['5.bias'], unexpectedKeys: ['extra'] });
    assert.equal(Array.from(await model.stateDict().get('0.weight')!.data()), Array.from(good.get('0.weight')!.data));
    assert.is((model.layers[1] as BatchNorm).batchesTracked, 7);
    assert.equal(Array.from(await model.stateDict().get('1.num_batches_tracked')!.data()), [7]);
    // Device to device from another module's state, counters included; the tensors keep their identity.
    const copy = deepcopy(model);
    const w = model.layers[5] as Linear;
    const weight = w.weight;
    noGrad(() => w.weight.fill_(0));
    assert.equal(model.loadStateDict(copy.stateDict()), { missingKeys: [], unexpectedKeys: [] });
    assert.ok(w.weight === weight);
    assert.equal(await fingerprint(model), await fingerprint(copy));
    other.dispose();
    count.dispose();
    copy.dispose();
    model.dispose();
  });

  test(`${label}: updateBn takes tensors, [x, y], loader batches, Datasets, async iterables, forward`, async () => {
    const g = new Generator(7);
    const ds = data(24, 4);
    const model = on(() => net(g));
    const stats = async (): Promise<number[]> => Array.from(await (model.layers[1] as BatchNorm2d).runningMean.data());
    const rows = (a: number, b: number): Tensor => on(() => tensor(ds.images.slice(a * 16, b * 16), [b - a, 1, 4, 4]));
    const xs = [rows(0, 10), rows(10, 24)];
    assert.is(updateBn(xs, model), 2);
    const ref = await stats();
    assert.is(
      updateBn(
        xs.map((x) => [x, 'label']),
        model,
      ),
      2,
    );
    assert.equal(await stats(), ref, '[x, y] arrays feed x');
    assert.is(
      await updateBn(
        (async function* () {
          yield* xs;
        })(),
        model,
      ),
      2,
    );
    assert.equal(await stats(), ref, 'async iterables');
    assert.is(updateBn([{ image: xs[0] }, { image: xs[1] }], model, { forward: (m, b) => m.call(b.image) }), 2);
    assert.equal(await stats(), ref, 'a custom forward');
    assert.is(updateBn(new DataLoader(ds, { batchSize: 10 }), model), 3);
    const byLoader = await stats();
    assert.is(updateBn(ds, model, { batchSize: 10 }), 3);
    assert.equal(await stats(), byLoader, 'a Dataset is read in order, batchSize at a time');
    assert.is(model.training, true);
    throwsWith(() => updateBn(model as never, xs as never), 'updateBn: model must be a Module', '(loader, model)');
    throwsWith(() => updateBn(xs[0] as never, model), 'loader is a Tensor of shape [10, 1, 4, 4]', '[x] for one');
    throwsWith(() => updateBn({ batches: 3 } as never, model), 'must be an iterable', 'object with keys batches');
    throwsWith(() => updateBn([xs[0], 'oops'], model), 'updateBn: batch 1 is string "oops"', 'forward:');
    model.eval();
    throwsWith(() => updateBn([[7, xs[0]]], model), 'batch 0 is an array whose first item is number 7');
    assert.is(model.training, false, 'modes restored after an error');
    assert.is((model.layers[1] as BatchNorm2d).momentum, 0.1, 'momentum restored after an error');
    const plain = on(() => new Linear(2, 2));
    let read = false;
    assert.is(
      updateBn(
        (function* () {
          read = true;
          yield xs[0];
        })(),
        plain,
      ),
      0,
    );
    assert.not.ok(read, 'a model without BatchNorm: the loader is not read');
    for (const x of xs) x.dispose();
    plain.dispose();
    model.dispose();
  });

  test(`${label}: fit drives SWALR per epoch and SwaCyclicalLR per step, and rejects anything else`, async () => {
    const ds = data(20, 6);
    const model = on(() => net(new Generator(8)));
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const loader = new DataLoader(ds, { batchSize: 8 });
    const swalr = new SWALR(opt, { swaLr: 0.02, annealEpochs: 2, annealStrategy: 'linear' });
    const h = await fit({ model, optimizer: opt, train: loader, device: be, epochs: 3, lr: swalr, progress: false });
    close(
      h.map((m) => m.lr),
      [0.1, 0.06, 0.02],
      "each epoch's rate: lr0, then the linear anneal",
    );
    const cyc = new SwaCyclicalLR(opt, { alpha1: 0.05, alpha2: 0.01, cycle: 2 });
    const h2 = await fit({ model, optimizer: opt, train: loader, device: be, epochs: 2, lr: cyc, progress: false });
    assert.is(cyc.iteration, 7, '6 steps (3 per epoch) after the constructor');
    close(
      h2.map((m) => m.lr),
      [0.03, 0.01],
      "the rate of each epoch's last step: α(3), α(6)",
    );
    const bad: [unknown, string][] = [
      [{ step() {} }, 'got an object with keys step'],
      [0.1, 'got number 0.1'],
      [new SWALR({ lr: 1 }, { swaLr: 0.1 }), 'another optimizer'],
    ];
    for (const [lr, part] of bad) {
      let err: Error | undefined;
      const o = { model, optimizer: opt, train: loader, device: be, epochs: 1, lr: lr as never, progress: false };
      await fit(o).catch((e: Error) => {
        err = e;
      });
      assert.ok(err?.message.startsWith('fit: ') && err.message.includes(part), `fit rejects ${part}: ${err?.message}`);
    }
    opt.dispose();
    model.dispose();
  });
}

test("SwaCyclicalLR, FgeCyclicalLR and SwaReferenceLR follow the runner's pure schedules and capture points", () => {
  const opt = { lr: 1 };
  const cyc = new SwaCyclicalLR(opt, { alpha1: 0.05, alpha2: 0.01, cycle: 3 });
  const pure = cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 3 });
  const rule = captureCyclical(3);
  for (let i = 1; i <= 10; i++) {
    assert.is(cyc.iteration, i);
    assert.is(opt.lr, pure({ iteration: i, epoch: 0, fraction: 0, itersPerEpoch: 1 }));
    assert.is(cyc.cycleEnd, rule.atIteration(i), `capture at iteration ${i}`);
    cyc.step();
  }
  const ipe = 4;
  const fge = new FgeCyclicalLR(opt, { alpha1: 0.05, alpha2: 1e-4, cycle: 0.5, itersPerEpoch: ipe });
  const fgePure = fgeTriangularLr({ alpha1: 0.05, alpha2: 1e-4, cycle: 0.5 });
  const fgeRule = captureFgeMidCycle(0.5);
  for (let s = 1; s <= 12; s++) {
    const p = { iteration: s, epoch: Math.floor((s - 1) / ipe), fraction: ((s - 1) % ipe) / ipe, itersPerEpoch: ipe };
    assert.is(opt.lr, fgePure(p), `FGE rate of step ${s}`);
    assert.is(fge.snapshotNow, fgeRule.atIteration(s, ipe), `FGE snapshot after step ${s}`);
    fge.step();
  }
  const ref = new SwaReferenceLR(opt, { lrInit: 0.1, epochs: 20, swaStart: 10, swaLr: 0.01 });
  const refPure = swaReferenceLr({ lrInit: 0.1, epochs: 20, swaStart: 10, swaLr: 0.01 });
  for (let e = 0; e < 20; e++) {
    assert.is(opt.lr, refPure({ iteration: 1, epoch: e, fraction: 0, itersPerEpoch: 1 }), `reference rate, epoch ${e}`);
    ref.step();
  }
  throwsWith(() => new SwaCyclicalLR(opt, { alpha1: 0.01, alpha2: 0.05, cycle: 2 }), 'SwaCyclicalLR: needs alpha1 ≥');
  throwsWith(() => new SWALR(opt, { swaLr: 0.05, annealEpochs: 1.5 }), 'SWALR: annealEpochs must be an integer ≥ 0');
  throwsWith(() => new SWALR(opt, { swaLr: 0.05, annealStrategy: 'step' as 'cos' }), 'SWALR: annealStrategy must be');
  throwsWith(() => new SWALR({} as { lr: number }, { swaLr: 0.05 }), 'SWALR: needs an optimizer with a numeric lr');
  const fgeBad = { alpha1: 0.05, alpha2: 0.01, cycle: 2, itersPerEpoch: 0 };
  throwsWith(() => new FgeCyclicalLR(opt, fgeBad), 'FgeCyclicalLR: itersPerEpoch');
  const refBad = { lrInit: 0.1, epochs: 10, swaStart: 20, swaLr: 0.01 };
  throwsWith(() => new SwaReferenceLR(opt, refBad), 'SwaReferenceLR: swaStart=20');
});

test('Subset: the chosen examples in order, copied, with clear errors for bad indices', () => {
  const ds = data(10, 9);
  const sub = new Subset(ds, [7, 2, 2]);
  assert.is(sub.n, 3);
  assert.equal(Array.from(sub.labels), [ds.labels[7], ds.labels[2], ds.labels[2]]);
  assert.equal(Array.from(sub.images.subarray(0, 16)), Array.from(ds.images.subarray(7 * 16, 8 * 16)));
  assert.equal([sub.shape, sub.classes], [ds.shape, ds.classes]);
  sub.images[0] = 99;
  assert.not.equal(ds.images[7 * 16], 99, 'a copy, not a view');
  assert.is(new DataLoader(sub, { batchSize: 2 }).length, 2);
  throwsWith(() => new Subset(ds, [1, 10]), 'Subset: index 10 (position 1)', 'data set of 10');
  throwsWith(() => new Subset(ds, [0.5]), 'Subset: index 0.5');
});

test.run();
