// Float64 helpers for the reference implementations that tests compare every backend against.

import { forEachIndex } from './kernel-reference.ts';
import type { Nd } from './op.ts';
import { broadcastShapes, broadcastStrides, sizeOf, stridesOf, type Shape } from './shape.ts';

export function nd(shape: Shape, data?: ArrayLike<number>): Nd {
  const out = { shape: [...shape], data: new Float64Array(sizeOf(shape)) };
  if (data) out.data.set(data);
  return out;
}

/** Element-wise map with NumPy broadcasting over any number of inputs. */
export function ndMap(inputs: Nd[], f: (...v: number[]) => number): Nd {
  const shape = broadcastShapes('reference', ...inputs.map((x) => x.shape));
  const strides = inputs.map((x) => broadcastStrides(x.shape, shape));
  const out = nd(shape);
  const vals = new Array<number>(inputs.length);
  forEachIndex(shape, (i, idx) => {
    for (let k = 0; k < inputs.length; k++) {
      let off = 0;
      for (let d = 0; d < idx.length; d++) off += idx[d] * strides[k][d];
      vals[k] = inputs[k].data[off];
    }
    out.data[i] = f(...vals);
  });
  return out;
}

/** Reduces `axes` (sorted, normalised) with `f` starting from `init`. */
export function ndReduce(
  x: Nd,
  axes: number[],
  keepdim: boolean,
  init: number,
  f: (acc: number, v: number) => number,
): Nd {
  const keepShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = nd(keepShape);
  out.data.fill(init);
  const os = stridesOf(keepShape);
  forEachIndex(x.shape, (i, idx) => {
    let off = 0;
    for (let d = 0; d < idx.length; d++) if (!axes.includes(d)) off += idx[d] * os[d];
    out.data[off] = f(out.data[off], x.data[i]);
  });
  if (!keepdim) out.shape = x.shape.filter((_, i) => !axes.includes(i));
  return out;
}

/** Gathers x at strided positions: out[idx] = x[offset + idx·strides] over `shape`. */
export function ndGather(x: Nd, shape: Shape, strides: readonly number[], offset: number): Nd {
  const out = nd(shape);
  forEachIndex(shape, (i, idx) => {
    let off = offset;
    for (let d = 0; d < idx.length; d++) off += idx[d] * strides[d];
    out.data[i] = x.data[off];
  });
  return out;
}
