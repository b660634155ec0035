// Plain TypeScript implementations of every kernel: the exact semantics each backend must reproduce, NaN and ±inf
// included (PyTorch's). Tests run each backend kernel against these on the same inputs; never used for real work.

import type { BinaryOp, KernelParams, KernelName, UnaryOp } from './backend.ts';
import { referenceNnKernels } from './kernel-reference-nn.ts';

type Arr = Float32Array | Float64Array;

/** x^alpha as torch.pow: Math.pow, except that ½ and −½ are √x and 1/√x (so pow(−inf, ½) is NaN, not +inf). */
function powFn(alpha: number): (x: number) => number {
  if (alpha === 0.5) return Math.sqrt;
  if (alpha === -0.5) return (x) => 1 / Math.sqrt(x);
  return (x) => Math.pow(x, alpha);
}

/** The scalar function of a unary kernel; relu keeps NaN (and −0), as torch.relu. */
export function unaryFn(op: UnaryOp, alpha: number): (x: number) => number {
  switch (op) {
    case 'neg':
      return (x) => -x;
    case 'exp':
      return Math.exp;
    case 'log':
      return Math.log;
    case 'sqrt':
      return Math.sqrt;
    case 'relu':
      return (x) => (x < 0 ? 0 : x);
    case 'step':
      return (x) => (x > 0 ? 1 : 0);
    case 'pow':
      return powFn(alpha);
    case 'scale':
      return (x) => x * alpha;
    case 'shift':
      return (x) => x + alpha;
  }
}

/**
 * The scalar function of a binary kernel, NaN as PyTorch: maximum/minimum propagate it, comparisons with it are
 * false except ne, and gate (threshold_backward) passes a where b is NaN.
 */
export function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add':
      return (a, b) => a + b;
    case 'sub':
      return (a, b) => a - b;
    case 'mul':
      return (a, b) => a * b;
    case 'div':
      return (a, b) => a / b;
    case 'maximum':
      return (a, b) => Math.max(a, b);
    case 'minimum':
      return (a, b) => Math.min(a, b);
    case 'eq':
      return (a, b) => (a === b ? 1 : 0);
    case 'ne':
      return (a, b) => (a !== b ? 1 : 0);
    case 'lt':
      return (a, b) => (a < b ? 1 : 0);
    case 'le':
      return (a, b) => (a <= b ? 1 : 0);
    case 'gt':
      return (a, b) => (a > b ? 1 : 0);
    case 'ge':
      return (a, b) => (a >= b ? 1 : 0);
    case 'gate':
      return (a, b) => (b <= 0 ? 0 : a);
  }
}

/** Calls fn(linearIndex, idx) for every index of `shape` in row-major order. */
export function forEachIndex(shape: readonly number[], fn: (i: number, idx: number[]) => void): void {
  const size = shape.reduce((p, d) => p * d, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < size; i++) {
    fn(i, idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

const dot = (idx: readonly number[], strides: readonly number[]): number => {
  let s = 0;
  for (let d = 0; d < idx.length; d++) s += idx[d] * strides[d];
  return s;
};

type CoreKernel = 'fill' | 'copy' | 'unary' | 'binary' | 'where' | 'reduce' | 'matmul' | 'softmax' | 'oneHot';

const coreKernels: { [K in CoreKernel]: (inputs: readonly Arr[], out: Arr, p: KernelParams[K]) => void } = {
  fill(_inputs, out, p) {
    out.fill(p.value, 0, p.size);
  },
  copy([x], out, p) {
    forEachIndex(p.shape, (_i, idx) => {
      out[p.outOffset + dot(idx, p.outStrides)] = x[p.inOffset + dot(idx, p.inStrides)];
    });
  },
  unary([x], out, p) {
    const f = unaryFn(p.op, p.alpha);
    for (let i = 0; i < p.size; i++) out[i] = f(x[i]);
  },
  binary([a, b], out, p) {
    const f = binaryFn(p.op);
    forEachIndex(p.shape, (i, idx) => {
      out[i] = f(a[dot(idx, p.aStrides)], b[dot(idx, p.bStrides)]);
    });
  },
  where([c, a, b], out, p) {
    forEachIndex(p.shape, (i, idx) => {
      out[i] = c[dot(idx, p.cStrides)] !== 0 ? a[dot(idx, p.aStrides)] : b[dot(idx, p.bStrides)];
    });
  },
  reduce([x], out, p) {
    for (let o = 0; o < p.outer; o++) {
      for (let i = 0; i < p.inner; i++) {
        let acc = p.op === 'sum' ? 0 : p.op === 'max' ? -Infinity : Infinity;
        for (let j = 0; j < p.r; j++) {
          const v = x[(o * p.r + j) * p.inner + i];
          acc = p.op === 'sum' ? acc + v : p.op === 'max' ? Math.max(acc, v) : Math.min(acc, v);
        }
        out[o * p.inner + i] = acc;
      }
    }
  },
  matmul([a, b], out, p) {
    for (let bi = 0; bi < p.batch; bi++) {
      const ao = bi * p.aBatchStride;
      const bo = bi * p.bBatchStride;
      for (let i = 0; i < p.m; i++) {
        for (let j = 0; j < p.n; j++) {
          let s = 0;
          for (let l = 0; l < p.k; l++) {
            const av = p.transA ? a[ao + l * p.m + i] : a[ao + i * p.k + l];
            const bv = p.transB ? b[bo + j * p.k + l] : b[bo + l * p.n + j];
            s += av * bv;
          }
          out[(bi * p.m + i) * p.n + j] = s;
        }
      }
    }
  },
  softmax([x], out, p) {
    for (let o = 0; o < p.outer; o++) {
      for (let i = 0; i < p.inner; i++) {
        const at = (j: number): number => (o * p.r + j) * p.inner + i;
        let mx = -Infinity;
        for (let j = 0; j < p.r; j++) mx = Math.max(mx, x[at(j)]);
        let s = 0;
        for (let j = 0; j < p.r; j++) s += Math.exp(x[at(j)] - mx);
        for (let j = 0; j < p.r; j++) {
          out[at(j)] = p.log ? x[at(j)] - mx - Math.log(s) : Math.exp(x[at(j)] - mx) / s;
        }
      }
    }
  },
  oneHot([labels], out, p) {
    out.fill(0, 0, p.rows * p.classes);
    for (let r = 0; r < p.rows; r++) {
      const c = labels[r];
      if (c >= 0 && c < p.classes && Number.isInteger(c)) out[r * p.classes + c] = 1;
    }
  },
};

/** Reference kernels over plain arrays; `out` is written in place like a device buffer. */
export const referenceKernels: { [K in KernelName]: (inputs: readonly Arr[], out: Arr, p: KernelParams[K]) => void } = {
  ...coreKernels,
  ...referenceNnKernels,
};
