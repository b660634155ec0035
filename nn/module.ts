// Module: ordered, named parameters, buffers and submodules whose dotted names match PyTorch's state_dict keys
// (`layer1.0.conv1.weight`, `bn1.running_mean`, …), with train/eval modes.

import { fmt, keep, noGrad, sameShape, type Tensor } from '../engine/index.ts';

/** A module's state: every parameter and buffer by its PyTorch name, in PyTorch's order. */
export type StateDict = Map<string, Tensor>;

export abstract class Module {
  /** True in training mode (batch statistics, dropout active); see train() and eval(). */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** The module's computation. Call it through `call` or directly. */
  abstract forward(x: Tensor): Tensor;

  call(x: Tensor): Tensor {
    return this.forward(x);
  }

  /** Registers a trainable tensor under `name` (it gets requiresGrad and is kept out of every tidy scope). */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.params.set(name, keep(t));
    return t;
  }

  /** Registers a non-trainable state tensor (running statistics, counters) under `name`. */
  protected buffer(name: string, t: Tensor): Tensor {
    this.buffers.set(name, keep(t));
    return t;
  }

  /** Registers a submodule under `name` (a number for Sequential children). */
  protected child<M extends Module>(name: string | number, m: M): M {
    this.children.set(String(name), m);
    return m;
  }

  /** The direct submodules, in registration order. */
  modules(): [string, Module][] {
    return [...this.children];
  }

  /** This module and every descendant, depth first, with dotted prefixes. */
  *walk(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this.children) yield* m.walk(prefix ? `${prefix}.${name}` : name);
  }

  /** Every parameter with its dotted name, in PyTorch's order (own parameters, then children's). */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.walk()) for (const [n, t] of m.params) out.push([prefix ? `${prefix}.${n}` : n, t]);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.walk()) for (const [n, t] of m.buffers) out.push([prefix ? `${prefix}.${n}` : n, t]);
    return out;
  }

  /** Parameters and buffers by name, ordered as PyTorch's state_dict (per module: parameters, then buffers). */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    for (const [prefix, m] of this.walk()) {
      const key = (n: string): string => (prefix ? `${prefix}.${n}` : n);
      for (const [n, t] of m.params) out.set(key(n), t);
      for (const [n, t] of m.buffers) out.set(key(n), t);
    }
    return out;
  }

  /**
   * Copies values into this module's parameters and buffers in place (tensors keep their identity, so optimizers
   * holding them stay valid). Strict mode requires exactly the same names; shapes must always match.
   */
  loadStateDict(values: Map<string, { shape: readonly number[]; data: Float32Array }>, strict = true): void {
    const own = this.stateDict();
    if (strict) {
      const missing = [...own.keys()].filter((k) => !values.has(k));
      const unexpected = [...values.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length) {
        throw new Error(
          `loadStateDict: missing keys [${missing.join(', ')}], unexpected keys [${unexpected.join(', ')}]`,
        );
      }
    }
    for (const [k, v] of values) {
      const t = own.get(k);
      if (t && !sameShape(t.shape, v.shape))
        throw new Error(`loadStateDict: ${k} has shape ${fmt(v.shape)} in the source but ${fmt(t.shape)} in the model`);
      if (t && v.data.length !== t.size) {
        throw new Error(
          `loadStateDict: ${k} has ${v.data.length} values in the source, but its shape ${fmt(t.shape)} needs ${t.size}`,
        );
      }
    }
    noGrad(() => {
      for (const [k, v] of values) own.get(k)?.copy_(v.data);
    });
    for (const [prefix, m] of this.walk()) {
      const local = new Map<string, { data: Float32Array }>();
      for (const [k, v] of values) {
        if (!prefix) local.set(k, v);
        else if (k.startsWith(`${prefix}.`)) local.set(k.slice(prefix.length + 1), v);
      }
      m.onLoad(local);
    }
  }

  /** Called after loadStateDict with this module's entries under local names (subclasses sync host state here). */
  protected onLoad(_values: Map<string, { data: Float32Array }>): void {}

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    for (const [, m] of this.walk()) m.training = mode;
    return this;
  }

  /** Evaluation mode (running statistics, no dropout); returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Frees every parameter, buffer and gradient. */
  dispose(): void {
    for (const [, t] of this.stateDict()) t.dispose();
  }
}
