// A program that uses the installed package as a user would: tensors, a model from createModel, SGD, an
// AveragedModel and updateBn. test/package.test.ts type-checks it against the packed package (strict tsc, bundler
// and node16 resolution), runs it in Node, and bundles it for Chromium with esbuild, Vite and webpack.

import {
  AveragedModel,
  createModel,
  crossEntropy,
  DataLoader,
  SGD,
  setDevice,
  tensor,
  tidy,
  toTensors,
  updateBn,
  type Dataset,
  type DeviceChoice,
  type Module,
} from 'swa-engine';

/** What a run reports: the device, every step's loss, the average's model count and the BN samples seen. */
export interface TrainResult {
  device: string;
  info: string;
  fallbackReason?: string;
  product: number[];
  losses: number[];
  averaged: number;
  bnBatches: number;
}

/**
 * Every SWA API call of this program, in one line: averages the weights, recomputes BN statistics, and returns the
 * models averaged so far and the BN batches run.
 */
const swa = (avg: AveragedModel, m: Module, l: DataLoader): number[] => [
  (avg.updateParameters(m), avg.nAveraged),
  updateBn(l, avg, { weighting: 'samples' }),
];

/** 32 random 1×8×8 images of 4 classes, each class brighter in its own quadrant. */
function toyData(): Dataset {
  const n = 32;
  const images = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 4;
    for (let p = 0; p < 64; p++) {
      const quadrant = (p >= 32 ? 2 : 0) + (p % 8 >= 4 ? 1 : 0);
      images[i * 64 + p] = (quadrant === labels[i] ? 0.8 : 0.1) + 0.1 * Math.sin(i * 7 + p);
    }
  }
  return { images, labels, n, shape: [1, 8, 8], classes: 4 };
}

/** Trains a small CNN for two epochs on `device`, averaging the weights after each, then recomputes BN statistics. */
export async function train(device: DeviceChoice, threads?: number): Promise<TrainResult> {
  const report = await setDevice(device, { wasm: { threads } });
  const a = tensor([1, 2, 3, 4], [2, 2]);
  const product = Array.from(await a.matmul(a).data());
  const model = createModel('small-cnn', { inChannels: 1, size: 8, classes: 4 });
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const averaged = new AveragedModel(model);
  const loader = new DataLoader(toyData(), { batchSize: 8, shuffle: true });
  const losses: number[] = [];
  let [averagedCount, bnBatches] = [0, 0];
  for (let epoch = 0; epoch < 2; epoch++) {
    model.train();
    for (const batch of loader) {
      const loss = tidy(() => {
        const { x, y } = toTensors(batch);
        const l = crossEntropy(model.forward(x), y);
        l.backward();
        opt.step();
        opt.zeroGrad();
        return l;
      });
      losses.push(await loss.item());
      loss.dispose();
    }
    [averagedCount, bnBatches] = swa(averaged, model, loader);
  }
  return { ...report, product, losses, averaged: averagedCount, bnBatches };
}
