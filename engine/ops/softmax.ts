// Softmax and log-softmax over one axis, one-hot encoding, and cross-entropy with integer labels.

import { nd } from '../nd.ts';
import { runOp, type OpParams, type PrimitiveDef } from '../op.ts';
import { fmt, normAxis, ShapeError, sizeOf, type Shape } from '../shape.ts';
import { isTensor, type Tensor } from '../tensor-type.ts';
import { sum } from './broadcast.ts';
import { exp, mul, sub } from './elementwise.ts';
import { runKernel } from './kernel.ts';

/** The [outer, r, inner] view of `shape` around `axis`. */
const around = (shape: Shape, axis: number): { outer: number; r: number; inner: number } => ({
  outer: sizeOf(shape.slice(0, axis)),
  r: shape[axis],
  inner: sizeOf(shape.slice(axis + 1)),
});

function softmaxRef(x: { shape: number[]; data: Float64Array }, axis: number, log: boolean) {
  const { outer, r, inner } = around(x.shape, axis);
  const out = nd(x.shape);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number): number => (o * r + j) * inner + i;
      let m = -Infinity;
      for (let j = 0; j < r; j++) m = Math.max(m, x.data[at(j)]);
      let s = 0;
      for (let j = 0; j < r; j++) s += Math.exp(x.data[at(j)] - m);
      for (let j = 0; j < r; j++)
        out.data[at(j)] = log ? x.data[at(j)] - m - Math.log(s) : Math.exp(x.data[at(j)] - m) / s;
    }
  }
  return out;
}

function softmaxDef<N extends 'softmax' | 'logSoftmax'>(name: N): PrimitiveDef<N> {
  const log = name === 'logSoftmax';
  return {
    name,
    shape([x], p) {
      if (p.axis < 0 || p.axis >= x.length)
        throw new ShapeError(name, `axis ${p.axis} is out of range for shape ${fmt(x)}`);
      return x;
    },
    forward: ([x], shape, p) => runKernel('softmax', [x], shape, x, { ...around(x.shape, p.axis), log }),
    backward(dy, _x, out, p) {
      if (log) return [sub(dy, mul(exp(out), sum(dy, p.axis, true)))];
      return [mul(out, sub(dy, sum(mul(dy, out), p.axis, true)))];
    },
    reference: ([x], p) => softmaxRef(x, p.axis, log),
  };
}

export const softmaxDefs = { softmax: softmaxDef('softmax'), logSoftmax: softmaxDef('logSoftmax') };

export const oneHotDef: PrimitiveDef<'oneHot'> = {
  name: 'oneHot',
  shape([labels], p) {
    if (!Number.isInteger(p.classes) || p.classes < 1)
      throw new ShapeError('oneHot', `classes must be a positive integer, got ${p.classes}`);
    return [...labels, p.classes];
  },
  forward: ([labels], shape, p) =>
    runKernel('oneHot', [labels], shape, labels, { rows: labels.size, classes: p.classes }),
  reference([labels], p) {
    const out = nd([...labels.shape, p.classes]);
    labels.data.forEach((c, r) => {
      if (Number.isInteger(c) && c >= 0 && c < p.classes) out.data[r * p.classes + c] = 1;
    });
    return out;
  },
};

/** Fused softmax–cross-entropy: one kernel for the per-row losses, one for the whole backward. */
export const crossEntropyDef: PrimitiveDef<'crossEntropy'> = {
  name: 'crossEntropy',
  shape([logits, labels], p) {
    checkCrossEntropy(logits, labels);
    return p.reduction === 'none' ? [logits[0]] : [];
  },
  forward([logits, labels], shape, p) {
    const [rows, classes] = logits.shape;
    const perRow = runKernel('softmaxCrossEntropy', [logits, labels], [rows], logits, { rows, classes });
    if (p.reduction === 'none') return perRow;
    const total = runKernel('reduce', [perRow], shape, logits, { op: 'sum', outer: 1, r: rows, inner: 1 });
    perRow.dispose();
    if (p.reduction === 'sum' || rows === 0) return total;
    const avg = runKernel('unary', [total], shape, logits, { op: 'scale', size: 1, alpha: 1 / rows });
    total.dispose();
    return avg;
  },
  backward(dy, [logits, labels], _out, p) {
    const [rows, classes] = logits.shape;
    const scale = p.reduction === 'mean' ? 1 / rows : 1;
    return [
      runKernel('softmaxCrossEntropyBackward', [logits, labels, dy], logits.shape, logits, {
        rows,
        classes,
        dyScalar: p.reduction !== 'none',
        scale,
      }),
      null,
    ];
  },
  reference([logits, labels], p) {
    const [n, c] = logits.shape;
    const ls = softmaxRef(logits, 1, true);
    const rows = nd([n]);
    for (let i = 0; i < n; i++) rows.data[i] = -ls.data[i * c + labels.data[i]];
    if (p.reduction === 'none') return rows;
    const total = rows.data.reduce((a, v) => a + v, 0);
    return nd([], [p.reduction === 'sum' ? total : total / n]);
  },
};

function checkCrossEntropy(logits: Shape, labels: Shape): void {
  if (logits.length !== 2 || labels.length !== 1 || labels[0] !== logits[0]) {
    throw new ShapeError('crossEntropy', `expects logits [N, C] and labels [N], got ${fmt(logits)} and ${fmt(labels)}`);
  }
}

/** Softmax along `axis` (last by default); a slice holding NaN or +inf is NaN throughout, as in PyTorch. */
export const softmax = (x: Tensor, axis = -1): Tensor =>
  runOp(softmaxDefs.softmax, [x], { axis: normAxis('softmax', axis, x.rank) });
/** log(softmax(x)) along `axis`, computed stably (NaN and +inf as softmax; −inf entries give −inf). */
export const logSoftmax = (x: Tensor, axis = -1): Tensor =>
  runOp(softmaxDefs.logSoftmax, [x], { axis: normAxis('logSoftmax', axis, x.rank) });
/** One-hot rows for integer labels (out-of-range labels give a zero row). */
export const oneHot = (labels: Tensor, classes: number): Tensor => runOp(oneHotDef, [labels], { classes });

/**
 * Cross-entropy of logits [N, C] against integer labels [N]: −log softmax(logits)[i, label_i], averaged over the
 * batch (or summed, or per row). Labels given as an array are range-checked here. A row holding NaN or +inf has a
 * NaN loss and gradient, and a label on −inf an infinite loss, as torch.nn.functional.cross_entropy.
 */
export function crossEntropy(
  logits: Tensor,
  labels: Tensor | ArrayLike<number>,
  reduction: OpParams['crossEntropy']['reduction'] = 'mean',
): Tensor {
  let lab: Tensor;
  if (isTensor(labels)) {
    lab = labels;
  } else {
    const c = logits.shape[1];
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i];
      if (!Number.isInteger(v) || v < 0 || v >= c)
        throw new ShapeError('crossEntropy', `label ${v} at index ${i} is not an integer in [0, ${c})`);
    }
    lab = logits.newEmpty([labels.length]);
    if (labels.length) logits.backend.write(lab.buf('crossEntropy'), Float32Array.from(labels));
  }
  return runOp(crossEntropyDef, [logits, lab], { reduction });
}
