// Movement ops: permute/transpose, slice, embed/pad and concat (reshape and broadcastTo are in broadcast.ts).
// Each is one strided copy kernel; each one's backward is another movement op.

import { forEachIndex } from '../kernel-reference.ts';
import { nd, ndGather } from '../nd.ts';
import { runOp, type CompositeDef, type OpParams, type PrimitiveDef } from '../op.ts';
import { fmt, normAxis, ShapeError, stridesOf, type Shape } from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';
import { copyInto, fillLike } from './kernel.ts';

export const permuteDef: PrimitiveDef<'permute'> = {
  name: 'permute',
  shape([x], p) {
    const ok = p.axes.length === x.length && [...p.axes].sort((a, b) => a - b).every((a, i) => a === i);
    if (!ok)
      throw new ShapeError(
        'permute',
        `axes ${JSON.stringify(p.axes)} are not a permutation of the ${x.length} axes of ${fmt(x)}`,
      );
    return p.axes.map((a) => x[a]);
  },
  forward([x], shape, p) {
    const out = x.newEmpty(shape);
    const xs = stridesOf(x.shape);
    copyInto(
      'permute',
      x,
      out,
      shape,
      p.axes.map((a) => xs[a]),
      0,
      stridesOf(shape),
      0,
    );
    return out;
  },
  backward(dy, _x, _out, p) {
    const inverse = new Array<number>(p.axes.length);
    p.axes.forEach((a, i) => {
      inverse[a] = i;
    });
    return [permute(dy, inverse)];
  },
  reference([x], p) {
    const xs = stridesOf(x.shape);
    return ndGather(
      x,
      p.axes.map((a) => x.shape[a]),
      p.axes.map((a) => xs[a]),
      0,
    );
  },
};

export const transposeDef: CompositeDef<'transpose'> = {
  name: 'transpose',
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

const sliceShape = (p: OpParams['slice']): number[] =>
  p.begin.map((b, d) => Math.max(0, Math.ceil((p.end[d] - b) / p.step[d])));

export const sliceDef: PrimitiveDef<'slice'> = {
  name: 'slice',
  shape([x], p) {
    const bad =
      p.begin.length !== x.length ||
      p.end.length !== x.length ||
      p.step.length !== x.length ||
      p.begin.some(
        (b, d) => !Number.isInteger(b) || b < 0 || b > x[d] || p.end[d] < b || p.end[d] > x[d] || !(p.step[d] >= 1),
      );
    if (bad)
      throw new ShapeError(
        'slice',
        `begin ${fmt(p.begin)}, end ${fmt(p.end)}, step ${fmt(p.step)} do not fit a tensor of shape ${fmt(x)}`,
      );
    return sliceShape(p);
  },
  forward([x], shape, p) {
    const out = x.newEmpty(shape);
    const xs = stridesOf(x.shape);
    const offset = p.begin.reduce((s, b, d) => s + b * xs[d], 0);
    copyInto(
      'slice',
      x,
      out,
      shape,
      xs.map((s, d) => s * p.step[d]),
      offset,
      stridesOf(shape),
      0,
    );
    return out;
  },
  backward: (dy, [x], _out, p) => [embed(dy, x.shape, p.begin, p.step, 0)],
  reference([x], p) {
    const xs = stridesOf(x.shape);
    return ndGather(
      x,
      sliceShape(p),
      xs.map((s, d) => s * p.step[d]),
      p.begin.reduce((s, b, d) => s + b * xs[d], 0),
    );
  },
};

export const embedDef: PrimitiveDef<'embed'> = {
  name: 'embed',
  shape([x], p) {
    const bad =
      p.shape.length !== x.length ||
      x.some((d, i) => d > 0 && p.begin[i] + (d - 1) * p.step[i] >= p.shape[i]) ||
      p.begin.some((b) => b < 0);
    if (bad)
      throw new ShapeError(
        'embed',
        `a tensor of shape ${fmt(x)} does not fit in ${fmt(p.shape)} at ${fmt(p.begin)} step ${fmt(p.step)}`,
      );
    return p.shape;
  },
  forward([x], shape, p) {
    const out = fillLike(x, shape, p.value);
    const os = stridesOf(shape);
    copyInto(
      'embed',
      x,
      out,
      x.shape,
      stridesOf(x.shape),
      0,
      os.map((s, d) => s * p.step[d]),
      p.begin.reduce((s, b, d) => s + b * os[d], 0),
    );
    return out;
  },
  backward: (dy, [x], _out, p) => [
    slice(
      dy,
      p.begin,
      p.begin.map((b, d) => b + (x.shape[d] - 1) * p.step[d] + 1),
      p.step,
    ),
  ],
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

export const padDef: CompositeDef<'pad'> = {
  name: 'pad',
  compose([x], p) {
    const w = padWidths(x.shape, p.widths);
    return embed(
      x,
      x.shape.map((d, i) => d + w[i][0] + w[i][1]),
      w.map((v) => v[0]),
      x.shape.map(() => 1),
      p.value,
    );
  },
  reference([x], p) {
    const w = padWidths(x.shape, p.widths);
    return embedDef.reference([x], {
      shape: x.shape.map((d, i) => d + w[i][0] + w[i][1]),
      begin: w.map((v) => v[0]),
      step: x.shape.map(() => 1),
      value: p.value,
    });
  },
};

/** Widths given for the last dimensions (like NumPy when given for all); the rest are unpadded. */
function padWidths(shape: Shape, widths: [number, number][]): [number, number][] {
  if (
    widths.length > shape.length ||
    widths.some((w) => w.length !== 2 || w.some((v) => !Number.isInteger(v) || v < 0))
  ) {
    throw new ShapeError(
      'pad',
      `widths ${JSON.stringify(widths)} are invalid for a tensor of shape ${fmt(shape)} (non-negative integer ` +
        `pairs, at most one per dimension)`,
    );
  }
  return shape.map((_, i) => widths[i - (shape.length - widths.length)] ?? [0, 0]);
}

export const concatDef: PrimitiveDef<'concat'> = {
  name: 'concat',
  shape(shapes, p) {
    if (shapes.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
    const r = shapes[0].length;
    const ok = shapes.every((s) => s.length === r && s.every((d, i) => i === p.axis || d === shapes[0][i]));
    if (!ok || p.axis < 0 || p.axis >= r)
      throw new ShapeError('concat', `shapes ${shapes.map(fmt).join(', ')} differ outside axis ${p.axis}`);
    return shapes[0].map((d, i) => (i === p.axis ? shapes.reduce((s, x) => s + x[i], 0) : d));
  },
  forward(inputs, shape, p) {
    const out = inputs[0].newEmpty(shape);
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
      return slice(
        dy,
        begin,
        x.shape.map((d, i) => begin[i] + d),
        x.shape.map(() => 1),
      );
    });
  },
  reference(inputs, p) {
    const shape = concatDef.shape(
      inputs.map((x) => x.shape),
      p,
    );
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

/** Reorders the axes: output axis i is input axis axes[i]. */
export const permute = (x: Tensor, axes: number[]): Tensor =>
  runOp(permuteDef, [x], { axes: axes.map((a) => (a < 0 ? a + x.rank : a)) });
/** Swaps two axes (the last two by default). */
export const transpose = (x: Tensor, dim0 = -2, dim1 = -1): Tensor => runOp(transposeDef, [x], { dim0, dim1 });
/**
 * x[begin:end:step] along every dimension. `begin`/`end` may be shorter than the rank (the rest are whole) and
 * negative (counted from the end).
 */
export function slice(x: Tensor, begin: number[], end?: number[], step?: number[]): Tensor {
  const norm = (v: number, d: number): number => Math.min(Math.max(v < 0 ? v + x.shape[d] : v, 0), x.shape[d]);
  const b = x.shape.map((_, d) => norm(begin[d] ?? 0, d));
  const e = x.shape.map((n, d) => norm(end?.[d] ?? n, d));
  return runOp(sliceDef, [x], {
    begin: b,
    end: e.map((v, d) => Math.max(v, b[d])),
    step: x.shape.map((_, d) => step?.[d] ?? 1),
  });
}
/** Places x into a tensor of `shape` filled with `value`, at `begin` with `step` between elements (slice's adjoint). */
export const embed = (x: Tensor, shape: Shape, begin: number[], step: number[], value = 0): Tensor =>
  runOp(embedDef, [x], { shape: [...shape], begin, step, value });
/** Pads with `value`; widths are [before, after] pairs for the last dimensions. */
export const pad = (x: Tensor, widths: [number, number][], value = 0): Tensor => runOp(padDef, [x], { widths, value });
/** Joins tensors along `axis`. */
export const concat = (xs: Tensor[], axis = 0): Tensor =>
  runOp(concatDef, xs, { axis: xs.length ? normAxis('concat', axis, xs[0].rank) : axis });
