// Glue of the wasm backend's core kernels (fill, strided copy/binary/where, reductions, matmul, softmax, one-hot):
// size checks, the strided block the kernels read (wasm-geometry.ts), and the split of each call between threads.
// The backend in wasm.ts merges this table with wasm-nn.ts's.

import { MAX_RANK, type KernelName, type KernelParams, type KernelTable, type NnKernel } from '../backend.ts';
import { coalesce, sizeOf, stridesOf } from '../shape.ts';
import type { FunctionName } from './wasm-exports.ts';
import { STRIDED_META } from './wasm-geometry.ts';
import { checkSpan, type WasmBuf } from './wasm-memory.ts';
import { checkSize, range, splitFlat, type KernelHost } from './wasm-split.ts';

/** The export of each reduction. */
const REDUCE_EXPORT = { sum: 'reduceSum', max: 'reduceMax', min: 'reduceMin' } as const satisfies {
  [P in KernelParams['reduce']['op']]: FunctionName;
};

/** One operand of a strided launch: its buffer, strides over the launch shape, and element offset. */
interface Operand {
  buf: WasmBuf;
  strides: readonly number[];
  offset: number;
}

/** The core part of the wasm backend's kernel table. */
export function coreKernels(host: KernelHost): Omit<KernelTable<WasmBuf>, NnKernel> {
  const ex = host.ex;

  /**
   * Coalesces a strided launch and bounds-checks each operand. Returns null when there is nothing to do, else the
   * coalesced layout and a writer that puts dims [lo, hi) of its outermost dim into thread t's strided block.
   */
  const layout = (shape: readonly number[], ops: readonly Operand[]) => {
    if (shape.includes(0)) return null;
    // Throws, naming the shape, when the coalesced rank still exceeds MAX_RANK.
    const c = coalesce(
      'wasm backend',
      shape,
      ops.map((o) => o.strides),
    );
    ops.forEach((o, t) => checkSpan(o.buf, o.offset, c.shape, c.strides[t], `operand ${t}`));
    const meta = ex.stridedMeta();
    // Operand k's strides start at word MAX_RANK·k of the strides field (unused entries 0).
    const strides = new Array<number>(3 * MAX_RANK).fill(0);
    c.strides.forEach((s, k) =>
      s.forEach((v, d) => {
        strides[MAX_RANK * k + d] = v;
      }),
    );
    const write = (t: number, lo: number, hi: number): void => {
      const { i32, f32 } = host.views();
      STRIDED_META.write({ shape: [hi - lo, ...c.shape.slice(1)], strides }, i32, f32, host.threadAddr(t, meta) / 4);
    };
    return { rank: c.shape.length, shape: c.shape, strides: c.strides, write };
  };

  /**
   * A strided kernel split over the outermost coalesced dim: `ptrs` are the operands' base byte addresses (in the
   * kernel's argument order), `tail` the arguments after them.
   */
  const strided = (
    fn: FunctionName,
    shape: readonly number[],
    ops: readonly Operand[],
    ptrs: readonly number[],
    tail: (rank: number) => number[],
  ): void => {
    const l = layout(shape, ops);
    if (!l) return;
    const parts = host.parts(sizeOf(l.shape), 'memory', l.shape[0]);
    host.split(fn, parts, (p) => {
      const [lo, hi] = range(l.shape[0], parts, p);
      l.write(p, lo, hi);
      return [...ptrs.map((q, k) => q + 4 * lo * l.strides[k][0]), ...tail(l.rank)];
    });
  };

  /** A flat kernel over n floats split into 16-float-aligned ranges: args(lo, count) for each part. */
  const flat = (fn: FunctionName, n: number, args: (lo: number, count: number) => number[]): void =>
    splitFlat(host, fn, n, args);

  /** A kernel over [outer, r, inner] split over outer (rows are independent). */
  const rows = (fn: FunctionName, x: WasmBuf, out: WasmBuf, outer: number, r: number, inner: number, outR: number) => {
    const parts = host.parts(outer * r * inner, 'memory', outer);
    host.split(fn, parts, (p) => {
      const [lo, hi] = range(outer, parts, p);
      return [x.ptr + 4 * lo * r * inner, out.ptr + 4 * lo * outR * inner, hi - lo, r, inner];
    });
  };

  const table: { [K in Exclude<KernelName, NnKernel>]: KernelTable<WasmBuf>[K] } = {
    fill: (_, out, p) => {
      checkSize(out, p.size, 'fill');
      flat('fill', p.size, (lo, n) => [out.ptr + 4 * lo, n, p.value]);
    },
    copy: ([x], out, p) => {
      strided(
        'copy',
        p.shape,
        [
          { buf: x, strides: p.inStrides, offset: p.inOffset },
          { buf: out, strides: p.outStrides, offset: p.outOffset },
        ],
        [x.ptr + 4 * p.inOffset, out.ptr + 4 * p.outOffset],
        (rank) => [rank],
      );
    },
    unary: ([x], out, p) => {
      checkSize(x, p.size, 'unary input');
      checkSize(out, p.size, 'unary output');
      flat(p.op, p.size, (lo, n) => [x.ptr + 4 * lo, out.ptr + 4 * lo, n, p.alpha]);
    },
    binary: ([a, b], out, p) => {
      checkSize(out, sizeOf(p.shape), 'binary output');
      strided(
        p.op,
        p.shape,
        [
          { buf: a, strides: p.aStrides, offset: 0 },
          { buf: b, strides: p.bStrides, offset: 0 },
          { buf: out, strides: stridesOf(p.shape), offset: 0 },
        ],
        [a.ptr, b.ptr, out.ptr],
        (rank) => [rank],
      );
    },
    where: ([cond, a, b], out, p) => {
      checkSize(out, sizeOf(p.shape), 'where output');
      // The output is dense: operand 3 of the kernel, not in the strided block (its offset follows the first dim).
      const l = layout(p.shape, [
        { buf: cond, strides: p.cStrides, offset: 0 },
        { buf: a, strides: p.aStrides, offset: 0 },
        { buf: b, strides: p.bStrides, offset: 0 },
      ]);
      if (!l) return;
      const inner = sizeOf(l.shape.slice(1));
      const parts = host.parts(sizeOf(l.shape), 'memory', l.shape[0]);
      host.split('where', parts, (q) => {
        const [lo, hi] = range(l.shape[0], parts, q);
        l.write(q, lo, hi);
        const at = (k: number): number => 4 * lo * l.strides[k][0];
        return [cond.ptr + at(0), a.ptr + at(1), b.ptr + at(2), out.ptr + 4 * lo * inner, l.rank];
      });
    },
    reduce: ([x], out, p) => {
      checkSize(x, p.outer * p.r * p.inner, 'reduce input');
      checkSize(out, p.outer * p.inner, 'reduce output');
      rows(REDUCE_EXPORT[p.op], x, out, p.outer, p.r, p.inner, 1);
    },
    matmul: ([a, b], out, p) => {
      if (p.batch * p.m * p.n === 0) return;
      checkSize(a, (p.batch - 1) * p.aBatchStride + p.m * p.k, 'matmul a');
      checkSize(b, (p.batch - 1) * p.bBatchStride + p.k * p.n, 'matmul b');
      checkSize(out, p.batch * p.m * p.n, 'matmul output');
      const tA = p.transA ? 1 : 0,
        tB = p.transB ? 1 : 0;
      const work = p.batch * p.m * p.n * Math.max(1, p.k);
      if (p.batch > 1) {
        const parts = host.parts(work, 'compute', p.batch);
        host.split('matmul', parts, (q) => {
          const [lo, hi] = range(p.batch, parts, q);
          return [
            a.ptr + 4 * lo * p.aBatchStride,
            b.ptr + 4 * lo * p.bBatchStride,
            out.ptr + 4 * lo * p.m * p.n,
            hi - lo,
            p.m,
            p.n,
            p.k,
            tA,
            tB,
            p.aBatchStride,
            p.bBatchStride,
          ];
        });
        return;
      }
      // One product: rows of the output in blocks of whole micro-tiles (2 rows).
      const parts = host.parts(work, 'compute', Math.ceil(p.m / 2));
      host.split('matmulRows', parts, (q) => {
        const [lo, hi] = range(p.m, parts, q, 2);
        return [a.ptr, b.ptr, out.ptr, p.m, p.n, p.k, tA, tB, lo, hi - lo];
      });
    },
    softmax: ([x], out, p) => {
      const size = p.outer * p.r * p.inner;
      checkSize(x, size, 'softmax input');
      checkSize(out, size, 'softmax output');
      rows(p.log ? 'logSoftmax' : 'softmax', x, out, p.outer, p.r, p.inner, p.r);
    },
    oneHot: ([labels], out, p) => {
      checkSize(labels, p.rows, 'oneHot labels');
      checkSize(out, p.rows * p.classes, 'oneHot output');
      ex.oneHot(labels.ptr, out.ptr, p.rows, p.classes);
    },
  };
  return table;
}
