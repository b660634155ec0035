// Creating tensors: from arrays, filled (zeros, ones, full), ranges, and seeded random normal/uniform values.

import type { Backend, DeviceName } from './backend.ts';
import { backendNamed, defaultBackend } from './device.ts';
import { globalGenerator, type Generator } from './random.ts';
import { checkShape, fmt, ShapeError, sizeOf, type Shape } from './shape.ts';
import { Tensor } from './tensor.ts';

export interface CreateOptions {
  /** Where the tensor lives: a backend, an opened device name, or the default device. */
  device?: Backend | DeviceName;
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  /** The stream to draw from (the global generator by default, see `manualSeed`). */
  generator?: Generator;
}

type Nested = number | readonly Nested[];

function resolve(opts?: CreateOptions): Backend {
  const d = opts?.device;
  if (d === undefined) return defaultBackend();
  return typeof d === 'string' ? backendNamed(d) : d;
}

/** Infers the shape of nested arrays and flattens them, rejecting ragged input. */
function flatten(values: Nested): { shape: number[]; flat: number[] } {
  const shape: number[] = [];
  for (let v: Nested = values; Array.isArray(v); v = v[0] as Nested) shape.push(v.length);
  const flat: number[] = [];
  const walk = (v: Nested, d: number): void => {
    if (d === shape.length) {
      if (typeof v !== 'number') throw new ShapeError('tensor', `ragged nested array: expected a number at depth ${d}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d])
      throw new ShapeError('tensor', `ragged nested array: expected length ${shape[d]} at depth ${d}`);
    for (const x of v) walk(x, d + 1);
  };
  walk(values, 0);
  return { shape, flat };
}

/**
 * An uninitialised tensor of `shape` on the resolved device. The device allocates first (the backends reject sizes
 * over their limits there), so an impossible size fails in milliseconds, before any host array is made or filled.
 */
function allocate(op: string, shape: Shape, opts?: CreateOptions): Tensor {
  checkShape(op, shape);
  const be = resolve(opts);
  try {
    return Tensor.empty(shape, be);
  } catch (e) {
    throw new ShapeError(op, `shape ${fmt(shape)} does not fit on the device: ${reason(e)}`);
  }
}

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Fills a freshly allocated tensor from host values made by `make` (freed again if making them fails). */
function filled(op: string, t: Tensor, make: () => Float32Array, opts?: CreateOptions): Tensor {
  try {
    if (t.size) t.backend.write(t.buf(op), make());
  } catch (e) {
    t.dispose();
    throw e instanceof ShapeError
      ? e
      : new ShapeError(op, `cannot fill shape ${fmt(t.shape)} on the host: ${reason(e)}`);
  }
  t.requiresGrad = opts?.requiresGrad ?? false;
  return t;
}

function fromValues(values: ArrayLike<number>, shape: Shape, opts?: CreateOptions): Tensor {
  checkShape('tensor', shape);
  if (sizeOf(shape) !== values.length)
    throw new ShapeError('tensor', `${values.length} values do not fill shape ${fmt(shape)}`);
  const t = allocate('tensor', shape, opts);
  return filled('tensor', t, () => (values instanceof Float32Array ? values : Float32Array.from(values)), opts);
}

/**
 * A tensor from nested arrays, or from flat values with an explicit shape.
 * @example tensor([[1, 2], [3, 4]]) // shape [2, 2]
 * @example tensor(new Float32Array(6), [2, 3])
 */
export function tensor(values: Nested | ArrayLike<number>, shape?: Shape, opts?: CreateOptions): Tensor {
  if (shape) return fromValues(values as ArrayLike<number>, shape, opts);
  if (typeof values === 'number') return fromValues([values], [], opts);
  if (Array.isArray(values)) {
    const { shape: s, flat } = flatten(values as Nested);
    return fromValues(flat, s, opts);
  }
  const arr = values as ArrayLike<number>;
  return fromValues(arr, [arr.length], opts);
}

/** A tensor of `shape` filled with `value`, written on the device (no upload). */
export function full(shape: Shape, value: number, opts?: CreateOptions): Tensor {
  const t = allocate('full', shape, opts);
  if (t.size) t.backend.run('fill', [], t.buf('full'), { size: t.size, value });
  t.requiresGrad = opts?.requiresGrad ?? false;
  return t;
}

export const zeros = (shape: Shape, opts?: CreateOptions): Tensor => full(shape, 0, opts);
export const ones = (shape: Shape, opts?: CreateOptions): Tensor => full(shape, 1, opts);
export const zerosLike = (x: Tensor): Tensor => full(x.shape, 0, { device: x.backend });
export const onesLike = (x: Tensor): Tensor => full(x.shape, 1, { device: x.backend });

/** Values start, start + step, … below end (like NumPy's arange). */
export function arange(start: number, end?: number, step = 1, opts?: CreateOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step))
    throw new ShapeError('arange', `step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  if (!Number.isSafeInteger(n)) throw new ShapeError('arange', `${start} to ${end} by ${step} has ${n} values`);
  const t = allocate('arange', [n], opts);
  return filled('arange', t, () => Float32Array.from({ length: n }, (_, i) => start + i * step), opts);
}

/**
 * Normal samples with the given mean and standard deviation, from a seeded generator. The size is checked against
 * the device's limit before anything is drawn (the generator does not advance when it fails).
 */
export function randn(shape: Shape, opts?: RandomOptions & { mean?: number; std?: number }): Tensor {
  const t = allocate('randn', shape, opts);
  const g = opts?.generator ?? globalGenerator;
  const [m, s] = [opts?.mean ?? 0, opts?.std ?? 1];
  return filled(
    'randn',
    t,
    () => {
      const v = new Float32Array(t.size);
      for (let i = 0; i < v.length; i++) v[i] = m + s * g.normal();
      return v;
    },
    opts,
  );
}

/** Uniform samples in [low, high), from a seeded generator; the size is checked first, as for `randn`. */
export function rand(shape: Shape, opts?: RandomOptions & { low?: number; high?: number }): Tensor {
  const t = allocate('rand', shape, opts);
  const g = opts?.generator ?? globalGenerator;
  const [lo, hi] = [opts?.low ?? 0, opts?.high ?? 1];
  return filled(
    'rand',
    t,
    () => {
      const v = new Float32Array(t.size);
      for (let i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * g.uniform();
      return v;
    },
    opts,
  );
}
