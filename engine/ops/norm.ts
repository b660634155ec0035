// Batch normalisation (training with batch statistics and running-statistics updates as PyTorch, or eval) and
// seeded dropout, each with dedicated kernels.

import { referenceNnKernels } from '../kernel-reference-nn.ts';
import { nd } from '../nd.ts';
import { runOp, type OpParams, type PrimitiveDef } from '../op.ts';
import { fmt, ShapeError, sizeOf, type Shape } from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';
import { mul, pow, shift } from './elementwise.ts';
import { runKernel } from './kernel.ts';
import { axpbyInPlace } from './update.ts';

/** x viewed as [n, c, s]. */
function bnDims(x: Shape, stats: Shape[]): { n: number; c: number; s: number } {
  if (x.length < 2) throw new ShapeError('batchNorm', `expects input [N, C, …], got ${fmt(x)}`);
  const c = x[1];
  for (const s of stats) {
    if (s.length !== 1 || s[0] !== c)
      throw new ShapeError(
        'batchNorm',
        `weight, bias and running statistics must be [${c}] for input ${fmt(x)}, got ${fmt(s)}`,
      );
  }
  return { n: x[0], c, s: sizeOf(x.slice(2)) };
}

export const batchNormDef: PrimitiveDef<'batchNorm'> = {
  name: 'batchNorm',
  shape([x, ...stats], p) {
    const { n, s } = bnDims(x, stats);
    if (p.training && n * s < 2)
      throw new ShapeError('batchNorm', `expected more than 1 value per channel when training, got input ${fmt(x)}`);
    return x;
  },
  forward([x, gamma, beta, runMean, runVar], shape, p, save) {
    const { n, c, s } = bnDims(x.shape, []);
    if (!p.training) return runKernel('bnApply', [x, runMean, runVar, gamma, beta], shape, x, { n, c, s, eps: p.eps });
    const m = n * s;
    const mean = runKernel('channelSum', [x], [c], x, { n, c, s, scale: 1 / m });
    const variance = runKernel('channelVar', [x, mean], [c], x, { n, c, s, scale: 1 / m });
    if (p.momentum > 0) {
      // PyTorch: running = (1 − momentum)·running + momentum·batch, with the unbiased batch variance.
      axpbyInPlace(runMean, mean, 1 - p.momentum, p.momentum);
      axpbyInPlace(runVar, variance, 1 - p.momentum, (p.momentum * m) / (m - 1));
    }
    save(mean, variance);
    return runKernel('bnApply', [x, mean, variance, gamma, beta], shape, x, { n, c, s, eps: p.eps });
  },
  backward(dy, [x, gamma, , runMean, runVar], _out, p, saved) {
    const { n, c, s } = bnDims(x.shape, []);
    const [mean, variance] = p.training ? saved : [runMean, runVar];
    const sumDy = runKernel('channelSum', [dy], [c], x, { n, c, s, scale: 1 });
    const sumDyXmu = runKernel('channelDot', [dy, x, mean], [c], x, { n, c, s, scale: 1 });
    const dx = runKernel('bnBackwardInput', [dy, x, mean, variance, gamma, sumDy, sumDyXmu], x.shape, x, {
      n,
      c,
      s,
      eps: p.eps,
      training: p.training,
    });
    const dgamma = mul(sumDyXmu, pow(shift(variance, p.eps), -0.5));
    sumDyXmu.dispose();
    return [dx, dgamma, sumDy, null, null];
  },
  reference([x, gamma, beta, runMean, runVar], p) {
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
    referenceNnKernels.bnApply([x.data, mean, variance, gamma.data, beta.data], out.data, { n, c, s, eps: p.eps });
    return out;
  },
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
 * Zeroes each element with probability p and scales the rest by 1/(1 − p). The mask is a hash of the element index
 * and `seed`, so it is identical on every backend and the backward pass reuses it without storing it.
 */
export const dropout = (x: Tensor, p: number, seed: number): Tensor => runOp(dropoutDef, [x], { p, seed: seed >>> 0 });
