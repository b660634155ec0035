// The PyTorch op oracle (test/fixtures/torch-ops.safetensors, written by make_fixtures.py): loads its cases and runs
// one through the engine's public functions on a backend, checking the output, every input gradient and in-place state.

import { readFileSync } from 'node:fs';
import {
  add,
  avgPool2d,
  batchNorm,
  batchNormRelu,
  broadcastTo,
  concat,
  conv2d,
  crossEntropy,
  div,
  dropout,
  embed,
  eq,
  exp,
  gate,
  ge,
  gt,
  le,
  log,
  logSoftmax,
  lt,
  matmul,
  matmulT,
  max,
  maximum,
  min,
  minimum,
  maxPool2d,
  mean,
  mul,
  ne,
  neg,
  oneHot,
  pad,
  permute,
  pow,
  relu,
  reshape,
  scale,
  shift,
  slice,
  softmax,
  sqrt,
  step,
  sub,
  sum,
  sumTo,
  tensor,
  tidy,
  transpose,
  where,
  type Backend,
  type BatchNormOptions,
  type Conv2dOptions,
  type OpName,
  type Pool2dOptions,
  type Tensor,
} from '../../index.ts';
import { decodeSafetensors } from '../../nn/safetensors.ts';

export interface TorchCase {
  key: string;
  /** The op-case name (test/op-cases.ts) it mirrors, or a name of its own. */
  name: string;
  op: OpName;
  /** The public function called as fn(...inputs, ...args); `prep` steps are calls too. */
  fn: string;
  args: unknown[];
  inputs: { shape: number[]; prep: [string, ...unknown[]][]; grad: boolean }[];
  grad: boolean;
  /** Inputs the op updates in place; their contents afterwards are checked. */
  after: number[];
  /** 'dropout': each element is 0 or PyTorch's kept value x/(1 − p), and the dropped fraction is near p. */
  check: 'values' | 'dropout';
}

type Call = (x: Tensor[], a: readonly unknown[]) => Tensor;
const n = (v: unknown): number => v as number;
const ns = (v: unknown): number[] => v as number[];
const unary =
  (f: (x: Tensor) => Tensor): Call =>
  ([x]) =>
    f(x);
const binary =
  (f: (a: Tensor, b: Tensor) => Tensor): Call =>
  ([a, b]) =>
    f(a, b);
const reduce =
  (f: (x: Tensor, axes: number[], keep: boolean) => Tensor): Call =>
  ([x], [a, k]) =>
    f(x, ns(a), k as boolean);

/** The engine's public functions by name, as the fixture calls them. */
const CALLS: Record<string, Call> = {
  neg: unary(neg),
  exp: unary(exp),
  log: unary(log),
  sqrt: unary(sqrt),
  relu: unary(relu),
  step: unary(step),
  pow: ([x], [e]) => pow(x, n(e)),
  scale: ([x], [f]) => scale(x, n(f)),
  shift: ([x], [o]) => shift(x, n(o)),
  add: binary(add),
  sub: binary(sub),
  mul: binary(mul),
  div: binary(div),
  maximum: binary(maximum),
  minimum: binary(minimum),
  eq: binary(eq),
  ne: binary(ne),
  lt: binary(lt),
  le: binary(le),
  gt: binary(gt),
  ge: binary(ge),
  gate: binary(gate),
  where: ([c, a, b]) => where(c, a, b),
  sum: reduce(sum),
  max: reduce(max),
  min: reduce(min),
  mean: reduce(mean),
  sumTo: ([x], [s]) => sumTo(x, ns(s)),
  reshape: ([x], [s]) => reshape(x, ns(s)),
  permute: ([x], [a]) => permute(x, ns(a)),
  transpose: ([x], [a, b]) => transpose(x, n(a), n(b)),
  broadcastTo: ([x], [s]) => broadcastTo(x, ns(s)),
  slice: ([x], [b, e, s]) => slice(x, ns(b), ns(e), ns(s)),
  embed: ([x], [s, b, st, v]) => embed(x, ns(s), ns(b), ns(st), n(v)),
  pad: ([x], [w, v]) => pad(x, w as [number, number][], n(v)),
  concat: (xs, [axis]) => concat(xs, n(axis)),
  matmul: binary(matmul),
  matmulT: ([a, b], [ta, tb]) => matmulT(a, b, ta as boolean, tb as boolean),
  softmax: ([x], [a]) => softmax(x, n(a)),
  logSoftmax: ([x], [a]) => logSoftmax(x, n(a)),
  oneHot: ([x], [c]) => oneHot(x, n(c)),
  crossEntropy: ([x, y], [r]) => crossEntropy(x, y, r as 'mean' | 'sum' | 'none'),
  conv2d: ([x, w, b], [o]) => conv2d(x, w, b ?? null, o as Conv2dOptions),
  maxPool2d: ([x], [k, o]) => maxPool2d(x, k as [number, number], o as Pool2dOptions),
  avgPool2d: ([x], [k, o]) => avgPool2d(x, k as [number, number], o as Pool2dOptions & { countIncludePad: boolean }),
  batchNorm: ([x, g, b, m, v], [o]) => batchNorm(x, g, b, m, v, o as BatchNormOptions),
  batchNormRelu: ([x, g, b, m, v], [o]) => batchNormRelu(x, g, b, m, v, o as BatchNormOptions),
  dropout: ([x], [p, seed]) => dropout(x, n(p), n(seed)),
};

export interface TorchFixture {
  cases: TorchCase[];
  torch: string;
  /** A stored tensor as float64 (inputs are float32-exact; expectations are PyTorch's float64). */
  get(key: string): { shape: number[]; data: Float64Array };
}

/** Reads test/fixtures/torch-ops.safetensors (from the bundled test's build/test/ directory). */
export function loadTorchFixture(): TorchFixture {
  const path = new URL('../../test/fixtures/torch-ops.safetensors', import.meta.url).pathname;
  const file = decodeSafetensors(readFileSync(path), path);
  const byName = new Map(file.tensors);
  return {
    cases: JSON.parse(file.metadata.cases) as TorchCase[],
    torch: file.metadata.torch,
    get(key) {
      const t = byName.get(key);
      if (!t) throw new Error(`${path}: no tensor ${key}`);
      if (t.dtype !== 'F32' && t.dtype !== 'F64') throw new Error(`${path}: ${key} is ${t.dtype}, expected F32 or F64`);
      return { shape: t.shape, data: Float64Array.from(t.data) };
    },
  };
}

/**
 * Largest |got − want| / (|want| + s) over a tensor, s = max(rms of the finite wants, 1e-3): relative for large
 * elements, relative to the tensor's scale for elements that cancel to near 0 (a float32 sum of O(1) terms cannot do
 * better). A NaN or ±inf want (or one beyond float32's range: e^100 is +inf there) must be matched exactly, and a
 * non-finite got for a finite want is an infinite error.
 */
export function scaledError(got: Float32Array, want: Float64Array): { err: number; at: number } {
  let ss = 0;
  let count = 0;
  for (const v of want) {
    const w = inFloat32(v);
    if (!Number.isFinite(w)) continue;
    ss += w * w;
    count++;
  }
  const s = Math.max(Math.sqrt(ss / Math.max(count, 1)), 1e-3);
  let worst = { err: 0, at: -1 };
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], inFloat32(want[i])];
    const same = g === w || (Number.isNaN(g) && Number.isNaN(w));
    const e = !Number.isFinite(w) || !Number.isFinite(g) ? (same ? 0 : Infinity) : Math.abs(g - w) / (Math.abs(w) + s);
    if (e > worst.err) worst = { err: e, at: i };
  }
  return worst;
}

/** A float64 expectation as float32 sees it: the infinity it rounds to beyond float32's range, else itself. */
const inFloat32 = (w: number): number => (Number.isFinite(Math.fround(w)) ? w : Math.fround(w));

export interface CaseResult {
  /** The first failure, or null. */
  failure: string | null;
  /** The largest scaled error over the output, gradients and state. */
  worst: number;
}

/** Runs one fixture case on `be` and compares everything against PyTorch within `tol` (see scaledError). */
export async function runTorchCase(fx: TorchFixture, c: TorchCase, be: Backend, tol: number): Promise<CaseResult> {
  const leaves = c.inputs.map((s, k) =>
    tensor(Float32Array.from(fx.get(`${c.key}.in${k}`).data), s.shape, { device: be, requiresGrad: c.grad && s.grad }),
  );
  const dy = fx.get(`${c.key}.dy`).data;
  const want = fx.get(`${c.key}.out`);
  const got: { what: string; data: Float32Array; want: Float64Array }[] = [];
  let outShape: readonly number[] = [];
  try {
    const y = tidy(() => {
      const ins = leaves.map((t, k) => c.inputs[k].prep.reduce((x, [f, ...a]) => CALLS[f]([x], a), t));
      const out = CALLS[c.fn](ins, c.args);
      if (c.grad) out.backward(tensor(Float32Array.from(dy), out.shape, { device: be }));
      return out;
    });
    outShape = y.shape;
    got.push({ what: 'output', data: await y.data(), want: want.data });
    y.dispose();
    for (const [k, s] of c.inputs.entries()) {
      if (!s.grad) continue;
      const g = leaves[k].grad;
      if (!g) return { failure: `input ${k} received no gradient`, worst: Infinity };
      got.push({ what: `d/dinput${k}`, data: await g.data(), want: fx.get(`${c.key}.grad${k}`).data });
    }
    for (const k of c.after) {
      const after = fx.get(`${c.key}.after${k}`).data;
      got.push({ what: `input ${k} after the op`, data: await leaves[k].data(), want: after });
    }
  } finally {
    for (const t of leaves) t.dispose();
  }
  if (outShape.join() !== want.shape.join()) {
    return { failure: `output shape [${outShape}], PyTorch [${want.shape}]`, worst: Infinity };
  }
  let worst = 0;
  for (const r of got) {
    if (r.data.length !== r.want.length) {
      return { failure: `${r.what}: ${r.data.length} elements, PyTorch ${r.want.length}`, worst: Infinity };
    }
    const e = c.check === 'dropout' ? droppedOrKept(r.data, r.want, got[0].data) : scaledError(r.data, r.want);
    worst = Math.max(worst, e.err);
    if (e.err > tol) return { failure: `${r.what}[${e.at}] = ${r.data[e.at]}, PyTorch ${r.want[e.at]}`, worst };
  }
  if (c.check === 'dropout') {
    const failure = droppedFraction(got[0].data, n(c.args[0]));
    if (failure) return { failure, worst };
  }
  return { failure: null, worst };
}

/** Dropout: where the forward output is 0 the element was dropped (inputs are nonzero), so 0 is expected exactly. */
function droppedOrKept(got: Float32Array, kept: Float64Array, out: Float32Array): { err: number; at: number } {
  const masked = Float64Array.from(kept, (v, i) => (out[i] === 0 ? 0 : v));
  return scaledError(got, masked);
}

/** The dropped fraction is within 4 binomial standard deviations of p. */
function droppedFraction(out: Float32Array, p: number): string | null {
  const dropped = out.reduce((s, v) => s + (v === 0 ? 1 : 0), 0) / out.length;
  const bound = 4 * Math.sqrt((p * (1 - p)) / out.length);
  if (Math.abs(dropped - p) <= bound) return null;
  return `dropped fraction ${dropped.toFixed(4)}, expected ${p} ± ${bound.toFixed(4)}`;
}

/**
 * The scaled-error tolerance by op (see scaledError): 1e-6 (~8 float32 ulps) for element-wise, movement and dropout
 * ops; 5e-6 for reductions, softmax, cross-entropy and pooling (sums of up to 700 terms); 1e-5 for matmul, conv2d and
 * batch norm (dot products of up to 65 terms, batch statistics). The largest errors seen are 5-30× below these.
 */
export function torchTolerance(op: OpName): number {
  return TOL[op] ?? 1e-6;
}
const TOL: Partial<Record<OpName, number>> = {
  sum: 5e-6,
  max: 5e-6,
  min: 5e-6,
  mean: 5e-6,
  sumTo: 5e-6,
  softmax: 5e-6,
  logSoftmax: 5e-6,
  crossEntropy: 5e-6,
  pool2d: 5e-6,
  matmul: 1e-5,
  conv2d: 1e-5,
  batchNorm: 1e-5,
  batchNormRelu: 1e-5,
};
