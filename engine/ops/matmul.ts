// Matrix product, 2-D and batched (NumPy batch broadcasting), with transposed operands handled inside the kernel.

import { nd } from '../nd.ts';
import { runOp, type OpParams, type PrimitiveDef } from '../op.ts';
import { broadcastShapes, broadcastStrides, fmt, ShapeError, sizeOf, type Shape } from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';
import { broadcastTo, sumTo } from './broadcast.ts';
import { runKernel } from './kernel.ts';

type P = OpParams['matmul'];

/** The [rows, cols] of op(x) and the batch dimensions. */
function dims(x: Shape, trans: boolean): { batch: number[]; rows: number; cols: number } {
  const r = x[x.length - 2];
  const c = x[x.length - 1];
  return { batch: x.slice(0, -2), rows: trans ? c : r, cols: trans ? r : c };
}

function matmulShape([a, b]: Shape[], p: P): number[] {
  if (a.length < 2 || b.length < 2)
    throw new ShapeError('matmul', `needs tensors of rank ≥ 2, got ${fmt(a)} and ${fmt(b)}`);
  const da = dims(a, p.transA);
  const db = dims(b, p.transB);
  if (da.cols !== db.rows) {
    throw new ShapeError(
      'matmul',
      `inner dimensions differ: ${fmt(a)}${p.transA ? 'ᵀ' : ''} · ${fmt(b)}${p.transB ? 'ᵀ' : ''} (${da.cols} ` +
        `vs ${db.rows})`,
    );
  }
  return [...broadcastShapes('matmul', da.batch, db.batch), da.rows, db.cols];
}

export const matmulDef: PrimitiveDef<'matmul'> = {
  name: 'matmul',
  shape: matmulShape,
  forward([a, b], shape, p) {
    const batch = shape.slice(0, -2);
    const nb = sizeOf(batch);
    // A whole operand is either repeated for every batch (stride 0) or has the full batch; else materialise.
    const fit = (x: Tensor): Tensor =>
      sizeOf(x.shape.slice(0, -2)) === 1 || sizeOf(x.shape.slice(0, -2)) === nb
        ? x
        : broadcastTo(x, [...batch, ...x.shape.slice(-2)]);
    const [fa, fb] = [fit(a), fit(b)];
    const m = shape[shape.length - 2];
    const n = shape[shape.length - 1];
    const k = dims(a.shape, p.transA).cols;
    const out = runKernel('matmul', [fa, fb], shape, a, {
      batch: nb,
      m,
      n,
      k,
      transA: p.transA,
      transB: p.transB,
      aBatchStride: fa.size === m * k ? 0 : m * k,
      bBatchStride: fb.size === k * n ? 0 : k * n,
    });
    if (k === 0 && out.size > 0) out.backend.run('fill', [], out.buf('matmul'), { size: out.size, value: 0 });
    if (fa !== a) fa.dispose();
    if (fb !== b) fb.dispose();
    return out;
  },
  // C = op(A)·op(B): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, with the transposes folded into the kernel flags.
  backward(dy, [a, b], _out, p) {
    const da = p.transA ? matmulT(b, dy, p.transB, true) : matmulT(dy, b, false, !p.transB);
    const db = p.transB ? matmulT(dy, a, true, p.transA) : matmulT(a, dy, !p.transA, false);
    return [sumTo(da, a.shape), sumTo(db, b.shape)];
  },
  reference([a, b], p) {
    const shape = matmulShape([a.shape, b.shape], p);
    const out = nd(shape);
    const [m, n] = shape.slice(-2);
    const k = dims(a.shape, p.transA).cols;
    const nb = sizeOf(shape.slice(0, -2));
    const batch = shape.slice(0, -2);
    const bs = [a, b].map((x) => broadcastStrides(x.shape.slice(0, -2), batch));
    const batchIndex = (which: number, bi: number): number => {
      let off = 0;
      for (let d = batch.length - 1, rest = bi; d >= 0; d--) {
        off += (rest % batch[d]) * bs[which][d];
        rest = Math.floor(rest / batch[d]);
      }
      return off;
    };
    for (let bi = 0; bi < nb; bi++) {
      const ao = batchIndex(0, bi) * m * k;
      const bo = batchIndex(1, bi) * k * n;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let l = 0; l < k; l++) {
            s += a.data[ao + (p.transA ? l * m + i : i * k + l)] * b.data[bo + (p.transB ? j * k + l : l * n + j)];
          }
          out.data[(bi * m + i) * n + j] = s;
        }
      }
    }
    return out;
  },
};

const matmulT = (a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor =>
  runOp(matmulDef, [a, b], { transA, transB });

/** Matrix product over the last two dimensions, broadcasting the batch dimensions. */
export const matmul = (a: Tensor, b: Tensor): Tensor => matmulT(a, b, false, false);
export { matmulT };
