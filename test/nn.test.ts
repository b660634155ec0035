// nn on every backend: state-dict names, the baseline schedule, checkpoints (bit-exact reload, clear errors),
// training a PreResNet-20 on CIFAR-format files, the fit loop's metrics, and no buffer leaks across training steps.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { crossEntropy, Generator, noGrad, tensor, tidy, withBackend, type Backend, type Tensor } from '../index.ts';
import { SmallCnn, PreResNet, Vgg, WideResNet, createModel } from '../nn/models/index.ts';
import { SGD } from '../nn/optim.ts';
import { sgdBaselineLr } from '../nn/schedule.ts';
import { saveCheckpoint, loadCheckpoint } from '../nn/checkpoint-node.ts';
import { encodeCifar } from '../nn/data/cifar.ts';
import { loadCifar } from '../nn/data/node-files.ts';
import { DataLoader } from '../nn/data/loader.ts';
import { toTensors } from '../nn/data/to-tensors.ts';
import { fit } from '../nn/trainer.ts';
import type { Module } from '../nn/module.ts';
import { testBackends } from './util/backends.ts';

const tmp = mkdtempSync(join(tmpdir(), 'swa-nn-'));

test('sgdBaselineLr: α1 to 50%, linear to 0.01·α1 at 90%, constant after', () => {
  const a = 0.1;
  const cases: [number, number][] = [
    [0, a],
    [0.25, a],
    [0.5, a],
    [0.6, a * (1 - 0.99 * 0.25)],
    [0.7, a * (1 - 0.99 * 0.5)],
    [0.9, a * 0.01],
    [0.95, a * 0.01],
    [1.5, a * 0.01],
  ];
  for (const [t, want] of cases)
    assert.ok(Math.abs(sgdBaselineLr(t, a) - want) < 1e-12, `t=${t}: ${sgdBaselineLr(t, a)} vs ${want}`);
  assert.throws(() => sgdBaselineLr(-0.1, a), /progress/);
});

const backends: Backend[] = await testBackends();

test('state-dict names follow PyTorch', () => {
  const be = backends[0];
  withBackend(be, () => {
    const g = new Generator(0);
    const names = (m: Module): string[] => {
      const k = [...m.stateDict().keys()];
      m.dispose();
      return k;
    };
    const r20 = names(new PreResNet({ depth: 20, generator: g }));
    assert.is(r20[0], 'conv1.weight');
    for (const k of [
      'layer1.0.bn1.running_mean',
      'layer2.0.downsample.0.weight',
      'layer3.2.conv2.weight',
      'bn.num_batches_tracked',
      'fc.bias',
    ]) {
      assert.ok(r20.includes(k), `PreResNet-20 has ${k}`);
    }
    assert.is(
      r20.filter((k) => k.endsWith('.weight') && (k.includes('conv') || k.includes('downsample'))).length,
      19 + 2,
      'PreResNet-20 conv weights (19 + 2 downsample)',
    );
    const r56 = names(new PreResNet({ depth: 56, generator: g }));
    assert.ok(
      r56.includes('layer1.0.conv3.weight') && r56.includes('layer1.0.downsample.0.weight'),
      'PreResNet-56 uses bottlenecks',
    );
    const vgg = names(new Vgg({ depth: 16, batchNorm: true, width: 0.25, generator: g }));
    for (const k of [
      'features.0.weight',
      'features.1.running_var',
      'features.41.weight',
      'classifier.1.weight',
      'classifier.4.weight',
      'classifier.6.bias',
    ]) {
      assert.ok(vgg.includes(k), `VGG16-BN has ${k}`);
    }
    const wrn = names(new WideResNet({ depth: 16, widen: 2, generator: g }));
    assert.ok(
      wrn.includes('layer1.0.shortcut.0.weight') && wrn.includes('bn1.running_var') && wrn.includes('linear.weight'),
    );
    assert.throws(() => new PreResNet({ depth: 21 }), /6n\+2/);
    assert.throws(() => createModel('resnet9', { inChannels: 3, size: 32, classes: 10 }), /unknown model/);
  });
});

/** A 16-image CIFAR-10 file whose class is visible in the colour balance, so a few steps can learn it. */
function cifarFiles(dir: string): void {
  const g = new Generator(5);
  const n = 16;
  const labels = Array.from({ length: n }, (_, i) => i % 4);
  const pixels = new Uint8Array(n * 3072);
  labels.forEach((c, i) => {
    for (let ch = 0; ch < 3; ch++) {
      for (let p = 0; p < 1024; p++)
        pixels[i * 3072 + ch * 1024 + p] = Math.min(255, (ch === c % 3 ? 160 : 40) + (c === 3 ? 60 : 0) + g.int(60));
    }
  });
  const bytes = encodeCifar({ kind: 'cifar10', labels, pixels });
  mkdirSync(dir, { recursive: true });
  for (let i = 1; i <= 5; i++) writeFileSync(join(dir, `data_batch_${i}.bin`), bytes);
  writeFileSync(join(dir, 'test_batch.bin'), bytes);
}

for (const be of backends) {
  const on = <T>(fn: () => T): T => withBackend(be, fn);

  test(`${be.name}: a checkpoint reloads bit for bit and training resumes identically`, async () => {
    const g = new Generator(1);
    const x = on(() =>
      tensor(
        Float32Array.from({ length: 4 * 784 }, () => g.normal()),
        [4, 1, 28, 28],
      ),
    );
    const y = on(() => tensor([1, 7, 3, 0]));
    const model = on(() => new SmallCnn({ generator: new Generator(2), widths: [4, 8, 16] }));
    const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const step = (m: Module, o: SGD): Tensor =>
      tidy(() => {
        const loss = crossEntropy(m.forward(x), y);
        loss.backward();
        o.step();
        o.zeroGrad();
        return loss;
      });
    for (let i = 0; i < 2; i++) step(model, opt).dispose();
    const path = join(tmp, `ckpt-${be.name}.safetensors`);
    await saveCheckpoint(path, { model, optimizer: opt, meta: { epoch: 3, note: 'x' } });
    const copy = on(() => new SmallCnn({ generator: new Generator(99), widths: [4, 8, 16] }));
    const opt2 = new SGD(copy.parameters(), { lr: 0.5, momentum: 0.9, weightDecay: 5e-4 });
    const restored = await loadCheckpoint(path, { model: copy, optimizer: opt2 });
    assert.equal(restored.meta, { epoch: 3, note: 'x' });
    assert.is(opt2.lr, 0.05);
    const evalOut = async (m: Module): Promise<Float32Array> => {
      m.eval();
      const out = noGrad(() => m.forward(x));
      const d = await out.data();
      out.dispose();
      m.train();
      return d;
    };
    assert.equal(await evalOut(copy), await evalOut(model), 'eval outputs equal bit for bit');
    const [l1, l2] = [step(model, opt), step(copy, opt2)];
    assert.is(await l2.item(), await l1.item(), 'next training step equal bit for bit');
    for (const [k, t] of model.stateDict()) assert.equal(await copy.stateDict().get(k)!.data(), await t.data(), k);
    // Errors: truncated file, missing tensor, wrong shape.
    const bytes = readFileSync(path);
    writeFileSync(join(tmp, 'cut.safetensors'), bytes.subarray(0, bytes.length - 10));
    await assertRejects(loadCheckpoint(join(tmp, 'cut.safetensors'), { model: copy }), ['cut.safetensors']);
    const other = on(() => new SmallCnn({ generator: new Generator(3), widths: [4, 8, 32] }));
    await assertRejects(loadCheckpoint(path, { model: other }), ['classifier.1.weight', 'shape']);
    const bigger = on(() => new PreResNet({ depth: 8, generator: new Generator(3) }));
    await assertRejects(loadCheckpoint(path, { model: bigger }), ['conv1.weight', 'missing']);
    for (const t of [l1, l2, x, y]) t.dispose();
    for (const m of [model, copy, other, bigger]) m.dispose();
    opt.dispose();
    opt2.dispose();
  });

  test(
    `${be.name}: PreResNet-20 trains on CIFAR-format files with decreasing loss, ` + 'without leaking buffers',
    async () => {
      const dir = join(tmp, `cifar-${be.name}`);
      cifarFiles(dir);
      const data = loadCifar({ kind: 'cifar10', dir, split: 'train' });
      assert.is(data.n, 80);
      const model = on(() => new PreResNet({ depth: 20, generator: new Generator(4) }));
      const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
      const loader = new DataLoader(
        { ...data, n: 16, images: data.images.subarray(0, 16 * 3072), labels: data.labels.subarray(0, 16) },
        { batchSize: 16, shuffle: true, generator: new Generator(6) },
      );
      const losses: number[] = [];
      let live = -1;
      for (let i = 0; i < 8; i++) {
        const loss = on(() =>
          tidy(() => {
            const { x, y } = toTensors(loader.next(), be);
            const l = crossEntropy(model.forward(x), y);
            l.backward();
            opt.step();
            opt.zeroGrad();
            return l;
          }),
        );
        losses.push(await loss.item());
        loss.dispose();
        if (i === 1) live = be.liveBuffers();
        if (i > 1) assert.is(be.liveBuffers(), live, `live buffers after step ${i}`);
      }
      const first = (losses[0] + losses[1]) / 2;
      const last = (losses[6] + losses[7]) / 2;
      assert.ok(last < first * 0.8, `loss should fall: ${losses.map((l) => l.toFixed(3)).join(' ')}`);
      model.dispose();
      opt.dispose();
    },
  );

  test(`${be.name}: fit trains, evaluates and reports per-epoch metrics`, async () => {
    const g = new Generator(8);
    const n = 64;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    const images = new Float32Array(n * 64);
    labels.forEach((c, i) => {
      for (let p = 0; p < 64; p++) images[i * 64 + p] = (c ? (p % 8) / 8 : 1 - (p % 8) / 8) + 0.2 * g.normal();
    });
    const ds = { images, labels, n, shape: [1, 8, 8] as const, classes: 2 };
    const model = on(() => new SmallCnn({ size: 8, classes: 2, widths: [4, 4, 8], generator: new Generator(9) }));
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const history = await fit({
      model,
      optimizer: opt,
      device: be,
      epochs: 3,
      progress: false,
      train: new DataLoader(ds, { batchSize: 16, shuffle: true, generator: new Generator(10) }),
      test: ds,
      lr: (e, f) => sgdBaselineLr((e + f) / 3, 0.1),
    });
    assert.is(history.length, 3);
    assert.ok(history[2].trainLoss < history[0].trainLoss, `train loss ${history.map((h) => h.trainLoss)}`);
    assert.ok(history[2].testAccuracy! > 0.9, `test accuracy ${history[2].testAccuracy}`);
    assert.ok(history.every((h) => h.imagesPerSecond > 0 && h.seconds > 0));
    model.dispose();
    opt.dispose();
  });
}

async function assertRejects(p: Promise<unknown>, parts: string[]): Promise<void> {
  try {
    await p;
  } catch (e) {
    const msg = (e as Error).message;
    for (const s of parts) assert.ok(msg.includes(s), `"${msg}" should mention ${s}`);
    return;
  }
  assert.unreachable(`expected a rejection mentioning ${parts.join(', ')}`);
}

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
