// Checks one op case on one backend: forward against the float64 reference (NaN and ±inf exactly), gradients against
// central finite differences of it, or, where an input or output is not finite, against the reference kernels' own.

// NOTE: imports only the public index, so the browser test can swap it for the real browser bundle.
import {
  apply,
  Generator,
  mul,
  opDef,
  sum,
  tensor,
  tidy,
  type Backend,
  type Nd,
  type OpName,
  type OpParams,
} from '../../index.ts';
import { createReferenceBackend } from './reference-backend.ts';

export const EDGES = [-2, -1, -0.5, 0, 0.5, 1, 2];
/** The first values of a 'special' input: NaN, infinities, signed zeros, e^x overflow (100) and underflow (−200). */
export const SPECIALS = [NaN, -Infinity, Infinity, -0, 0, -1, 1, 2, 100, -200];

/** A step applied to an input before the op under test (transpose, slice, …), so it reaches the op non-trivially. */
export interface Prep<N extends OpName = OpName> {
  op: N;
  params: OpParams[N];
}

export interface InputSpec {
  shape: number[];
  /**
   * 'edge' starts with −2, −1, −0.5, 0, 0.5, 1, 2; 'special' with SPECIALS (then as 'random'); 'positive' stays in
   * (0.1, 3); 'nonzero' avoids (−0.3, 0.3); 'labels' are integers in [0, classes).
   */
  kind?: 'edge' | 'random' | 'positive' | 'nonzero' | 'labels' | 'ties' | 'special';
  classes?: number;
  /** Values that replace the first ones drawn (NaN and ±inf placed where a case needs them). */
  values?: number[];
  /** [flat index, value] pairs set after that. */
  set?: [number, number][];
  prep?: Prep[];
  /** No gradient is checked for this input. */
  noGrad?: boolean;
}

export interface OpCase<N extends OpName = OpName> {
  name: string;
  op: N;
  params: OpParams[N];
  inputs: InputSpec[];
  /** Check gradients (default: when the op is differentiable). */
  grad?: boolean;
  tol?: number;
}

export function values(spec: InputSpec, seed: number): Float64Array {
  const g = new Generator(seed);
  const n = spec.shape.reduce((p, d) => p * d, 1);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = g.uniform();
    switch (spec.kind ?? 'edge') {
      case 'edge':
        v[i] = i < EDGES.length ? EDGES[i] : Math.fround(-2 + 4 * u);
        break;
      case 'special':
        v[i] = i < SPECIALS.length ? SPECIALS[i] : Math.fround(-2 + 4 * u);
        break;
      case 'random':
        v[i] = Math.fround(-2 + 4 * u);
        break;
      case 'positive':
        v[i] = Math.fround(0.1 + 2.9 * u);
        break;
      case 'nonzero':
        v[i] = Math.fround((u < 0.5 ? -1 : 1) * (0.3 + 2 * u));
        break;
      case 'labels':
        v[i] = g.int(spec.classes ?? 2);
        break;
      case 'ties':
        v[i] = Math.round(-2 + 4 * u);
        break;
    }
  }
  spec.values?.forEach((x, i) => {
    if (i < n) v[i] = x;
  });
  for (const [i, x] of spec.set ?? []) v[i] = x;
  return v;
}

/** Applies preparation steps in the reference world. */
function prepRef(x: Nd, prep: Prep[] = []): Nd {
  return prep.reduce((acc, s) => opDef(s.op).reference([acc], s.params as never), x);
}

/** The op's float64 output for given base inputs. */
export function referenceOutput(c: OpCase, base: Nd[]): Nd {
  const ins = base.map((x, i) => prepRef(x, c.inputs[i].prep));
  return opDef(c.op).reference(ins, c.params as never);
}

/**
 * NaN and ±inf must match exactly, a float64 want beyond float32's range being the infinity it rounds to (e^100);
 * finite values within tol, relative beyond 1.
 */
const close = (got: number, want: number, tol: number): boolean =>
  Number.isFinite(Math.fround(want))
    ? Math.abs(got - want) <= tol * (1 + Math.abs(want))
    : Math.fround(want) === got || (Number.isNaN(want) && Number.isNaN(got));

const finite = (x: Nd): boolean => x.data.every(Number.isFinite);

/** The oracle for gradients where finite differences say nothing (NaN or ±inf in or out): the reference kernels. */
let referenceBackend: Backend | null = null;

interface Run {
  shape: readonly number[];
  out: Float32Array;
  grads: (Float32Array | null)[];
}

/** Runs the case's prep steps and op on `be`, and backward of Σ w·y when `doGrad`. */
async function runCase(c: OpCase, be: Backend, base: Nd[], weights: Float64Array, doGrad: boolean): Promise<Run> {
  const leaves = base.map((x, i) =>
    tensor(Float32Array.from(x.data), x.shape, { device: be, requiresGrad: doGrad && !c.inputs[i].noGrad }),
  );
  try {
    const y = tidy(() => {
      const ins = leaves.map((t, i) =>
        (c.inputs[i].prep ?? []).reduce((acc, s) => apply(s.op, [acc], s.params as never), t),
      );
      const out = apply(c.op, ins, c.params as never);
      if (doGrad) sum(mul(out, tensor(Float32Array.from(weights), out.shape, { device: be }))).backward();
      return out;
    });
    const shape = y.shape;
    const out = await y.data();
    y.dispose();
    const grads: (Float32Array | null)[] = [];
    for (const t of leaves) grads.push(t.grad ? await t.grad.data() : null);
    return { shape, out, grads };
  } finally {
    for (const t of leaves) t.dispose();
  }
}

/** Runs the case; returns a description of the first mismatch, or null when everything agrees. */
export async function checkCase(c: OpCase, be: Backend, caseSeed: number): Promise<string | null> {
  const base: Nd[] = c.inputs.map((s, i) => ({ shape: s.shape, data: values(s, caseSeed * 31 + i) }));
  const want = referenceOutput(c, base);
  const def = opDef(c.op);
  const differentiable = 'compose' in def || Boolean(def.backward);
  const doGrad = c.grad ?? differentiable;
  const weights = values({ shape: want.shape, kind: 'random' }, caseSeed + 7);
  const got = await runCase(c, be, base, weights, doGrad);
  if (got.shape.join() !== want.shape.join()) return `output shape [${got.shape}] but reference [${want.shape}]`;
  const tol = c.tol ?? 2e-5;
  for (let i = 0; i < want.data.length; i++) {
    if (!close(got.out[i], want.data[i], tol)) return `output[${i}] = ${got.out[i]}, reference ${want.data[i]}`;
  }
  if (!doGrad) return null;
  if (!base.every(finite) || !finite(want)) {
    referenceBackend ??= createReferenceBackend();
    const ref = await runCase(c, referenceBackend, base, weights, doGrad);
    for (let k = 0; k < base.length; k++) {
      const g = got.grads[k];
      const r = ref.grads[k];
      if (!r) continue;
      if (!g) return `input ${k} received no gradient`;
      for (let j = 0; j < r.length; j++) {
        if (!close(g[j], r[j], Math.max(tol, 1e-4))) return `d/dinput${k}[${j}] = ${g[j]}, reference kernels ${r[j]}`;
      }
    }
    return null;
  }
  // Central finite differences of Σ w·f(x) in float64, at up to 40 elements per input.
  const h = 1e-5;
  const loss = (b: Nd[]): number => referenceOutput(c, b).data.reduce((s, v, i) => s + v * weights[i], 0);
  for (let k = 0; k < base.length; k++) {
    if (c.inputs[k].noGrad) continue;
    const g = got.grads[k];
    if (!g) return `input ${k} received no gradient`;
    const n = base[k].data.length;
    const stride = Math.max(1, Math.floor(n / 40));
    for (let j = 0; j < n; j += stride) {
      const plus = base.map((x) => ({ shape: x.shape, data: Float64Array.from(x.data) }));
      const minus = base.map((x) => ({ shape: x.shape, data: Float64Array.from(x.data) }));
      plus[k].data[j] += h;
      minus[k].data[j] -= h;
      const fd = (loss(plus) - loss(minus)) / (2 * h);
      if (!close(g[j], fd, Math.max(tol, 1e-3))) return `d/dinput${k}[${j}] = ${g[j]}, finite difference ${fd}`;
    }
  }
  return null;
}
