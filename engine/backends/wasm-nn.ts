// Glue of the wasm backend's neural-network kernels (convolution, pooling, batch norm, dropout, fused
// cross-entropy, in-place updates): size and geometry checks, the geometry blocks the kernels read, and the conv
// scratch. The generic backend in wasm.ts merges this table into its own.

import type { Buf, Conv2dParams, KernelTable, Pool2dParams } from '../backend.ts';

/** Kernels this file supplies. */
export type NnKernel =
  | 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight' | 'pool2d' | 'pool2dBackward'
  | 'channelSum' | 'channelVar' | 'channelDot' | 'bnApply' | 'bnBackwardInput' | 'dropout'
  | 'softmaxCrossEntropy' | 'softmaxCrossEntropyBackward' | 'axpby' | 'sgdMomentum' | 'sgdApply' | 'swaAverage';

type P = number;
/** The nn exports of kernels.wasm: pointers are byte offsets, booleans 0 or 1 (see wasm/index.ts). */
export interface NnExports {
  convMeta(): P;
  /** Scratch bytes the next conv call needs for the geometry at convMeta() (kind 0 forward, 1 input, 2 weight). */
  conv2dScratch(kind: number): number;
  conv2d(x: P, w: P, bias: P, out: P, scratch: P): void;
  conv2dBackwardInput(dy: P, w: P, dx: P, scratch: P): void;
  conv2dBackwardWeight(x: P, dy: P, dw: P, scratch: P): void;
  poolMeta(): P;
  pool2d(x: P, out: P): void;
  pool2dBackward(x: P, dy: P, dx: P): void;
  // The batch-norm kernels work on channels [c0, c1) of [n, c, s].
  channelSum(x: P, out: P, n: number, c: number, s: number, scale: number, c0: number, c1: number): void;
  channelVar(x: P, mean: P, out: P, n: number, c: number, s: number, scale: number, c0: number, c1: number): void;
  channelDot(a: P, b: P, mean: P, out: P, n: number, c: number, s: number, scale: number, c0: number, c1: number): void;
  bnApply(x: P, mean: P, variance: P, gamma: P, beta: P, out: P, n: number, c: number, s: number, eps: number,
    c0: number, c1: number): void;
  bnBackwardInput(dy: P, x: P, mean: P, variance: P, gamma: P, sumDy: P, sumDyXmu: P, out: P,
    n: number, c: number, s: number, eps: number, training: number, c0: number, c1: number): void;
  dropout(x: P, out: P, n: number, p: number, seed: number, scale: number): void;
  softmaxCrossEntropy(logits: P, labels: P, out: P, rows: number, classes: number): void;
  softmaxCrossEntropyBackward(logits: P, labels: P, dy: P, out: P, rows: number, classes: number,
    dyScalar: number, scale: number): void;
  axpby(x: P, out: P, n: number, alpha: number, beta: number): void;
  swaAverage(x: P, out: P, size: number, n: number): void;
  sgdMomentum(grad: P, w: P, v: P, n: number, momentum: number, dampening: number, weightDecay: number, first: number): void;
  sgdApply(grad: P, v: P, w: P, n: number, lr: number, momentum: number, weightDecay: number, nesterov: number): void;
}

export const NN_FUNCTIONS: readonly (keyof NnExports)[] = [
  'convMeta', 'conv2dScratch', 'conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight', 'poolMeta', 'pool2d',
  'pool2dBackward', 'channelSum', 'channelVar', 'channelDot', 'bnApply', 'bnBackwardInput', 'dropout',
  'softmaxCrossEntropy', 'softmaxCrossEntropyBackward', 'axpby', 'sgdMomentum', 'sgdApply', 'swaAverage',
];

/** Inputs per kernel: a count, or [fewest, most] (conv2d takes a bias only when hasBias). */
export type Arity = number | readonly [number, number];

export const NN_ARITY: { [K in NnKernel]: Arity } = {
  conv2d: [2, 3], conv2dBackwardInput: 2, conv2dBackwardWeight: 2, pool2d: 1, pool2dBackward: 2,
  channelSum: 1, channelVar: 2, channelDot: 3, bnApply: 5, bnBackwardInput: 7, dropout: 1,
  softmaxCrossEntropy: 2, softmaxCrossEntropyBackward: 3, axpby: 1, sgdMomentum: 2, sgdApply: 2, swaAverage: 1,
};

/** A buffer of the wasm backend: `ptr` is its byte offset in linear memory. */
export interface PtrBuf extends Buf {
  readonly ptr: number;
}

/** How the backend splits a kernel between threads (one part per thread, part 0 on the calling thread). */
export interface Splitter {
  /** Parts to split `work` (multiply-adds, or elements for memory-bound kernels) into; 1 below a grain or on 1 thread. */
  parts(work: number, kind: 'compute' | 'memory', most?: number): number;
  /** Calls export `fn` once per part with `args(p)`; returns when every part is done. */
  split(fn: keyof NnExports | string, parts: number, args: (p: number) => number[]): void;
  /** Where thread t keeps what the calling thread keeps at `addr` (geometry blocks are per thread). */
  threadAddr(t: number, addr: number): number;
}

/** What the nn glue needs from the backend that owns the module. */
export interface NnHost extends Splitter {
  readonly ex: NnExports;
  /** An Int32Array over linear memory, current after any growth. */
  i32(): Int32Array;
  /** The address of thread t's scratch block of at least `bytes`, reused by later calls (contents not kept). */
  scratch(bytes: number, t?: number): number;
}

/** Part p of `parts` of [0, total): contiguous ranges, the first ones one larger; bounds rounded to `align`. */
export function range(total: number, parts: number, p: number, align = 1): [number, number] {
  const units = Math.ceil(total / align);
  const cut = (q: number): number => Math.min(total, align * (q * Math.floor(units / parts) + Math.min(q, units % parts)));
  return [cut(p), cut(p + 1)];
}

/** Throws unless `buf` holds at least `size` elements. */
export function checkSize(buf: Buf, size: number, what: string): void {
  if (size > buf.size) throw new RangeError(`wasm backend: ${what} needs ${size} elements, buffer has ${buf.size}`);
}

const outLen = (size: number, k: number, stride: number, pad: number, dil: number): number =>
  Math.floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1;

/**
 * Throws unless the geometry is one the kernels can run without reading outside their buffers: integer fields in
 * i32 range, groups dividing both channel counts, and oh/ow exactly as the stride and padding give them.
 */
function checkConv(p: Conv2dParams): void {
  const ints = [p.n, p.cin, p.h, p.w, p.cout, p.kh, p.kw, p.oh, p.ow, p.strideH, p.strideW, p.padH, p.padW,
    p.dilationH, p.dilationW, p.groups];
  const ok = ints.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 31)
    && p.groups >= 1 && p.cin % p.groups === 0 && p.cout % p.groups === 0
    && Math.min(p.kh, p.kw, p.strideH, p.strideW, p.dilationH, p.dilationW, p.oh, p.ow) >= 1
    && p.oh === outLen(p.h, p.kh, p.strideH, p.padH, p.dilationH) && p.ow === outLen(p.w, p.kw, p.strideW, p.padW, p.dilationW);
  if (!ok) throw new RangeError(`wasm backend: inconsistent conv2d geometry ${JSON.stringify(p)}`);
}

function checkPool(p: Pool2dParams): void {
  const ints = [p.nc, p.h, p.w, p.kh, p.kw, p.oh, p.ow, p.strideH, p.strideW, p.padH, p.padW];
  const ok = ints.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 31)
    && Math.min(p.kh, p.kw, p.strideH, p.strideW, p.oh, p.ow) >= 1 && 2 * p.padH <= p.kh && 2 * p.padW <= p.kw
    && p.oh === outLen(p.h, p.kh, p.strideH, p.padH, 1) && p.ow === outLen(p.w, p.kw, p.strideW, p.padW, 1);
  if (!ok) throw new RangeError(`wasm backend: inconsistent pool2d geometry ${JSON.stringify(p)}`);
}

/** An elementwise kernel over n floats split into 16-float-aligned ranges: `args(lo, count)` gives each part's call. */
export function splitFlat(s: Splitter, fn: string, n: number, args: (lo: number, count: number) => number[]): void {
  const parts = s.parts(n, 'memory');
  s.split(fn, parts, (t) => {
    const [lo, hi] = range(n, parts, t, 16);
    return args(lo, hi - lo);
  });
}

/** The nn part of the wasm backend's kernel table. */
export function nnKernels<B extends PtrBuf>(host: NnHost): Pick<KernelTable<B>, NnKernel> {
  const ex = host.ex;
  const b = (v: boolean): number => (v ? 1 : 0);
  const sizes = (p: Conv2dParams) => ({
    x: p.n * p.cin * p.h * p.w, w: p.cout * (p.cin / p.groups) * p.kh * p.kw, y: p.n * p.cout * p.oh * p.ow,
  });
  const convFields = (p: Conv2dParams, n: number): number[] => [n, p.cin, p.h, p.w, p.cout, p.kh, p.kw, p.oh, p.ow,
    p.strideH, p.strideW, p.padH, p.padW, p.dilationH, p.dilationW, p.groups, b(p.hasBias)];
  /**
   * Splits a convolution over images: writes each part's geometry (its image count) into its thread's block and
   * returns the parts, each thread's scratch of `extra` + what a call of `kind` needs, and the image ranges.
   */
  const convSetup = (p: Conv2dParams, kind: number, extra = 0) => {
    checkConv(p);
    const parts = host.parts(sizes(p).y * (p.cin / p.groups) * p.kh * p.kw, 'compute', p.n);
    const ranges = Array.from({ length: parts }, (_, t) => range(p.n, parts, t));
    const meta = ex.convMeta();
    const i32 = host.i32();
    // Part 0 has the most images; the scratch does not grow with the image count anyway (one image at a time).
    i32.set(convFields(p, ranges[0][1] - ranges[0][0]), meta / 4);
    const bytes = ex.conv2dScratch(kind);
    const scratch = ranges.map((_, t) => host.scratch(bytes + extra, t));
    for (let t = 1; t < parts; t++) host.i32().set(convFields(p, ranges[t][1] - ranges[t][0]), host.threadAddr(t, meta) / 4);
    return { parts, ranges, scratch, bytes };
  };
  /** Splits pooling over the nc planes: each part's geometry goes into its thread's block. */
  const poolSplit = (p: Pool2dParams, x: B, fn: 'pool2d' | 'pool2dBackward', args: (lo: number) => number[]): void => {
    checkPool(p);
    checkSize(x, p.nc * p.h * p.w, 'pool2d input');
    const parts = host.parts(p.nc * p.h * p.w, 'memory', p.nc);
    const meta = ex.poolMeta();
    host.split(fn, parts, (t) => {
      const [lo, hi] = range(p.nc, parts, t);
      const fields = [p.mode === 'max' ? 0 : 1, hi - lo, p.h, p.w, p.kh, p.kw, p.oh, p.ow, p.strideH, p.strideW, p.padH,
        p.padW, b(p.countIncludePad)];
      host.i32().set(fields, host.threadAddr(t, meta) / 4);
      return args(lo);
    });
  };
  const channels = (p: { n: number; c: number; s: number }, what: string, full: readonly B[], perChannel: readonly B[]): void => {
    for (const buf of full) checkSize(buf, p.n * p.c * p.s, what);
    for (const buf of perChannel) checkSize(buf, p.c, `${what} (per channel)`);
  };
  /** A batch-norm kernel split over channels: `args` are the arguments before (c0, c1). */
  const byChannel = (fn: keyof NnExports, p: { n: number; c: number; s: number }, args: number[]): void => {
    const parts = host.parts(p.n * p.c * p.s, 'memory', p.c);
    host.split(fn, parts, (t) => [...args, ...range(p.c, parts, t)]);
  };
  const flat = (fn: keyof NnExports, n: number, args: (lo: number, count: number) => number[]): void => splitFlat(host, fn, n, args);
  return {
    conv2d: (inputs, out, p) => {
      const [x, w, bias] = inputs;
      if (inputs.length !== (p.hasBias ? 3 : 2)) throw new Error(`wasm backend: conv2d with hasBias ${p.hasBias} got ${inputs.length} inputs`);
      const s = sizes(p);
      checkSize(x, s.x, 'conv2d x');
      checkSize(w, s.w, 'conv2d weight');
      if (bias) checkSize(bias, p.cout, 'conv2d bias');
      checkSize(out, s.y, 'conv2d output');
      const c = convSetup(p, 0);
      host.split('conv2d', c.parts, (t) => {
        const n0 = c.ranges[t][0];
        return [x.ptr + 4 * n0 * p.cin * p.h * p.w, w.ptr, bias ? bias.ptr : 0, out.ptr + 4 * n0 * p.cout * p.oh * p.ow, c.scratch[t]];
      });
    },
    conv2dBackwardInput: ([dy, w], out, p) => {
      const s = sizes(p);
      checkSize(dy, s.y, 'conv2dBackwardInput dy');
      checkSize(w, s.w, 'conv2dBackwardInput weight');
      checkSize(out, s.x, 'conv2dBackwardInput output');
      const c = convSetup(p, 1);
      host.split('conv2dBackwardInput', c.parts, (t) => {
        const n0 = c.ranges[t][0];
        return [dy.ptr + 4 * n0 * p.cout * p.oh * p.ow, w.ptr, out.ptr + 4 * n0 * p.cin * p.h * p.w, c.scratch[t]];
      });
    },
    conv2dBackwardWeight: ([x, dy], out, p) => {
      const s = sizes(p);
      checkSize(x, s.x, 'conv2dBackwardWeight x');
      checkSize(dy, s.y, 'conv2dBackwardWeight dy');
      checkSize(out, s.w, 'conv2dBackwardWeight output');
      // Each part sums its images' gradient (part t > 0 into its scratch, past what the kernel uses), then part 0's
      // result takes the others in order: deterministic for a given thread count.
      const c = convSetup(p, 2, 4 * s.w + 64);
      const partial = (t: number): number => (t === 0 ? out.ptr : c.scratch[t] + Math.ceil(c.bytes / 64) * 64);
      host.split('conv2dBackwardWeight', c.parts, (t) => {
        const n0 = c.ranges[t][0];
        return [x.ptr + 4 * n0 * p.cin * p.h * p.w, dy.ptr + 4 * n0 * p.cout * p.oh * p.ow, partial(t), c.scratch[t]];
      });
      for (let t = 1; t < c.parts; t++) ex.axpby(partial(t), out.ptr, s.w, 1, 1);
    },
    pool2d: ([x], out, p) => {
      checkSize(out, p.nc * p.oh * p.ow, 'pool2d output');
      poolSplit(p, x, 'pool2d', (lo) => [x.ptr + 4 * lo * p.h * p.w, out.ptr + 4 * lo * p.oh * p.ow]);
    },
    pool2dBackward: ([x, dy], out, p) => {
      checkSize(dy, p.nc * p.oh * p.ow, 'pool2dBackward dy');
      checkSize(out, p.nc * p.h * p.w, 'pool2dBackward output');
      poolSplit(p, x, 'pool2dBackward', (lo) => [x.ptr + 4 * lo * p.h * p.w, dy.ptr + 4 * lo * p.oh * p.ow, out.ptr + 4 * lo * p.h * p.w]);
    },
    channelSum: ([x], out, p) => {
      channels(p, 'channelSum', [x], [out]);
      byChannel('channelSum', p, [x.ptr, out.ptr, p.n, p.c, p.s, p.scale]);
    },
    channelVar: ([x, mean], out, p) => {
      channels(p, 'channelVar', [x], [mean, out]);
      byChannel('channelVar', p, [x.ptr, mean.ptr, out.ptr, p.n, p.c, p.s, p.scale]);
    },
    channelDot: ([a, bb, mean], out, p) => {
      channels(p, 'channelDot', [a, bb], [mean, out]);
      byChannel('channelDot', p, [a.ptr, bb.ptr, mean.ptr, out.ptr, p.n, p.c, p.s, p.scale]);
    },
    bnApply: ([x, mean, variance, gamma, beta], out, p) => {
      channels(p, 'bnApply', [x, out], [mean, variance, gamma, beta]);
      byChannel('bnApply', p, [x.ptr, mean.ptr, variance.ptr, gamma.ptr, beta.ptr, out.ptr, p.n, p.c, p.s, p.eps]);
    },
    bnBackwardInput: ([dy, x, mean, variance, gamma, sumDy, sumDyXmu], out, p) => {
      channels(p, 'bnBackwardInput', [dy, x, out], [mean, variance, gamma, sumDy, sumDyXmu]);
      byChannel('bnBackwardInput', p, [dy.ptr, x.ptr, mean.ptr, variance.ptr, gamma.ptr, sumDy.ptr, sumDyXmu.ptr, out.ptr,
        p.n, p.c, p.s, p.eps, b(p.training)]);
    },
    dropout: ([x], out, p) => {
      checkSize(x, p.size, 'dropout input');
      checkSize(out, p.size, 'dropout output');
      // Not split: the mask hashes the element index from 0, so a part would need its own base index.
      ex.dropout(x.ptr, out.ptr, p.size, p.p, p.seed >>> 0, p.scale);
    },
    softmaxCrossEntropy: ([logits, labels], out, p) => {
      checkSize(logits, p.rows * p.classes, 'softmaxCrossEntropy logits');
      checkSize(labels, p.rows, 'softmaxCrossEntropy labels');
      checkSize(out, p.rows, 'softmaxCrossEntropy output');
      ex.softmaxCrossEntropy(logits.ptr, labels.ptr, out.ptr, p.rows, p.classes);
    },
    softmaxCrossEntropyBackward: ([logits, labels, dy], out, p) => {
      checkSize(logits, p.rows * p.classes, 'softmaxCrossEntropyBackward logits');
      checkSize(labels, p.rows, 'softmaxCrossEntropyBackward labels');
      checkSize(dy, p.dyScalar ? Math.min(1, p.rows) : p.rows, 'softmaxCrossEntropyBackward dy');
      checkSize(out, p.rows * p.classes, 'softmaxCrossEntropyBackward output');
      ex.softmaxCrossEntropyBackward(logits.ptr, labels.ptr, dy.ptr, out.ptr, p.rows, p.classes, b(p.dyScalar), p.scale);
    },
    axpby: ([x], out, p) => {
      checkSize(x, p.size, 'axpby x');
      checkSize(out, p.size, 'axpby output');
      flat('axpby', p.size, (lo, n) => [x.ptr + 4 * lo, out.ptr + 4 * lo, n, p.alpha, p.beta]);
    },
    swaAverage: ([x], out, p) => {
      checkSize(x, p.size, 'swaAverage weights');
      checkSize(out, p.size, 'swaAverage average');
      flat('swaAverage', p.size, (lo, n) => [x.ptr + 4 * lo, out.ptr + 4 * lo, n, p.n]);
    },
    sgdMomentum: ([grad, w], out, p) => {
      for (const [buf, what] of [[grad, 'grad'], [w, 'weight'], [out, 'momentum']] as const) checkSize(buf, p.size, `sgdMomentum ${what}`);
      flat('sgdMomentum', p.size, (lo, n) => [grad.ptr + 4 * lo, w.ptr + 4 * lo, out.ptr + 4 * lo, n, p.momentum, p.dampening,
        p.weightDecay, b(p.first)]);
    },
    sgdApply: ([grad, v], out, p) => {
      checkSize(grad, p.size, 'sgdApply grad');
      if (p.momentum !== 0) checkSize(v, p.size, 'sgdApply momentum');
      checkSize(out, p.size, 'sgdApply weight');
      // Without momentum v is unused (any buffer): keep its pointer as it is.
      const vAt = (lo: number): number => (p.momentum !== 0 ? v.ptr + 4 * lo : v.ptr);
      flat('sgdApply', p.size, (lo, n) => [grad.ptr + 4 * lo, vAt(lo), out.ptr + 4 * lo, n, p.lr, p.momentum, p.weightDecay,
        b(p.nesterov)]);
    },
  };
}
