// gradcheck, as torch.autograd.gradcheck: the gradients autograd computes on the device against central finite
// differences of the op's float64 reference (or, for a function without one, of the function itself in float32).

import type { Backend } from './backend.ts';
import type { Fields, Values } from './backends/layout.ts';
import { tensor } from './creation.ts';
import type { CustomOp } from './custom-op.ts';
import type { Nd } from './op.ts';
import { sum } from './ops/broadcast.ts';
import { mul } from './ops/elementwise.ts';
import { Generator } from './random.ts';
import { noGrad, tidy } from './scope.ts';
import { fmt, sizeOf, type Shape } from './shape.ts';
import type { Tensor } from './tensor-type.ts';

/** Options of `gradcheck`, as torch.autograd.gradcheck's. */
export interface GradcheckOptions {
  /** Finite-difference step [1e-6; 1e-3 when differences run in float32 on the device]. */
  eps?: number;
  /** Absolute tolerance [1e-5; 1e-2 in float32]: |analytical − numerical| ≤ atol + rtol·|numerical|. */
  atol?: number;
  /** Relative tolerance [1e-3; 1e-2 in float32]. */
  rtol?: number;
  /** Throw a GradcheckError on a mismatch (true, as PyTorch) or resolve to false. */
  raiseException?: boolean;
  /** Seed of the random output weights w in the checked scalar Σ w·f(x) [0]. */
  seed?: number;
}

/** A gradient that disagrees with its finite difference; the message names the input, element and both values. */
export class GradcheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GradcheckError';
  }
}

/** A function of tensors, as gradcheck takes it. */
export type TensorFn = (...inputs: Tensor[]) => Tensor;

/** Whether `f` is a custom op (it carries its spec and reference). */
export function isCustomOp(f: unknown): f is CustomOp<Fields> {
  return typeof f === 'function' && 'spec' in f && typeof (f as { reference?: unknown }).reference === 'function';
}

/** Deterministic weights in [−1, 1), exactly representable in float32. */
export function outputWeights(shape: Shape, seed: number): Float64Array {
  const g = new Generator(seed);
  return Float64Array.from({ length: sizeOf(shape) }, () => Math.fround(2 * g.uniform() - 1));
}

/** The output, its shape and the input gradients of Σ w·call(x) from autograd on `device`, read back. */
export async function autogradOf(
  call: (xs: Tensor[]) => Tensor,
  values: readonly Nd[],
  requires: readonly boolean[],
  device: Backend,
  seed: number,
): Promise<{ out: Float32Array; shape: Shape; weights: Float64Array; grads: (Float32Array | null)[] }> {
  const leaves = values.map((x, i) =>
    tensor(Float32Array.from(x.data), x.shape, { device, requiresGrad: requires[i] }),
  );
  try {
    let weights: Float64Array = new Float64Array(0);
    const y = tidy(() => {
      const out = call(leaves);
      weights = outputWeights(out.shape, seed);
      if (requires.some(Boolean)) sum(mul(out, tensor(Float32Array.from(weights), out.shape, { device }))).backward();
      return out;
    });
    const out = await y.data();
    y.dispose();
    const grads: (Float32Array | null)[] = [];
    for (const t of leaves) grads.push(t.grad ? await t.grad.data() : null);
    return { out, shape: y.shape, weights, grads };
  } finally {
    for (const t of leaves) t.dispose();
  }
}

/** A scalar function of float64 inputs (the checked Σ w·f(x)); may be async when it runs on a device. */
export type Loss = (xs: readonly Nd[]) => number | Promise<number>;

/**
 * Compares the analytical gradient of input k with central differences (loss(x + eps·e_j) − loss(x − eps·e_j))/2eps
 * at the elements `at` (all by default); returns the first mismatch as a message, or null.
 */
export async function compareGradient(
  loss: Loss,
  base: readonly Nd[],
  k: number,
  analytic: Float32Array | null,
  o: { eps: number; atol: number; rtol: number; at?: readonly number[]; name?: string },
): Promise<string | null> {
  const x = base[k];
  const at = o.at ?? Array.from(x.data, (_, j) => j);
  for (const j of at) {
    const shifted = (d: number): Nd[] =>
      base.map((b, i) => {
        if (i !== k) return b;
        const data = Float64Array.from(b.data);
        data[j] += d;
        return { shape: b.shape, data };
      });
    const numerical = ((await loss(shifted(o.eps))) - (await loss(shifted(-o.eps)))) / (2 * o.eps);
    const analytical = analytic ? analytic[j] : 0;
    const ok =
      Math.abs(analytical - numerical) <= o.atol + o.rtol * Math.abs(numerical) ||
      (Number.isNaN(numerical) && Number.isNaN(analytical));
    if (!ok) {
      return (
        `${o.name ?? 'gradcheck'}: gradient mismatch for input ${k} (shape ${fmt(x.shape)}) at element ${j}: ` +
        `analytical ${analytical}${analytic ? '' : ' (no gradient)'}, numerical ${numerical} ` +
        `(|diff| ${Math.abs(analytical - numerical).toExponential(2)} > atol ${o.atol} + rtol ${o.rtol}·|numerical|)`
      );
    }
  }
  return null;
}

/** Σ w·y of a float64 reference output, checking its shape against the device output's. */
export function referenceLoss(reference: (xs: readonly Nd[]) => Nd, shape: Shape, w: Float64Array): Loss {
  return (xs) => {
    const y = reference(xs);
    if (y.shape.length !== shape.length || y.shape.some((d, i) => d !== shape[i])) {
      throw new GradcheckError(`gradcheck: the reference returns shape ${fmt(y.shape)}, the op ${fmt(shape)}`);
    }
    return y.data.reduce((s, v, i) => s + v * w[i], 0);
  };
}

/** Σ w·fn(x) run in float32 on `device`, for functions without a reference. */
function deviceLoss(fn: TensorFn, device: Backend, w: Float64Array): Loss {
  return async (xs) => {
    const l = noGrad(() =>
      tidy(() => {
        const ins = xs.map((x) => tensor(Float32Array.from(x.data), x.shape, { device }));
        const y = fn(...ins);
        return sum(mul(y, tensor(Float32Array.from(w), y.shape, { device })));
      }),
    );
    try {
      return await l.item();
    } finally {
      l.dispose();
    }
  };
}

/**
 * Checks the gradients of `fn` at `inputs` as torch.autograd.gradcheck: for every input with requiresGrad, the
 * gradient autograd computes on the inputs' device against central finite differences of a float64 reference — the
 * op's own for a custom op, `opts.reference` for another function — or, without one, of `fn` itself in float32 on
 * the device (with looser defaults). It checks the scalar Σ w·fn(x) with fixed random weights w, every element of
 * every input (PyTorch's fast mode projects the same way). The inputs themselves are left untouched.
 * @returns true; false on a mismatch when raiseException is false.
 * @throws GradcheckError naming the input, the element, the analytical and numerical values.
 * @example await gradcheck(swish, [randn([3, 4], { requiresGrad: true })], { params: { beta: 1 } })
 */
export async function gradcheck<F extends Fields>(
  op: CustomOp<F>,
  inputs: readonly Tensor[],
  opts?: GradcheckOptions & { params?: Values<F> },
): Promise<boolean>;
export async function gradcheck(
  fn: TensorFn,
  inputs: readonly Tensor[],
  opts?: GradcheckOptions & { reference?: (inputs: readonly Nd[]) => Nd },
): Promise<boolean>;
export async function gradcheck(
  fn: TensorFn | CustomOp<Fields>,
  inputs: readonly Tensor[],
  opts: GradcheckOptions & { params?: Values<Fields>; reference?: (inputs: readonly Nd[]) => Nd } = {},
): Promise<boolean> {
  if (inputs.length === 0) throw new TypeError('gradcheck: pass the input tensors as an array');
  const requires = inputs.map((t) => t.requiresGrad);
  if (!requires.some(Boolean)) {
    throw new GradcheckError('gradcheck: expected at least one input tensor to require gradient (requireGrad())');
  }
  const device = inputs[0].backend;
  const op = isCustomOp(fn) ? fn : null;
  const reference = op ? (xs: readonly Nd[]) => op.reference(xs, opts.params) : opts.reference;
  const exact = reference !== undefined;
  const eps = opts.eps ?? (exact ? 1e-6 : 1e-3);
  const atol = opts.atol ?? (exact ? 1e-5 : 1e-2);
  const rtol = opts.rtol ?? (exact ? 1e-3 : 1e-2);
  const values: Nd[] = [];
  for (const t of inputs) values.push({ shape: [...t.shape], data: Float64Array.from(await t.data()) });
  const call = op ? (xs: Tensor[]) => op.run(xs, opts.params) : (xs: Tensor[]) => (fn as TensorFn)(...xs);
  const { shape, weights, grads } = await autogradOf(call, values, requires, device, opts.seed ?? 0);
  const loss = reference ? referenceLoss(reference, shape, weights) : deviceLoss((...xs) => call(xs), device, weights);
  for (let k = 0; k < inputs.length; k++) {
    if (!requires[k]) continue;
    const err = await compareGradient(loss, values, k, grads[k], { eps, atol, rtol });
    if (err) {
      if (opts.raiseException === false) return false;
      throw new GradcheckError(err);
    }
  }
  return true;
}
