// Batch normalisation (training with batch statistics and running-statistics updates as PyTorch, or eval), the same
// with its ReLU fused (relu(batchNorm(x)) in one op), and seeded dropout, each with dedicated kernels.

import { referenceNnKernels } from '../kernel-reference-nn.ts';
import { nd } from '../nd.ts';
import { runOp, type Nd, type OpParams, type PrimitiveDef } from '../op.ts';
import { fmt, ShapeError, sizeOf, type Shape } from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';
import { mul, pow, shift } from './elementwise.ts';
import { copyInto, runKernel } from './kernel.ts';
import { axpbyInPlace } from './update.ts';

/** x viewed as [n, c, s]. */
function bnDims(x: Shape, stats: Shape[], op: BnOp = 'batchNorm'): { n: number; c: number; s: number } {
  if (x.length < 2) throw new ShapeError(op, `expects input [N, C, …], got ${fmt(x)}`);
  const c = x[1];
  for (const s of stats) {
    if (s.length !== 1 || s[0] !== c)
      throw new ShapeError(op, `weight, bias and running statistics must be [${c}] for input ${fmt(x)}, got ${fmt(s)}`);
  }
  return { n: x[0], c, s: sizeOf(x.slice(2)) };
}

/** The inputs of the two batch-norm ops: x, gamma, beta, running mean, running variance. */
type BnOp = 'batchNorm' | 'batchNormRelu';

/** Floats [at, at + c) of a [2c] tensor of two per-channel vectors, as a tensor of its own. */
function half(t: Tensor, c: number, at: number): Tensor {
  const out = t.newEmpty([c]);
  copyInto('batchNorm', t, out, [c], [1], at, [1], 0);
  return out;
}

/**
 * The forward of both batch-norm ops: batch statistics in one pass (bnStats) and the running update when training,
 * then the affine map with the ReLU fused when `relu`.
 */
function bnForward(
  [x, gamma, beta, runMean, runVar]: Tensor[],
  shape: Shape,
  p: OpParams[BnOp],
  relu: boolean,
  save: (...t: Tensor[]) => void,
): Tensor {
  const { n, c, s } = bnDims(x.shape, []);
  const apply = { n, c, s, eps: p.eps, relu };
  if (!p.training) return runKernel('bnApply', [x, runMean, runVar, gamma, beta], shape, x, apply);
  const m = n * s;
  const stats = runKernel('bnStats', [x], [2 * c], x, { n, c, s });
  const mean = half(stats, c, 0);
  const variance = half(stats, c, c);
  stats.dispose();
  if (p.momentum > 0) {
    // PyTorch: running = (1 − momentum)·running + momentum·batch, with the unbiased batch variance.
    axpbyInPlace(runMean, mean, 1 - p.momentum, p.momentum);
    axpbyInPlace(runVar, variance, 1 - p.momentum, (p.momentum * m) / (m - 1));
  }
  save(mean, variance);
  return runKernel('bnApply', [x, mean, variance, gamma, beta], shape, x, apply);
}

/**
 * The backward of both: Σg and Σg·(x − mean) in one pass (bnBackwardStats, g = dy·[out > 0] when `relu`), then dx;
 * dgamma = Σg·(x − mean)/√(var + eps) and dbeta = Σg.
 */
function bnBackward(
  dy: Tensor,
  [x, gamma, , runMean, runVar]: Tensor[],
  out: Tensor,
  p: OpParams[BnOp],
  saved: readonly Tensor[],
  relu: boolean,
): (Tensor | null)[] {
  const { n, c, s } = bnDims(x.shape, []);
  const [mean, variance] = p.training ? saved : [runMean, runVar];
  const gated = relu ? [out] : [];
  const sums = runKernel('bnBackwardStats', [dy, x, mean, ...gated], [2 * c], x, { n, c, s, relu });
  const inputs = [dy, x, mean, variance, gamma, sums, ...gated];
  const dx = runKernel('bnBackwardInput', inputs, x.shape, x, { n, c, s, eps: p.eps, training: p.training, relu });
  const sumDy = half(sums, c, 0);
  const sumDyXmu = half(sums, c, c);
  sums.dispose();
  const dgamma = mul(sumDyXmu, pow(shift(variance, p.eps), -0.5));
  sumDyXmu.dispose();
  return [dx, dgamma, sumDy, null, null];
}

/** The float64 reference of both: batch statistics (training) or running ones, the affine map, relu(·) if asked. */
function bnReference([x, gamma, beta, runMean, runVar]: Nd[], p: OpParams[BnOp], relu: boolean): Nd {
  const { n, c, s } = bnDims(x.shape, []);
  const out = nd(x.shape);
  let mean = runMean.data;
  let variance = runVar.data;
  if (p.training) {
    mean = new Float64Array(c);
    variance = new Float64Array(c);
    referenceNnKernels.channelSum([x.data], mean, { n, c, s, scale: 1 / (n * s) });
    referenceNnKernels.channelVar([x.data, mean], variance, { n, c, s, scale: 1 / (n * s) });
  }
  const apply = { n, c, s, eps: p.eps, relu };
  referenceNnKernels.bnApply([x.data, mean, variance, gamma.data, beta.data], out.data, apply);
  return out;
}

function bnShape(op: BnOp, [x, ...stats]: Shape[], p: OpParams[BnOp]): Shape {
  const { n, s } = bnDims(x, stats, op);
  if (p.training && n * s < 2)
    throw new ShapeError(op, `expected more than 1 value per channel when training, got input ${fmt(x)}`);
  return x;
}

export const batchNormDef: PrimitiveDef<'batchNorm'> = {
  name: 'batchNorm',
  shape: (shapes, p) => bnShape('batchNorm', shapes, p),
  forward: (inputs, shape, p, save) => bnForward(inputs, shape, p, false, save),
  backward: (dy, inputs, out, p, saved) => bnBackward(dy, inputs, out, p, saved, false),
  reference: (inputs, p) => bnReference(inputs, p, false),
};

/** relu(batchNorm(x)) in one op: the ReLU runs inside the affine map, and its gradient inside batch norm's. */
export const batchNormReluDef: PrimitiveDef<'batchNormRelu'> = {
  name: 'batchNormRelu',
  shape: (shapes, p) => bnShape('batchNormRelu', shapes, p),
  forward: (inputs, shape, p, save) => bnForward(inputs, shape, p, true, save),
  backward: (dy, inputs, out, p, saved) => bnBackward(dy, inputs, out, p, saved, true),
  reference: (inputs, p) => bnReference(inputs, p, true),
};

export const dropoutDef: PrimitiveDef<'dropout'> = {
  name: 'dropout',
  shape([x], p) {
    if (!(p.p >= 0 && p.p <= 1)) throw new ShapeError('dropout', `probability must be in [0, 1], got ${p.p}`);
    return x;
  },
  forward: ([x], shape, p) =>
    runKernel('dropout', [x], shape, x, { size: x.size, p: p.p, seed: p.seed, scale: p.p < 1 ? 1 / (1 - p.p) : 0 }),
  backward: (dy, _x, _out, p) => [
    runKernel('dropout', [dy], dy.shape, dy, {
      size: dy.size,
      p: p.p,
      seed: p.seed,
      scale: p.p < 1 ? 1 / (1 - p.p) : 0,
    }),
  ],
  reference([x], p) {
    const out = nd(x.shape);
    referenceNnKernels.dropout([x.data], out.data, {
      size: out.data.length,
      p: p.p,
      seed: p.seed,
      scale: p.p < 1 ? 1 / (1 - p.p) : 0,
    });
    return out;
  },
};

export interface BatchNormOptions {
  training: boolean;
  /** Weight of the batch statistics in the running update (PyTorch's momentum, 0.1 by default); 0 skips the update. */
  momentum?: number;
  eps?: number;
}

/**
 * Batch normalisation over dimension 1 of x [N, C, …] (Ioffe & Szegedy, 2015), as torch.nn.functional.batch_norm.
 * Training normalises with the batch statistics and updates runMean/runVar in place; eval uses them.
 */
export function batchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  opts: BatchNormOptions,
): Tensor {
  return runOp(batchNormDef, [x, gamma, beta, runMean, runVar], {
    training: opts.training,
    momentum: opts.momentum ?? 0.1,
    eps: opts.eps ?? 1e-5,
  });
}

/**
 * relu(batchNorm(x, …)) as one op, with batchNorm's arguments and semantics: the ReLU is applied inside the
 * normalising kernel and its gradient inside batch norm's backward, which saves two passes over x's size each way.
 * PyTorch has no single function for it; this is the composition `torch.relu(F.batch_norm(…))` (a NaN stays NaN).
 */
export function batchNormRelu(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runMean: Tensor,
  runVar: Tensor,
  opts: BatchNormOptions,
): Tensor {
  return runOp(batchNormReluDef, [x, gamma, beta, runMean, runVar], {
    training: opts.training,
    momentum: opts.momentum ?? 0.1,
    eps: opts.eps ?? 1e-5,
  });
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1 − p). The mask is a hash of the element index
 * and `seed`, so it is identical on every backend and the backward pass reuses it without storing it.
 */
export const dropout = (x: Tensor, p: number, seed: number): Tensor => runOp(dropoutDef, [x], { p, seed: seed >>> 0 });
