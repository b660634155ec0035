// The engine's side of the comparison on one backend (wasm or webgpu): training and inference throughput of the small
// CNN and PreResNet-20, matmul and conv kernel GFLOP/s, and SWA's averaging and BN-update costs against an epoch.
// Usage (bundled by build-and-run.mjs): node build/compare/ours.js wasm|wasm1|webgpu [--quick] [--only=train,matmul]
// ('wasm' runs on all the machine's threads, at most 8; 'wasm1' on one.) For a real GPU (bench/gpu/run-nvidia.sh):
// --fast times as many steps as for a fast peer, --matmul=1024,4096 sets the matmul sizes.

import { existsSync } from 'node:fs';
import {
  defaultBackend,
  Generator,
  manualSeed,
  noGrad,
  setDevice,
  tensor,
  tidy,
  type Backend,
  type Buf,
  type Conv2dParams,
  type DeviceName,
} from '../../engine/index.ts';
import { SmallCnn } from '../../nn/models/small-cnn.ts';
import { PreResNet } from '../../nn/models/preresnet.ts';
import type { Module } from '../../nn/module.ts';
import { SGD } from '../../nn/optim.ts';
import { trainStep } from '../../nn/trainer.ts';
import { DataLoader, type Batch } from '../../nn/data/loader.ts';
import type { Dataset } from '../../nn/data/dataset.ts';
import { FASHION_MNIST_STATS } from '../../nn/data/normalize.ts';
import { FASHION_MNIST_DIR, loadFashionMnist } from '../../nn/data/node-files.ts';
import { AveragedModel } from '../../swa/averaged-model.ts';
import { updateBn } from '../../swa/bn-update.ts';
import {
  CONV_PASSES,
  CONV_SHAPES,
  EPOCH_IMAGES,
  INFER_BATCH,
  MATMUL_SIZES,
  MODEL_INPUT,
  MODELS,
  SGD_SETTINGS,
  TRAIN_BATCH,
  convFlop,
  emit,
  errorText,
  figure,
  FIGURES,
  loopPlan,
  parseFlags,
  rate,
  selected,
  synthetic,
  syntheticLabels,
  speedOf,
  timeLoop,
  type LoopPlan,
  type ModelName,
  type Work,
} from './figures.ts';

const { quick, only, rest } = parseFlags(process.argv.slice(2));
const peer = `ours-${rest[0]}`;
if (!['wasm', 'wasm1', 'webgpu'].includes(rest[0]))
  throw new Error(`ours: backend must be wasm, wasm1 or webgpu, got ${rest[0]}`);
const device: DeviceName = rest[0] === 'webgpu' ? 'webgpu' : 'wasm';
const speed = rest.includes('--fast') ? 'fast' : speedOf(peer);
const matmulArg = rest.find((a) => a.startsWith('--matmul='));
const matmulSizes = matmulArg ? matmulArg.slice('--matmul='.length).split(',').map(Number) : MATMUL_SIZES;
if (!matmulSizes.every((n) => Number.isInteger(n) && n > 0)) throw new Error(`ours: bad ${matmulArg}`);
const slow = speed !== 'fast';
// WebGPU runs ahead of the host: a sync every 8 steps bounds the queue (see LoopPlan.syncEvery).
const plan = (w: Work): LoopPlan => ({ ...loopPlan(w, speed, quick), syncEvery: device === 'webgpu' ? 8 : undefined });

try {
  await setDevice(device, { wasm: { threads: rest[0] === 'wasm1' ? 1 : undefined } });
} catch (e) {
  // No backend (e.g. no WebGPU adapter): every figure gets the error, and the orchestrator carries on.
  const error = errorText(e);
  emit('INFO', { peer, error });
  for (const f of FIGURES) if (selected(f.id, only)) emit('FIGURE', { id: f.id, error });
  process.exit(0);
}
const be: Backend = defaultBackend();
emit('INFO', { peer, backend: be.info });
process.stderr.write(`${peer}: ${be.info}\n`);
const sync = (): Promise<void> => be.sync();

function makeModel(name: ModelName, seed: number): Module {
  const generator = new Generator(seed);
  return name === 'small-cnn'
    ? new SmallCnn({ device: be, generator })
    : new PreResNet({ depth: 20, device: be, generator });
}

/** One SGD step on a host batch (uploaded every step, as real training does). */
function makeTrainStep(model: Module, opt: SGD, name: ModelName): () => void {
  const shape = [TRAIN_BATCH, ...MODEL_INPUT[name]];
  const x = synthetic(
    shape.reduce((a, b) => a * b, 1),
    1,
  );
  const y = Float32Array.from(syntheticLabels(TRAIN_BATCH));
  return () =>
    tidy(() => trainStep(model, opt, tensor(x, shape, { device: be }), tensor(y, [TRAIN_BATCH], { device: be })));
}

/** Milliseconds per small-CNN training step, kept for SWA's epoch time. */
let smallCnnStepMs: number | undefined;

for (const name of MODELS) {
  if (selected(`train/${name}`, only)) {
    await figure(`train/${name}`, async () => {
      manualSeed(0);
      const model = makeModel(name, 0);
      const opt = new SGD(model.parameters(), SGD_SETTINGS);
      try {
        const t = await timeLoop(makeTrainStep(model, opt, name), sync, plan('train'));
        if (name === 'small-cnn') smallCnnStepMs = t.ms / t.iterations;
        return rate(`train/${name}`, TRAIN_BATCH, t);
      } finally {
        opt.dispose();
        model.dispose();
      }
    });
  }
  if (selected(`infer/${name}`, only)) {
    await figure(`infer/${name}`, async () => {
      const model = makeModel(name, 0).eval();
      const shape = [INFER_BATCH, ...MODEL_INPUT[name]];
      const data = synthetic(
        shape.reduce((a, b) => a * b, 1),
        2,
      );
      let last: Float32Array | null = null;
      // Each step uploads the batch, runs the forward pass without gradients and reads the logits back.
      const step = async (): Promise<void> => {
        const logits = noGrad(() => tidy(() => model.forward(tensor(data, shape, { device: be }))));
        last = await logits.data();
        logits.dispose();
      };
      try {
        const t = await timeLoop(step, sync, plan('infer'));
        if (!last || (last as Float32Array).length !== INFER_BATCH * 10)
          throw new Error('inference returned no logits');
        return rate(`infer/${name}`, INFER_BATCH, t, 'eval mode, logits read back');
      } finally {
        model.dispose();
      }
    });
  }
}

/** A device buffer of deterministic values. */
function filled(size: number, seed: number): Buf {
  const b = be.alloc(size);
  be.write(b, synthetic(size, seed));
  return b;
}

for (const n of matmulSizes) {
  if (!selected(`matmul/${n}`, only)) continue;
  await figure(`matmul/${n}`, async () => {
    const [a, b, out] = [filled(n * n, 1), filled(n * n, 2), be.alloc(n * n)];
    const params = { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
    try {
      const t = await timeLoop(() => be.run('matmul', [a, b], out, params), sync, plan('kernel'));
      return rate(`matmul/${n}`, (2 * n ** 3) / 1e9, t);
    } finally {
      for (const buf of [a, b, out]) be.free(buf);
    }
  });
}

for (const s of CONV_SHAPES) {
  const p: Conv2dParams = {
    n: s.n,
    cin: s.cin,
    h: s.h,
    w: s.w,
    cout: s.cout,
    kh: s.k,
    kw: s.k,
    oh: s.h,
    ow: s.w,
    strideH: 1,
    strideW: 1,
    padH: s.pad,
    padW: s.pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    hasBias: false,
  };
  for (const pass of CONV_PASSES) {
    const id = `conv/${s.id}/${pass}`;
    if (!selected(id, only)) continue;
    await figure(id, async () => {
      const x = filled(s.n * s.cin * s.h * s.w, 1),
        w = filled(s.cout * s.cin * s.k * s.k, 2);
      const dy = filled(s.n * s.cout * s.h * s.w, 3);
      const out = be.alloc({ forward: dy.size, 'backward-input': x.size, 'backward-weight': w.size }[pass]);
      const body =
        pass === 'forward'
          ? () => be.run('conv2d', [x, w], out, p)
          : pass === 'backward-input'
            ? () => be.run('conv2dBackwardInput', [dy, w], out, p)
            : () => be.run('conv2dBackwardWeight', [x, dy], out, p);
      try {
        return rate(id, convFlop(s) / 1e9, await timeLoop(body, sync, plan('kernel')), 'NCHW, no bias');
      } finally {
        for (const buf of [x, w, dy, out]) be.free(buf);
      }
    });
  }
}

/** Fashion-MNIST's training split from the Debian package when installed, else synthetic data of the same size. */
function epochData(): { data: Dataset; source: string } {
  if (existsSync(FASHION_MNIST_DIR))
    return { data: loadFashionMnist({ split: 'train' }), source: 'Fashion-MNIST train split' };
  const images = synthetic(EPOCH_IMAGES * 784, 5).map((v) => v + 0.5);
  const data: Dataset = {
    images,
    labels: syntheticLabels(EPOCH_IMAGES),
    n: EPOCH_IMAGES,
    shape: [1, 28, 28],
    classes: 10,
  };
  return { data, source: 'synthetic 60000×1×28×28' };
}

if (selected('swa/update', only) || selected('swa/update-bn', only)) {
  const stepsPerEpoch = Math.ceil(EPOCH_IMAGES / TRAIN_BATCH);
  const model = makeModel('small-cnn', 0);
  const opt = new SGD(model.parameters(), SGD_SETTINGS);
  const step = makeTrainStep(model, opt, 'small-cnn');
  if (smallCnnStepMs === undefined) {
    const t = await timeLoop(step, sync, loopPlan('train', speed, true));
    smallCnnStepMs = t.ms / t.iterations;
  } else {
    step();
  }
  const epochMs = smallCnnStepMs * stepsPerEpoch;
  const stepNote = `${stepsPerEpoch} steps × ${smallCnnStepMs.toFixed(1)} ms`;
  const epochNote = `epoch = ${stepNote} = ${(epochMs / 1e3).toFixed(1)} s`;
  if (selected('swa/update', only))
    await figure('swa/update', async () => {
      const swa = new AveragedModel(model);
      swa.updateParameters(model);
      try {
        const loop = { warmup: 2, reps: quick ? 5 : 20, capSeconds: 2 };
        const t = await timeLoop(() => swa.updateParameters(model), sync, loop);
        const ms = t.ms / t.iterations;
        const detail = `${ms.toFixed(3)} ms per update; ${epochNote}`;
        return { id: 'swa/update', value: (100 * ms) / epochMs, detail, extra: { msPerUpdate: ms, epochMs } };
      } finally {
        swa.dispose();
      }
    });
  if (selected('swa/update-bn', only))
    await figure('swa/update-bn', async () => {
      const { data, source } = epochData();
      const loader = new DataLoader(data, { batchSize: TRAIN_BATCH, normalize: FASHION_MNIST_STATS });
      /** updateBn over the first `limit` batches of the epoch, finished on the device; returns batches, images, ms. */
      const pass = async (limit: number): Promise<{ batches: number; seen: number; ms: number }> => {
        let batches = 0;
        let seen = 0;
        function* first(): IterableIterator<Batch> {
          for (const b of new DataLoader(data, { batchSize: TRAIN_BATCH, normalize: FASHION_MNIST_STATS })) {
            if (batches === limit) return;
            batches++;
            seen += b.size;
            yield b;
          }
        }
        const t0 = performance.now();
        updateBn(first(), model, { weighting: 'samples', device: be });
        await sync();
        return { batches, seen, ms: performance.now() - t0 };
      };
      // A short pass (which also warms up) sizes the real one to a time cap (the device may run far behind the host,
      // so the host clock cannot stop a pass midway); a capped pass is scaled to the whole epoch.
      const capMs = (quick ? 1.5 : slow ? 40 : 90) * 1e3;
      const probe = await pass(4);
      const limit = Math.max(4, Math.min(loader.length, Math.floor(capMs / (probe.ms / probe.batches))));
      const { batches, seen, ms } = await pass(limit);
      const full = batches === loader.length;
      const passMs = (ms * loader.length) / batches;
      const how = full
        ? `${(ms / 1e3).toFixed(1)} s for all ${batches} batches`
        : `${(ms / 1e3).toFixed(1)} s for ${batches} of ${loader.length} batches, scaled to the epoch`;
      const detail = `${how} (${seen} images, ${source}); ${epochNote}`;
      return { id: 'swa/update-bn', value: (100 * passMs) / epochMs, detail, extra: { passMs, epochMs, batches } };
    });
  opt.dispose();
  model.dispose();
}

be.destroy();
process.exit(0);
