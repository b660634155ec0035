// Layers with PyTorch's parameter names and default initialisations: Linear, Conv2d, BatchNorm1d/2d, ReLU,
// MaxPool2d, AvgPool2d, GlobalAvgPool2d, Dropout, Flatten and Sequential.

import {
  add,
  avgPool2d,
  batchNorm,
  batchNormRelu,
  conv2d,
  defaultBackend,
  dropout,
  full,
  globalGenerator,
  matmulT,
  maxPool2d,
  mean,
  rand,
  relu,
  reshape,
  type Backend,
  type BatchNormOptions,
  type Conv2dOptions,
  type Generator,
  type Tensor,
} from '../engine/index.ts';
import { Module, type Counter } from './module.ts';

/** Where a layer's tensors live and where its initial values come from. */
export interface LayerOptions {
  device?: Backend;
  generator?: Generator;
}

const where = (o?: LayerOptions): { device: Backend; generator: Generator } => ({
  device: o?.device ?? defaultBackend(),
  generator: o?.generator ?? globalGenerator,
});

/** U(−1/√fanIn, 1/√fanIn): PyTorch's default for Linear and Conv2d weights (kaiming_uniform, a = √5) and biases. */
function uniformInit(shape: number[], fanIn: number, o: { device: Backend; generator: Generator }): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return rand(shape, { device: o.device, generator: o.generator, low: -bound, high: bound });
}

/** y = x·Wᵀ + b with W [out, in], as torch.nn.Linear. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LayerOptions & { bias?: boolean } = {},
  ) {
    super();
    const o = where(opts);
    this.weight = this.param('weight', uniformInit([outFeatures, inFeatures], inFeatures, o));
    this.bias = opts.bias === false ? null : this.param('bias', uniformInit([outFeatures], inFeatures, o));
  }
  forward(x: Tensor): Tensor {
    const y = matmulT(x, this.weight, false, true);
    return this.bias ? add(y, this.bias) : y;
  }
}

/** 2-D convolution with weight [out, in/groups, k, k], as torch.nn.Conv2d. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: Conv2dOptions;
  constructor(
    inChannels: number,
    outChannels: number,
    kernel: number | [number, number],
    opts: LayerOptions & Conv2dOptions & { bias?: boolean } = {},
  ) {
    super();
    const o = where(opts);
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    const groups = opts.groups ?? 1;
    const fanIn = (inChannels / groups) * kh * kw;
    this.weight = this.param('weight', uniformInit([outChannels, inChannels / groups, kh, kw], fanIn, o));
    this.bias = opts.bias === false ? null : this.param('bias', uniformInit([outChannels], fanIn, o));
    this.options = { stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups };
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }
}

/** torch.nn.BatchNorm's arguments: eps (1e-5), momentum (0.1, or null), affine (true); device and generator. */
export interface BatchNormLayerOptions extends LayerOptions {
  eps?: number;
  /** Weight of each batch in the running statistics (0.1); null for a cumulative average, as PyTorch. */
  momentum?: number | null;
  affine?: boolean;
}

/**
 * Batch normalisation over channels (dimension 1), as torch.nn.BatchNorm1d/2d: batch statistics in training with
 * running_mean/running_var updated (unbiased variance), running statistics in eval.
 * @example const bn = new BatchNorm2d(16); const y = bn.call(x); // x: [N, 16, H, W]
 */
export class BatchNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  eps: number;
  /** Weight of each new batch in the running statistics; null: a cumulative average (see `cumulative`). */
  momentum: number | null;
  /**
   * How a null momentum averages: 'batches' (PyTorch: batch k weighs 1/num_batches_tracked, so every batch counts
   * equally) or 'samples' (batch k of b samples weighs b/(samples so far), so the statistics are the exact mean over
   * samples since `resetRunningStats`, as the SWA reference code's bn_update). `updateBn` sets it for its pass.
   */
  cumulative: 'batches' | 'samples' = 'batches';
  /** num_batches_tracked, counted on the host so the cumulative momentum needs no read-back. */
  private readonly batches: Counter;
  private samplesSeen = 0;
  constructor(
    readonly numFeatures: number,
    opts: BatchNormLayerOptions = {},
  ) {
    super();
    const o = where(opts);
    const dev = { device: o.device };
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (opts.affine === false) {
      this.weight = full([numFeatures], 1, dev);
      this.bias = full([numFeatures], 0, dev);
    } else {
      this.weight = this.param('weight', full([numFeatures], 1, dev));
      this.bias = this.param('bias', full([numFeatures], 0, dev));
    }
    this.runningMean = this.buffer('running_mean', full([numFeatures], 0, dev));
    this.runningVar = this.buffer('running_var', full([numFeatures], 1, dev));
    this.batches = this.counter('num_batches_tracked', full([], 0, dev));
    this.numBatchesTracked = this.batches.tensor;
  }
  forward(x: Tensor): Tensor {
    return batchNorm(x, this.weight, this.bias, this.runningMean, this.runningVar, this.step(x));
  }
  /** relu(this.forward(x)) as one fused op (the ReLU inside the normalising kernel), with the same bookkeeping. */
  forwardRelu(x: Tensor): Tensor {
    return batchNormRelu(x, this.weight, this.bias, this.runningMean, this.runningVar, this.step(x));
  }
  /** Counts the batch when training and returns the op's options (momentum as PyTorch: cumulative when null). */
  private step(x: Tensor): BatchNormOptions {
    let momentum = 0;
    if (this.training) {
      this.batches.set(this.batches.value + 1);
      if (this.momentum !== null) {
        momentum = this.momentum;
      } else if (this.cumulative === 'samples') {
        this.samplesSeen += x.shape[0];
        momentum = x.shape[0] / this.samplesSeen;
      } else {
        momentum = 1 / this.batches.value;
      }
    }
    return { training: this.training, momentum, eps: this.eps };
  }
  /** Restarts the running statistics: mean 0, variance 1, no batches seen (PyTorch's reset_running_stats). */
  resetRunningStats(): void {
    this.batches.set(0);
    this.samplesSeen = 0;
    this.runningMean.zero_();
    this.runningVar.fill_(1);
  }
  /** num_batches_tracked, as a number. */
  get batchesTracked(): number {
    return this.batches.value;
  }
}

/** BatchNorm over [N, C] or [N, C, L] inputs, as torch.nn.BatchNorm1d. @example new BatchNorm1d(128) */
export class BatchNorm1d extends BatchNorm {}
/** BatchNorm over [N, C, H, W] inputs, as torch.nn.BatchNorm2d. @example new BatchNorm2d(64, { momentum: null }) */
export class BatchNorm2d extends BatchNorm {}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernel: number,
    readonly stride = kernel,
    readonly padding = 0,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernel, { stride: this.stride, padding: this.padding });
  }
}

export class AvgPool2d extends Module {
  constructor(
    readonly kernel: number,
    readonly stride = kernel,
    readonly padding = 0,
    readonly countIncludePad = true,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernel, {
      stride: this.stride,
      padding: this.padding,
      countIncludePad: this.countIncludePad,
    });
  }
}

/** Mean over the spatial dimensions: [N, C, H, W] → [N, C] (AdaptiveAvgPool2d(1) followed by flatten). */
export class GlobalAvgPool2d extends Module {
  forward(x: Tensor): Tensor {
    return mean(x, [2, 3]);
  }
}

/** Zeroes elements with probability p during training (seeded: each call draws a mask seed from the generator). */
export class Dropout extends Module {
  private readonly generator: Generator;
  constructor(
    readonly p = 0.5,
    opts: LayerOptions = {},
  ) {
    super();
    this.generator = opts.generator ?? globalGenerator;
  }
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, this.generator.nextU32());
  }
}

/** [N, …] → [N, prod(…)], sharing storage. */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return reshape(x, [x.shape[0], -1]);
  }
}

/** Applies its children in order; they are named 0, 1, 2, … as in PyTorch. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.child(i, m));
  }
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, m) => m.forward(h), x);
  }
}
