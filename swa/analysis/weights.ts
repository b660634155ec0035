// Weight space as one flat float32 vector (a model's trainable parameters in state-dict order), with float64
// arithmetic for dot products, norms and linear combinations, seeded random unit directions and a content key.

import { Generator, noGrad } from '../../engine/index.ts';
import type { Module } from '../../nn/module.ts';
import { mixSeed } from '../runner-train.ts';

/** Where each trainable parameter lives in the flat weight vector. */
export interface ParamLayout {
  /** State-dict names of the parameters, in `namedParameters()` order. */
  names: string[];
  shapes: number[][];
  /** Start of each parameter in the flat vector. */
  offsets: number[];
  /** Length of the flat vector: the dimension of weight space. */
  size: number;
}

/**
 * The layout of a model's weight space: every trainable parameter (conv and linear weights and biases, BatchNorm's
 * γ and β), as the SWA paper perturbs them. Buffers (BN running statistics) are not part of it: they are recomputed
 * for every point evaluated.
 */
export function paramLayout(model: Module): ParamLayout {
  const names: string[] = [];
  const shapes: number[][] = [];
  const offsets: number[] = [];
  let size = 0;
  for (const [name, t] of model.namedParameters()) {
    names.push(name);
    shapes.push([...t.shape]);
    offsets.push(size);
    size += t.size;
  }
  return { names, shapes, offsets, size };
}

/** Host tensors by name, as checkpoint readers return them. */
export type HostTensors = ReadonlyMap<string, { shape?: readonly number[]; data: Float32Array }>;

/**
 * The flat vector of `values[prefix + name]` over the layout's parameters.
 * @throws naming `source` and the parameter when one is missing or has the wrong number of values.
 */
export function flatten(layout: ParamLayout, values: HostTensors, source: string, prefix = ''): Float32Array {
  const out = new Float32Array(layout.size);
  layout.names.forEach((name, i) => {
    const v = values.get(prefix + name);
    const want = layout.shapes[i].reduce((a, b) => a * b, 1);
    if (!v) throw new Error(`${source}: tensor ${prefix}${name} is missing`);
    if (v.data.length !== want)
      throw new Error(`${source}: ${prefix}${name} has ${v.data.length} values, the model needs ${want}`);
    out.set(v.data, layout.offsets[i]);
  });
  return out;
}

/** The model's current parameters as one flat vector (read back from the device). */
export async function flatFromModel(model: Module, layout: ParamLayout): Promise<Float32Array> {
  const out = new Float32Array(layout.size);
  const params = model.namedParameters();
  for (let i = 0; i < params.length; i++) out.set(await params[i][1].data(), layout.offsets[i]);
  return out;
}

/** Writes a flat vector into the model's parameters in place (one upload per parameter). */
export function loadFlat(model: Module, layout: ParamLayout, w: Float32Array): void {
  if (w.length !== layout.size)
    throw new Error(`loadFlat: vector has ${w.length} values, weight space has ${layout.size}`);
  const params = model.namedParameters();
  noGrad(() => {
    params.forEach(([, t], i) => t.copy_(w.subarray(layout.offsets[i], layout.offsets[i] + t.size)));
  });
}

function sameLength(op: string, a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw new Error(`${op}: vectors of length ${a.length} and ${b.length}`);
}

/** ⟨a, b⟩ accumulated in float64. */
export function dot(a: Float32Array, b: Float32Array): number {
  sameLength('dot', a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** ‖a‖₂ in float64. */
export function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}

/** ‖a − b‖₂ in float64 (the differences are taken in float64, so nothing cancels in float32). */
export function distance(a: Float32Array, b: Float32Array): number {
  sameLength('distance', a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/**
 * Σ_k c_k·v_k element by element in float64, rounded once to float32. Terms with c_k = 0 are skipped, so
 * `combine([[1, w], [0, d]])` is w bit for bit (the line's and the rays' endpoints are the solutions exactly).
 */
export function combine(terms: readonly (readonly [number, Float32Array])[], out?: Float32Array): Float32Array {
  const used = terms.filter(([c]) => c !== 0);
  const n = terms[0]?.[1].length ?? 0;
  for (const [c, v] of terms) {
    if (!Number.isFinite(c)) throw new Error(`combine: coefficient ${c} is not finite`);
    if (v.length !== n) throw new Error(`combine: vectors of length ${n} and ${v.length}`);
  }
  const r = out ?? new Float32Array(n);
  if (used.length === 0) return r.fill(0);
  const [c0, v0] = used[0];
  if (used.length === 1) {
    for (let i = 0; i < n; i++) r[i] = c0 * v0[i];
    return r;
  }
  for (let i = 0; i < n; i++) {
    let s = c0 * v0[i];
    for (let k = 1; k < used.length; k++) s += used[k][0] * used[k][1][i];
    r[i] = s;
  }
  return r;
}

/**
 * A direction drawn uniformly on the unit sphere of R^size: z/‖z‖ with z ~ N(0, I) (a standard normal vector's
 * direction is uniform, Muller 1959), from `generator`.
 */
export function randomDirection(size: number, generator: Generator): Float32Array {
  if (!(Number.isInteger(size) && size >= 1))
    throw new Error(`randomDirection: size must be an integer ≥ 1, got ${size}`);
  const z = new Float64Array(size);
  let s = 0;
  for (let i = 0; i < size; i++) {
    z[i] = generator.normal();
    s += z[i] * z[i];
  }
  const inv = 1 / Math.sqrt(s);
  const d = new Float32Array(size);
  for (let i = 0; i < size; i++) d[i] = z[i] * inv;
  return d;
}

/** Direction `index` of the set drawn with `seed`: its own generator, so each one is reproducible on its own. */
export function seededDirection(size: number, seed: number, index: number): Float32Array {
  return randomDirection(size, new Generator(mixSeed([seed, index])));
}

/**
 * A 64-bit content key of float32 vectors (two different 32-bit multiply-xorshift hashes over their bit patterns), as
 * 16 hex digits. Equal vectors get equal keys; the chance that two of a few thousand different ones collide is ~1e-13.
 */
export function contentKey(...vectors: Float32Array[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9;
  for (const v of vectors) {
    const words = new Uint32Array(v.buffer, v.byteOffset, v.length);
    h1 = Math.imul(h1 ^ words.length, 0x01000193) >>> 0;
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      h1 = Math.imul(h1 ^ w, 0x01000193);
      h1 ^= h1 >>> 13;
      h2 = Math.imul(h2 ^ w, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}
