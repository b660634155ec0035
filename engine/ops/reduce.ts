// Reductions over any set of axes (sum, max, mean) and sumTo, which folds a broadcast gradient back to a shape.

import { ndReduce } from '../nd.ts';
import { apply, type AxesParams, type CompositeDef, type PrimitiveDef } from '../op.ts';
import { fmt, normAxes, ShapeError, sizeOf, stridesOf, type Shape } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { broadcastTo, reshape } from './movement.ts';
import { div, eq, mul, runKernel } from './elementwise.ts';

const reducedShape = (shape: Shape, axes: number[], keepdim: boolean): number[] =>
  keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));

/** Runs the reduce kernel over `axes`, first moving them innermost with one copy when they are not adjacent. */
function reduceForward(op: 'sum' | 'max', x: Tensor, shape: Shape, axes: number[]): Tensor {
  const be = x.backend;
  const dims = x.shape;
  if (op === 'max' && axes.some((a) => dims[a] === 0)) {
    throw new ShapeError('max', `cannot take the maximum over an empty axis of a tensor of shape ${fmt(dims)}`);
  }
  const live = axes.filter((a) => dims[a] !== 1);
  const adjacent = live.every((a, i) => i === 0 || a === live[i - 1] + 1);
  if (adjacent) {
    const first = live.length ? live[0] : dims.length;
    const last = live.length ? live[live.length - 1] : dims.length - 1;
    const params = { op, outer: sizeOf(dims.slice(0, first)), r: sizeOf(live.map((a) => dims[a])), inner: sizeOf(dims.slice(last + 1)) };
    return runKernel('reduce', [x], shape, be, params);
  }
  const kept = dims.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  const permShape = order.map((a) => dims[a]);
  const xs = stridesOf(dims);
  const tmp = Tensor.empty(permShape, be);
  be.run('copy', [x.buf('reduce')], tmp.buf('reduce'), {
    shape: permShape, inStrides: order.map((a) => xs[a]), inOffset: 0, outStrides: stridesOf(permShape), outOffset: 0,
  });
  const r = sizeOf(axes.map((a) => dims[a]));
  const out = runKernel('reduce', [tmp], shape, be, { op, outer: x.size / Math.max(r, 1), r, inner: 1 });
  tmp.dispose();
  return out;
}

export const sumDef: PrimitiveDef<AxesParams> = {
  shape: ([x], p) => reducedShape(x, p.axes, p.keepdim),
  forward: ([x], shape, p) => reduceForward('sum', x, shape, p.axes),
  backward: (dy, [x], _out, p) => [broadcastTo(reshape(dy, reducedShape(x.shape, p.axes, true)), x.shape)],
  reference: ([x], p) => ndReduce(x, p.axes, p.keepdim, 0, (a, v) => a + v),
};

export const maxDef: PrimitiveDef<AxesParams> = {
  shape: ([x], p) => reducedShape(x, p.axes, p.keepdim),
  forward: ([x], shape, p) => reduceForward('max', x, shape, p.axes),
  // Ties share the gradient evenly, as torch.amax does.
  backward(dy, [x], out, p) {
    const keep = reducedShape(x.shape, p.axes, true);
    const mask = eq(x, reshape(out, keep));
    const count = sum(mask, p.axes, true);
    return [mul(reshape(dy, keep), div(mask, count))];
  },
  reference: ([x], p) => ndReduce(x, p.axes, p.keepdim, -Infinity, Math.max),
};

export const meanDef: CompositeDef<AxesParams> = {
  compose([x], p) {
    const n = sizeOf(p.axes.map((a) => x.shape[a]));
    return mul(sum(x, p.axes, p.keepdim), 1 / n);
  },
  reference([x], p) {
    const n = sizeOf(p.axes.map((a) => x.shape[a]));
    const s = ndReduce(x, p.axes, p.keepdim, 0, (a, v) => a + v);
    s.data.forEach((v, i) => { s.data[i] = v / n; });
    return s;
  },
};

export const sumToDef: CompositeDef<{ shape: number[] }> = {
  compose([x], p) {
    if (x.shape.length === p.shape.length && x.shape.every((d, i) => d === p.shape[i])) return x;
    const off = x.rank - p.shape.length;
    if (off < 0) throw new ShapeError('sumTo', `cannot sum a tensor of shape ${fmt(x.shape)} to the larger rank of ${fmt(p.shape)}`);
    const axes = x.shape.map((_, i) => i).filter((i) => i < off || (p.shape[i - off] === 1 && x.shape[i] !== 1));
    for (let i = off; i < x.rank; i++) {
      if (p.shape[i - off] !== 1 && p.shape[i - off] !== x.shape[i]) {
        throw new ShapeError('sumTo', `shape ${fmt(x.shape)} does not broadcast from ${fmt(p.shape)}`);
      }
    }
    return reshape(sum(x, axes, true), p.shape);
  },
  reference([x], p) {
    const off = x.shape.length - p.shape.length;
    const axes = x.shape.map((_, i) => i).filter((i) => i < off || (p.shape[i - off] === 1 && x.shape[i] !== 1));
    const s = ndReduce(x, axes, true, 0, (a, v) => a + v);
    return { shape: [...p.shape], data: s.data };
  },
};

/** Sum over `axes` (all when omitted), keeping reduced dimensions as size 1 when `keepdim`. */
export const sum = (x: Tensor, axes?: number | number[], keepdim = false): Tensor =>
  apply('sum', [x], { axes: normAxes('sum', axes, x.rank), keepdim });
/** Maximum over `axes` (all when omitted); ties share the gradient evenly. */
export const max = (x: Tensor, axes?: number | number[], keepdim = false): Tensor =>
  apply('max', [x], { axes: normAxes('max', axes, x.rank), keepdim });
/** Mean over `axes` (all when omitted). */
export const mean = (x: Tensor, axes?: number | number[], keepdim = false): Tensor =>
  apply('mean', [x], { axes: normAxes('mean', axes, x.rank), keepdim });
/** Sums a broadcast tensor back down to `shape` (the adjoint of broadcastTo). */
export const sumTo = (x: Tensor, shape: Shape): Tensor => apply('sumTo', [x], { shape: [...shape] });
