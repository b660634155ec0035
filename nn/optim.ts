// SGD with momentum, dampening, Nesterov and weight decay exactly as torch.optim.SGD, applied in place on the device,
// with a learning rate that may change every step and a state that checkpoints can save and restore.

import { keep, sgdStepInPlace, type Tensor } from '../engine/index.ts';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * A learning-rate scheduler, as torch.optim.lr_scheduler's: it sets its optimizer's `lr` when made (the rate of the
 * first step) and at every `step()`. `interval` says when a training loop calls `step()`: after every epoch (SWALR and
 * most PyTorch schedulers) or after every optimizer step; `fit` follows it.
 * @example
 * const sched = new SWALR(opt, { swaLr: 0.05 });
 * for (let epoch = 0; epoch < 10; epoch++) { trainOneEpoch(); sched.step(); }
 */
export interface LrScheduler {
  readonly interval: 'epoch' | 'iteration';
  /** The optimizer whose `lr` it sets. */
  readonly optimizer: { lr: number };
  /** Advances one epoch or iteration and sets the optimizer's rate for the next. */
  step(): void;
  /** The rate it set last, one per parameter group (one here), as PyTorch's get_last_lr(). */
  getLastLr(): number[];
}

/**
 * Stochastic gradient descent (PyTorch semantics): d = g + λw; with momentum μ, v = μv + (1 − τ)d (v = d on the
 * first step) and d = v, or d + μv with Nesterov; w ← w − lr·d. Nothing is read back to the host.
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
 * tidy(() => { crossEntropy(model.call(x), y).backward(); opt.step(); opt.zeroGrad(); });
 */
export class SGD {
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** Momentum buffers, one per parameter once it has had a step. */
  readonly buffers = new Map<Tensor, Tensor>();
  stepCount = 0;

  constructor(readonly params: Tensor[], opts: SgdOptions) {
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    const bad = [['lr', this.lr], ['momentum', this.momentum], ['weightDecay', this.weightDecay]].find(([, v]) => !(Number(v) >= 0));
    if (bad) throw new Error(`SGD: ${bad[0]} must be a non-negative number, got ${bad[1]}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  /** Applies one step to every parameter that has a gradient. */
  step(): void {
    if (!(this.lr >= 0)) throw new Error(`SGD: learning rate must be a non-negative number, got ${this.lr}`);
    for (const p of this.params) {
      if (!p.grad) continue;
      let v = this.buffers.get(p) ?? null;
      const first = this.momentum !== 0 && !v;
      if (first) {
        v = keep(p.newFull(p.shape, 0));
        this.buffers.set(p, v);
      }
      sgdStepInPlace(p, p.grad, v, {
        lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov, first,
      });
    }
    this.stepCount++;
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** Momentum buffers by parameter index (for checkpoints). */
  state(): { step: number; momentum: Map<number, Tensor> } {
    const m = new Map<number, Tensor>();
    this.params.forEach((p, i) => {
      const v = this.buffers.get(p);
      if (v) m.set(i, v);
    });
    return { step: this.stepCount, momentum: m };
  }

  /** Restores momentum buffers (host values by parameter index) and the step count. */
  loadState(step: number, momentum: Map<number, Float32Array>): void {
    this.stepCount = step;
    for (const [i, data] of momentum) {
      const p = this.params[i];
      if (!p) throw new Error(`SGD.loadState: no parameter at index ${i}`);
      if (data.length !== p.size) throw new Error(`SGD.loadState: momentum ${i} has ${data.length} values, parameter has ${p.size}`);
      let v = this.buffers.get(p);
      if (!v) {
        v = keep(p.newEmpty(p.shape));
        this.buffers.set(p, v);
      }
      v.copy_(data);
    }
  }

  dispose(): void {
    for (const v of this.buffers.values()) v.dispose();
    this.buffers.clear();
  }
}
