// 2-D convolution (stride, padding, dilation, groups incl. depthwise, bias) and 2-D max/average pooling, NCHW,
// each with its own forward and backward kernels.

import type { Conv2dParams, Pool2dParams } from '../backend.ts';
import { referenceNnKernels } from '../kernel-reference-nn.ts';
import { nd } from '../nd.ts';
import { runOp, type Nd, type OpParams, type PrimitiveDef } from '../op.ts';
import { fmt, outLen, ShapeError, type Shape } from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';
import { runKernel } from './kernel.ts';

type Pair = [number, number];
const pair = (v: number | Pair): Pair => (typeof v === 'number' ? [v, v] : v);

function convGeometry(op: string, x: Shape, w: Shape, p: OpParams['conv2d'], hasBias: boolean): Conv2dParams {
  if (x.length !== 4 || w.length !== 4)
    throw new ShapeError(
      op,
      `expects input [N, C, H, W] and weight [Cout, Cin/groups, kH, kW], got ${fmt(x)} and ${fmt(w)}`,
    );
  const [n, cin, h, wd] = x;
  const [cout, cinG, kh, kw] = w;
  const g = p.groups;
  if (!Number.isInteger(g) || g < 1 || cin % g || cout % g)
    throw new ShapeError(op, `groups ${g} must divide input channels ${cin} and output channels ${cout}`);
  if (cinG * g !== cin)
    throw new ShapeError(
      op,
      `weight ${fmt(w)} expects ${cinG * g} input channels (groups ${g}), input ${fmt(x)} has ${cin}`,
    );
  const nums = [...p.stride, ...p.padding, ...p.dilation];
  if (
    nums.some((v) => !Number.isInteger(v)) ||
    p.stride.some((v) => v < 1) ||
    p.dilation.some((v) => v < 1) ||
    p.padding.some((v) => v < 0)
  ) {
    throw new ShapeError(
      op,
      `stride ${fmt(p.stride)} and dilation ${fmt(p.dilation)} must be positive integers, padding ` +
        `${fmt(p.padding)} non-negative`,
    );
  }
  const oh = outLen(h, kh, p.stride[0], p.padding[0], p.dilation[0]);
  const ow = outLen(wd, kw, p.stride[1], p.padding[1], p.dilation[1]);
  if (oh < 1 || ow < 1)
    throw new ShapeError(
      op,
      `kernel ${kh}×${kw} (dilation ${fmt(p.dilation)}) does not fit input ${fmt(x)} with padding ${fmt(p.padding)}`,
    );
  return {
    n,
    cin,
    h,
    w: wd,
    cout,
    kh,
    kw,
    oh,
    ow,
    strideH: p.stride[0],
    strideW: p.stride[1],
    padH: p.padding[0],
    padW: p.padding[1],
    dilationH: p.dilation[0],
    dilationW: p.dilation[1],
    groups: g,
    hasBias,
  };
}

const f64 = (x: Nd): Float64Array => x.data;

export const conv2dDef: PrimitiveDef<'conv2d'> = {
  name: 'conv2d',
  shape([x, w, b], p) {
    const geo = convGeometry('conv2d', x, w, p, Boolean(b));
    if (b && (b.length !== 1 || b[0] !== geo.cout))
      throw new ShapeError('conv2d', `bias ${fmt(b)} must be [${geo.cout}]`);
    return [geo.n, geo.cout, geo.oh, geo.ow];
  },
  forward(inputs, shape, p) {
    const geo = convGeometry('conv2d', inputs[0].shape, inputs[1].shape, p, inputs.length === 3);
    return runKernel('conv2d', inputs, shape, inputs[0], geo);
  },
  backward(dy, [x, w, b], _out, p) {
    const geo = convGeometry('conv2d', x.shape, w.shape, p, Boolean(b));
    const dx = x.requiresGrad ? runKernel('conv2dBackwardInput', [dy, w], x.shape, x, geo) : null;
    const dw = w.requiresGrad ? runKernel('conv2dBackwardWeight', [x, dy], w.shape, x, geo) : null;
    const db = b?.requiresGrad
      ? runKernel('channelSum', [dy], b.shape, x, { n: geo.n, c: geo.cout, s: geo.oh * geo.ow, scale: 1 })
      : null;
    return b ? [dx, dw, db] : [dx, dw];
  },
  reference([x, w, b], p) {
    const geo = convGeometry('conv2d', x.shape, w.shape, p, Boolean(b));
    const out = nd([geo.n, geo.cout, geo.oh, geo.ow]);
    referenceNnKernels.conv2d([f64(x), f64(w), b ? f64(b) : new Float64Array(0)], out.data, geo);
    return out;
  },
};

function poolGeometry(x: Shape, p: OpParams['pool2d']): Pool2dParams {
  const op = p.mode === 'max' ? 'maxPool2d' : 'avgPool2d';
  if (x.length !== 4 && x.length !== 3)
    throw new ShapeError(op, `expects input [N, C, H, W] or [C, H, W], got ${fmt(x)}`);
  const [h, w] = x.slice(-2);
  const [kh, kw] = p.kernel;
  const bad =
    [...p.kernel, ...p.stride].some((v) => !Number.isInteger(v) || v < 1) ||
    p.padding.some((v) => !Number.isInteger(v) || v < 0);
  if (bad || p.padding[0] * 2 > kh || p.padding[1] * 2 > kw) {
    throw new ShapeError(
      op,
      `kernel ${fmt(p.kernel)} and stride ${fmt(p.stride)} must be positive, padding ${fmt(p.padding)} at most ` +
        `half the kernel`,
    );
  }
  const oh = outLen(h, kh, p.stride[0], p.padding[0], 1);
  const ow = outLen(w, kw, p.stride[1], p.padding[1], 1);
  if (oh < 1 || ow < 1) throw new ShapeError(op, `kernel ${fmt(p.kernel)} does not fit input ${fmt(x)}`);
  return {
    mode: p.mode,
    nc: x.slice(0, -2).reduce((a, d) => a * d, 1),
    h,
    w,
    kh,
    kw,
    oh,
    ow,
    strideH: p.stride[0],
    strideW: p.stride[1],
    padH: p.padding[0],
    padW: p.padding[1],
    countIncludePad: p.countIncludePad,
  };
}

export const pool2dDef: PrimitiveDef<'pool2d'> = {
  name: 'pool2d',
  shape([x], p) {
    const g = poolGeometry(x, p);
    return [...x.slice(0, -2), g.oh, g.ow];
  },
  forward: ([x], shape, p) => runKernel('pool2d', [x], shape, x, poolGeometry(x.shape, p)),
  backward: (dy, [x], _out, p) => [runKernel('pool2dBackward', [x, dy], x.shape, x, poolGeometry(x.shape, p))],
  reference([x], p) {
    const g = poolGeometry(x.shape, p);
    const out = nd([...x.shape.slice(0, -2), g.oh, g.ow]);
    referenceNnKernels.pool2d([f64(x)], out.data, g);
    return out;
  },
};

export interface Conv2dOptions {
  stride?: number | Pair;
  padding?: number | Pair;
  dilation?: number | Pair;
  groups?: number;
}

/**
 * 2-D cross-correlation of x [N, Cin, H, W] with weight [Cout, Cin/groups, kH, kW] plus optional bias [Cout],
 * as torch.nn.functional.conv2d.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const p = {
    stride: pair(opts.stride ?? 1),
    padding: pair(opts.padding ?? 0),
    dilation: pair(opts.dilation ?? 1),
    groups: opts.groups ?? 1,
  };
  return runOp(conv2dDef, bias ? [x, weight, bias] : [x, weight], p);
}

export interface Pool2dOptions {
  stride?: number | Pair;
  padding?: number | Pair;
}

/** Max pooling over kH×kW windows (stride defaults to the kernel size), as torch.nn.functional.max_pool2d. */
export function maxPool2d(x: Tensor, kernel: number | Pair, opts: Pool2dOptions = {}): Tensor {
  const k = pair(kernel);
  return runOp(pool2dDef, [x], {
    mode: 'max',
    kernel: k,
    stride: pair(opts.stride ?? k),
    padding: pair(opts.padding ?? 0),
    countIncludePad: true,
  });
}

/** Average pooling, as torch.nn.functional.avg_pool2d (count_include_pad defaults to true, like PyTorch). */
export function avgPool2d(
  x: Tensor,
  kernel: number | Pair,
  opts: Pool2dOptions & { countIncludePad?: boolean } = {},
): Tensor {
  const k = pair(kernel);
  return runOp(pool2dDef, [x], {
    mode: 'avg',
    kernel: k,
    stride: pair(opts.stride ?? k),
    padding: pair(opts.padding ?? 0),
    countIncludePad: opts.countIncludePad ?? true,
  });
}
