// `swa-engine train`: trains a model with SGD on Fashion-MNIST (full, or the embedded subset) or CIFAR-10/100
// (binary batches), evaluates every epoch, writes per-epoch metrics as JSON and a safetensors checkpoint.
// Usage: swa-engine train --model small-cnn --data fashion-mnist --epochs 5 [--device wasm] [--out runs/x]

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, manualSeed } from '../engine/index.ts';
import { DataLoader } from '../nn/data/loader.ts';
import { CIFAR_AUGMENT } from '../nn/data/augment.ts';
import { channelStats, FASHION_MNIST_STATS } from '../nn/data/normalize.ts';
import { dataFolder, loadDataSet, type DataSetName } from '../nn/data/node-files.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { createModel } from '../nn/models/index.ts';
import { SGD } from '../nn/optim.ts';
import { sgdBaselineLr } from '../nn/schedule.ts';
import { fit, type EpochMetrics } from '../nn/trainer.ts';
import { saveCheckpoint } from '../nn/checkpoint-node.ts';
import { writeFileAtomic } from '../nn/atomic-file.ts';
import { DATA_OPTIONS, DEVICE_OPTIONS, SGD_OPTIONS, startDevice } from './common.ts';
import { parseCommand, UsageError, type Command, type OptionTable } from './options.ts';

const TRAIN = {
  name: 'swa-engine train',
  summary: 'trains a model with SGD, evaluates it every epoch, writes metrics.json and a checkpoint',
  options: {
    ...DATA_OPTIONS,
    epochs: { type: 'number', arg: 'N', integer: true, min: 1, default: 5, help: 'epochs' },
    lr: { type: 'number', arg: 'A', above: 0, default: 0.05, help: 'initial learning rate' },
    schedule: {
      type: 'choice',
      arg: 'KIND',
      values: ['baseline', 'constant'],
      default: 'baseline',
      noun: 'schedule',
      help: "baseline (the SWA paper's SGD schedule: held, then linear decay to 0.01·lr) | constant",
    },
    ...SGD_OPTIONS,
    augment: { type: 'flag', help: 'random crop + flip' },
    seed: { type: 'number', arg: 'S', integer: true, min: 0, max: 2 ** 32 - 1, default: 0, help: 'random seed' },
    ...DEVICE_OPTIONS,
    out: { type: 'string', arg: 'DIR', help: 'write metrics.json and checkpoint.safetensors there every epoch' },
  },
  notes: 'Example: swa-engine train --data fashion-mnist-mini --epochs 1 --device wasm --out runs/quick',
} as const satisfies Command<OptionTable>;

const a = parseCommand(TRAIN);
const { epochs, batch, seed } = a;
const lr0 = a.lr;
const data: DataSetName = a.data;
if (data.startsWith('cifar') && !a['data-dir']) {
  throw new UsageError(`--data ${data} needs --data-dir (the folder with the binary batches)`);
}
const load = (split: 'train' | 'test'): Dataset => loadDataSet(data, { dir: a['data-dir'], split });
// The output folder and the data before the device: bad ones fail before any work (in one line, cli/errors.ts).
const out = a.out;
if (out) mkdirSync(out, { recursive: true });
let train = load('train');
const test = load('test');
console.log(`data: ${data} from ${dataFolder(data, a['data-dir'])}, ${train.n} train / ${test.n} test images`);
if (a.limit !== undefined) {
  const n = a.limit;
  if (n > train.n) throw new UsageError(`--limit must be at most the ${train.n} training images, got ${n}`);
  const per = train.images.length / train.n;
  train = { ...train, n, images: train.images.subarray(0, n * per), labels: train.labels.subarray(0, n) };
}
const report = await startDevice(a);
manualSeed(seed);
const stats = data.startsWith('fashion-mnist') ? FASHION_MNIST_STATS : channelStats(train);
const [c, h] = train.shape;
const model = createModel(a.model, {
  inChannels: c,
  size: h,
  classes: train.classes,
  width: a.width,
  generator: new Generator(seed),
});
const params = model.parameters();
console.log(
  `model: ${a.model}, ${params.reduce((s, p) => s + p.size, 0)} parameters; data: ${a.data}, ${train.n} train / ` +
    `${test.n} test`,
);
const opt = new SGD(params, { lr: lr0, momentum: a.momentum, weightDecay: a.wd });
const loader = new DataLoader(train, {
  batchSize: batch,
  shuffle: true,
  normalize: stats,
  augment: a.augment ? CIFAR_AUGMENT : undefined,
  generator: new Generator(seed + 1),
});
const schedule =
  a.schedule === 'constant' ? () => lr0 : (epoch: number, frac: number) => sgdBaselineLr((epoch + frac) / epochs, lr0);

const history: EpochMetrics[] = [];
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
});
const last = history[history.length - 1];
console.log(
  `final test accuracy ${(100 * (last.testAccuracy ?? NaN)).toFixed(2)}%, ` +
    `${(history.reduce((s, m) => s + m.seconds, 0) / history.length).toFixed(1)} s/epoch, ` +
    `${(history.reduce((s, m) => s + m.imagesPerSecond, 0) / history.length).toFixed(0)} img/s on ${report.device}`,
);
