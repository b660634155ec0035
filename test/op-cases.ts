// The op case table: every op × shapes (broadcast, non-contiguous via transpose/slice, edge values, ties), then the
// NaN/±inf cases of op-cases-special.ts. Shared by the Node tests and the browser test, so both run the same cases.

import { UNARY_OPS } from '../engine/backend.ts';
import type { OpName, OpParams } from '../engine/op.ts';
import { SPECIAL_CASES } from './op-cases-special.ts';
import type { InputSpec, OpCase, Prep } from './util/check.ts';

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

const T: Prep[] = [{ op: 'transpose', params: { dim0: -2, dim1: -1 } }];
const S = (begin: number[], end: number[], step: number[]): Prep[] => [{ op: 'slice', params: { begin, end, step } }];
const none = {};

// Unary ops: kinds chosen so finite differences stay away from kinks and domains.
const unaryKind: Record<string, InputSpec['kind']> = { log: 'positive', sqrt: 'positive' };
for (const op of UNARY_OPS) {
  if (op === 'pow' || op === 'scale' || op === 'shift') continue;
  const kind = unaryKind[op] ?? 'edge';
  const kinked = op === 'relu' || op === 'step';
  add(`${op} [3,4] edges`, op, none, [{ shape: [3, 4], kind }], { grad: kinked ? false : undefined });
  add(`${op} [2,3,5] transposed`, op, none, [{ shape: [2, 5, 3], kind: kind === 'edge' ? 'random' : kind, prep: T }]);
  add(`${op} scalar`, op, none, [{ shape: [], kind: kind === 'edge' ? 'nonzero' : kind }]);
}
add('pow 2 edges', 'pow', { exponent: 2 }, [{ shape: [3, 4] }]);
add('pow 3 sliced', 'pow', { exponent: 3 }, [{ shape: [6, 5], prep: S([1, 0], [6, 5], [2, 2]) }]);
add('pow 0.5 positive', 'pow', { exponent: 0.5 }, [{ shape: [7], kind: 'positive' }]);
add('pow -1 nonzero', 'pow', { exponent: -1 }, [{ shape: [2, 3], kind: 'nonzero' }]);
add('scale 2.5', 'scale', { factor: 2.5 }, [{ shape: [4, 3] }]);
add('scale -0.5 transposed', 'scale', { factor: -0.5 }, [{ shape: [4, 3], prep: T }]);
add('shift -1.5', 'shift', { offset: -1.5 }, [{ shape: [2, 2, 2] }]);

// Binary ops, with NumPy broadcasting and non-contiguous operands.
const arith = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const;
for (const op of arith) {
  const b: InputSpec['kind'] = op === 'div' ? 'nonzero' : 'random';
  add(`${op} same shape edges`, op, none, [{ shape: [3, 4] }, { shape: [3, 4], kind: b }], {
    grad: op === 'maximum' || op === 'minimum' ? false : undefined,
  });
  add(`${op} broadcast [3,1]×[1,4]`, op, none, [
    { shape: [3, 1], kind: 'random' },
    { shape: [1, 4], kind: b },
  ]);
  add(`${op} broadcast [2,3,4]×[4]`, op, none, [
    { shape: [2, 3, 4], kind: 'random' },
    { shape: [4], kind: b },
  ]);
  add(`${op} scalar×[2,3]`, op, none, [
    { shape: [], kind: 'random' },
    { shape: [2, 3], kind: b },
  ]);
  add(`${op} transposed×sliced`, op, none, [
    { shape: [4, 3], kind: 'random', prep: T },
    { shape: [3, 8], kind: b, prep: S([0, 1], [3, 8], [1, 2]) },
  ]);
}
for (const op of ['maximum', 'minimum'] as const) {
  const ties: InputSpec[] = [
    { shape: [4, 5], kind: 'ties' },
    { shape: [4, 5], kind: 'ties' },
  ];
  add(`${op} ties`, op, none, ties, { grad: false });
}
for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
  add(`${op} ties`, op, none, [
    { shape: [4, 5], kind: 'ties' },
    { shape: [4, 5], kind: 'ties' },
  ]);
  add(`${op} broadcast`, op, none, [
    { shape: [3, 1], kind: 'ties' },
    { shape: [5], kind: 'ties' },
  ]);
}
add('gate ties (b = 0 gives 0)', 'gate', none, [{ shape: [4, 5] }, { shape: [4, 5], kind: 'ties', noGrad: true }]);
add('gate broadcast transposed', 'gate', none, [
  { shape: [4, 3], kind: 'random', prep: T },
  { shape: [4], kind: 'ties', noGrad: true },
]);
add('where broadcast', 'where', none, [
  { shape: [3, 1], kind: 'ties', noGrad: true },
  { shape: [3, 4], kind: 'random' },
  { shape: [4], kind: 'random' },
]);
add('where transposed', 'where', none, [
  { shape: [4, 3], kind: 'ties', noGrad: true, prep: T },
  { shape: [3, 4], kind: 'random' },
  { shape: [], kind: 'random' },
]);

// Reductions over any axes, with keepdim, ties for max and min, and sliced inputs.
for (const op of ['sum', 'max', 'min', 'mean'] as const) {
  const kind: InputSpec['kind'] = op === 'max' || op === 'min' ? 'random' : 'edge';
  for (const axes of [[0], [1], [2], [0, 2], [1, 2], [0, 1, 2]]) {
    for (const keepdim of [false, true]) {
      add(`${op} [2,3,4] axes ${axes} keepdim=${keepdim}`, op, { axes, keepdim }, [{ shape: [2, 3, 4], kind }]);
    }
  }
  add(`${op} sliced`, op, { axes: [1], keepdim: false }, [{ shape: [5, 9], kind, prep: S([1, 0], [5, 9], [1, 3]) }]);
  add(`${op} long row`, op, { axes: [1], keepdim: false }, [{ shape: [3, 700], kind }]);
}
add('max ties forward', 'max', { axes: [1], keepdim: false }, [{ shape: [4, 6], kind: 'ties' }], { grad: false });
add('min ties forward', 'min', { axes: [1], keepdim: false }, [{ shape: [4, 6], kind: 'ties' }], { grad: false });
add('sumTo [2,3,4]→[3,1]', 'sumTo', { shape: [3, 1] }, [{ shape: [2, 3, 4] }]);

// Movement.
add('reshape', 'reshape', { shape: [4, 3] }, [{ shape: [2, 6] }]);
add('reshape transposed', 'reshape', { shape: [12] }, [{ shape: [4, 3], prep: T }]);
add('permute [2,3,4]→(2,0,1)', 'permute', { axes: [2, 0, 1] }, [{ shape: [2, 3, 4] }]);
add('transpose', 'transpose', { dim0: 0, dim1: 2 }, [{ shape: [2, 3, 4] }]);
add('broadcastTo [3,1]→[2,3,4]', 'broadcastTo', { shape: [2, 3, 4] }, [{ shape: [3, 1] }]);
add('slice steps', 'slice', { begin: [1, 0], end: [5, 7], step: [2, 3] }, [{ shape: [6, 7] }]);
add('slice transposed', 'slice', { begin: [0, 1], end: [3, 3], step: [1, 1] }, [{ shape: [4, 3], prep: T }]);
add('embed', 'embed', { shape: [5, 6], begin: [1, 0], step: [2, 2], value: -1 }, [{ shape: [2, 3] }]);
add(
  'pad',
  'pad',
  {
    widths: [
      [1, 2],
      [0, 3],
    ],
    value: 0,
  },
  [{ shape: [2, 3] }],
);
add('pad last dim value', 'pad', { widths: [[2, 1]], value: 1.5 }, [{ shape: [2, 2, 3] }]);
add('concat axis 0', 'concat', { axis: 0 }, [{ shape: [2, 3] }, { shape: [1, 3] }, { shape: [3, 3], kind: 'random' }]);
add('concat axis 1 transposed', 'concat', { axis: 1 }, [{ shape: [4, 2], prep: T }, { shape: [2, 5] }]);

// Matmul: 2-D, batched, broadcast batches, transposed operands.
for (const [transA, transB] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
]) {
  const [m, n, k] = [5, 6, 7];
  add(`matmul 2-D tA=${transA} tB=${transB}`, 'matmul', { transA, transB }, [
    { shape: transA ? [k, m] : [m, k], kind: 'random' },
    { shape: transB ? [n, k] : [k, n], kind: 'random' },
  ]);
}
add('matmul batched', 'matmul', { transA: false, transB: false }, [
  { shape: [3, 4, 5], kind: 'random' },
  { shape: [3, 5, 2], kind: 'random' },
]);
add('matmul broadcast B', 'matmul', { transA: false, transB: false }, [
  { shape: [2, 3, 4], kind: 'random' },
  { shape: [4, 5], kind: 'random' },
]);
add('matmul broadcast both', 'matmul', { transA: false, transB: false }, [
  { shape: [2, 1, 3, 4], kind: 'random' },
  { shape: [3, 4, 2], kind: 'random' },
]);
add('matmul transposed input', 'matmul', { transA: false, transB: false }, [
  { shape: [6, 4], kind: 'random', prep: T },
  { shape: [6, 3], kind: 'random' },
]);
add(
  'matmul 33×65×17',
  'matmul',
  { transA: false, transB: false },
  [
    { shape: [33, 65], kind: 'random' },
    { shape: [65, 17], kind: 'random' },
  ],
  { tol: 1e-4 },
);

// Softmax family and cross-entropy.
for (const op of ['softmax', 'logSoftmax'] as const) {
  add(`${op} last axis`, op, { axis: 1 }, [{ shape: [4, 6] }]);
  add(`${op} axis 0`, op, { axis: 0 }, [{ shape: [4, 6], kind: 'random' }]);
  add(`${op} middle axis 3-D`, op, { axis: 1 }, [{ shape: [2, 5, 3], kind: 'random' }]);
  add(`${op} transposed`, op, { axis: 1 }, [{ shape: [6, 4], kind: 'random', prep: T }]);
}
add('oneHot', 'oneHot', { classes: 5 }, [{ shape: [7], kind: 'labels', classes: 5 }]);
for (const reduction of ['mean', 'sum', 'none'] as const) {
  add(`crossEntropy ${reduction}`, 'crossEntropy', { reduction }, [
    { shape: [6, 5], kind: 'random' },
    { shape: [6], kind: 'labels', classes: 5, noGrad: true },
  ]);
}

// Convolution and pooling (NCHW).
const conv = (stride: number, padding: number, dilation: number, groups: number): OpParams['conv2d'] => ({
  stride: [stride, stride],
  padding: [padding, padding],
  dilation: [dilation, dilation],
  groups,
});
add(
  'conv2d 3x3 pad 1 bias',
  'conv2d',
  conv(1, 1, 1, 1),
  [
    { shape: [2, 3, 5, 5], kind: 'random' },
    { shape: [4, 3, 3, 3], kind: 'random' },
    { shape: [4], kind: 'random' },
  ],
  { tol: 1e-4 },
);
add(
  'conv2d stride 2 no bias',
  'conv2d',
  conv(2, 1, 1, 1),
  [
    { shape: [2, 2, 7, 6], kind: 'random' },
    { shape: [3, 2, 3, 3], kind: 'random' },
  ],
  { tol: 1e-4 },
);
add(
  'conv2d dilation 2',
  'conv2d',
  conv(1, 2, 2, 1),
  [
    { shape: [1, 2, 6, 6], kind: 'random' },
    { shape: [2, 2, 3, 3], kind: 'random' },
  ],
  { tol: 1e-4 },
);
add(
  'conv2d groups 2',
  'conv2d',
  conv(1, 1, 1, 2),
  [
    { shape: [2, 4, 5, 5], kind: 'random' },
    { shape: [4, 2, 3, 3], kind: 'random' },
    { shape: [4], kind: 'random' },
  ],
  { tol: 1e-4 },
);
add(
  'conv2d depthwise',
  'conv2d',
  conv(1, 1, 1, 3),
  [
    { shape: [2, 3, 5, 4], kind: 'random' },
    { shape: [3, 1, 3, 3], kind: 'random' },
  ],
  { tol: 1e-4 },
);
add(
  'conv2d 1x1 transposed input',
  'conv2d',
  conv(1, 0, 1, 1),
  [
    { shape: [2, 3, 4, 5], kind: 'random', prep: T },
    { shape: [2, 3, 1, 1], kind: 'random' },
  ],
  { tol: 1e-4 },
);
const pool2 = (mode: 'max' | 'avg', k: number, s: number, p: number, countIncludePad = true): OpParams['pool2d'] => ({
  mode,
  kernel: [k, k],
  stride: [s, s],
  padding: [p, p],
  countIncludePad,
});
add('maxPool2d 2x2', 'pool2d', pool2('max', 2, 2, 0), [{ shape: [2, 3, 6, 6], kind: 'random' }]);
add('maxPool2d 3x3 s2 p1', 'pool2d', pool2('max', 3, 2, 1), [{ shape: [1, 2, 7, 7], kind: 'random' }]);
add('maxPool2d ties forward', 'pool2d', pool2('max', 2, 2, 0), [{ shape: [1, 2, 4, 4], kind: 'ties' }], {
  grad: false,
});
add('avgPool2d 2x2', 'pool2d', pool2('avg', 2, 2, 0), [{ shape: [2, 3, 6, 6] }]);
add('avgPool2d 3x3 s1 p1 exclude pad', 'pool2d', pool2('avg', 3, 1, 1, false), [{ shape: [1, 2, 5, 5] }]);
add('avgPool2d 3x3 s1 p1 include pad', 'pool2d', pool2('avg', 3, 1, 1, true), [{ shape: [1, 2, 5, 5] }]);

// Batch norm (training statistics or running statistics) and dropout.
const bnIn = (x: number[], kind: InputSpec['kind'] = 'random'): InputSpec[] => [
  { shape: x, kind },
  { shape: [x[1]], kind: 'random' },
  { shape: [x[1]], kind: 'random' },
  { shape: [x[1]], kind: 'random', noGrad: true },
  { shape: [x[1]], kind: 'positive', noGrad: true },
];
add('batchNorm2d training', 'batchNorm', { training: true, momentum: 0.1, eps: 1e-5 }, bnIn([4, 3, 3, 3]), {
  tol: 1e-4,
});
add('batchNorm1d training', 'batchNorm', { training: true, momentum: 0.1, eps: 1e-5 }, bnIn([6, 5]), { tol: 1e-4 });
add('batchNorm2d eval', 'batchNorm', { training: false, momentum: 0.1, eps: 1e-5 }, bnIn([2, 3, 4, 4]));
add('dropout p=0.3', 'dropout', { p: 0.3, seed: 42 }, [{ shape: [4, 50] }]);
add('dropout p=0', 'dropout', { p: 0, seed: 7 }, [{ shape: [3, 4] }]);

// batchNormRelu: relu(batchNorm(x)) as one op (training, 1-D input, eval), against torch.relu(F.batch_norm(…)).
const bnr = (training: boolean) => ({ training, momentum: 0.1, eps: 1e-5 });
add('batchNormRelu2d training', 'batchNormRelu', bnr(true), bnIn([4, 3, 3, 3]), { tol: 1e-4 });
add('batchNormRelu1d training', 'batchNormRelu', bnr(true), bnIn([6, 5]), { tol: 1e-4 });
add('batchNormRelu2d eval', 'batchNormRelu', bnr(false), bnIn([2, 3, 4, 4]));

export const OP_CASES: readonly OpCase[] = [...cases, ...SPECIAL_CASES];
