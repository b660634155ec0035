// The small interface every backend implements: allocate, free, write, read and run a kernel.
// Backends know nothing of autograd or broadcasting rules: the engine hands them fully resolved strides and sizes.

import type { CustomKernel, CustomLaunch } from './custom-kernel.ts';

/** Names of the devices a tensor can live on. */
export type DeviceName = 'webgpu' | 'wasm';

/** Element-wise unary kernels. `alpha` is the scalar parameter where one is used. */
export const UNARY_OPS = ['neg', 'exp', 'log', 'sqrt', 'relu', 'step', 'pow', 'scale', 'shift'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/**
 * Element-wise binary kernels; comparisons give 1 or 0 (0 for NaN except `ne`), maximum/minimum propagate NaN, and
 * 'gate' is b <= 0 ? 0 : a (ReLU's gradient in one pass: 0 at b = 0, a for NaN b, as PyTorch's threshold_backward).
 */
export const BINARY_OPS = [
  'add',
  'sub',
  'mul',
  'div',
  'maximum',
  'minimum',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'gate',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

/** Largest rank a kernel sees after the engine has coalesced dimensions. */
export const MAX_RANK = 6;

/**
 * Parameters of each kernel. Sizes, strides and offsets count float32 elements. Every output is written
 * densely (row-major, contiguous) unless the kernel says otherwise. `kernel-reference.ts` gives the exact semantics.
 */
export interface KernelParams {
  /** out[i] = value for i < size. */
  fill: { size: number; value: number };
  /**
   * Strided copy over `shape`: out[outOffset + idx·outStrides] = x[inOffset + idx·inStrides]. Untouched output stays.
   */
  copy: { shape: number[]; inStrides: number[]; inOffset: number; outStrides: number[]; outOffset: number };
  /** out[i] = f(x[i]) for i < size. */
  unary: { op: UnaryOp; size: number; alpha: number };
  /** out[idx] = f(a[idx·aStrides], b[idx·bStrides]) over `shape` (strides may be 0 to broadcast). */
  binary: { op: BinaryOp; shape: number[]; aStrides: number[]; bStrides: number[] };
  /** out[idx] = cond[idx·cStrides] != 0 ? a[idx·aStrides] : b[idx·bStrides] (NaN != 0). Inputs: cond, a, b. */
  where: { shape: number[]; cStrides: number[]; aStrides: number[]; bStrides: number[] };
  /** x viewed as [outer, r, inner]; out[o, i] = sum, max or min over j of x[o, j, i] (a NaN makes max and min NaN). */
  reduce: { op: 'sum' | 'max' | 'min'; outer: number; r: number; inner: number };
  /**
   * out[b] = opA(a[b]) · opB(b[b]) for b < batch; out is [batch, m, n]. a[b] starts at b·aBatchStride and is
   * [m, k] row-major, or [k, m] when transA; b[b] starts at b·bBatchStride and is [k, n], or [n, k] when transB.
   */
  matmul: {
    batch: number;
    m: number;
    n: number;
    k: number;
    transA: boolean;
    transB: boolean;
    aBatchStride: number;
    bBatchStride: number;
  };
  /** x viewed as [outer, r, inner]; softmax (or log-softmax when log) over j. */
  softmax: { outer: number; r: number; inner: number; log: boolean };
  /** labels [rows] holding integers; out [rows, classes] with 1 at the label, 0 elsewhere (all 0 if out of range). */
  oneHot: { rows: number; classes: number };
  /**
   * 2-D convolution, NCHW. Inputs x [n, cin, h, w], weight [cout, cin/groups, kh, kw], and bias [cout] when hasBias.
   * out [n, cout, oh, ow]: out = bias + Σ x[n, g·cin/groups + ci, oy·stride − pad + ky·dilation, …]
   * · w[co, ci, ky, kx].
   */
  conv2d: Conv2dParams;
  /** Gradient of conv2d with respect to x. Inputs dy [n, cout, oh, ow], weight; out dx [n, cin, h, w]. */
  conv2dBackwardInput: Conv2dParams;
  /** Gradient of conv2d with respect to the weight. Inputs x, dy; out dw [cout, cin/groups, kh, kw]. */
  conv2dBackwardWeight: Conv2dParams;
  /**
   * Max or average pooling over x viewed as [nc, h, w]; out [nc, oh, ow]. Padding never wins a max; average divides
   * by the window clipped to the padded input (countIncludePad) or by its valid cells, as PyTorch.
   */
  pool2d: Pool2dParams;
  /**
   * Gradient of pool2d. Inputs x, dy; out dx [nc, h, w]. Max sends dy to the first maximum of each window (the last
   * NaN when it holds one, its first cell when no cell beats −inf), as PyTorch.
   */
  pool2dBackward: Pool2dParams;
  /** x viewed as [n, c, s]; out[c] = scale · Σ_{n,s} x[n, c, s]. */
  channelSum: { n: number; c: number; s: number; scale: number };
  /** Inputs x [n, c, s], mean [c]; out[c] = scale · Σ_{n,s} (x[n, c, s] − mean[c])². */
  channelVar: { n: number; c: number; s: number; scale: number };
  /** Inputs a, b (each [n, c, s]), mean [c]; out[c] = scale · Σ_{n,s} a[n, c, s] · (b[n, c, s] − mean[c]). */
  channelDot: { n: number; c: number; s: number; scale: number };
  /**
   * x viewed as [n, c, s]; out [2c]: out[c'] = the mean of channel c' and out[c + c'] its biased variance (divided
   * by n·s), from one pass over x in a numerically safe form (per block: mean, then squares about it, merged by Chan
   * et al.'s formula).
   */
  bnStats: { n: number; c: number; s: number };
  /**
   * Inputs x [n, c, s], mean, var, gamma, beta (each [c]); out = (x − mean)/√(var + eps) · gamma + beta, then
   * max(·, 0) when relu (a NaN stays NaN, as torch.relu).
   */
  bnApply: { n: number; c: number; s: number; eps: number; relu?: boolean };
  /**
   * Inputs dy, x [n, c, s], mean [c], and y (bnApply's output) when relu; g = relu ? (y > 0 ? dy : 0) : dy;
   * out [2c] = Σ_{n,s} g per channel, then Σ_{n,s} g·(x − mean): both sums of batch norm's backward in one pass.
   */
  bnBackwardStats: { n: number; c: number; s: number; relu: boolean };
  /**
   * Inputs dy, x, mean, var, gamma, sums [2c] = Σdy ‖ Σdy·(x − mean) (bnBackwardStats's output), and y when relu;
   * out dx. With inv = 1/√(var+eps),
   * x̂ = (x − mean)·inv, M = n·s and dy replaced by dy·[y > 0] when relu, training (batch statistics):
   * dx = gamma·inv · (dy − Σdy/M − x̂·inv·Σdy(x − mean)/M); otherwise dx = gamma·inv · dy.
   */
  bnBackwardInput: { n: number; c: number; s: number; eps: number; training: boolean; relu?: boolean };
  /** out[i] = keep(i, seed, p) ? x[i]·scale : 0, with keep from kernel-reference-nn.ts (a PCG hash of i and seed). */
  dropout: { size: number; p: number; seed: number; scale: number };
  /**
   * Inputs logits [rows, classes], labels [rows]; out[r] = logsumexp(logits[r]) − logits[r, label[r]]
   * (a label outside [0, classes) contributes no target term).
   */
  softmaxCrossEntropy: { rows: number; classes: number };
  /**
   * Inputs logits, labels, dy ([rows], or [1] when dyScalar); out [rows, classes] =
   * (softmax(logits[r]) − onehot(label[r])) · dy[r or 0] · scale.
   */
  softmaxCrossEntropyBackward: { rows: number; classes: number; dyScalar: boolean; scale: number };
  /**
   * In place: out[i] = alpha·out[i] + beta·x[i] (out's previous contents are read). SWA's running average
   * a ← a + (x − a)/(n + 1) (Izmailov et al., 2018, Algorithm 1) is axpby with alpha = n/(n + 1), beta = 1/(n + 1).
   */
  axpby: { size: number; alpha: number; beta: number };
  /**
   * In place on the momentum buffer v = out. Inputs grad, weight. d = grad + weightDecay·w;
   * v = first ? d : momentum·v + (1 − dampening)·d (PyTorch's SGD).
   */
  sgdMomentum: { size: number; momentum: number; dampening: number; weightDecay: number; first: boolean };
  /**
   * In place on the weight w = out. Inputs grad, v (ignored when momentum is 0). d = grad + weightDecay·w;
   * with momentum d = nesterov ? d + momentum·v : v; w = w − lr·d.
   */
  sgdApply: { size: number; lr: number; momentum: number; weightDecay: number; nesterov: boolean };
}

/** Geometry of a 2-D convolution (NCHW); `kernel-reference-nn.ts` gives the exact semantics. */
export interface Conv2dParams {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  hasBias: boolean;
}

/** Geometry of 2-D pooling over x viewed as [nc, h, w]. */
export interface Pool2dParams {
  mode: 'max' | 'avg';
  nc: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  oh: number;
  ow: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  countIncludePad: boolean;
}

export type KernelName = keyof KernelParams;

/**
 * The neural-network kernels (convolution, pooling, batch norm, dropout, fused cross-entropy, in-place updates):
 * each backend supplies them from its nn glue, the rest from its core table.
 */
export const NN_KERNELS = [
  'conv2d',
  'conv2dBackwardInput',
  'conv2dBackwardWeight',
  'pool2d',
  'pool2dBackward',
  'channelSum',
  'channelVar',
  'channelDot',
  'bnStats',
  'bnApply',
  'bnBackwardStats',
  'bnBackwardInput',
  'dropout',
  'softmaxCrossEntropy',
  'softmaxCrossEntropyBackward',
  'axpby',
  'sgdMomentum',
  'sgdApply',
] as const satisfies readonly KernelName[];
export type NnKernel = (typeof NN_KERNELS)[number];

/** Inputs each kernel takes (a function where they depend on the parameters); every backend checks this. */
export const KERNEL_INPUTS: { readonly [K in KernelName]: number | ((p: KernelParams[K]) => number) } = {
  fill: 0,
  copy: 1,
  unary: 1,
  binary: 2,
  where: 3,
  reduce: 1,
  matmul: 2,
  softmax: 1,
  oneHot: 1,
  conv2d: (p) => (p.hasBias ? 3 : 2),
  conv2dBackwardInput: 2,
  conv2dBackwardWeight: 2,
  pool2d: 1,
  pool2dBackward: 2,
  channelSum: 1,
  channelVar: 2,
  channelDot: 3,
  bnStats: 1,
  bnApply: 5,
  bnBackwardStats: (p) => (p.relu ? 4 : 3),
  bnBackwardInput: (p) => (p.relu ? 7 : 6),
  dropout: 1,
  softmaxCrossEntropy: 2,
  softmaxCrossEntropyBackward: 3,
  axpby: 1,
  sgdMomentum: 2,
  sgdApply: 2,
};

/** The number of inputs `kernel` takes with parameters `p` (KERNEL_INPUTS). */
export function kernelInputs<K extends KernelName>(kernel: K, p: KernelParams[K]): number {
  const count: number | ((p: KernelParams[K]) => number) = KERNEL_INPUTS[kernel];
  return typeof count === 'number' ? count : count(p);
}

/** A device buffer of float32 elements, opaque to the engine. */
export interface Buf {
  readonly size: number;
  readonly device: DeviceName;
}

/** A backend's kernels: one entry per kernel name, so a missing kernel is a compile error. */
export type KernelTable<B extends Buf> = {
  [K in KernelName]: (inputs: readonly B[], out: B, params: KernelParams[K]) => void;
};

export interface Backend {
  readonly name: DeviceName;
  /** One line describing the adapter or runtime, for reports. */
  readonly info: string;
  /** A buffer of `size` float32 elements; its contents are unspecified. */
  alloc(size: number): Buf;
  free(buf: Buf): void;
  /** Copies `data` into the buffer starting at element `offset`. */
  write(buf: Buf, data: Float32Array, offset?: number): void;
  /** Reads `size` elements from the start of the buffer (submits pending work first). */
  read(buf: Buf, size: number): Promise<Float32Array>;
  run<K extends KernelName>(kernel: K, inputs: readonly Buf[], out: Buf, params: KernelParams[K]): void;
  /** Gets a user kernel (custom op) ready to run: compiles its WGSL; rejects with a clear error. Optional. */
  prepareCustom?(kernel: CustomKernel): Promise<void>;
  /** Runs a user kernel made ready by `prepareCustom`, like `run` (batched with the built-in kernels). Optional. */
  runCustom?(kernel: CustomKernel, inputs: readonly Buf[], out: Buf, launch: CustomLaunch): void;
  /** Submits recorded work without waiting for it. */
  flush(): void;
  /** Resolves when all submitted work has finished. */
  sync(): Promise<void>;
  /** Number of buffers allocated and not yet freed (pooled free buffers do not count). */
  liveBuffers(): number;
  /** Releases every resource; the backend is unusable afterwards. */
  destroy(): void;
}
