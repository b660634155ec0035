// Shape arithmetic shared by every op: sizes, strides, NumPy broadcasting, axis normalisation, dimension coalescing,
// and the error messages that name the op, the shapes and what is wrong.

import { MAX_RANK } from './backend.ts';

export type Shape = readonly number[];

/** Formats a shape as `[2, 3]` for error messages. */
export const fmt = (shape: Shape): string => `[${shape.join(', ')}]`;

/** The error every op throws on bad input: `op: message`. */
export class ShapeError extends Error {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-contiguous) strides. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/**
 * Output length of a convolution or pooling window along one dimension: ⌊(size + 2·pad − dilation·(k − 1) − 1) /
 * stride⌋ + 1, as PyTorch's Conv2d and MaxPool2d.
 */
export function outLen(size: number, k: number, stride: number, pad: number, dilation = 1): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checks that every entry is a non-negative integer. */
export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(op, `invalid shape ${fmt(shape)}: dimensions must be non-negative integers`);
    }
  }
}

/** NumPy broadcasting of two or more shapes; throws naming the op, the shapes and the first clashing dimension. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (let d = 0; d < rank; d++) {
    for (const s of shapes) {
      const v = s[s.length - rank + d] ?? 1;
      if (v === 1) continue;
      if (out[d] !== 1 && out[d] !== v) {
        const which = `dimension ${d - rank} is ${out[d]} vs ${v}`;
        throw new ShapeError(op, `shapes ${shapes.map(fmt).join(' and ')} cannot be broadcast together (${which})`);
      }
      out[d] = v;
    }
  }
  return out;
}

/** Strides that read an input of shape `from` as if it had the broadcast shape `to` (0 where broadcast). */
export function broadcastStrides(from: Shape, to: Shape): number[] {
  const s = stridesOf(from);
  const off = to.length - from.length;
  return to.map((_, d) => (d < off || from[d - off] === 1 ? 0 : s[d - off]));
}

/** Normalises axes (negative counts from the end); throws on out-of-range or repeated axes. Sorted ascending. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= Math.max(rank, 1)) {
      throw new ShapeError(op, `axis ${a} is out of range for a tensor of rank ${rank}`);
    }
    return a < 0 ? a + rank : a;
  });
  if (new Set(out).size !== out.length) throw new ShapeError(op, `repeated axis in ${JSON.stringify(list)}`);
  return out.sort((x, y) => x - y);
}

/** Normalises one axis. */
export function normAxis(op: string, axis: number, rank: number): number {
  return normAxes(op, axis, rank)[0];
}

/**
 * Merges adjacent dimensions that every stride set walks contiguously and drops size-1 dimensions, so kernels see
 * the smallest rank. Throws when the result still exceeds the kernels' MAX_RANK.
 */
export function coalesce(
  op: string,
  shape: Shape,
  strideSets: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strideSets.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    const merge = last >= 0 && strideSets.every((s, k) => outStrides[k][last] === s[d] * shape[d]);
    if (merge) {
      outShape[last] *= shape[d];
      strideSets.forEach((s, k) => {
        outStrides[k][last] = s[d];
      });
    } else {
      outShape.push(shape[d]);
      strideSets.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    outStrides.forEach((s) => s.push(0));
  }
  if (outShape.length > MAX_RANK) {
    const need = `${outShape.length} strided dimensions`;
    throw new ShapeError(op, `shape ${fmt(shape)} needs ${need}; kernels support at most ${MAX_RANK}`);
  }
  return { shape: outShape, strides: outStrides };
}
