// SWA on every backend: the averaging arithmetic (equal, EMA, custom) on the average's own copy, the BN update against
// statistics computed independently over the whole data set, the FGE ensemble, and SWAG's sampling moments.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Generator, noGrad, softmax, tensor, tidy, withBackend, type Backend, type Tensor } from '../index.ts';
import { BatchNorm2d, Conv2d, Flatten, Linear, Sequential } from '../nn/layers.ts';
import type { Module } from '../nn/module.ts';
import { AveragedModel, getEmaAvgFn, getEmaMultiAvgFn } from '../swa/averaged-model.ts';
import { updateBn } from '../swa/bn-update.ts';
import { FgeEnsemble } from '../swa/fge.ts';
import { Swag } from '../swa/swag.ts';
import { DataLoader } from '../nn/data/loader.ts';
import { toTensors } from '../nn/data/to-tensors.ts';
import { testBackends } from './util/backends.ts';

const backends: Backend[] = await testBackends();

/** Sets every parameter of `m` from a generator (host values, returned by name). */
function setParams(m: Module, g: Generator): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const [name, p] of m.namedParameters()) {
    const v = Float32Array.from({ length: p.size }, () => g.normal());
    noGrad(() => p.copy_(v));
    values.set(name, v);
  }
  return values;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void => {
  assert.is(a.length, b.length, `${what} length`);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i]))))
      assert.unreachable(`${what}[${i}] = ${a[i]}, expected ${b[i]}`);
  }
};

function dataset(n: number, c: number, h: number, g: Generator) {
  const images = Float32Array.from({ length: n * c * h * h }, (_, i) => 2 * g.normal() + (i % 3) - 0.5);
  const labels = Int32Array.from({ length: n }, () => g.int(3));
  return { images, labels, n, shape: [c, h, h] as const, classes: 3 };
}

for (const be of backends) {
  const on = <T>(fn: () => T): T => withBackend(be, fn);

  test(`${be.name}: equal average, EMA and custom rules; the average is a copy that updates never alias`, async () => {
    const g = new Generator(1);
    const model = on(() => new Linear(4, 3, { generator: g }));
    const live0 = be.liveBuffers();
    const avg = new AveragedModel(model);
    const ema = new AveragedModel(model, { multiAvgFn: getEmaMultiAvgFn(0.9) });
    const emaOne = new AveragedModel(model, { avgFn: getEmaAvgFn(0.9) });
    const custom = new AveragedModel(model, { avgFn: (a, w) => a.add(w) });
    const seen: Map<string, Float32Array>[] = [];
    for (let k = 0; k < 4; k++) {
      seen.push(setParams(model, g));
      for (const a of [avg, ema, emaOne, custom]) a.updateParameters(model);
    }
    assert.is(avg.nAveraged, 4);
    for (const [name, t] of avg.module.namedParameters()) {
      const vals = seen.map((s) => s.get(name)!);
      const mean = vals[0].map((_, i) => vals.reduce((s, v) => s + v[i], 0) / vals.length);
      close(await t.data(), mean, 1e-6, `mean ${name}`);
      let e = Float64Array.from(vals[0]);
      for (const v of vals.slice(1)) e = e.map((x, i) => 0.9 * x + 0.1 * v[i]);
      close(await ema.module.stateDict().get(name)!.data(), e, 1e-6, `ema ${name}`);
      close(await emaOne.module.stateDict().get(name)!.data(), e, 1e-6, `ema (avgFn) ${name}`);
      const total = vals[0].map((_, i) => vals.reduce((s, v) => s + v[i], 0));
      close(await custom.module.stateDict().get(name)!.data(), total, 1e-6, `custom ${name}`);
    }
    // The average holds tensors of its own: the model's stay where they are, with the last values set.
    assert.ok(avg.module.weight !== model.weight && avg.module.weight.requiresGrad);
    assert.equal(await model.weight.data(), seen[3].get('weight'), 'the model keeps its own weights');
    assert.equal([...avg.stateDict().keys()], ['n_averaged', 'module.weight', 'module.bias'], "PyTorch's keys");
    const other = on(() => new Linear(3, 3));
    assert.throws(() => avg.updateParameters(other), /weight is \[3, 3\] in the model but \[3, 4\]/);
    other.dispose();
    assert.throws(() => new AveragedModel(model, { avgFn: getEmaAvgFn(), multiAvgFn: getEmaMultiAvgFn() }), /not both/);
    assert.throws(() => getEmaMultiAvgFn(1.5), /decay must be in \[0, 1\], got 1.5/);
    for (const a of [avg, ema, emaOne, custom]) a.dispose();
    assert.is(be.liveBuffers(), live0);
    model.dispose();
  });

  test(
    `${be.name}: BN update matches statistics computed over the whole data set ` + '(samples and batches weighting)',
    async () => {
      const g = new Generator(2);
      const data = dataset(70, 3, 4, g);
      const model = on(
        () =>
          new Sequential(
            new BatchNorm2d(3),
            new Conv2d(3, 2, 3, { padding: 1, generator: g }),
            new BatchNorm2d(2),
            new Flatten(),
            new Linear(32, 3, { generator: g }),
          ),
      );
      model.eval();
      const bn1 = model.layers[0] as BatchNorm2d;
      const bn2 = model.layers[2] as BatchNorm2d;
      bn2.momentum = 0.3;
      // Independent statistics: per-channel values of each BN's input over every sample, batch by batch.
      const convOut = async (x: Tensor): Promise<Float32Array> => {
        const y = noGrad(() => tidy(() => model.layers[1].forward(model.layers[0].forward(x))));
        const d = await y.data();
        y.dispose();
        return d;
      };
      for (const weighting of ['samples', 'batches'] as const) {
        const loader = new DataLoader(data, { batchSize: 32 });
        const batches = updateBn(loader, model, { weighting, device: be });
        assert.is(batches, 3);
        assert.is(model.training, false, 'mode restored');
        assert.is(bn2.momentum, 0.3, 'momentum restored');
        // Expected: weighted average of per-batch means and unbiased variances (weights b/N, or 1/#batches).
        const expect = async (layer: 'bn1' | 'bn2'): Promise<{ mean: number[]; variance: number[] }> => {
          const c = layer === 'bn1' ? 3 : 2;
          const mean = new Array<number>(c).fill(0);
          const variance = new Array<number>(c).fill(0);
          // NOTE: loader batches share two buffers, so copy each one while it is current.
          const batches: { x: Float32Array; size: number }[] = [];
          for (const b of new DataLoader(data, { batchSize: 32 }))
            batches.push({ x: Float32Array.from(b.x), size: b.size });
          for (const b of batches) {
            let vals: Float32Array = b.x;
            if (layer === 'bn2') {
              // bn2 sees conv(bn1(x)) with bn1 normalising by the batch's own statistics (training mode).
              const x = tensor(b.x, [b.size, 3, 4, 4], { device: be });
              const [mom, mode] = [bn1.momentum, bn1.training];
              bn1.momentum = 0;
              bn1.training = true;
              vals = await convOut(x);
              [bn1.momentum, bn1.training] = [mom, mode];
              x.dispose();
            }
            const w = weighting === 'samples' ? b.size / 70 : 1 / batches.length;
            for (let ch = 0; ch < c; ch++) {
              const v: number[] = [];
              for (let i = 0; i < b.size; i++) for (let p = 0; p < 16; p++) v.push(vals[(i * c + ch) * 16 + p]);
              const m = v.reduce((s, x) => s + x, 0) / v.length;
              mean[ch] += w * m;
              variance[ch] += (w * v.reduce((s, x) => s + (x - m) ** 2, 0)) / (v.length - 1);
            }
          }
          return { mean, variance };
        };
        const e1 = await expect('bn1');
        close(await bn1.runningMean.data(), e1.mean, 2e-5, `${weighting} bn1 mean`);
        close(await bn1.runningVar.data(), e1.variance, 2e-5, `${weighting} bn1 var`);
        const e2 = await expect('bn2');
        close(await bn2.runningMean.data(), e2.mean, 2e-4, `${weighting} bn2 mean`);
        close(await bn2.runningVar.data(), e2.variance, 2e-4, `${weighting} bn2 var`);
        if (weighting === 'samples') {
          const m = [0, 1, 2].map((ch) => {
            let s = 0;
            for (let i = 0; i < 70; i++) for (let p = 0; p < 16; p++) s += data.images[(i * 3 + ch) * 16 + p];
            return s / 1120;
          });
          close(await bn1.runningMean.data(), m, 2e-5, 'sample-weighted mean is the exact data-set mean');
        }
      }
      model.dispose();
    },
  );

  test(`${be.name}: FGE ensemble predicts the mean of its snapshots' softmax outputs`, async () => {
    const g = new Generator(3);
    const data = dataset(20, 1, 2, g);
    const model = on(() => new Sequential(new Flatten(), new Linear(4, 3, { generator: g })));
    const fge = new FgeEnsemble('host');
    const probs: Float32Array[] = [];
    const x = on(() => tensor(data.images, [20, 1, 2, 2]));
    for (let k = 0; k < 3; k++) {
      setParams(model, g);
      await fge.add(model);
      const p = noGrad(() => tidy(() => softmax(model.forward(x), 1)));
      probs.push(await p.data());
      p.dispose();
    }
    setParams(model, g);
    const own = await model.parameters()[0].data();
    const r = await fge.evaluate(model, data, be, { batchSize: 8 });
    const mean = probs[0].map((_, i) => (probs[0][i] + probs[1][i] + probs[2][i]) / 3);
    close(r.probs, mean, 1e-5, 'ensemble probabilities');
    let nll = 0;
    let correct = 0;
    for (let i = 0; i < 20; i++) {
      const row = Array.from(mean.subarray(i * 3, i * 3 + 3));
      nll -= Math.log(row[data.labels[i]]);
      if (row.indexOf(Math.max(...row)) === data.labels[i]) correct++;
    }
    assert.ok(Math.abs(r.nll - nll / 20) < 1e-5 && r.accuracy === correct / 20 && r.members === 3);
    assert.equal(await model.parameters()[0].data(), own, 'model weights restored');
    x.dispose();
    fge.dispose();
    model.dispose();
  });

  test(`${be.name}: SWAG moments, deviations and sampling statistics`, async () => {
    const g = new Generator(4);
    const model = on(() => new Linear(3, 2, { generator: g }));
    const swag = new Swag(model, { maxRank: 4 });
    const seen: Float32Array[] = [];
    for (let k = 0; k < 6; k++) {
      const v = setParams(model, g);
      seen.push(Float32Array.from([...v.get('weight')!, ...v.get('bias')!]));
      swag.collect(model);
    }
    const d = 8;
    const mean = Array.from({ length: d }, (_, i) => seen.reduce((s, v) => s + v[i], 0) / 6);
    const sq = Array.from({ length: d }, (_, i) => seen.reduce((s, v) => s + v[i] * v[i], 0) / 6);
    const flat = async (m: Map<string, Tensor>): Promise<number[]> => [
      ...(await m.get('weight')!.data()),
      ...(await m.get('bias')!.data()),
    ];
    close(await flat(swag.mean), mean, 1e-5, 'θ̄');
    close(await flat(swag.sqMean), sq, 1e-5, 'θ²̄');
    assert.is(swag.rank, 4);
    // Expected sampling variance per coordinate: scale·(diag + Σ_k D_k²/(K − 1)); deviations are the last 4 captures
    // minus the running mean at their time.
    const devs: number[][] = [];
    for (let k = 2; k < 6; k++) {
      const runMean = Array.from({ length: d }, (_, i) => seen.slice(0, k + 1).reduce((s, v) => s + v[i], 0) / (k + 1));
      devs.push(Array.from({ length: d }, (_, i) => seen[k][i] - runMean[i]));
    }
    const expectVar = mean.map(
      (m, i) => 0.5 * (Math.max(sq[i] - m * m, 1e-30) + devs.reduce((s, dv) => s + dv[i] ** 2, 0) / 3),
    );
    const samples = 1500;
    const sum = new Float64Array(d);
    const sum2 = new Float64Array(d);
    const sg = new Generator(5);
    for (let s = 0; s < samples; s++) {
      swag.sample(model, { scale: 0.5, generator: sg });
      const v = [...(await model.weight.data()), ...(await model.bias!.data())];
      v.forEach((x, i) => {
        sum[i] += x;
        sum2[i] += x * x;
      });
    }
    for (let i = 0; i < d; i++) {
      const m = sum[i] / samples;
      const v = sum2[i] / samples - m * m;
      const se = Math.sqrt(expectVar[i] / samples);
      assert.ok(Math.abs(m - mean[i]) < 4.5 * se, `sample mean[${i}] ${m} vs θ̄ ${mean[i]} (se ${se})`);
      assert.ok(Math.abs(v / expectVar[i] - 1) < 0.2, `sample variance[${i}] ${v} vs ${expectVar[i]}`);
    }
    swag.dispose();
    model.dispose();
  });
}

test.run();
