// Glue of the wasm backend's neural-network kernels (convolution, pooling, batch norm, dropout, fused
// cross-entropy, in-place updates): size and geometry checks, the geometry blocks the kernels read (wasm-geometry.ts),
// and the conv scratch. The backend in wasm.ts merges this table with wasm-core.ts's.

import type { Conv2dParams, KernelTable, NnKernel, Pool2dParams } from '../backend.ts';
import { outLen } from '../shape.ts';
import type { FunctionName } from './wasm-exports.ts';
import { winogradTile } from './wasm-conv-rule.ts';
import { CONV_GEOM, POOL_GEOM } from './wasm-geometry.ts';
import { checkSize, range, splitFlat, type KernelHost, type PtrBuf } from './wasm-split.ts';

/**
 * Throws unless the geometry is one the kernels can run without reading outside their buffers: integer fields in
 * i32 range, groups dividing both channel counts, and oh/ow exactly as the stride and padding give them.
 */
function checkConv(p: Conv2dParams): void {
  const ints = [
    p.n,
    p.cin,
    p.h,
    p.w,
    p.cout,
    p.kh,
    p.kw,
    p.oh,
    p.ow,
    p.strideH,
    p.strideW,
    p.padH,
    p.padW,
    p.dilationH,
    p.dilationW,
    p.groups,
  ];
  const ok =
    ints.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 31) &&
    p.groups >= 1 &&
    p.cin % p.groups === 0 &&
    p.cout % p.groups === 0 &&
    Math.min(p.kh, p.kw, p.strideH, p.strideW, p.dilationH, p.dilationW, p.oh, p.ow) >= 1 &&
    p.oh === outLen(p.h, p.kh, p.strideH, p.padH, p.dilationH) &&
    p.ow === outLen(p.w, p.kw, p.strideW, p.padW, p.dilationW);
  if (!ok) throw new RangeError(`wasm backend: inconsistent conv2d geometry ${JSON.stringify(p)}`);
}

function checkPool(p: Pool2dParams): void {
  const ints = [p.nc, p.h, p.w, p.kh, p.kw, p.oh, p.ow, p.strideH, p.strideW, p.padH, p.padW];
  const ok =
    ints.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 31) &&
    Math.min(p.kh, p.kw, p.strideH, p.strideW, p.oh, p.ow) >= 1 &&
    2 * p.padH <= p.kh &&
    2 * p.padW <= p.kw &&
    p.oh === outLen(p.h, p.kh, p.strideH, p.padH) &&
    p.ow === outLen(p.w, p.kw, p.strideW, p.padW);
  if (!ok) throw new RangeError(`wasm backend: inconsistent pool2d geometry ${JSON.stringify(p)}`);
}

/** The nn part of the wasm backend's kernel table. */
export function nnKernels<B extends PtrBuf>(host: KernelHost): Pick<KernelTable<B>, NnKernel> {
  const ex = host.ex;
  const b = (v: boolean): number => (v ? 1 : 0);
  const sizes = (p: Conv2dParams) => ({
    x: p.n * p.cin * p.h * p.w,
    w: p.cout * (p.cin / p.groups) * p.kh * p.kw,
    y: p.n * p.cout * p.oh * p.ow,
  });
  /** Writes thread t's conv geometry (its share of `images`, the Winograd tile size) into its block. */
  const writeConv = (p: Conv2dParams, images: number, winograd: number, t: number): void => {
    const { i32, f32 } = host.views();
    CONV_GEOM.write({ ...p, n: images, winograd }, i32, f32, host.threadAddr(t, ex.convMeta()) / 4);
  };
  /**
   * Splits a convolution over images: writes each part's geometry (its image count) into its thread's block and
   * returns the parts, each thread's scratch of `extra` + what a call of `kind` needs, and the image ranges.
   */
  const convSetup = (p: Conv2dParams, kind: number, extra = 0) => {
    checkConv(p);
    const parts = host.parts(sizes(p).y * (p.cin / p.groups) * p.kh * p.kw, 'compute', p.n);
    const ranges = Array.from({ length: parts }, (_, t) => range(p.n, parts, t));
    const winograd = winogradTile(p, (['forward', 'input', 'weight'] as const)[kind], host.conv);
    // Part 0 has the most images; the scratch does not grow with the image count anyway (one image at a time).
    writeConv(p, ranges[0][1] - ranges[0][0], winograd, 0);
    const bytes = ex.conv2dScratch(kind);
    const scratch = ranges.map((_, t) => host.scratch(bytes + extra, t));
    for (let t = 1; t < parts; t++) writeConv(p, ranges[t][1] - ranges[t][0], winograd, t);
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
      const { i32, f32 } = host.views();
      POOL_GEOM.write({ ...p, mode: p.mode === 'max' ? 0 : 1, nc: hi - lo }, i32, f32, host.threadAddr(t, meta) / 4);
      return args(lo);
    });
  };
  type Nsc = { n: number; c: number; s: number };
  const channels = (p: Nsc, what: string, full: readonly B[], perChannel: readonly B[]): void => {
    for (const buf of full) checkSize(buf, p.n * p.c * p.s, what);
    for (const buf of perChannel) checkSize(buf, p.c, `${what} (per channel)`);
  };
  /** A batch-norm kernel split over channels: `args` are the arguments before (c0, c1). */
  const byChannel = (fn: FunctionName, p: { n: number; c: number; s: number }, args: number[]): void => {
    const parts = host.parts(p.n * p.c * p.s, 'memory', p.c);
    host.split(fn, parts, (t) => [...args, ...range(p.c, parts, t)]);
  };
  const flat = (fn: FunctionName, n: number, args: (lo: number, count: number) => number[]): void =>
    splitFlat(host, fn, n, args);
  return {
    conv2d: ([x, w, bias], out, p) => {
      const s = sizes(p);
      checkSize(x, s.x, 'conv2d x');
      checkSize(w, s.w, 'conv2d weight');
      if (bias) checkSize(bias, p.cout, 'conv2d bias');
      checkSize(out, s.y, 'conv2d output');
      const c = convSetup(p, 0);
      host.split('conv2d', c.parts, (t) => {
        const n0 = c.ranges[t][0];
        return [
          x.ptr + 4 * n0 * p.cin * p.h * p.w,
          w.ptr,
          bias ? bias.ptr : 0,
          out.ptr + 4 * n0 * p.cout * p.oh * p.ow,
          c.scratch[t],
        ];
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
      poolSplit(p, x, 'pool2dBackward', (lo) => [
        x.ptr + 4 * lo * p.h * p.w,
        dy.ptr + 4 * lo * p.oh * p.ow,
        out.ptr + 4 * lo * p.h * p.w,
      ]);
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
    bnStats: ([x], out, p) => {
      channels(p, 'bnStats', [x], []);
      checkSize(out, 2 * p.c, 'bnStats output');
      byChannel('bnStats', p, [x.ptr, out.ptr, p.n, p.c, p.s]);
    },
    bnApply: ([x, mean, variance, gamma, beta], out, p) => {
      channels(p, 'bnApply', [x, out], [mean, variance, gamma, beta]);
      const args = [x.ptr, mean.ptr, variance.ptr, gamma.ptr, beta.ptr, out.ptr, p.n, p.c, p.s, p.eps, b(!!p.relu)];
      byChannel('bnApply', p, args);
    },
    bnBackwardStats: ([dy, x, mean, y], out, p) => {
      channels(p, 'bnBackwardStats', p.relu ? [dy, x, y] : [dy, x], [mean]);
      checkSize(out, 2 * p.c, 'bnBackwardStats output');
      // Without relu y is not read: dy stands in for it.
      const ys = p.relu ? y.ptr : dy.ptr;
      byChannel('bnBackwardStats', p, [dy.ptr, x.ptr, mean.ptr, ys, out.ptr, p.n, p.c, p.s, b(p.relu)]);
    },
    bnBackwardInput: ([dy, x, mean, variance, gamma, sums, y], out, p) => {
      channels(p, 'bnBackwardInput', p.relu ? [dy, x, y, out] : [dy, x, out], [mean, variance, gamma]);
      checkSize(sums, 2 * p.c, 'bnBackwardInput sums');
      byChannel('bnBackwardInput', p, [
        dy.ptr,
        x.ptr,
        mean.ptr,
        variance.ptr,
        gamma.ptr,
        sums.ptr,
        p.relu ? y.ptr : dy.ptr,
        out.ptr,
        p.n,
        p.c,
        p.s,
        p.eps,
        b(p.training),
        b(!!p.relu),
      ]);
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
      ex.softmaxCrossEntropyBackward(
        logits.ptr,
        labels.ptr,
        dy.ptr,
        out.ptr,
        p.rows,
        p.classes,
        b(p.dyScalar),
        p.scale,
      );
    },
    axpby: ([x], out, p) => {
      checkSize(x, p.size, 'axpby x');
      checkSize(out, p.size, 'axpby output');
      flat('axpby', p.size, (lo, n) => [x.ptr + 4 * lo, out.ptr + 4 * lo, n, p.alpha, p.beta]);
    },
    sgdMomentum: ([grad, w], out, p) => {
      checkSize(grad, p.size, 'sgdMomentum grad');
      checkSize(w, p.size, 'sgdMomentum weight');
      checkSize(out, p.size, 'sgdMomentum momentum');
      flat('sgdMomentum', p.size, (lo, n) => [
        grad.ptr + 4 * lo,
        w.ptr + 4 * lo,
        out.ptr + 4 * lo,
        n,
        p.momentum,
        p.dampening,
        p.weightDecay,
        b(p.first),
      ]);
    },
    sgdApply: ([grad, v], out, p) => {
      checkSize(grad, p.size, 'sgdApply grad');
      if (p.momentum !== 0) checkSize(v, p.size, 'sgdApply momentum');
      checkSize(out, p.size, 'sgdApply weight');
      // Without momentum v is unused (any buffer): keep its pointer as it is.
      const vAt = (lo: number): number => (p.momentum !== 0 ? v.ptr + 4 * lo : v.ptr);
      flat('sgdApply', p.size, (lo, n) => [
        grad.ptr + 4 * lo,
        vAt(lo),
        out.ptr + 4 * lo,
        n,
        p.lr,
        p.momentum,
        p.weightDecay,
        b(p.nesterov),
      ]);
    },
  };
}
