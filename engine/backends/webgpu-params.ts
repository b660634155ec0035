// The `Params` uniform struct of every WGSL shader in kernels/, declared once: keyed by file name, fields in
// declaration order with their types. Programs fill the uniforms from these by field name; a test parses each
// kernels/*.wgsl and fails on any difference in names (snake_case there), order or types.

import { uniformLayout, type Fields, type Layout } from './layout.ts';

/** Fields the three conv shaders share, before each one's own. */
const CONV = {
  n: 'u32',
  cin: 'u32',
  h: 'u32',
  w: 'u32',
  cout: 'u32',
  oh: 'u32',
  ow: 'u32',
  padH: 'i32',
  padW: 'i32',
  cinG: 'u32',
  coutG: 'u32',
} as const;
const POOL = {
  nc: 'u32',
  h: 'u32',
  w: 'u32',
  oh: 'u32',
  ow: 'u32',
  padH: 'i32',
  padW: 'i32',
  countIncludePad: 'bool',
} as const;
const PER_CHANNEL = { n: 'u32', c: 'u32', s: 'u32', scale: 'f32' } as const;
/** matmul.wgsl and matmul-tiled.wgsl: sizes, batch offsets, and the strides that express transposes. */
const MATMUL = {
  m: 'u32',
  n: 'u32',
  k: 'u32',
  aBatch: 'u32',
  bBatch: 'u32',
  aRow: 'u32',
  aCol: 'u32',
  bRow: 'u32',
  bCol: 'u32',
} as const;
const ROWS = { outer: 'u32', r: 'u32', inner: 'u32' } as const;
/** A strided shape or stride vector: rank ≤ 8 as two vec4<u32> (MAX_RANK is 6). */
const VEC8 = 'u32[8]';

/** The Params struct of each shader (file kernels/<name>.wgsl). */
export const WGSL_PARAMS = {
  fill: uniformLayout({ size: 'u32', value: 'f32' }),
  copy: uniformLayout({
    shape: VEC8,
    inStrides: VEC8,
    outStrides: VEC8,
    rank: 'u32',
    size: 'u32',
    inOffset: 'u32',
    outOffset: 'u32',
  }),
  unary: uniformLayout({ size: 'u32', alpha: 'f32' }),
  binary: uniformLayout({ shape: VEC8, aStrides: VEC8, bStrides: VEC8, rank: 'u32', size: 'u32' }),
  where: uniformLayout({ shape: VEC8, cStrides: VEC8, aStrides: VEC8, bStrides: VEC8, rank: 'u32', size: 'u32' }),
  reduce: uniformLayout(ROWS),
  softmax: uniformLayout(ROWS),
  matmul: uniformLayout(MATMUL),
  'matmul-tiled': uniformLayout(MATMUL),
  'one-hot': uniformLayout({ rows: 'u32', classes: 'u32' }),
  conv2d: uniformLayout({ ...CONV, coTiles: 'u32', hasBias: 'bool' }),
  'conv2d-backward-input': uniformLayout({ ...CONV, ciTiles: 'u32' }),
  'conv2d-backward-weight': uniformLayout({ ...CONV, coTiles: 'u32', rTiles: 'u32' }),
  'conv2d-tiled': uniformLayout({ ...CONV, coTiles: 'u32', hasBias: 'bool' }),
  'conv2d-backward-input-tiled': uniformLayout({ ...CONV, ciTiles: 'u32' }),
  'conv2d-backward-weight-tiled': uniformLayout({ ...CONV, coTiles: 'u32', chunk: 'u32' }),
  pool2d: uniformLayout(POOL),
  'pool2d-backward': uniformLayout(POOL),
  'channel-sum': uniformLayout(PER_CHANNEL),
  'channel-var': uniformLayout(PER_CHANNEL),
  'channel-dot': uniformLayout(PER_CHANNEL),
  'bn-stats': uniformLayout({ n: 'u32', c: 'u32', s: 'u32' }),
  'bn-stats-subgroups': uniformLayout({ n: 'u32', c: 'u32', s: 'u32' }),
  'bn-apply': uniformLayout({ n: 'u32', c: 'u32', s: 'u32', eps: 'f32', relu: 'bool' }),
  'bn-backward-stats': uniformLayout({ n: 'u32', c: 'u32', s: 'u32', relu: 'bool' }),
  'bn-backward-stats-subgroups': uniformLayout({ n: 'u32', c: 'u32', s: 'u32', relu: 'bool' }),
  'bn-backward-input': uniformLayout({ n: 'u32', c: 'u32', s: 'u32', eps: 'f32', training: 'bool', relu: 'bool' }),
  dropout: uniformLayout({ size: 'u32', threshold: 'u32', seed: 'u32', scale: 'f32' }),
  'softmax-cross-entropy': uniformLayout({ rows: 'u32', classes: 'u32' }),
  'softmax-cross-entropy-backward': uniformLayout({ rows: 'u32', classes: 'u32', dyScalar: 'bool', scale: 'f32' }),
  axpby: uniformLayout({ size: 'u32', alpha: 'f32', beta: 'f32' }),
  'sgd-momentum': uniformLayout({
    size: 'u32',
    momentum: 'f32',
    dampening: 'f32',
    weightDecay: 'f32',
    first: 'bool',
  }),
  'sgd-apply': uniformLayout({ size: 'u32', lr: 'f32', momentum: 'f32', weightDecay: 'f32', nesterov: 'bool' }),
} as const satisfies Record<string, Layout<Fields>>;

/** The name of a WGSL file in kernels/ (without .wgsl). */
export type ShaderName = keyof typeof WGSL_PARAMS;
