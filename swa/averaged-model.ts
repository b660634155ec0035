// The running average of a model's weights (Izmailov et al., 2018, Algorithm 1), kept on the model's device and
// updated by one kernel per parameter; swapped into the model for evaluation without any copy.

import { keep, noGrad, type Tensor } from '../engine/index.ts';
import type { Module } from '../nn/module.ts';

/**
 * How captured weights are combined.
 * - 'equal' (default, SWA): w_swa ← w_swa + (w − w_swa)/(n + 1), the equal average of all captures.
 * - { ema: decay }: w_swa ← decay·w_swa + (1 − decay)·w (PyTorch's EMA; decay 0.999 is common).
 * - { fn }: any rule written with engine ops; it returns the new average from (average, current, n).
 */
export type AverageRule = 'equal' | { ema: number } | { fn: (avg: Tensor, current: Tensor, n: number) => Tensor };

export interface AveragedModelOptions {
  rule?: AverageRule;
  /** Also average buffers (BN running statistics); off by default because they are recomputed (see updateBn). */
  averageBuffers?: boolean;
}

/**
 * w_SWA for a model: one device tensor per parameter (and buffer, when averaged), and the number of captures n.
 * The first update copies the weights; later ones apply the rule in place.
 * @see https://arxiv.org/abs/1803.05407 (Algorithm 1)
 * @example
 * const swa = new AveragedModel(model);
 * // … after each capture point of the schedule:
 * swa.update(model);
 * // evaluate the average: swap in, recompute BN statistics, evaluate, swap back
 * swa.swapInto(model); updateBn(model, loader); evaluate(model); swa.swapInto(model);
 */
export class AveragedModel {
  /** Number of captures averaged so far (saved with checkpoints). */
  n = 0;
  readonly rule: AverageRule;
  readonly averageBuffers: boolean;
  /** Averages by the model's state-dict names, in order. */
  readonly tensors: Map<string, Tensor>;
  private swapped = false;

  constructor(model: Module, opts: AveragedModelOptions = {}) {
    this.rule = opts.rule ?? 'equal';
    this.averageBuffers = opts.averageBuffers ?? false;
    if (typeof this.rule === 'object' && 'ema' in this.rule && !(this.rule.ema >= 0 && this.rule.ema <= 1)) {
      throw new Error(`AveragedModel: EMA decay must be in [0, 1], got ${this.rule.ema}`);
    }
    this.tensors = new Map();
    for (const [name, t] of this.sources(model)) {
      const copy = keep(noGrad(() => t.detach().mul(1)));
      this.tensors.set(name, copy);
    }
  }

  private sources(model: Module): [string, Tensor][] {
    const params = model.namedParameters();
    if (!this.averageBuffers) return params;
    const bufs = model.namedBuffers().filter(([n]) => !n.endsWith('num_batches_tracked'));
    return [...params, ...bufs];
  }

  /** Adds the model's current weights to the average (Algorithm 1's capture step). */
  update(model: Module): void {
    if (this.swapped) throw new Error('AveragedModel.update: the average is swapped into a model; swap it back first');
    noGrad(() => {
      for (const [name, w] of this.sources(model)) {
        const avg = this.tensors.get(name);
        if (!avg) throw new Error(`AveragedModel.update: the model has ${name}, which the average does not`);
        if (this.n === 0) {
          avg.copy_(w);
        } else if (this.rule === 'equal') {
          avg.lerp_(w, 1 / (this.n + 1));
        } else if ('ema' in this.rule) {
          avg.lerp_(w, 1 - this.rule.ema);
        } else {
          const next = this.rule.fn(avg, w.detach(), this.n);
          avg.copy_(next);
          next.dispose();
        }
      }
    });
    this.n++;
  }

  /**
   * Exchanges the model's weights with the average, without copying (call again to swap back). While swapped, the
   * model computes with w_SWA and this object holds the model's own weights.
   */
  swapInto(model: Module): void {
    if (this.n === 0) throw new Error('AveragedModel.swapInto: nothing has been averaged yet');
    for (const [name, w] of this.sources(model)) {
      const avg = this.tensors.get(name);
      if (!avg) throw new Error(`AveragedModel.swapInto: the average has no ${name}`);
      w.swapStorage(avg);
    }
    this.swapped = !this.swapped;
  }

  get isSwapped(): boolean {
    return this.swapped;
  }

  /** Copies the average into `model`'s tensors (they keep their identity). */
  copyInto(model: Module): void {
    noGrad(() => {
      for (const [name, w] of this.sources(model)) w.copy_(this.tensors.get(name)!);
    });
  }

  /** Restores averages (host values by name) and n, e.g. from a checkpoint. */
  load(values: Map<string, { data: Float32Array }>, n: number): void {
    for (const [name, t] of this.tensors) {
      const v = values.get(name);
      if (!v) throw new Error(`AveragedModel.load: ${name} is missing`);
      if (v.data.length !== t.size)
        throw new Error(`AveragedModel.load: ${name} has ${v.data.length} values, expected ${t.size}`);
    }
    for (const [name, t] of this.tensors) t.copy_(values.get(name)!.data);
    this.n = n;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
  }
}
