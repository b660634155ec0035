// What each kernel needs to run on WebGPU: its WGSL file, override constants, uniform words and workgroup grid.
// The table is typed over every kernel name, so a kernel without a program is a compile error.

import { MAX_RANK, type BinaryOp, type KernelName, type KernelParams, type UnaryOp } from '../backend.ts';
import { sizeOf } from '../shape.ts';
import fillWgsl from '../../kernels/fill.wgsl';
import copyWgsl from '../../kernels/copy.wgsl';
import unaryWgsl from '../../kernels/unary.wgsl';
import binaryWgsl from '../../kernels/binary.wgsl';
import whereWgsl from '../../kernels/where.wgsl';
import reduceWgsl from '../../kernels/reduce.wgsl';
import matmulWgsl from '../../kernels/matmul.wgsl';
import matmulTiledWgsl from '../../kernels/matmul-tiled.wgsl';
import softmaxWgsl from '../../kernels/softmax.wgsl';
import oneHotWgsl from '../../kernels/one-hot.wgsl';
import {
  elementwise,
  gridFor,
  MAX_GROUPS,
  shader,
  uniforms,
  WG,
  type KernelVariant,
  type Program,
  type Shader,
} from './webgpu-program.ts';
import { nnPrograms } from './webgpu-programs-nn.ts';

/** The `op` override of unary.wgsl; must match the cases of its switch. */
const UNARY_CODE: { readonly [P in UnaryOp]: number } = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  relu: 4,
  step: 5,
  pow: 6,
  scale: 7,
  shift: 8,
};
/** The `op` override of binary.wgsl; must match the cases of its switch. */
const BINARY_CODE: { readonly [P in BinaryOp]: number } = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  maximum: 4,
  minimum: 12,
  eq: 5,
  ne: 6,
  lt: 7,
  le: 8,
  gt: 9,
  ge: 10,
  gate: 11,
};

/** The `op` override of reduce.wgsl. */
const REDUCE_CODE: { readonly [P in KernelParams['reduce']['op']]: number } = { sum: 0, max: 1, min: 2 };

const FILL = shader('fill', fillWgsl);
const COPY = shader('copy', copyWgsl);
const UNARY = shader('unary', unaryWgsl);
const BINARY = shader('binary', binaryWgsl);
const WHERE = shader('where', whereWgsl);
const REDUCE = shader('reduce', reduceWgsl);
const MATMUL = shader('matmul', matmulWgsl);
const MATMUL_TILED = shader('matmul-tiled', matmulTiledWgsl);
const SOFTMAX = shader('softmax', softmaxWgsl);
const ONE_HOT = shader('one-hot', oneHotWgsl);

/** Rows at least this long (with inner = 1) are reduced by a whole workgroup instead of one invocation. */
const TREE_MIN_R = 256;
/** Matmul output tile per invocation (TN columns × TM rows, as in matmul.wgsl) and workgroup shape. */
const MM_TN = 8;
const MM_TM = 16;
const MM_WGX = 8;
const MM_WGY = 4;
/** matmul-tiled.wgsl's output tile per workgroup (64×64, 16×16 invocations of 4×4). */
const MM_TILE = 64;

function checkStrided(shape: readonly number[], ...strides: (readonly number[])[]): void {
  if (shape.length > MAX_RANK) throw new Error(`webgpu: rank ${shape.length} exceeds MAX_RANK ${MAX_RANK}`);
  for (const s of strides) {
    if (s.length !== shape.length) throw new Error(`webgpu: strides [${s}] do not match shape [${shape}]`);
  }
}

type Rows = { outer: 'u32'; r: 'u32'; inner: 'u32' };

/** reduce and softmax: one invocation per (outer, inner) pair, or one workgroup per pair for long rows. */
function rowwise(
  sh: Shader<Rows>,
  p: { outer: number; r: number; inner: number },
  constants: Record<string, number>,
): Program | null {
  const pairs = p.outer * p.inner;
  if (pairs === 0) return null;
  const tree = p.r >= TREE_MIN_R && p.inner === 1;
  return {
    shader: sh,
    entry: tree ? 'tree' : 'rows',
    constants: { ...constants, wg: WG },
    uniforms: uniforms(sh, { outer: p.outer, r: p.r, inner: p.inner }),
    grid: gridFor(tree ? pairs : Math.ceil(pairs / WG)),
  };
}

/** Builds the dispatch of each kernel for a kernel variant; null when there is nothing to compute. */
export const programs: { readonly [K in KernelName]: (p: KernelParams[K], v: KernelVariant) => Program | null } = {
  fill: (p) => elementwise(FILL, p.size, {}, p),
  unary: (p) => elementwise(UNARY, p.size, { op: UNARY_CODE[p.op] }, p),
  copy(p) {
    checkStrided(p.shape, p.inStrides, p.outStrides);
    return elementwise(COPY, sizeOf(p.shape), {}, { ...p, rank: p.shape.length, size: sizeOf(p.shape) });
  },
  binary(p) {
    checkStrided(p.shape, p.aStrides, p.bStrides);
    return elementwise(
      BINARY,
      sizeOf(p.shape),
      { op: BINARY_CODE[p.op] },
      {
        ...p,
        rank: p.shape.length,
        size: sizeOf(p.shape),
      },
    );
  },
  where(p) {
    checkStrided(p.shape, p.cStrides, p.aStrides, p.bStrides);
    return elementwise(WHERE, sizeOf(p.shape), {}, { ...p, rank: p.shape.length, size: sizeOf(p.shape) });
  },
  reduce: (p) => rowwise(REDUCE, p, { op: REDUCE_CODE[p.op] }),
  softmax: (p) => rowwise(SOFTMAX, p, { log_softmax: p.log ? 1 : 0 }),
  matmul(p, v) {
    if (p.batch * p.m * p.n === 0) return null;
    if (p.batch > MAX_GROUPS) throw new Error(`webgpu: matmul batch ${p.batch} exceeds ${MAX_GROUPS}`);
    const gx = Math.ceil(p.n / (v.tiled ? MM_TILE : MM_TN * MM_WGX));
    const gy = Math.ceil(p.m / (v.tiled ? MM_TILE : MM_TM * MM_WGY));
    if (gx > MAX_GROUPS || gy > MAX_GROUPS) throw new Error(`webgpu: matmul ${p.m}×${p.n} is too large for one grid`);
    return {
      shader: v.tiled ? MATMUL_TILED : MATMUL,
      entry: 'main',
      constants: v.tiled ? ({} as Record<string, number>) : { wgx: MM_WGX, wgy: MM_WGY },
      uniforms: uniforms(MATMUL, {
        m: p.m,
        n: p.n,
        k: p.k,
        aBatch: p.aBatchStride,
        bBatch: p.bBatchStride,
        aRow: p.transA ? 1 : p.k,
        aCol: p.transA ? p.m : 1,
        bRow: p.transB ? 1 : p.n,
        bCol: p.transB ? p.k : 1,
      }),
      grid: [gx, gy, p.batch],
    };
  },
  oneHot: (p) => elementwise(ONE_HOT, p.rows * p.classes, {}, p),
  ...nnPrograms,
};
