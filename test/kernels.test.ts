// Every backend kernel against the plain reference kernels, on shapes that cover tails, broadcasting and edges.

import { test } from 'uvu';
import { BINARY_OPS, UNARY_OPS, type KernelName } from '../engine/backend.ts';
import { rand, registerKernelCases, stridesOf, type KernelCase } from './util/kernel-case.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const cases: KernelCase<any>[] = [];
const add = <K extends KernelName>(c: KernelCase<K>): void => {
  cases.push(c);
};

add({ name: 'fill 1000', kernel: 'fill', inputs: [], outSize: 1000, params: { size: 1000, value: -3.5 } });
for (const op of UNARY_OPS) {
  for (const size of [7, 1000, 70001]) {
    const lo = op === 'log' || op === 'sqrt' || op === 'pow' ? 0.01 : -2;
    add({
      name: `unary ${op} ${size}`,
      kernel: 'unary',
      inputs: [rand(size, size, lo, 3)],
      outSize: size,
      params: { op, size, alpha: op === 'pow' ? 2.5 : 1.5 },
    });
  }
}
for (const op of BINARY_OPS) {
  const shape = [3, 5, 7];
  add({
    name: `binary ${op} same shape`,
    kernel: 'binary',
    inputs: [rand(105, 1), rand(105, 2)],
    outSize: 105,
    params: { op, shape, aStrides: stridesOf(shape), bStrides: stridesOf(shape) },
  });
  add({
    name: `binary ${op} broadcast`,
    kernel: 'binary',
    inputs: [rand(15, 3), rand(7, 4)],
    outSize: 105,
    params: { op, shape, aStrides: [5, 1, 0], bStrides: [0, 0, 1] },
  });
}
add({
  name: 'binary mul rank 6',
  kernel: 'binary',
  inputs: [rand(720, 5), rand(6, 6)],
  outSize: 720,
  params: {
    op: 'mul',
    shape: [2, 3, 4, 5, 3, 2],
    aStrides: stridesOf([2, 3, 4, 5, 3, 2]),
    bStrides: [0, 0, 0, 0, 2, 1],
  },
});
add({
  name: 'binary add large',
  kernel: 'binary',
  inputs: [rand(300000, 7), rand(300000, 8)],
  outSize: 300000,
  params: { op: 'add', shape: [300000], aStrides: [1], bStrides: [1] },
});
add({
  name: 'where broadcast',
  kernel: 'where',
  inputs: [rand(35, 9, -1, 1).map((v) => (v > 0 ? 1 : 0)), rand(105, 10), rand(1, 11)],
  outSize: 105,
  params: { shape: [3, 5, 7], cStrides: [0, 7, 1], aStrides: [35, 7, 1], bStrides: [0, 0, 0] },
});
add({
  name: 'copy transpose',
  kernel: 'copy',
  inputs: [rand(60, 12)],
  outSize: 60,
  params: { shape: [5, 4, 3], inStrides: [1, 15, 5], inOffset: 0, outStrides: [12, 3, 1], outOffset: 0 },
});
add({
  name: 'copy into region',
  kernel: 'copy',
  inputs: [rand(30, 13)],
  outSize: 80,
  init: rand(80, 14),
  params: { shape: [2, 3, 5], inStrides: [15, 5, 1], inOffset: 0, outStrides: [40, 8, 1], outOffset: 9 },
});
add({
  name: 'copy slice with offset',
  kernel: 'copy',
  inputs: [rand(200, 15)],
  outSize: 24,
  params: { shape: [4, 6], inStrides: [20, 2], inOffset: 7, outStrides: [6, 1], outOffset: 0 },
});
add({
  name: 'copy broadcast',
  kernel: 'copy',
  inputs: [rand(3, 16)],
  outSize: 12,
  params: { shape: [4, 3], inStrides: [0, 1], inOffset: 0, outStrides: [3, 1], outOffset: 0 },
});
for (const op of ['sum', 'max', 'min'] as const) {
  for (const [outer, r, inner] of [
    [1, 1000, 1],
    [7, 13, 1],
    [1, 37, 11],
    [3, 5, 9],
    [2, 4096, 3],
    [300, 1, 4],
  ]) {
    const n = outer * r * inner;
    const x = rand(n, n + r);
    if (op !== 'sum') x[0] = x[inner]; // a tie
    add({
      name: `reduce ${op} [${outer},${r},${inner}]`,
      kernel: 'reduce',
      inputs: [x],
      outSize: outer * inner,
      params: { op, outer, r, inner },
      tol: 2e-5 * Math.sqrt(r),
    });
  }
}
const MATMULS = [
  [1, 1, 1, 1],
  [1, 7, 9, 5],
  [2, 33, 17, 65],
  [1, 64, 64, 64],
  [3, 5, 130, 31],
  [1, 129, 67, 200],
];
for (const [batch, m, n, k] of MATMULS) {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      add({
        name: `matmul ${batch}x${m}x${n}x${k} tA=${transA} tB=${transB}`,
        kernel: 'matmul',
        inputs: [rand(batch * m * k, m + k), rand(batch * k * n, n + k)],
        outSize: batch * m * n,
        params: { batch, m, n, k, transA, transB, aBatchStride: m * k, bBatchStride: k * n },
        tol: 1e-4 * Math.sqrt(k),
      });
    }
  }
}
add({
  name: 'matmul broadcast batch of B',
  kernel: 'matmul',
  inputs: [rand(3 * 8 * 6, 21), rand(6 * 5, 22)],
  outSize: 3 * 8 * 5,
  params: { batch: 3, m: 8, n: 5, k: 6, transA: false, transB: false, aBatchStride: 48, bBatchStride: 0 },
});
for (const log of [false, true]) {
  for (const [outer, r, inner] of [
    [4, 10, 1],
    [1, 1000, 1],
    [2, 3, 5],
    [64, 10, 1],
  ]) {
    add({
      name: `softmax log=${log} [${outer},${r},${inner}]`,
      kernel: 'softmax',
      inputs: [rand(outer * r * inner, r, -8, 8)],
      outSize: outer * r * inner,
      params: { outer, r, inner, log },
    });
  }
}
add({
  name: 'oneHot',
  kernel: 'oneHot',
  inputs: [Float32Array.from([0, 3, 9, 2, 10, -1])],
  outSize: 60,
  params: { rows: 6, classes: 10 },
});

// NaN and ±inf (PyTorch's semantics, kernel-reference.ts): every `every`-th element, from `first` on, cycles through
// NaN, +inf, −inf and −0, so SIMD lanes, scalar tails and both operands of a binary kernel meet them.
const SPECIAL = [NaN, Infinity, -Infinity, -0];
function sprinkle(x: Float32Array, every: number, first: number): Float32Array {
  for (let i = first, k = 0; i < x.length; i += every, k++) x[i] = SPECIAL[k % SPECIAL.length];
  return x;
}
for (const op of UNARY_OPS) {
  const size = 1003;
  add({
    name: `unary ${op} NaN and ±inf`,
    kernel: 'unary',
    inputs: [sprinkle(rand(size, 31, -2, 3), 5, 1)],
    outSize: size,
    params: { op, size, alpha: op === 'pow' ? 2.5 : 1.5 },
  });
}
for (const op of BINARY_OPS) {
  const shape = [3, 5, 7];
  add({
    name: `binary ${op} NaN and ±inf`,
    kernel: 'binary',
    inputs: [sprinkle(rand(105, 32), 3, 0), sprinkle(rand(105, 33), 4, 1)],
    outSize: 105,
    params: { op, shape, aStrides: stridesOf(shape), bStrides: stridesOf(shape) },
  });
}
for (const op of ['sum', 'max', 'min'] as const) {
  for (const [outer, r, inner] of [
    [5, 37, 1],
    [1, 1000, 1],
    [2, 13, 21],
  ]) {
    const n = outer * r * inner;
    add({
      name: `reduce ${op} [${outer},${r},${inner}] NaN and ±inf`,
      kernel: 'reduce',
      inputs: [sprinkle(rand(n, 34), 61, 40)],
      outSize: outer * inner,
      params: { op, outer, r, inner },
      tol: 2e-5 * Math.sqrt(r),
    });
  }
}
for (const log of [false, true]) {
  for (const [outer, r, inner] of [
    [6, 10, 1],
    [1, 1000, 1],
    [2, 7, 5],
  ]) {
    const n = outer * r * inner;
    add({
      name: `softmax log=${log} [${outer},${r},${inner}] NaN and ±inf`,
      kernel: 'softmax',
      inputs: [sprinkle(rand(n, 35, -8, 8), 23, 3)],
      outSize: n,
      params: { outer, r, inner, log },
    });
  }
}
add({
  name: 'where NaN condition',
  kernel: 'where',
  inputs: [
    sprinkle(
      rand(35, 36, -1, 1).map((v) => (v > 0 ? 1 : 0)),
      3,
      0,
    ),
    rand(105, 37),
    rand(1, 38),
  ],
  outSize: 105,
  params: { shape: [3, 5, 7], cStrides: [0, 7, 1], aStrides: [35, 7, 1], bStrides: [0, 0, 0] },
});

await registerKernelCases(cases);
test.run();
