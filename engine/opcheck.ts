// opcheck, after torch.library.opcheck: a custom op on every backend against its float64 reference and against each
// other, with edge values, broadcasting (the cases' shapes), inputs that arrive through a transpose, gradients
// against finite differences and a live-buffer count — the checks the project's own op-case tests make.

import type { Backend, DeviceName } from './backend.ts';
import type { Fields, Values } from './backends/layout.ts';
import type { CustomOp } from './custom-op.ts';
import { backendNamed } from './device.ts';
import { autogradOf, compareGradient, referenceLoss } from './gradcheck.ts';
import type { Nd } from './op.ts';
import { transpose } from './ops/movement.ts';
import { Generator } from './random.ts';
import { fmt, sizeOf } from './shape.ts';
import type { Tensor } from './tensor-type.ts';

/** The values at the start of every 'edge' input: the kinks and domain edges ops get wrong. */
export const EDGE_VALUES: readonly number[] = [-2, -1, -0.5, 0, 0.5, 1, 2];

/** One input of a case: its shape as the op sees it, and its values. */
export interface OpcheckInput {
  shape: readonly number[];
  /**
   * 'edge' [default] starts with −2, −1, −0.5, 0, 0.5, 1, 2 then draws from [−2, 2); 'random' draws from [−2, 2);
   * 'positive' from (0.1, 3); 'nonzero' avoids (−0.3, 0.3); 'ties' gives integers in [−2, 2].
   */
  kind?: 'edge' | 'random' | 'positive' | 'nonzero' | 'ties';
  /** Explicit values (rounded to float32), instead of `kind`. */
  values?: ArrayLike<number>;
  /** Leave this input out of the gradient check (labels, masks). */
  noGrad?: boolean;
}

/** One case: the inputs, the parameters, and whether gradients are checked. */
export interface OpcheckCase<F extends Fields> {
  name?: string;
  inputs: readonly OpcheckInput[];
  params?: Values<F>;
  /** Check gradients [when the op has a backward]. */
  grad?: boolean;
}

export interface OpcheckOptions {
  /** Where to run [every open backend the op has a kernel for]. */
  devices?: readonly (Backend | DeviceName)[];
  /** Forward tolerances: |got − want| ≤ atol + rtol·|want| [2e-5, 2e-5]. */
  atol?: number;
  rtol?: number;
  /** Gradient check: finite-difference step and tolerances [1e-6, 1e-5, 1e-3, as gradcheck]. */
  grad?: { eps?: number; atol?: number; rtol?: number };
  /** Also run each case with every input of rank ≥ 2 arriving through a transpose of its last two dims [true]. */
  transposed?: boolean;
  /** Seed of the generated values [0]. */
  seed?: number;
}

/** The outcome of one check. */
export interface OpcheckResult {
  case: string;
  device: string;
  test: 'forward' | 'gradient' | 'agreement' | 'leak';
  ok: boolean;
  detail: string;
}

export interface OpcheckReport {
  results: OpcheckResult[];
  passed: number;
  failed: number;
  /** One line: op, checks passed, devices. */
  summary: string;
}

/** An opcheck with failures; `report` holds every result. */
export class OpcheckError extends Error {
  constructor(readonly report: OpcheckReport) {
    const bad = report.results.filter((r) => !r.ok);
    const lines = bad.slice(0, 8).map((r) => `  ${r.case} on ${r.device}, ${r.test}: ${r.detail}`);
    const more = bad.length > 8 ? [`  (and ${bad.length - 8} more)`] : [];
    super([report.summary, ...lines, ...more].join('\n'));
    this.name = 'OpcheckError';
  }
}

/** Values of one input, float32-exact, from its kind and a seed. */
export function inputValues(spec: OpcheckInput, seed: number): Float64Array {
  const n = sizeOf(spec.shape);
  if (spec.values) {
    if (spec.values.length !== n) throw new Error(`opcheck: ${spec.values.length} values for shape ${fmt(spec.shape)}`);
    return Float64Array.from(spec.values, Math.fround);
  }
  const g = new Generator(seed);
  return Float64Array.from({ length: n }, (_, i) => {
    const u = g.uniform();
    switch (spec.kind ?? 'edge') {
      case 'edge':
        return i < EDGE_VALUES.length ? EDGE_VALUES[i] : Math.fround(-2 + 4 * u);
      case 'random':
        return Math.fround(-2 + 4 * u);
      case 'positive':
        return Math.fround(0.1 + 2.9 * u);
      case 'nonzero':
        return Math.fround((u < 0.5 ? -1 : 1) * (0.3 + 2 * u));
      case 'ties':
        return Math.round(-2 + 4 * u);
    }
  });
}

/** x with its last two dimensions swapped, in float64. */
function transposeNd(x: Nd): Nd {
  const r = x.shape.length;
  const [rows, cols] = [x.shape[r - 2], x.shape[r - 1]];
  const data = new Float64Array(x.data.length);
  for (let b = 0; b < x.data.length; b += rows * cols) {
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[b + j * rows + i] = x.data[b + i * cols + j];
  }
  return { shape: [...x.shape.slice(0, -2), cols, rows], data };
}

const close = (got: number, want: number, atol: number, rtol: number): boolean =>
  Number.isNaN(want) ? Number.isNaN(got) : got === want || Math.abs(got - want) <= atol + rtol * Math.abs(want);

function firstMismatch(got: Float32Array, want: ArrayLike<number>, atol: number, rtol: number, what: string): string {
  for (let i = 0; i < want.length; i++) {
    if (!close(got[i], want[i], atol, rtol)) return `${what}[${i}] = ${got[i]}, expected ${want[i]}`;
  }
  return '';
}

/** Elements of an input the gradient check visits: all of them up to 64, else 64 spread evenly. */
const sample = (n: number): number[] => {
  const stride = Math.max(1, Math.ceil(n / 64));
  return Array.from({ length: Math.ceil(n / stride) }, (_, i) => i * stride);
};

/** The devices to check: those given, else every open backend the op has a kernel for. */
function devicesFor(op: CustomOp<Fields>, given?: readonly (Backend | DeviceName)[]): Backend[] {
  if (given) return given.map((d) => (typeof d === 'string' ? backendNamed(d) : d));
  const open: Backend[] = [];
  for (const name of op.devices) {
    try {
      open.push(backendNamed(name));
    } catch {
      /* not opened: not checked */
    }
  }
  if (!open.length) throw new Error(`opcheck: no device open for '${op.name}' (${op.devices}); await setDevice first`);
  return open;
}

/**
 * Checks a custom op as torch.library.opcheck does, with the project's op-case checks: on every device, for every
 * case (and again with rank ≥ 2 inputs arriving through a transpose), the output against the float64 reference,
 * the gradients of Σ w·op(x) against central differences of the reference, the outputs of the devices against
 * each other, and that no device buffer is left behind. Compiles the op on each device first.
 * @returns the report when every check passed.
 * @throws OpcheckError listing the failures (with the full report attached).
 */
export async function opcheck<F extends Fields>(
  op: CustomOp<F>,
  cases: readonly OpcheckCase<F>[],
  opts: OpcheckOptions = {},
): Promise<OpcheckReport> {
  const anyOp = op as unknown as CustomOp<Fields>;
  const devices = devicesFor(anyOp, opts.devices);
  for (const be of devices) await op.compile(be);
  const atol = opts.atol ?? 2e-5;
  const rtol = opts.rtol ?? 2e-5;
  const g = { eps: opts.grad?.eps ?? 1e-6, atol: opts.grad?.atol ?? 1e-5, rtol: opts.grad?.rtol ?? 1e-3 };
  const results: OpcheckResult[] = [];
  const seed = opts.seed ?? 0;
  for (const [ci, c] of cases.entries()) {
    const base = c.inputs.map((s, i) => ({ shape: [...s.shape], data: inputValues(s, seed * 7919 + ci * 31 + i) }));
    const variants = [c.inputs.map(() => false)];
    if (opts.transposed !== false && c.inputs.some((s) => s.shape.length >= 2)) {
      variants.push(c.inputs.map((s) => s.shape.length >= 2));
    }
    for (const flip of variants) {
      const label =
        (c.name ?? `${op.name} ${c.inputs.map((s) => fmt(s.shape)).join('×')}`) +
        (flip.some(Boolean) ? ' (inputs through a transpose)' : '');
      const leaves = base.map((x, i) => (flip[i] ? transposeNd(x) : x));
      const reference = (xs: readonly Nd[]): Nd =>
        op.reference(
          xs.map((x, i) => (flip[i] ? transposeNd(x) : x)),
          c.params,
        );
      const call = (xs: Tensor[]): Tensor =>
        op.run(
          xs.map((x, i) => (flip[i] ? transpose(x, -2, -1) : x)),
          c.params,
        );
      const doGrad = c.grad ?? op.spec.backward !== undefined;
      const requires = c.inputs.map((s) => doGrad && !s.noGrad);
      const outs: { device: string; out: Float32Array }[] = [];
      for (const be of devices) {
        const add = (test: OpcheckResult['test'], detail: string): void => {
          results.push({ case: label, device: be.name, test, ok: detail === '', detail });
        };
        const before = be.liveBuffers();
        try {
          const want = reference(leaves);
          const got = await autogradOf(call, leaves, requires, be, seed + ci);
          const shapeErr =
            fmt(got.shape) === fmt(want.shape) ? '' : `output shape ${fmt(got.shape)}, reference ${fmt(want.shape)}`;
          add('forward', shapeErr || firstMismatch(got.out, want.data, atol, rtol, 'output'));
          outs.push({ device: be.name, out: got.out });
          if (doGrad && !shapeErr) {
            const loss = referenceLoss(reference, got.shape, got.weights);
            let err = '';
            for (let k = 0; k < leaves.length && !err; k++) {
              if (!requires[k]) continue;
              const o = { ...g, at: sample(leaves[k].data.length), name: 'opcheck' };
              err = (await compareGradient(loss, leaves, k, got.grads[k], o)) ?? '';
            }
            add('gradient', err);
          }
        } catch (e) {
          add('forward', `threw ${(e as Error).message}`);
        }
        const after = be.liveBuffers();
        add('leak', after === before ? '' : `${after - before} device buffers left behind`);
      }
      for (const o of outs.slice(1)) {
        const err = firstMismatch(o.out, outs[0].out, atol, rtol, `output vs ${outs[0].device}`);
        results.push({ case: label, device: o.device, test: 'agreement', ok: err === '', detail: err });
      }
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  const names = devices.map((d) => d.name).join(', ');
  const summary =
    `opcheck ${op.name}: ${results.length - failed}/${results.length} checks passed over ${cases.length} ` +
    `case${cases.length === 1 ? '' : 's'} on ${names}`;
  const report = { results, passed: results.length - failed, failed, summary };
  if (failed) throw new OpcheckError(report);
  return report;
}
