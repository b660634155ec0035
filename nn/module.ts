// Module: ordered, named parameters, buffers and submodules whose dotted names match PyTorch's state_dict keys
// (`layer1.0.conv1.weight`, `bn1.running_mean`, …), with train/eval modes, checked state-dict loading and deep copies.

import { fmt, isTensor, keep, noGrad, sameShape, sizeOf, type Tensor } from '../engine/index.ts';

/** A module's state: every parameter and buffer by its PyTorch name, in PyTorch's order. */
export type StateDict = Map<string, Tensor>;

/**
 * A state-dict entry held on the host: C-order shape and values, with an optional safetensors dtype name. A decoded
 * safetensors tensor (`decodeSafetensors(bytes).tensors`) is one.
 */
export interface HostValue {
  readonly shape: readonly number[];
  readonly data: ArrayBufferView | readonly number[];
  readonly dtype?: string;
}

/** What `loadStateDict` accepts per key: a tensor on the model's device (another module's state) or host values. */
export type StateValue = Tensor | HostValue;

/** Keys that `loadStateDict` found missing from the source and unexpected in it, as PyTorch's `load_state_dict`. */
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

const counters = new WeakMap<Tensor, Counter>();

/**
 * A PyTorch int64 buffer (BatchNorm's num_batches_tracked, AveragedModel's n_averaged). Its value lives on the host,
 * where the module needs it, and is mirrored into a device tensor that state dicts and checkpoints hold (saved as I64).
 */
export class Counter {
  private v = 0;
  constructor(
    readonly tensor: Tensor,
    value = 0,
  ) {
    counters.set(tensor, this);
    this.set(value);
  }
  get value(): number {
    return this.v;
  }
  set(value: number): void {
    if (!Number.isInteger(value) || value < 0) throw new Error(`Counter: value must be an integer ≥ 0, got ${value}`);
    this.v = value;
    noGrad(() => this.tensor.fill_(value));
  }
}

/** The counter a tensor mirrors, if it is one (so its exact value is known without reading the device). */
export function counterOf(t: Tensor): Counter | undefined {
  return counters.get(t);
}

/**
 * The base of every layer and model, as torch.nn.Module: parameters, buffers and submodules registered by name, so
 * `stateDict()` keys are PyTorch's; `train()`/`eval()`; `call(x)` runs `forward(x)`.
 * @example
 * class Mlp extends Module {
 *   readonly fc1 = this.child('fc1', new Linear(784, 100));
 *   readonly fc2 = this.child('fc2', new Linear(100, 10));
 *   forward(x: Tensor): Tensor { return this.fc2.call(relu(this.fc1.call(x))); }
 * }
 */
export abstract class Module {
  /** True in training mode (batch statistics, dropout active); see train() and eval(). */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** The module's computation. Call it through `call` or directly. */
  abstract forward(x: Tensor): Tensor;

  /** Runs `forward` (PyTorch's `module(x)`). */
  call(x: Tensor): Tensor {
    return this.forward(x);
  }

  /** Registers a trainable tensor under `name` (it gets requiresGrad and is kept out of every tidy scope). */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.params.set(name, keep(t));
    return t;
  }

  /** Registers a non-trainable state tensor (running statistics) under `name`. */
  protected buffer(name: string, t: Tensor): Tensor {
    this.buffers.set(name, keep(t));
    return t;
  }

  /** Registers an integer buffer (an int64 in PyTorch) under `name`, mirrored in the scalar tensor `t`. */
  protected counter(name: string, t: Tensor, value = 0): Counter {
    this.buffer(name, t);
    return new Counter(t, value);
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
   * Copies `values` into this module's parameters and buffers in place, as PyTorch's `load_state_dict(state_dict,
   * strict)`: tensors keep their identity, so optimizers holding them stay valid. Every entry is checked before
   * anything is written (key, shape, dtype: float32 data, or integer data for counters; data length; device), and one
   * error lists every problem, so a bad source leaves the module untouched. With `strict` (the default) missing and
   * unexpected keys are errors too; without it they are skipped and returned.
   * @example
   * model.loadStateDict(swaModel.module.stateDict());           // the averaged weights, device to device
   * const { missingKeys } = model.loadStateDict(decodeSafetensors(bytes).tensors, { strict: false });
   */
  loadStateDict(
    values: ReadonlyMap<string, StateValue> | Record<string, StateValue>,
    opts: { strict?: boolean } = {},
  ): LoadStateDictResult {
    if (!values || typeof values !== 'object') {
      throw new TypeError(`loadStateDict: expects a Map of state, got ${describe(values)}`);
    }
    const given = values instanceof Map ? new Map(values) : new Map(Object.entries(values));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !own.has(k));
    const problems: string[] = [];
    if ((opts.strict ?? true) && missingKeys.length) problems.push(`missing keys [${missingKeys.join(', ')}]`);
    if ((opts.strict ?? true) && unexpectedKeys.length) problems.push(`unexpected keys [${unexpectedKeys.join(', ')}]`);
    const writes: (() => void)[] = [];
    for (const [k, v] of given) {
      const t = own.get(k);
      if (!t) continue;
      const r = checkEntry(k, t, v);
      if (typeof r === 'string') problems.push(r);
      else writes.push(r);
    }
    if (problems.length) throw new Error(`loadStateDict: ${problems.join('; ')}`);
    noGrad(() => writes.forEach((w) => w()));
    return { missingKeys, unexpectedKeys };
  }

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

/** A one-line description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (isTensor(v)) return `a Tensor of shape ${fmt(v.shape)}`;
  if (Array.isArray(v)) return `an array of ${v.length} item(s)`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'function') return `a function of ${v.length} parameter(s)`;
  if (typeof v !== 'object') return `${typeof v} ${JSON.stringify(v)}`;
  const name = Object.getPrototypeOf(v)?.constructor?.name;
  if (name && name !== 'Object') return `a ${name}`;
  const keys = Object.keys(v);
  if (!keys.length) return 'an empty object';
  return `an object with keys ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}`;
}

/** The safetensors dtype name of a host array. */
function arrayDtype(data: unknown): string {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Uint16Array) return 'F16/BF16/U16';
  return data && typeof data === 'object' ? (data.constructor?.name ?? 'object') : typeof data;
}

const badShape = (k: string, from: readonly number[], to: readonly number[]): string =>
  `${k} has shape ${fmt(from)} in the source but ${fmt(to)} in the model`;

/** Checks one entry against the module's tensor; returns the write to make, or the problem. */
function checkEntry(k: string, t: Tensor, v: StateValue): (() => void) | string {
  const counter = counterOf(t);
  if (isTensor(v)) {
    if (v.isDisposed) return `${k} is a disposed tensor`;
    if (!sameShape(v.shape, t.shape)) return badShape(k, v.shape, t.shape);
    if (v.backend !== t.backend) return `${k} is on ${v.device}, the model on ${t.device} (pass t.data() values)`;
    if (!counter) return () => t.copy_(v);
    const from = counterOf(v);
    if (!from) return `${k} is an integer counter; give host data ({ shape: [], data: [n] }) or a module's tensor`;
    return () => counter.set(from.value);
  }
  if (!v || typeof v !== 'object' || !Array.isArray(v.shape) || !('data' in v)) {
    return `${k} is ${describe(v)}, expected a Tensor or { shape, data }`;
  }
  if (!sameShape(v.shape, t.shape)) return badShape(k, v.shape, t.shape);
  const kind = arrayDtype(v.data);
  if (v.dtype !== undefined && v.dtype !== kind) return `${k} says dtype ${v.dtype} but holds a ${kind} array`;
  const ok = counter ? ['F32', 'I32', 'I64'].includes(kind) : kind === 'F32';
  const holds = counter ? 'an integer counter (F32, I32, I64)' : 'float32 (F32)';
  if (!ok) return `${k} has dtype ${kind} but the model holds ${holds}`;
  const data = v.data as Float32Array | Int32Array | BigInt64Array;
  if (data.length !== t.size || data.length !== sizeOf(v.shape)) {
    return `${k} has ${data.length} values, but its shape ${fmt(t.shape)} needs ${t.size}`;
  }
  if (!counter) return () => t.copy_(data as Float32Array);
  const n = Number(data[0]);
  if (!Number.isInteger(n) || n < 0) return `${k} is an integer counter but holds ${n}`;
  return () => counter.set(n);
}

/**
 * A deep copy of `module`, as Python's `copy.deepcopy(module)`: every parameter, buffer and other tensor it holds is
 * copied on its device (parameters keep requiresGrad, gradients are not copied), submodules and plain fields (arrays,
 * maps, plain objects, typed arrays) are copied, and shared references stay shared within the copy. Other objects are
 * shared with the original: the device, and random generators (as PyTorch's layers share its global generator).
 *
 * NOTE: fields declared with JavaScript `#private` syntax cannot be copied; engine modules use TypeScript `private`.
 * @example const ema = deepcopy(model); // train `model`, keep `ema` as its exponential moving average
 */
export function deepcopy<M extends Module>(module: M): M {
  const memo = new Map<object, unknown>();
  return noGrad(() => copyValue(module, memo)) as M;
}

function copyValue(v: unknown, memo: Map<object, unknown>): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (memo.has(v)) return memo.get(v);
  if (isTensor(v)) {
    const c = keep(v.newEmpty(v.shape));
    c.copy_(v);
    c.requiresGrad = v.requiresGrad;
    memo.set(v, c);
    const from = counterOf(v);
    if (from) new Counter(c, from.value);
    return c;
  }
  if (v instanceof Counter) {
    const c = counterOf(copyValue(v.tensor, memo) as Tensor);
    memo.set(v, c);
    return c;
  }
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    memo.set(v, out);
    for (const x of v) out.push(copyValue(x, memo));
    return out;
  }
  if (v instanceof Map) {
    const out = new Map<unknown, unknown>();
    memo.set(v, out);
    for (const [k, x] of v) out.set(k, copyValue(x, memo));
    return out;
  }
  if (v instanceof Set) {
    const out = new Set<unknown>();
    memo.set(v, out);
    for (const x of v) out.add(copyValue(x, memo));
    return out;
  }
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const out = (v as unknown as { slice(): ArrayBufferView }).slice();
    memo.set(v, out);
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (!(v instanceof Module) && proto !== Object.prototype && proto !== null) return v;
  const out = Object.create(proto) as object;
  memo.set(v, out);
  for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(v))) {
    Object.defineProperty(out, key, 'value' in d ? { ...d, value: copyValue(d.value, memo) } : d);
  }
  for (const sym of Object.getOwnPropertySymbols(v)) {
    const d = Object.getOwnPropertyDescriptor(v, sym)!;
    Object.defineProperty(out, sym, 'value' in d ? { ...d, value: copyValue(d.value, memo) } : d);
  }
  return out;
}
