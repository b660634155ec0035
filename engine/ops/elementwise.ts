// Element-wise ops: unary maps, broadcasting binary arithmetic and comparisons, and where.
// Each definition holds its shape rule, forward kernel call, backward in terms of other ops, and float64 reference.

import type { BinaryOp, KernelName, KernelParams, UnaryOp } from '../backend.ts';
import { binaryFn, unaryFn } from '../kernel-reference.ts';
import { ndMap } from '../nd.ts';
import { apply, type OpParams, type PrimitiveDef } from '../op.ts';
import { broadcastShapes, broadcastStrides, coalesce, stridesOf, type Shape } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { sumTo } from './reduce.ts';

/** Runs a kernel writing a fresh tensor of `shape` (skipped when it is empty). */
export function runKernel<K extends KernelName>(kernel: K, inputs: Tensor[], shape: Shape, be: Tensor['backend'], p: KernelParams[K]): Tensor {
  const out = Tensor.empty(shape, be);
  if (out.size > 0) be.run(kernel, inputs.map((t) => t.buf(kernel)), out.buf(kernel), p);
  return out;
}

// ---- unary ------------------------------------------------------------------------------------------------------

type UnaryName = UnaryOp;
type UnaryBackward<N extends UnaryName> = (dy: Tensor, x: Tensor, out: Tensor, p: OpParams[N]) => Tensor;

function alphaOf(op: UnaryOp, p: object): number {
  if (op === 'pow') return (p as OpParams['pow']).exponent;
  if (op === 'scale') return (p as OpParams['scale']).factor;
  if (op === 'shift') return (p as OpParams['shift']).offset;
  return 0;
}

function unaryDef<N extends UnaryName>(op: N, backward?: UnaryBackward<N>): PrimitiveDef<OpParams[N]> {
  return {
    shape: ([x]) => x,
    forward: ([x], shape, p) => runKernel('unary', [x], shape, x.backend, { op, size: x.size, alpha: alphaOf(op, p) }),
    backward: backward && ((dy, [x], out, p) => [backward(dy, x, out, p)]),
    reference: ([x], p) => ndMap([x], unaryFn(op, alphaOf(op, p))),
  };
}

export const unaryDefs = {
  neg: unaryDef('neg', (dy) => neg(dy)),
  exp: unaryDef('exp', (dy, _x, out) => mul(dy, out)),
  log: unaryDef('log', (dy, x) => div(dy, x)),
  sqrt: unaryDef('sqrt', (dy, _x, out) => div(dy, scale(out, 2))),
  relu: unaryDef('relu', (dy, x) => gate(dy, x)),
  step: unaryDef('step'),
  pow: unaryDef('pow', (dy, x, _out, p) => mul(dy, scale(pow(x, p.exponent - 1), p.exponent))),
  scale: unaryDef('scale', (dy, _x, _out, p) => scale(dy, p.factor)),
  shift: unaryDef('shift', (dy) => dy),
};

export const neg = (x: Tensor): Tensor => apply('neg', [x], {});
export const exp = (x: Tensor): Tensor => apply('exp', [x], {});
export const log = (x: Tensor): Tensor => apply('log', [x], {});
export const sqrt = (x: Tensor): Tensor => apply('sqrt', [x], {});
/** max(x, 0); its gradient at exactly 0 is 0. */
export const relu = (x: Tensor): Tensor => apply('relu', [x], {});
/** 1 where x > 0, else 0 (not differentiable). */
export const step = (x: Tensor): Tensor => apply('step', [x], {});
/** x raised to a scalar power. */
export const pow = (x: Tensor, exponent: number): Tensor => apply('pow', [x], { exponent });
/** x · factor. */
export const scale = (x: Tensor, factor: number): Tensor => apply('scale', [x], { factor });
/** x + offset. */
export const shift = (x: Tensor, offset: number): Tensor => apply('shift', [x], { offset });

// ---- binary -----------------------------------------------------------------------------------------------------

type Grads = (dy: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor, Tensor];

function binaryDef(op: BinaryOp, grads?: Grads): PrimitiveDef<Record<never, never>> {
  return {
    shape: ([a, b]) => broadcastShapes(op, a, b),
    forward([a, b], shape) {
      const c = coalesce(op, shape, [stridesOf(shape), broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
      return runKernel('binary', [a, b], shape, a.backend, { op, shape: c.shape, aStrides: c.strides[1], bStrides: c.strides[2] });
    },
    backward: grads && ((dy, [a, b], out) => {
      const [ga, gb] = grads(dy, a, b, out);
      return [sumTo(ga, a.shape), sumTo(gb, b.shape)];
    }),
    reference: (inputs) => ndMap(inputs, binaryFn(op)),
  };
}

export const binaryDefs = {
  add: binaryDef('add', (dy) => [dy, dy]),
  sub: binaryDef('sub', (dy) => [dy, neg(dy)]),
  mul: binaryDef('mul', (dy, a, b) => [mul(dy, b), mul(dy, a)]),
  div: binaryDef('div', (dy, _a, b, out) => [div(dy, b), neg(mul(dy, div(out, b)))]),
  // Ties split the gradient evenly, as torch.maximum does.
  maximum: binaryDef('maximum', (dy, a, b) => {
    const wa = add(gt(a, b), scale(eq(a, b), 0.5));
    const ga = mul(dy, wa);
    return [ga, sub(dy, ga)];
  }),
  eq: binaryDef('eq'),
  ne: binaryDef('ne'),
  lt: binaryDef('lt'),
  le: binaryDef('le'),
  gt: binaryDef('gt'),
  ge: binaryDef('ge'),
  // The gradient in b is 0 wherever it exists (b ≠ 0).
  gate: binaryDef('gate', (dy, _a, b) => [gate(dy, b), scale(dy, 0)]),
};

/** A number operand becomes a 0-d tensor on the other operand's device. */
function lift(x: Tensor | number, like: Tensor | number): Tensor {
  if (x instanceof Tensor) return x;
  if (!(like instanceof Tensor)) throw new TypeError('binary op: at least one operand must be a tensor');
  return runKernel('fill', [], [], like.backend, { size: 1, value: x });
}

function binary(op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  return apply(op, [lift(a, b), lift(b, a)], {});
}

/** a + b with broadcasting; a number operand is applied without a kernel of its own. */
export const add = (a: Tensor | number, b: Tensor | number): Tensor =>
  typeof b === 'number' && a instanceof Tensor ? shift(a, b) : typeof a === 'number' && b instanceof Tensor ? shift(b, a) : binary('add', a, b);
export const sub = (a: Tensor | number, b: Tensor | number): Tensor =>
  typeof b === 'number' && a instanceof Tensor ? shift(a, -b) : binary('sub', a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor =>
  typeof b === 'number' && a instanceof Tensor ? scale(a, b) : typeof a === 'number' && b instanceof Tensor ? scale(b, a) : binary('mul', a, b);
export const div = (a: Tensor | number, b: Tensor | number): Tensor =>
  typeof b === 'number' && a instanceof Tensor ? scale(a, 1 / b) : binary('div', a, b);
/** Element-wise maximum; at ties each side gets half the gradient. */
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary('maximum', a, b);
export const eq = (a: Tensor | number, b: Tensor | number): Tensor => binary('eq', a, b);
export const ne = (a: Tensor | number, b: Tensor | number): Tensor => binary('ne', a, b);
export const lt = (a: Tensor | number, b: Tensor | number): Tensor => binary('lt', a, b);
export const le = (a: Tensor | number, b: Tensor | number): Tensor => binary('le', a, b);
export const gt = (a: Tensor | number, b: Tensor | number): Tensor => binary('gt', a, b);
export const ge = (a: Tensor | number, b: Tensor | number): Tensor => binary('ge', a, b);
/** a where b > 0, else 0 (with broadcasting): ReLU's backward in one kernel. */
export const gate = (a: Tensor | number, b: Tensor | number): Tensor => binary('gate', a, b);

// ---- where ------------------------------------------------------------------------------------------------------

export const whereDef: PrimitiveDef<Record<never, never>> = {
  shape: ([c, a, b]) => broadcastShapes('where', c, a, b),
  forward([c, a, b], shape) {
    const s = coalesce('where', shape, [stridesOf(shape), ...[c, a, b].map((t) => broadcastStrides(t.shape, shape))]);
    return runKernel('where', [c, a, b], shape, a.backend, { shape: s.shape, cStrides: s.strides[1], aStrides: s.strides[2], bStrides: s.strides[3] });
  },
  backward(dy, [c, a, b]) {
    const zero = lift(0, dy);
    return [null, sumTo(where(c, dy, zero), a.shape), sumTo(where(c, zero, dy), b.shape)];
  },
  reference: (inputs) => ndMap(inputs, (c, a, b) => (c !== 0 ? a : b)),
};

/** cond != 0 ? a : b, element-wise with broadcasting; no gradient flows to cond. */
export const where = (cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor =>
  apply('where', [cond, lift(a, cond), lift(b, cond)], {});
