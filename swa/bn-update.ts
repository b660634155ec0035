// PyTorch's torch.optim.swa_utils.update_bn: recomputes BatchNorm running statistics for a model's current weights
// (e.g. w_SWA) with one pass over data without gradients, as the SWA paper prescribes after averaging.

import { isTensor, noGrad, tidy, type Backend, type Tensor } from '../engine/index.ts';
import { DataLoader, type Batch } from '../nn/data/loader.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import type { ChannelStats } from '../nn/data/normalize.ts';
import { toTensors } from '../nn/data/to-tensors.ts';
import { BatchNorm } from '../nn/layers.ts';
import { describe, Module } from '../nn/module.ts';

/** Options of `updateBn`: the weighting, a forward for other batch structures, the device, Dataset reading. */
export interface UpdateBnOptions<B = unknown> {
  /**
   * 'batches' (default, PyTorch's update_bn: momentum None, every batch weighs equally) or 'samples' (the SWA reference
   * code's bn_update: each batch weighs by its sample count, so the statistics are the exact mean over all samples).
   */
  weighting?: 'batches' | 'samples';
  /**
   * Runs the model on one batch, for batch structures other than a tensor, an `[x, …]` array (x is fed, as PyTorch
   * feeds `batch[0]`) or a loader batch; e.g. `(m, b) => m.call(b.image)`.
   */
  forward?: (model: Module, batch: B) => unknown;
  /** Device of the tensors made from host batches (loader batches, a Dataset); default: the model's. */
  device?: Backend;
  /** For a Dataset: batch size (default 128) and normalisation of the batches (as in training). */
  batchSize?: number;
  normalize?: ChannelStats;
}

type Loader<B> = Iterable<B> | AsyncIterable<B> | Dataset;

/**
 * One pass over `loader` in training mode without gradients, as PyTorch's `update_bn(loader, model)`: every
 * BatchNorm's running statistics are reset and recomputed as a cumulative average (momentum None), then momentum and
 * every module's train/eval mode are restored. Gives w_SWA the statistics of its own activations (Izmailov et al.,
 * 2018, §3.2, https://arxiv.org/abs/1803.05407). A model without BatchNorm is left as it is and the loader not read.
 *
 * `loader`: any iterable of batches — tensors, `[x, y]` arrays, loader batches (a DataLoader) — or a Dataset (read in
 * order, `batchSize` at a time). An async iterable is read with `for await`; then the call returns a Promise.
 * @returns the number of batches run (0 without BatchNorm), or a Promise of it for an async iterable.
 * @example
 * updateBn(trainLoader, swaModel);                                   // PyTorch's weighting
 * updateBn(trainLoader, swaModel, { weighting: 'samples' });         // the SWA reference code's
 * updateBn(pairs, swaModel, { forward: (m, b) => m.call(b.image) }); // any batch structure
 * await updateBn(streamOfTensors(), swaModel);                        // async iterables
 */
export function updateBn<B>(loader: AsyncIterable<B>, model: Module, opts?: UpdateBnOptions<B>): Promise<number>;
export function updateBn<B>(loader: Iterable<B> | Dataset, model: Module, opts?: UpdateBnOptions<B>): number;
export function updateBn<B>(loader: Loader<B>, model: Module, opts: UpdateBnOptions<B> = {}): number | Promise<number> {
  if (!(model instanceof Module)) {
    throw new TypeError(`updateBn: model must be a Module, got ${describe(model)} (order: updateBn(loader, model))`);
  }
  const source = batchesOf(loader, opts);
  const weighting = opts.weighting ?? 'batches';
  if (weighting !== 'batches' && weighting !== 'samples') {
    throw new Error(`updateBn: weighting must be 'batches' or 'samples', got ${String(weighting)}`);
  }
  if (opts.forward !== undefined && typeof opts.forward !== 'function') {
    throw new TypeError('updateBn: forward must be a function (model, batch) => …');
  }
  const bns = [...model.walk()].map(([, m]) => m).filter((m): m is BatchNorm => m instanceof BatchNorm);
  if (bns.length === 0) return 'sync' in source ? 0 : Promise.resolve(0);
  const device = opts.device ?? model.stateDict().values().next().value?.backend;
  const run = (b: unknown, k: number): void =>
    noGrad(() =>
      tidy(() => {
        if (opts.forward) opts.forward(model, b as B);
        else model.call(inputOf(b, k, device));
      }),
    );
  const saved = bns.map((bn) => [bn.momentum, bn.cumulative] as const);
  const modes = [...model.walk()].map(([, m]) => m.training);
  const begin = (): void => {
    for (const bn of bns) {
      bn.resetRunningStats();
      bn.momentum = null;
      bn.cumulative = weighting;
    }
    model.train();
  };
  const end = (): void => {
    bns.forEach((bn, i) => {
      [bn.momentum, bn.cumulative] = saved[i];
    });
    [...model.walk()].forEach(([, m], i) => {
      m.training = modes[i];
    });
  };
  if ('sync' in source) {
    let k = 0;
    begin();
    try {
      for (const b of source.sync) run(b, k++);
    } finally {
      end();
    }
    return k;
  }
  return (async () => {
    let k = 0;
    begin();
    try {
      for await (const b of source.async) run(b, k++);
    } finally {
      end();
    }
    return k;
  })();
}

function isDataset(v: unknown): v is Dataset {
  const d = v as Dataset;
  return !!d && d.images instanceof Float32Array && d.labels instanceof Int32Array && Array.isArray(d.shape);
}

/** The batches of `loader`, or a one-line error naming what it is. */
type Source = { sync: Iterable<unknown> } | { async: AsyncIterable<unknown> };

function batchesOf<B>(loader: Loader<B>, opts: UpdateBnOptions<B>): Source {
  const l = loader as unknown;
  if (isTensor(l)) {
    throw new TypeError(
      `updateBn: loader is a Tensor of shape [${l.shape.join(', ')}]; pass an iterable of batches ` +
        '([x] for one batch) as its first argument',
    );
  }
  if (l instanceof Module) {
    throw new TypeError('updateBn: the first argument is a Module; the order is updateBn(loader, model), as PyTorch');
  }
  if (l && typeof l === 'object' && Symbol.asyncIterator in l) return { async: l as AsyncIterable<unknown> };
  if (l && typeof l === 'object' && Symbol.iterator in l) return { sync: l as Iterable<unknown> };
  if (isDataset(l)) return { sync: new DataLoader(l, { batchSize: opts.batchSize ?? 128, normalize: opts.normalize }) };
  throw new TypeError(
    `updateBn: loader must be an iterable or async iterable of batches (tensors, [x, y] arrays, ` +
      `loader batches) or a Dataset; got ${describe(l)}`,
  );
}

function isLoaderBatch(b: unknown): b is Batch {
  const v = b as Batch;
  return !!v && v.x instanceof Float32Array && typeof v.size === 'number' && Array.isArray(v.shape);
}

/** The model input of batch `k`: the tensor, the first item of an array, or a loader batch's images. */
function inputOf(b: unknown, k: number, device: Backend | undefined): Tensor {
  const x = Array.isArray(b) ? b[0] : b;
  if (isTensor(x)) return x;
  if (isLoaderBatch(x)) return toTensors(x, device).x;
  const what = Array.isArray(b) ? `an array whose first item is ${describe(x)}` : describe(b);
  throw new TypeError(
    `updateBn: batch ${k} is ${what}; expected a tensor, [x, …] or a loader batch ` +
      '(pass forward: (model, batch) => … for other batch structures)',
  );
}
