// Reductions beyond sum (which lives with broadcasting in broadcast.ts): max and mean over any set of axes.

import { ndReduce } from '../nd.ts';
import { runOp, type CompositeDef, type PrimitiveDef } from '../op.ts';
import { normAxes, sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';
import { reduceForward, reducedShape, reshape, sum } from './broadcast.ts';
import { div, eq, mul } from './elementwise.ts';

export const maxDef: PrimitiveDef<'max'> = {
  name: 'max',
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

/** Maximum over `axes` (all when omitted); ties share the gradient evenly. */
export const max = (x: Tensor, axes?: number | number[], keepdim = false): Tensor =>
  runOp(maxDef, [x], { axes: normAxes('max', axes, x.rank), keepdim });

/** Mean over `axes` (all when omitted). */
export const mean = (x: Tensor, axes?: number | number[], keepdim = false): Tensor =>
  runOp(meanDef, [x], { axes: normAxes('mean', axes, x.rank), keepdim });
