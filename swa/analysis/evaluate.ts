// Evaluates one point of weight space: the weights go into the model, BatchNorm statistics are recomputed on a fixed
// set of training images, then train loss/error and test loss/error are measured on fixed subsets, batch by batch.

import {
  Generator,
  globalGenerator,
  keep,
  noGrad,
  tensor,
  tidy,
  type Backend,
  type Tensor,
} from '../../engine/index.ts';
import { DataLoader } from '../../nn/data/loader.ts';
import { imageSize, type Dataset } from '../../nn/data/dataset.ts';
import type { ChannelStats } from '../../nn/data/normalize.ts';
import type { Module } from '../../nn/module.ts';
import { refreshBn } from './bn-refresh.ts';
import { dot, loadFlat, type HostTensors, type ParamLayout } from './weights.ts';

/** What is measured at every point. Losses are mean cross-entropies (nats); errors are fractions in [0, 1]. */
export interface PointMetrics {
  trainLoss: number;
  /** The paper's "L2-regularized cross-entropy train loss": trainLoss + (weightDecay/2)·‖w‖². */
  trainLossL2: number;
  trainError: number;
  testLoss: number;
  testError: number;
}

/** The metric names, in the order CSV files list them. */
export const METRICS: readonly (keyof PointMetrics)[] = [
  'trainLoss',
  'trainLossL2',
  'trainError',
  'testLoss',
  'testError',
];

/** The image sets an evaluator uses: BN statistics from `bn`, train metrics on `train`, test metrics on `test`. */
export interface EvalSets {
  bn: Dataset;
  train: Dataset;
  test: Dataset;
}

export interface EvaluatorOptions {
  device: Backend;
  normalize?: ChannelStats;
  /**
   * Batch size of the BN pass [128]. With sample weighting the running mean is the exact mean over the images and the
   * running variance the mean of per-batch unbiased variances, so the batch size barely matters (larger is faster).
   */
  bnBatchSize?: number;
  /** Batch size of the metric passes (forward only, eval mode) [500]. */
  evalBatchSize?: number;
  /** λ of the SGD weight decay, for trainLossL2 [0]. */
  weightDecay?: number;
  /** The model's own random stream (dropout), reseeded with `seed` before every BN pass, as the global one is. */
  generator?: Generator;
  seed?: number;
}

/** One evaluation: the metrics, and the test set's class probabilities when asked for ([n, classes] row-major). */
export interface Evaluation {
  metrics: PointMetrics;
  testProbs?: Float32Array;
}

/**
 * Evaluates weight vectors on one model. Every evaluation is a pure function of the weights: BN statistics are reset
 * and recomputed from the same images in the same order, random streams are reseeded first, and the metric passes
 * run in eval mode; so equal weights give bit-identical metrics.
 */
export class PointEvaluator {
  /** Evaluations run so far. */
  count = 0;
  private readonly bnBatch: number;
  private readonly evalBatch: number;
  private readonly weightDecay: number;
  /** Each set's normalised batches, uploaded once and kept on the device (the images never change). */
  private resident: { bn: Tensor[]; train: Tensor[]; test: Tensor[] } | null = null;

  constructor(
    readonly model: Module,
    readonly layout: ParamLayout,
    readonly sets: EvalSets,
    readonly options: EvaluatorOptions,
  ) {
    this.bnBatch = options.bnBatchSize ?? 128;
    this.evalBatch = options.evalBatchSize ?? 500;
    this.weightDecay = options.weightDecay ?? 0;
    for (const [k, v] of [
      ['bnBatchSize', this.bnBatch],
      ['evalBatchSize', this.evalBatch],
    ] as const) {
      if (!(Number.isInteger(v) && v >= 1)) throw new Error(`PointEvaluator: ${k} must be an integer ≥ 1, got ${v}`);
    }
    for (const [k, ds] of Object.entries(sets)) {
      if (ds.n < 1) throw new Error(`PointEvaluator: the ${k} set is empty`);
    }
  }

  /**
   * Metrics of the weights `w` (flat, in `layout`). BN statistics are recomputed unless `buffers` gives the model's
   * buffers as saved (an FGE snapshot, a real SGD iterate, is evaluated as it was trained).
   */
  async evaluate(w: Float32Array, opts: { buffers?: HostTensors; probs?: boolean } = {}): Promise<Evaluation> {
    const { model, options: o } = this;
    const data = this.upload();
    loadFlat(model, this.layout, w);
    if (opts.buffers) {
      loadBuffers(model, opts.buffers);
    } else {
      const saved = globalGenerator.getState();
      globalGenerator.seed(o.seed ?? 0);
      o.generator?.seed(o.seed ?? 0);
      try {
        refreshBn(model, data.bn);
      } finally {
        globalGenerator.setState(saved);
      }
    }
    const wasTraining = model.training;
    model.eval();
    try {
      const train = await this.pass(this.sets.train, data.train, false);
      const test = await this.pass(this.sets.test, data.test, opts.probs ?? false);
      this.count++;
      const l2 = (this.weightDecay / 2) * dot(w, w);
      const metrics: PointMetrics = {
        trainLoss: train.loss,
        trainLossL2: train.loss + l2,
        trainError: train.error,
        testLoss: test.loss,
        testError: test.error,
      };
      return test.probs ? { metrics, testProbs: test.probs } : { metrics };
    } finally {
      model.train(wasTraining);
    }
  }

  /** The sets' batches on the device, made on first use. */
  private upload(): { bn: Tensor[]; train: Tensor[]; test: Tensor[] } {
    if (this.resident) return this.resident;
    const { device, normalize } = this.options;
    const batches = (data: Dataset, batchSize: number): Tensor[] => {
      const out: Tensor[] = [];
      // NOTE: loader batches are views of reused buffers: upload each one before asking for the next.
      for (const b of new DataLoader(data, { batchSize, normalize }))
        out.push(keep(tensor(b.x, [b.size, ...b.shape], { device })));
      return out;
    };
    this.resident = {
      bn: batches(this.sets.bn, this.bnBatch),
      train: batches(this.sets.train, this.evalBatch),
      test: batches(this.sets.test, this.evalBatch),
    };
    return this.resident;
  }

  /** Frees the batches kept on the device (the model stays the caller's). */
  dispose(): void {
    for (const list of Object.values(this.resident ?? {})) for (const t of list) t.dispose();
    this.resident = null;
  }

  /** Mean cross-entropy and error of the model as it stands on `data` (float64 on the host, from the logits). */
  private async pass(
    data: Dataset,
    batches: readonly Tensor[],
    probs: boolean,
  ): Promise<{ loss: number; error: number; probs?: Float32Array }> {
    const c = data.classes;
    const out = probs ? new Float32Array(data.n * c) : undefined;
    let loss = 0;
    let wrong = 0;
    let row = 0;
    for (const x of batches) {
      const size = x.shape[0];
      const logits = noGrad(() => tidy(() => keep(this.model.forward(x))));
      let z: Float32Array;
      try {
        z = await logits.data();
      } finally {
        logits.dispose();
      }
      if (z.length !== size * c)
        throw new Error(
          `PointEvaluator: the model gives ${z.length / size} outputs per image, the data has ${c} classes`,
        );
      for (let i = 0; i < size; i++, row++) {
        const r = rowStats(z, i * c, c, data.labels[row], out, row * c);
        loss += r.loss;
        if (!r.correct) wrong++;
      }
    }
    return { loss: loss / data.n, error: wrong / data.n, probs: out };
  }
}

/**
 * −log softmax(z)[label] of one row in float64 and whether its first maximum is the label (a row with a non-finite
 * logit counts as wrong, with an infinite loss); writes the row's softmax into `probs` when given.
 */
function rowStats(
  z: Float32Array,
  at: number,
  c: number,
  label: number,
  probs: Float32Array | undefined,
  to: number,
): { loss: number; correct: boolean } {
  let m = -Infinity;
  let arg = -1;
  let finite = true;
  for (let k = 0; k < c; k++) {
    const v = z[at + k];
    if (!Number.isFinite(v)) finite = false;
    if (v > m) {
      m = v;
      arg = k;
    }
  }
  if (!finite) {
    if (probs) probs.fill(NaN, to, to + c);
    return { loss: Infinity, correct: false };
  }
  let s = 0;
  for (let k = 0; k < c; k++) s += Math.exp(z[at + k] - m);
  if (probs) for (let k = 0; k < c; k++) probs[to + k] = Math.exp(z[at + k] - m) / s;
  return { loss: m + Math.log(s) - z[at + label], correct: arg === label };
}

/** Writes saved buffers (BN running statistics and counters) into the model. */
function loadBuffers(model: Module, buffers: HostTensors): void {
  noGrad(() => {
    for (const [name, t] of model.namedBuffers()) {
      const v = buffers.get(name);
      if (!v) throw new Error(`PointEvaluator: saved buffer ${name} is missing`);
      t.copy_(v.data);
    }
  });
}

/**
 * A fixed subset of `n` examples drawn without replacement with a seeded generator (in data order), or the whole set
 * when n ≥ its size. The same (data, n, seed) always gives the same subset.
 */
export function subset(data: Dataset, n: number, seed: number): Dataset {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`subset: n must be an integer ≥ 1, got ${n}`);
  if (n >= data.n) return data;
  const g = new Generator(seed);
  const idx = Int32Array.from({ length: data.n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + g.int(data.n - i);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const pick = idx.subarray(0, n).sort();
  const per = imageSize(data.shape);
  const images = new Float32Array(n * per);
  const labels = new Int32Array(n);
  pick.forEach((k, i) => {
    images.set(data.images.subarray(k * per, (k + 1) * per), i * per);
    labels[i] = data.labels[k];
  });
  return { ...data, n, images, labels };
}
