// The NaN and ±inf op cases (issue 12: fail loudly): every op where IEEE special values change the result, on inputs
// that hold NaN, ±inf, ±0 and e^x overflow, through each kernel path (SIMD bodies and tails, long rows, columns).
// Forward results are checked exactly for NaN-ness and infinities; gradients against the reference kernels.

import { UNARY_OPS, type BinaryOp } from '../engine/backend.ts';
import type { OpName, OpParams } from '../engine/op.ts';
import type { InputSpec, OpCase } from './util/check.ts';

const cases: OpCase[] = [];
const add = <N extends OpName>(
  name: string,
  op: N,
  params: OpParams[N],
  inputs: InputSpec[],
  extra: Partial<OpCase<N>> = {},
): void => {
  cases.push({ name, op, params, inputs, ...extra } as OpCase);
};
const none = {};
const N = NaN;
const I = Infinity;
/** A [10, 1] and a [1, 10] 'special' operand: their broadcast meets every pair of special values. */
const pairs = (bGrad = true): InputSpec[] => [
  { shape: [10, 1], kind: 'special' },
  { shape: [1, 10], kind: 'special', noGrad: !bGrad },
];

// Element-wise: relu(NaN) = NaN, exp overflow, log(0) = −inf, pow's edges (x^½ = √x as torch), 0·inf = NaN.
for (const op of UNARY_OPS) {
  if (op === 'pow' || op === 'scale' || op === 'shift') continue;
  add(`${op} special`, op, none, [{ shape: [2, 10], kind: 'special' }]);
}
for (const exponent of [2, 3, 0.5, -0.5, -1, -2, 2.5]) {
  add(`pow ${exponent} special`, 'pow', { exponent }, [{ shape: [10], kind: 'special' }]);
}
add('scale 0 special', 'scale', { factor: 0 }, [{ shape: [10], kind: 'special' }]);
add('shift 1 special', 'shift', { offset: 1 }, [{ shape: [10], kind: 'special' }]);
const binaryOps: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'];
for (const op of binaryOps) add(`${op} special pairs`, op, none, pairs());
add('maximum special same shape', 'maximum', none, [
  { shape: [3, 8], kind: 'special' },
  { shape: [3, 8], kind: 'random', values: [0, N, N, 3, 2, I, 1, -I] },
]);
add('gate special pairs (NaN b passes a)', 'gate', none, pairs(false));
add('where NaN condition', 'where', none, [
  { shape: [10, 1], kind: 'special', noGrad: true },
  { shape: [1, 4], kind: 'special' },
  { shape: [4], kind: 'random' },
]);

// Rows of 4: the issue's [NaN, −1, 2, NaN]; −inf beside e^x overflow; +inf; all −inf; +inf and −inf together.
const ROWS = [N, -1, 2, N, -I, 100, -200, -I, I, 1, 0, -2, -I, -I, -I, -I, I, -I, 3, 3];
const rows: InputSpec = { shape: [5, 4], kind: 'random', values: ROWS };
/** Three long rows (a workgroup each on WebGPU; SIMD blocks and a tail on wasm): NaN, then −inf, then +inf. */
const long: InputSpec = {
  shape: [3, 300],
  kind: 'random',
  set: [
    [137, N],
    [300 + 5, -I],
    [300 + 299, -I],
    [600 + 200, I],
  ],
};
for (const op of ['max', 'min', 'sum', 'mean'] as const) {
  add(`${op} special rows`, op, { axes: [1], keepdim: false }, [rows]);
  add(`${op} special columns`, op, { axes: [0], keepdim: true }, [rows]);
  add(`${op} special long rows`, op, { axes: [1], keepdim: false }, [long]);
}
for (const op of ['softmax', 'logSoftmax'] as const) {
  add(`${op} special rows`, op, { axis: 1 }, [rows]);
  add(`${op} special columns`, op, { axis: 0 }, [rows]);
  add(`${op} special long rows`, op, { axis: 1 }, [long]);
}
for (const reduction of ['mean', 'sum', 'none'] as const) {
  // Row 1's label sits on −inf: an infinite loss with a finite gradient.
  add(`crossEntropy special ${reduction}`, 'crossEntropy', { reduction }, [
    rows,
    { shape: [5], kind: 'labels', classes: 4, noGrad: true, values: [1, 0, 2, 3, 1] },
  ]);
}
add('crossEntropy special long rows', 'crossEntropy', { reduction: 'none' }, [
  long,
  { shape: [3], kind: 'labels', classes: 300, noGrad: true, values: [3, 5, 7] },
]);

// Max pooling: a NaN wins (the last one in the backward), an all −inf window sends dy to its first cell.
const pool = (mode: 'max' | 'avg', k: number, s: number, p: number): OpParams['pool2d'] => ({
  mode,
  kernel: [k, k],
  stride: [s, s],
  padding: [p, p],
  countIncludePad: true,
});
// Rows 0 and 1 of channel 0 (ten columns: five 2×2 windows, SIMD on wasm): one NaN, two NaNs, all −inf, +inf.
const POOL_ROWS = [N, 1, 2, N, -I, -I, I, 0, 0.5, -0.5, 0, -1, N, 3, -I, -I, 1, -I, -I, 2];
add('maxPool2d special 2x2', 'pool2d', pool('max', 2, 2, 0), [
  { shape: [1, 2, 4, 10], kind: 'random', values: POOL_ROWS },
]);
// 3×3 windows, stride 2, padding 1 (the general path): the top-left window holds only −inf, the next a NaN.
const POOL_PADDED = [-I, -I, -I, 1, 2, -I, -I, -I, N, 0];
add('maxPool2d special 3x3 s2 p1', 'pool2d', pool('max', 3, 2, 1), [
  { shape: [1, 1, 5, 5], kind: 'random', values: POOL_PADDED },
]);
add('avgPool2d special 2x2', 'pool2d', pool('avg', 2, 2, 0), [
  { shape: [1, 2, 4, 10], kind: 'random', values: POOL_ROWS },
]);

/** The NaN and ±inf cases, appended to OP_CASES (test/op-cases.ts). */
export const SPECIAL_CASES: readonly OpCase[] = cases;
