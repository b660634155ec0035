// Command line: trains a model with SGD on Fashion-MNIST (full, or the embedded subset) or CIFAR-10/100 (binary
// batches), evaluates every epoch, writes per-epoch metrics as JSON and a safetensors checkpoint.
// Usage: node dist/cli/train.js --model small-cnn --data fashion-mnist --epochs 5 [--device wasm] [--out runs/x]

import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, manualSeed, setDevice } from '../engine/index.ts';
import { DataLoader } from '../nn/data/loader.ts';
import { CIFAR_AUGMENT } from '../nn/data/augment.ts';
import { channelStats, FASHION_MNIST_STATS } from '../nn/data/normalize.ts';
import { DATA_SETS, dataFolder, isDataSetName, loadDataSet, type DataSetName } from '../nn/data/node-files.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { createModel } from '../nn/models/index.ts';
import { SGD } from '../nn/optim.ts';
import { sgdBaselineLr } from '../nn/schedule.ts';
import { fit, type EpochMetrics } from '../nn/trainer.ts';
import { saveCheckpoint } from '../nn/checkpoint-node.ts';
import { CheckpointError } from '../nn/checkpoint.ts';
import { DataError } from '../nn/data/dataset.ts';
import { DivergenceError } from '../nn/finite.ts';
import { writeFileAtomic } from '../nn/atomic-file.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'small-cnn' },
    data: { type: 'string', default: 'fashion-mnist' },
    'data-dir': { type: 'string' },
    epochs: { type: 'string', default: '5' },
    batch: { type: 'string', default: '128' },
    lr: { type: 'string', default: '0.05' },
    momentum: { type: 'string', default: '0.9' },
    wd: { type: 'string', default: '5e-4' },
    schedule: { type: 'string', default: 'baseline' },
    width: { type: 'string' },
    device: { type: 'string', default: 'auto' },
    threads: { type: 'string' },
    seed: { type: 'string', default: '0' },
    limit: { type: 'string' },
    out: { type: 'string' },
    augment: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (a.help) {
  console.log(`swa-engine train: --model small-cnn|preresnet20|vgg16bn|wrn28-10
  --data fashion-mnist|fashion-mnist-mini (embedded 10000/2000 subset)|cifar10|cifar100 [--data-dir DIR]
  [--epochs 5] [--batch 128] [--lr 0.05] [--momentum 0.9] [--wd 5e-4] [--schedule baseline|constant]
  [--width W] [--device auto|webgpu|wasm] [--threads N (wasm)] [--seed 0] [--limit N (first N training images)]
  [--augment] [--out DIR]`);
  process.exit(0);
}

const num = (name: string, v: string | undefined, check: (x: number) => boolean): number => {
  const x = Number(v);
  if (!check(x)) {
    console.error(`--${name}: invalid value ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return x;
};
const epochs = num('epochs', a.epochs, (x) => Number.isInteger(x) && x > 0);
const batch = num('batch', a.batch, (x) => Number.isInteger(x) && x > 0);
const lr0 = num('lr', a.lr, (x) => x > 0);
const seed = num('seed', a.seed, Number.isInteger);

if (!isDataSetName(a.data)) {
  console.error(`--data: unknown data set ${a.data} (${DATA_SETS.join(', ')})`);
  process.exit(2);
}
const data: DataSetName = a.data;
if (data.startsWith('cifar') && !a['data-dir']) {
  console.error(`--data ${data} needs --data-dir (the folder with the binary batches)`);
  process.exit(2);
}
const load = (split: 'train' | 'test'): Dataset => loadDataSet(data, { dir: a['data-dir'], split });

// The library reads no environment: SWA_WASM_THREADS and SWA_WASM_WAIT are this CLI's, passed on as options.
const threadArg = a.threads ?? (process.env.SWA_WASM_THREADS || undefined);
const threads = threadArg === undefined ? undefined : Number(threadArg);
if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
  console.error(`--threads (or SWA_WASM_THREADS) must be an integer in [1, 64], got '${threadArg}'`);
  process.exit(2);
}
const wait = process.env.SWA_WASM_WAIT || undefined;
if (wait !== undefined && wait !== 'poll' && wait !== 'block' && wait !== 'spin') {
  console.error(`SWA_WASM_WAIT must be poll, block or spin, got '${wait}'`);
  process.exit(2);
}
const report = await setDevice(a.device as 'auto' | 'webgpu' | 'wasm', { wasm: { threads, wait } });
console.log(
  `device: ${report.device} ` +
    `(${report.info})${report.fallbackReason ? ` — WebGPU unavailable: ${report.fallbackReason}` : ''}`,
);
manualSeed(seed);
let train = load('train');
const test = load('test');
console.log(`data: ${data} from ${dataFolder(data, a['data-dir'])}, ${train.n} train / ${test.n} test images`);
if (a.limit) {
  const n = num('limit', a.limit, (x) => Number.isInteger(x) && x > 0 && x <= train.n);
  const per = train.images.length / train.n;
  train = { ...train, n, images: train.images.subarray(0, n * per), labels: train.labels.subarray(0, n) };
}
const stats = data.startsWith('fashion-mnist') ? FASHION_MNIST_STATS : channelStats(train);
const [c, h] = train.shape;
const model = createModel(a.model!, {
  inChannels: c,
  size: h,
  classes: train.classes,
  width: a.width ? Number(a.width) : undefined,
  generator: new Generator(seed),
});
const params = model.parameters();
console.log(
  `model: ${a.model}, ${params.reduce((s, p) => s + p.size, 0)} parameters; data: ${a.data}, ${train.n} train / ` +
    `${test.n} test`,
);
const opt = new SGD(params, { lr: lr0, momentum: Number(a.momentum), weightDecay: Number(a.wd) });
const loader = new DataLoader(train, {
  batchSize: batch,
  shuffle: true,
  normalize: stats,
  augment: a.augment ? CIFAR_AUGMENT : undefined,
  generator: new Generator(seed + 1),
});
const schedule =
  a.schedule === 'constant' ? () => lr0 : (epoch: number, frac: number) => sgdBaselineLr((epoch + frac) / epochs, lr0);

const out = a.out;
if (out) mkdirSync(out, { recursive: true });
const history: EpochMetrics[] = [];
const loud = [DivergenceError, DataError, CheckpointError];
await fit({
  model,
  optimizer: opt,
  train: loader,
  device: params[0].backend,
  epochs,
  lr: schedule,
  test,
  testNormalize: stats,
  onEpoch: async (m) => {
    history.push(m);
    if (out) {
      await writeFileAtomic(
        join(out, 'metrics.json'),
        new TextEncoder().encode(
          JSON.stringify({ device: report.device, model: a.model, data: a.data, epochs: history }, null, 2),
        ),
      );
      await saveCheckpoint(join(out, 'checkpoint.safetensors'), {
        model,
        optimizer: opt,
        meta: { epoch: m.epoch, loader: loader.state() },
      });
    }
  },
}).catch((e: unknown) => {
  if (!loud.some((c) => e instanceof c)) throw e;
  console.error(`train: ${(e as Error).message}`);
  process.exit(1);
});
const last = history[history.length - 1];
console.log(
  `final test accuracy ${(100 * (last.testAccuracy ?? NaN)).toFixed(2)}%, ` +
    `${(history.reduce((s, m) => s + m.seconds, 0) / history.length).toFixed(1)} s/epoch, ` +
    `${(history.reduce((s, m) => s + m.imagesPerSecond, 0) / history.length).toFixed(0)} img/s on ${report.device}`,
);
