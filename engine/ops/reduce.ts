// Reductions beyond sum (which lives with broadcasting in broadcast.ts): max, min and mean over any set of axes.
// Max and min propagate NaN, as torch.amax/amin.

import { ndReduce } from '../nd.ts';
import { runOp, type CompositeDef, type PrimitiveDef } from '../op.ts';
import { normAxes, sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';
import { reduceForward, reducedShape, reshape, sum } from './broadcast.ts';
import { div, eq, mul } from './elementwise.ts';

/**
 * max or min over p.axes. Ties share the gradient evenly, as torch.amax/amin do; a NaN result matches no input, so
 * its count is 0 and its whole slice of the gradient is NaN (PyTorch's 0/0 too).
 */
function extremumDef<N extends 'max' | 'min'>(name: N): PrimitiveDef<N> {
  return {
    name,
    shape: ([x], p) => reducedShape(x, p.axes, p.keepdim),
    forward: ([x], shape, p) => reduceForward(name, x, shape, p.axes),
    backward(dy, [x], out, p) {
      const keep = reducedShape(x.shape, p.axes, true);
      const mask = eq(x, reshape(out, keep));
      const count = sum(mask, p.axes, true);
      return [mul(reshape(dy, keep), div(mask, count))];
    },
    reference: ([x], p) =>
      name === 'max'
        ? ndReduce(x, p.axes, p.keepdim, -Infinity, (a, v) => Math.max(a, v))
        : ndReduce(x, p.axes, p.keepdim, Infinity, (a, v) => Math.min(a, v)),
  };
}

export const maxDef = extremumDef('max');
export const minDef = extremumDef('min');

export const meanDef: CompositeDef<'mean'> = {
  name: 'mean',
  compose([x], p) {
    const n = sizeOf(p.axes.map((a) => x.shape[a]));
    return mul(sum(x, p.axes, p.keepdim), 1 / n);
  },
  reference([x], p) {
    const n = sizeOf(p.axes.map((a) => x.shape[a]));
    const s = ndReduce(x, p.axes, p.keepdim, 0, (a, v) => a + v);
    s.data.forEach((v, i) => {
      s.data[i] = v / n;
    });
    return s;
  },
};

/** Maximum over `axes` (all when omitted), as torch.amax: NaN if the slice holds one; ties share the gradient. */
export const max = (x: Tensor, axes?: number | number[], keepdim = false): Tensor =>
  runOp(maxDef, [x], { axes: normAxes('max', axes, x.rank), keepdim });

/** Minimum over `axes` (all when omitted), as torch.amin: NaN if the slice holds one; ties share the gradient. */
export const min = (x: Tensor, axes?: number | number[], keepdim = false): Tensor =>
  runOp(minDef, [x], { axes: normAxes('min', axes, x.rank), keepdim });

/** Mean over `axes` (all when omitted). */
export const mean = (x: Tensor, axes?: number | number[], keepdim = false): Tensor =>
  runOp(meanDef, [x], { axes: normAxes('mean', axes, x.rank), keepdim });
