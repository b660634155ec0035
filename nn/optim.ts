// SGD with momentum, dampening, Nesterov and weight decay exactly as torch.optim.SGD, applied in place on the device,
// with a learning rate that may change every step and a state that checkpoints can save and restore; the scheduler
// interface (torch.optim.lr_scheduler's step()) and CosineAnnealingLR.

import { keep, sgdStepInPlace, type Tensor } from '../engine/index.ts';

/** torch.optim.SGD's arguments: lr, momentum (0), dampening (0), weight decay (0), Nesterov (false). */
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
 * PyTorch's `torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max, eta_min)`, stepped once per epoch: at epoch
 * e, `lr = etaMin + (lr0 − etaMin)·(1 + cos(π·e/tMax))/2`, lr0 being the optimizer's rate when it is made (PyTorch's
 * closed form; its recursive form gives the same rates when nothing else changes the rate).
 * @example const scheduler = new CosineAnnealingLR(opt, { tMax: 100 }); // after each epoch: scheduler.step()
 */
export class CosineAnnealingLR implements LrScheduler {
  readonly interval = 'epoch';
  readonly baseLr: number;
  readonly tMax: number;
  readonly etaMin: number;
  /** The 0-based epoch the optimizer's current rate is for (PyTorch's last_epoch). */
  lastEpoch = 0;

  constructor(
    readonly optimizer: { lr: number },
    opts: { tMax: number; etaMin?: number },
  ) {
    const name = 'CosineAnnealingLR';
    if (!optimizer || typeof optimizer.lr !== 'number') throw new Error(`${name}: needs an optimizer with an lr`);
    if (!(Number.isInteger(opts?.tMax) && opts.tMax >= 1)) {
      throw new Error(`${name}: tMax must be an integer ≥ 1, got ${opts?.tMax}`);
    }
    const etaMin = opts.etaMin ?? 0;
    if (!(etaMin >= 0)) throw new Error(`CosineAnnealingLR: etaMin must be ≥ 0, got ${etaMin}`);
    this.baseLr = optimizer.lr;
    this.tMax = opts.tMax;
    this.etaMin = etaMin;
  }

  step(): void {
    this.lastEpoch++;
    const cos = Math.cos((Math.PI * this.lastEpoch) / this.tMax);
    this.optimizer.lr = this.etaMin + ((this.baseLr - this.etaMin) * (1 + cos)) / 2;
  }

  getLastLr(): number[] {
    return [this.optimizer.lr];
  }
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

  constructor(
    readonly params: Tensor[],
    opts: SgdOptions,
  ) {
    this.lr = opts.lr;
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.weightDecay = opts.weightDecay ?? 0;
    this.nesterov = opts.nesterov ?? false;
    const bad = [
      ['lr', this.lr],
      ['momentum', this.momentum],
      ['weightDecay', this.weightDecay],
    ].find(([, v]) => !(Number(v) >= 0));
    if (bad) throw new Error(`SGD: ${bad[0]} must be a non-negative number, got ${bad[1]}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
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
        lr: this.lr,
        momentum: this.momentum,
        dampening: this.dampening,
        weightDecay: this.weightDecay,
        nesterov: this.nesterov,
        first,
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
      if (data.length !== p.size)
        throw new Error(`SGD.loadState: momentum ${i} has ${data.length} values, parameter has ${p.size}`);
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
