// Element-wise ops: unary maps, broadcasting binary arithmetic and comparisons, and where.
// Each definition holds its shape rule, forward kernel call, backward in terms of other ops, and float64 reference.

import type { BinaryOp, UnaryOp } from '../backend.ts';
import { binaryFn, unaryFn } from '../kernel-reference.ts';
import { ndMap } from '../nd.ts';
import { runOp, type OpParams, type PrimitiveDef } from '../op.ts';
import { broadcastShapes, broadcastStrides, coalesce, stridesOf } from '../shape.ts';
import { isTensor, type Tensor } from '../tensor-type.ts';
import { sumTo } from './broadcast.ts';
import { fillLike, runKernel } from './kernel.ts';

// ---- unary ------------------------------------------------------------------------------------------------------

type UnaryBackward<N extends UnaryOp> = (dy: Tensor, x: Tensor, out: Tensor, p: OpParams[N]) => Tensor;

/** The kernel's scalar parameter of a unary op: the exponent, factor or offset where the op has one. */
function alphaOf(p: OpParams[UnaryOp]): number {
  if ('exponent' in p) return p.exponent;
  if ('factor' in p) return p.factor;
  if ('offset' in p) return p.offset;
  return 0;
}

function unaryDef<N extends UnaryOp>(op: N, backward?: UnaryBackward<N>): PrimitiveDef<N> {
  return {
    name: op,
    shape: ([x]) => x,
    forward: ([x], shape, p) => runKernel('unary', [x], shape, x, { op, size: x.size, alpha: alphaOf(p) }),
    backward: backward && ((dy, [x], out, p) => [backward(dy, x, out, p)]),
    reference: ([x], p) => ndMap([x], unaryFn(op, alphaOf(p))),
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

export const neg = (x: Tensor): Tensor => runOp(unaryDefs.neg, [x], {});
export const exp = (x: Tensor): Tensor => runOp(unaryDefs.exp, [x], {});
export const log = (x: Tensor): Tensor => runOp(unaryDefs.log, [x], {});
export const sqrt = (x: Tensor): Tensor => runOp(unaryDefs.sqrt, [x], {});
/** max(x, 0), as torch.relu: NaN stays NaN; its gradient at exactly 0 is 0 (at NaN, 1). */
export const relu = (x: Tensor): Tensor => runOp(unaryDefs.relu, [x], {});
/** 1 where x > 0, else 0 (not differentiable). */
export const step = (x: Tensor): Tensor => runOp(unaryDefs.step, [x], {});
/** x raised to a scalar power, as torch.pow (exponents ½ and −½ are √x and 1/√x, so pow(−inf, ½) is NaN). */
export const pow = (x: Tensor, exponent: number): Tensor => runOp(unaryDefs.pow, [x], { exponent });
/** x · factor. */
export const scale = (x: Tensor, factor: number): Tensor => runOp(unaryDefs.scale, [x], { factor });
/** x + offset. */
export const shift = (x: Tensor, offset: number): Tensor => runOp(unaryDefs.shift, [x], { offset });

// ---- binary -----------------------------------------------------------------------------------------------------

type Grads = (dy: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor, Tensor];

function binaryDef<N extends BinaryOp>(op: N, grads?: Grads): PrimitiveDef<N> {
  return {
    name: op,
    shape: ([a, b]) => broadcastShapes(op, a, b),
    forward([a, b], shape) {
      const c = coalesce(op, shape, [
        stridesOf(shape),
        broadcastStrides(a.shape, shape),
        broadcastStrides(b.shape, shape),
      ]);
      return runKernel('binary', [a, b], shape, a, {
        op,
        shape: c.shape,
        aStrides: c.strides[1],
        bStrides: c.strides[2],
      });
    },
    backward:
      grads &&
      ((dy, [a, b], out) => {
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
  maximum: binaryDef('maximum', (dy, a, b) => winnerGrads(dy, lt(a, b), gt(a, b), eq(a, b))),
  minimum: binaryDef('minimum', (dy, a, b) => winnerGrads(dy, gt(a, b), lt(a, b), eq(a, b))),
  eq: binaryDef('eq'),
  ne: binaryDef('ne'),
  lt: binaryDef('lt'),
  le: binaryDef('le'),
  gt: binaryDef('gt'),
  ge: binaryDef('ge'),
  // The gradient in b is 0 wherever it exists (b ≠ 0).
  gate: binaryDef('gate', (dy, _a, b) => [gate(dy, b), scale(dy, 0)]),
};

/**
 * Gradients of maximum/minimum as torch's: each side gets dy unless it loses (aLoses, bLoses are 0/1 masks), half of it
 * at ties, and both get all of it where a NaN makes every comparison false.
 */
function winnerGrads(dy: Tensor, aLoses: Tensor, bLoses: Tensor, ties: Tensor): [Tensor, Tensor] {
  const kept = scale(ties, -0.5); // −½ at ties
  return [mul(dy, shift(sub(kept, aLoses), 1)), mul(dy, shift(sub(kept, bLoses), 1))];
}

/** A number operand becomes a 0-d tensor on the other operand's device. */
function lift(op: string, x: Tensor | number, like: Tensor | number): Tensor {
  if (typeof x !== 'number') return x;
  if (!isTensor(like)) throw new TypeError(`${op}: at least one operand must be a tensor`);
  return fillLike(like, [], x);
}

function binary(op: BinaryOp, a: Tensor | number, b: Tensor | number): Tensor {
  return runOp(binaryDefs[op], [lift(op, a, b), lift(op, b, a)], {});
}

/** a + b with broadcasting; a number operand is applied without a kernel of its own. */
export const add = (a: Tensor | number, b: Tensor | number): Tensor =>
  typeof b === 'number' && isTensor(a)
    ? shift(a, b)
    : typeof a === 'number' && isTensor(b)
      ? shift(b, a)
      : binary('add', a, b);
export const sub = (a: Tensor | number, b: Tensor | number): Tensor =>
  typeof b === 'number' && isTensor(a) ? shift(a, -b) : binary('sub', a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor =>
  typeof b === 'number' && isTensor(a)
    ? scale(a, b)
    : typeof a === 'number' && isTensor(b)
      ? scale(b, a)
      : binary('mul', a, b);
export const div = (a: Tensor | number, b: Tensor | number): Tensor =>
  typeof b === 'number' && isTensor(a) ? scale(a, 1 / b) : binary('div', a, b);
/** Element-wise maximum, as torch.maximum: NaN if either is NaN; at ties each side gets half the gradient. */
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => binary('maximum', a, b);
/** Element-wise minimum, as torch.minimum: NaN if either is NaN; at ties each side gets half the gradient. */
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor => binary('minimum', a, b);
/** Comparisons give 1 or 0; with a NaN operand they give 0, except ne, which gives 1 (IEEE, as PyTorch). */
export const eq = (a: Tensor | number, b: Tensor | number): Tensor => binary('eq', a, b);
export const ne = (a: Tensor | number, b: Tensor | number): Tensor => binary('ne', a, b);
export const lt = (a: Tensor | number, b: Tensor | number): Tensor => binary('lt', a, b);
export const le = (a: Tensor | number, b: Tensor | number): Tensor => binary('le', a, b);
export const gt = (a: Tensor | number, b: Tensor | number): Tensor => binary('gt', a, b);
export const ge = (a: Tensor | number, b: Tensor | number): Tensor => binary('ge', a, b);
/**
 * b <= 0 ? 0 : a (with broadcasting): ReLU's backward in one kernel, as PyTorch's threshold_backward (a NaN b passes
 * a, so relu's gradient at NaN is 1).
 */
export const gate = (a: Tensor | number, b: Tensor | number): Tensor => binary('gate', a, b);

// ---- where ------------------------------------------------------------------------------------------------------

export const whereDef: PrimitiveDef<'where'> = {
  name: 'where',
  shape: ([c, a, b]) => broadcastShapes('where', c, a, b),
  forward([c, a, b], shape) {
    const s = coalesce('where', shape, [stridesOf(shape), ...[c, a, b].map((t) => broadcastStrides(t.shape, shape))]);
    return runKernel('where', [c, a, b], shape, a, {
      shape: s.shape,
      cStrides: s.strides[1],
      aStrides: s.strides[2],
      bStrides: s.strides[3],
    });
  },
  backward(dy, [c, a, b]) {
    const zero = fillLike(dy, [], 0);
    return [null, sumTo(where(c, dy, zero), a.shape), sumTo(where(c, zero, dy), b.shape)];
  },
  reference: (inputs) => ndMap(inputs, (c, a, b) => (c !== 0 ? a : b)),
};

/** cond != 0 ? a : b, element-wise with broadcasting (a NaN cond picks a); no gradient flows to cond. */
export const where = (cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor =>
  runOp(whereDef, [cond, lift('where', a, cond), lift('where', b, cond)], {});
