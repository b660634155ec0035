// Movement ops: reshape (shares storage), permute/transpose, broadcastTo, slice, embed/pad and concat.
// All but reshape are one strided copy kernel; each one's backward is another movement op.

import { forEachIndex } from '../kernel-reference.ts';
import { nd, ndGather } from '../nd.ts';
import { apply, type CompositeDef, type OpParams, type PrimitiveDef } from '../op.ts';
import { broadcastShapes, broadcastStrides, coalesce, fmt, normAxis, ShapeError, sizeOf, stridesOf, type Shape } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { runKernel } from './elementwise.ts';
import { sumTo } from './reduce.ts';

/** Runs one strided copy x → out over `shape`, coalescing dimensions first. */
function copyInto(op: string, x: Tensor, out: Tensor, shape: Shape, inStrides: number[], inOffset: number, outStrides: number[], outOffset: number): void {
  if (sizeOf(shape) === 0) return;
  const c = coalesce(op, shape, [outStrides, inStrides]);
  x.backend.run('copy', [x.buf(op)], out.buf(op), { shape: c.shape, inStrides: c.strides[1], inOffset, outStrides: c.strides[0], outOffset });
}

export const reshapeDef: PrimitiveDef<OpParams['reshape']> = {
  shape([x], p) {
    if (sizeOf(p.shape) !== sizeOf(x)) throw new ShapeError('reshape', `cannot reshape ${fmt(x)} (${sizeOf(x)} elements) to ${fmt(p.shape)}`);
    return p.shape;
  },
  forward: ([x], shape) => x.shareAs(shape),
  backward: (dy, [x]) => [reshape(dy, x.shape)],
  reference: ([x], p) => nd(p.shape, x.data),
};

export const permuteDef: PrimitiveDef<OpParams['permute']> = {
  shape([x], p) {
    const ok = p.axes.length === x.length && [...p.axes].sort((a, b) => a - b).every((a, i) => a === i);
    if (!ok) throw new ShapeError('permute', `axes ${JSON.stringify(p.axes)} are not a permutation of the ${x.length} axes of ${fmt(x)}`);
    return p.axes.map((a) => x[a]);
  },
  forward([x], shape, p) {
    const out = Tensor.empty(shape, x.backend);
    const xs = stridesOf(x.shape);
    copyInto('permute', x, out, shape, p.axes.map((a) => xs[a]), 0, stridesOf(shape), 0);
    return out;
  },
  backward(dy, _x, _out, p) {
    const inverse = new Array<number>(p.axes.length);
    p.axes.forEach((a, i) => { inverse[a] = i; });
    return [permute(dy, inverse)];
  },
  reference([x], p) {
    const xs = stridesOf(x.shape);
    return ndGather(x, p.axes.map((a) => x.shape[a]), p.axes.map((a) => xs[a]), 0);
  },
};

export const transposeDef: CompositeDef<OpParams['transpose']> = {
  compose([x], p) {
    const axes = [...Array(x.rank).keys()];
    const [i, j] = [normAxis('transpose', p.dim0, x.rank), normAxis('transpose', p.dim1, x.rank)];
    [axes[i], axes[j]] = [axes[j], axes[i]];
    return permute(x, axes);
  },
  reference([x], p) {
    const r = x.shape.length;
    const axes = [...Array(r).keys()];
    const [i, j] = [(p.dim0 + r) % r, (p.dim1 + r) % r];
    [axes[i], axes[j]] = [axes[j], axes[i]];
    return permuteDef.reference([x], { axes });
  },
};

export const broadcastToDef: PrimitiveDef<OpParams['broadcastTo']> = {
  shape([x], p) {
    const b = broadcastShapes('broadcastTo', x, p.shape);
    if (b.length !== p.shape.length || b.some((d, i) => d !== p.shape[i])) {
      throw new ShapeError('broadcastTo', `cannot broadcast ${fmt(x)} to ${fmt(p.shape)}`);
    }
    return p.shape;
  },
  forward([x], shape) {
    const out = Tensor.empty(shape, x.backend);
    copyInto('broadcastTo', x, out, shape, broadcastStrides(x.shape, shape), 0, stridesOf(shape), 0);
    return out;
  },
  backward: (dy, [x]) => [sumTo(dy, x.shape)],
  reference: ([x], p) => ndGather(x, p.shape, broadcastStrides(x.shape, p.shape), 0),
};

const sliceShape = (p: OpParams['slice']): number[] => p.begin.map((b, d) => Math.max(0, Math.ceil((p.end[d] - b) / p.step[d])));

export const sliceDef: PrimitiveDef<OpParams['slice']> = {
  shape([x], p) {
    const bad = p.begin.length !== x.length || p.end.length !== x.length || p.step.length !== x.length ||
      p.begin.some((b, d) => !Number.isInteger(b) || b < 0 || b > x[d] || p.end[d] < b || p.end[d] > x[d] || !(p.step[d] >= 1));
    if (bad) throw new ShapeError('slice', `begin ${fmt(p.begin)}, end ${fmt(p.end)}, step ${fmt(p.step)} do not fit a tensor of shape ${fmt(x)}`);
    return sliceShape(p);
  },
  forward([x], shape, p) {
    const out = Tensor.empty(shape, x.backend);
    const xs = stridesOf(x.shape);
    const offset = p.begin.reduce((s, b, d) => s + b * xs[d], 0);
    copyInto('slice', x, out, shape, xs.map((s, d) => s * p.step[d]), offset, stridesOf(shape), 0);
    return out;
  },
  backward: (dy, [x], _out, p) => [embed(dy, x.shape, p.begin, p.step, 0)],
  reference([x], p) {
    const xs = stridesOf(x.shape);
    return ndGather(x, sliceShape(p), xs.map((s, d) => s * p.step[d]), p.begin.reduce((s, b, d) => s + b * xs[d], 0));
  },
};

export const embedDef: PrimitiveDef<OpParams['embed']> = {
  shape([x], p) {
    const bad = p.shape.length !== x.length || x.some((d, i) => d > 0 && p.begin[i] + (d - 1) * p.step[i] >= p.shape[i]) ||
      p.begin.some((b) => b < 0);
    if (bad) throw new ShapeError('embed', `a tensor of shape ${fmt(x)} does not fit in ${fmt(p.shape)} at ${fmt(p.begin)} step ${fmt(p.step)}`);
    return p.shape;
  },
  forward([x], shape, p) {
    const out = runKernel('fill', [], shape, x.backend, { size: sizeOf(shape), value: p.value });
    const os = stridesOf(shape);
    copyInto('embed', x, out, x.shape, stridesOf(x.shape), 0, os.map((s, d) => s * p.step[d]), p.begin.reduce((s, b, d) => s + b * os[d], 0));
    return out;
  },
  backward: (dy, [x], _out, p) => [slice(dy, p.begin, p.begin.map((b, d) => b + (x.shape[d] - 1) * p.step[d] + 1), p.step)],
  reference([x], p) {
    const out = nd(p.shape);
    out.data.fill(p.value);
    const os = stridesOf(p.shape);
    forEachIndex(x.shape, (i, idx) => {
      out.data[idx.reduce((s, v, d) => s + (p.begin[d] + v * p.step[d]) * os[d], 0)] = x.data[i];
    });
    return out;
  },
};

export const padDef: CompositeDef<OpParams['pad']> = {
  compose([x], p) {
    const w = padWidths(x.shape, p.widths);
    return embed(x, x.shape.map((d, i) => d + w[i][0] + w[i][1]), w.map((v) => v[0]), x.shape.map(() => 1), p.value);
  },
  reference([x], p) {
    const w = padWidths(x.shape, p.widths);
    return embedDef.reference([x], { shape: x.shape.map((d, i) => d + w[i][0] + w[i][1]), begin: w.map((v) => v[0]), step: x.shape.map(() => 1), value: p.value });
  },
};

/** Widths given for the last dimensions (like NumPy when given for all); the rest are unpadded. */
function padWidths(shape: Shape, widths: [number, number][]): [number, number][] {
  if (widths.length > shape.length || widths.some((w) => w.length !== 2 || w.some((v) => !Number.isInteger(v) || v < 0))) {
    throw new ShapeError('pad', `widths ${JSON.stringify(widths)} are invalid for a tensor of shape ${fmt(shape)} (non-negative integer pairs, at most one per dimension)`);
  }
  return shape.map((_, i) => widths[i - (shape.length - widths.length)] ?? [0, 0]);
}

export const concatDef: PrimitiveDef<OpParams['concat']> = {
  shape(shapes, p) {
    if (shapes.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
    const r = shapes[0].length;
    const ok = shapes.every((s) => s.length === r && s.every((d, i) => i === p.axis || d === shapes[0][i]));
    if (!ok || p.axis < 0 || p.axis >= r) throw new ShapeError('concat', `shapes ${shapes.map(fmt).join(', ')} differ outside axis ${p.axis}`);
    return shapes[0].map((d, i) => (i === p.axis ? shapes.reduce((s, x) => s + x[i], 0) : d));
  },
  forward(inputs, shape, p) {
    const out = Tensor.empty(shape, inputs[0].backend);
    const os = stridesOf(shape);
    let at = 0;
    for (const x of inputs) {
      copyInto('concat', x, out, x.shape, stridesOf(x.shape), 0, os, at * os[p.axis]);
      at += x.shape[p.axis];
    }
    return out;
  },
  backward(dy, inputs, _out, p) {
    let at = 0;
    return inputs.map((x) => {
      const begin = x.shape.map((_, i) => (i === p.axis ? at : 0));
      at += x.shape[p.axis];
      return slice(dy, begin, x.shape.map((d, i) => begin[i] + d), x.shape.map(() => 1));
    });
  },
  reference(inputs, p) {
    const shape = concatDef.shape(inputs.map((x) => x.shape), p);
    const out = nd(shape);
    const os = stridesOf(shape);
    let at = 0;
    for (const x of inputs) {
      forEachIndex(x.shape, (i, idx) => {
        out.data[idx.reduce((s, v, d) => s + (d === p.axis ? v + at : v) * os[d], 0)] = x.data[i];
      });
      at += x.shape[p.axis];
    }
    return out;
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
  return apply('reshape', [x], { shape: full });
}
/** Reorders the axes: output axis i is input axis axes[i]. */
export const permute = (x: Tensor, axes: number[]): Tensor => apply('permute', [x], { axes: axes.map((a) => (a < 0 ? a + x.rank : a)) });
/** Swaps two axes (the last two by default). */
export const transpose = (x: Tensor, dim0 = -2, dim1 = -1): Tensor => apply('transpose', [x], { dim0, dim1 });
/** Materialises NumPy broadcasting of x to `shape`. */
export const broadcastTo = (x: Tensor, shape: Shape): Tensor => apply('broadcastTo', [x], { shape: [...shape] });
/**
 * x[begin:end:step] along every dimension. `begin`/`end` may be shorter than the rank (the rest are whole) and
 * negative (counted from the end).
 */
export function slice(x: Tensor, begin: number[], end?: number[], step?: number[]): Tensor {
  const norm = (v: number, d: number): number => Math.min(Math.max(v < 0 ? v + x.shape[d] : v, 0), x.shape[d]);
  const b = x.shape.map((_, d) => norm(begin[d] ?? 0, d));
  const e = x.shape.map((n, d) => norm(end?.[d] ?? n, d));
  return apply('slice', [x], { begin: b, end: e.map((v, d) => Math.max(v, b[d])), step: x.shape.map((_, d) => step?.[d] ?? 1) });
}
/** Places x into a tensor of `shape` filled with `value`, at `begin` with `step` between elements (slice's adjoint). */
export const embed = (x: Tensor, shape: Shape, begin: number[], step: number[], value = 0): Tensor =>
  apply('embed', [x], { shape: [...shape], begin, step, value });
/** Pads with `value`; widths are [before, after] pairs for the last dimensions. */
export const pad = (x: Tensor, widths: [number, number][], value = 0): Tensor => apply('pad', [x], { widths, value });
/** Joins tensors along `axis`. */
export const concat = (xs: Tensor[], axis = 0): Tensor =>
  apply('concat', xs, { axis: xs.length ? normAxis('concat', axis, xs[0].rank) : axis });
