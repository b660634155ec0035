// Broadcasting and its adjoint: reshape, broadcastTo, sum and sumTo. They sit together because each one's gradient
// is another of the four; every other op file builds on them, never the other way round.

import { nd, ndGather, ndReduce } from '../nd.ts';
import { runOp, type CompositeDef, type PrimitiveDef } from '../op.ts';
import {
  broadcastShapes,
  broadcastStrides,
  fmt,
  normAxes,
  ShapeError,
  sizeOf,
  stridesOf,
  type Shape,
} from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';
import { copyInto, runKernel } from './kernel.ts';

export const reducedShape = (shape: Shape, axes: number[], keepdim: boolean): number[] =>
  keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));

/** Runs the reduce kernel over `axes`, first moving them innermost with one copy when they are not adjacent. */
export function reduceForward(op: 'sum' | 'max' | 'min', x: Tensor, shape: Shape, axes: number[]): Tensor {
  const dims = x.shape;
  if (op !== 'sum' && axes.some((a) => dims[a] === 0)) {
    throw new ShapeError(op, `cannot take the ${op}imum over an empty axis of a tensor of shape ${fmt(dims)}`);
  }
  const live = axes.filter((a) => dims[a] !== 1);
  const adjacent = live.every((a, i) => i === 0 || a === live[i - 1] + 1);
  if (adjacent) {
    const first = live.length ? live[0] : dims.length;
    const last = live.length ? live[live.length - 1] : dims.length - 1;
    const outer = sizeOf(dims.slice(0, first));
    const inner = sizeOf(dims.slice(last + 1));
    return runKernel('reduce', [x], shape, x, { op, outer, r: sizeOf(live.map((a) => dims[a])), inner });
  }
  const kept = dims.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  const permShape = order.map((a) => dims[a]);
  const xs = stridesOf(dims);
  const tmp = x.newEmpty(permShape);
  copyInto(
    op,
    x,
    tmp,
    permShape,
    order.map((a) => xs[a]),
    0,
    stridesOf(permShape),
    0,
  );
  const r = sizeOf(axes.map((a) => dims[a]));
  const out = runKernel('reduce', [tmp], shape, x, { op, outer: x.size / Math.max(r, 1), r, inner: 1 });
  tmp.dispose();
  return out;
}

export const reshapeDef: PrimitiveDef<'reshape'> = {
  name: 'reshape',
  shape([x], p) {
    if (sizeOf(p.shape) !== sizeOf(x)) {
      throw new ShapeError('reshape', `cannot reshape ${fmt(x)} (${sizeOf(x)} elements) to ${fmt(p.shape)}`);
    }
    return p.shape;
  },
  forward: ([x], shape) => x.shareAs(shape),
  backward: (dy, [x]) => [reshape(dy, x.shape)],
  reference: ([x], p) => nd(p.shape, x.data),
};

export const broadcastToDef: PrimitiveDef<'broadcastTo'> = {
  name: 'broadcastTo',
  shape([x], p) {
    const b = broadcastShapes('broadcastTo', x, p.shape);
    if (b.length !== p.shape.length || b.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError('broadcastTo', `cannot broadcast ${fmt(x)} to ${fmt(p.shape)}`);
    }
    return p.shape;
  },
  forward([x], shape) {
    const out = x.newEmpty(shape);
    copyInto('broadcastTo', x, out, shape, broadcastStrides(x.shape, shape), 0, stridesOf(shape), 0);
    return out;
  },
  backward: (dy, [x]) => [sumTo(dy, x.shape)],
  reference: ([x], p) => ndGather(x, p.shape, broadcastStrides(x.shape, p.shape), 0),
};

export const sumDef: PrimitiveDef<'sum'> = {
  name: 'sum',
  shape: ([x], p) => reducedShape(x, p.axes, p.keepdim),
  forward: ([x], shape, p) => reduceForward('sum', x, shape, p.axes),
  backward: (dy, [x], _out, p) => [broadcastTo(reshape(dy, reducedShape(x.shape, p.axes, true)), x.shape)],
  reference: ([x], p) => ndReduce(x, p.axes, p.keepdim, 0, (a, v) => a + v),
};

/** The axes of `from` that are summed to reach `to` (leading extra axes, and broadcast size-1 axes). */
function sumToAxes(from: Shape, to: Shape): number[] {
  const off = from.length - to.length;
  return from.map((_, i) => i).filter((i) => i < off || (to[i - off] === 1 && from[i] !== 1));
}

export const sumToDef: CompositeDef<'sumTo'> = {
  name: 'sumTo',
  compose([x], p) {
    if (x.shape.length === p.shape.length && x.shape.every((d, i) => d === p.shape[i])) return x;
    const off = x.rank - p.shape.length;
    if (off < 0) {
      throw new ShapeError(
        'sumTo',
        `cannot sum a tensor of shape ${fmt(x.shape)} to the larger rank of ${fmt(p.shape)}`,
      );
    }
    for (let i = off; i < x.rank; i++) {
      if (p.shape[i - off] !== 1 && p.shape[i - off] !== x.shape[i]) {
        throw new ShapeError('sumTo', `shape ${fmt(x.shape)} does not broadcast from ${fmt(p.shape)}`);
      }
    }
    return reshape(sum(x, sumToAxes(x.shape, p.shape), true), p.shape);
  },
  reference([x], p) {
    const s = ndReduce(x, sumToAxes(x.shape, p.shape), true, 0, (a, v) => a + v);
    return { shape: [...p.shape], data: s.data };
  },
};

/** The same values with another shape of equal size; one dimension may be -1 (inferred). Shares storage. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length === 1 ? x.size / Math.max(sizeOf(known), 1) : NaN;
  const full = shape.map((d) => (d === -1 ? inferred : d));
  if (shape.filter((d) => d === -1).length > 1 || full.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError('reshape', `cannot reshape ${fmt(x.shape)} (${x.size} elements) to ${fmt(shape)}`);
  }
  return runOp(reshapeDef, [x], { shape: full });
}

/** Materialises NumPy broadcasting of x to `shape`. */
export const broadcastTo = (x: Tensor, shape: Shape): Tensor => runOp(broadcastToDef, [x], { shape: [...shape] });

/** Sum over `axes` (all when omitted), keeping reduced dimensions as size 1 when `keepdim`. */
export const sum = (x: Tensor, axes?: number | number[], keepdim = false): Tensor =>
  runOp(sumDef, [x], { axes: normAxes('sum', axes, x.rank), keepdim });

/** Sums a broadcast tensor back down to `shape` (the adjoint of broadcastTo). */
export const sumTo = (x: Tensor, shape: Shape): Tensor => runOp(sumToDef, [x], { shape: [...shape] });
