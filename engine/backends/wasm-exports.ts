// The exports of build/kernels.wasm, declared once: each function's parameters (`name:type`, in order) and result.
// The glue's typed view of the module, the list worker threads index calls by, and the arity check at load all come
// from this table; test/kernel-layout.test.ts compares it with the AssemblyScript signatures in wasm/.

import { BINARY_OPS, UNARY_OPS, type BinaryOp, type UnaryOp } from '../backend.ts';

/** AssemblyScript parameter types as the glue passes them: 'ptr' is a byte offset (usize), 'bool' 0 or 1. */
export type WasmType = 'ptr' | 'i32' | 'u32' | 'f32' | 'f64' | 'bool';
/** One parameter, `name:type`, named as in the AssemblyScript source. */
export type Param = `${string}:${WasmType}`;
/** An export's parameters in order and its result. */
export interface Signature {
  readonly params: readonly Param[];
  /** The result type; none for kernels, which write their output to memory. */
  readonly result?: 'ptr' | 'i32';
}

const sig = <const P extends readonly Param[], R extends 'ptr' | 'i32' | undefined = undefined>(
  params: P,
  result?: R,
) => ({ params, result }) as { readonly params: P; readonly result: R };

const UNARY = sig(['x:ptr', 'out:ptr', 'n:i32', 'alpha:f32']);
const BINARY = sig(['a:ptr', 'b:ptr', 'out:ptr', 'rank:i32']);
/** Kernels over x viewed as [outer, r, inner]. */
const AXIS = sig(['x:ptr', 'out:ptr', 'outer:i32', 'r:i32', 'inner:i32']);
/** The batch-norm kernels work on channels [c0, c1) of [n, c, s]. */
const CHANNELS = ['n:i32', 'c:i32', 's:i32'] as const;
const RANGE = ['c0:i32', 'c1:i32'] as const;

const byName = <N extends string, S>(names: readonly N[], s: S): Record<N, S> =>
  Object.fromEntries(names.map((n) => [n, s])) as Record<N, S>;

/** Every export the glue calls, in the order worker threads index them. */
export const EXPORTS = {
  ...byName<UnaryOp, typeof UNARY>(UNARY_OPS, UNARY),
  ...byName<BinaryOp, typeof BINARY>(BINARY_OPS, BINARY),
  heapBase: sig([], 'ptr'),
  stridedMeta: sig([], 'ptr'),
  threadScratchBytes: sig([], 'ptr'),
  setThreadScratch: sig(['at:ptr']),
  fill: sig(['out:ptr', 'n:i32', 'value:f32']),
  copy: sig(['x:ptr', 'out:ptr', 'rank:i32']),
  where: sig(['cond:ptr', 'a:ptr', 'b:ptr', 'out:ptr', 'rank:i32']),
  reduceSum: AXIS,
  reduceMax: AXIS,
  reduceMin: AXIS,
  softmax: AXIS,
  logSoftmax: AXIS,
  matmul: sig([
    'a:ptr',
    'b:ptr',
    'out:ptr',
    'batch:i32',
    'm:i32',
    'n:i32',
    'k:i32',
    'transA:bool',
    'transB:bool',
    'aBatchStride:i32',
    'bBatchStride:i32',
  ]),
  matmulRows: sig([
    'a:ptr',
    'b:ptr',
    'out:ptr',
    'm:i32',
    'n:i32',
    'k:i32',
    'transA:bool',
    'transB:bool',
    'row0:i32',
    'rows:i32',
  ]),
  oneHot: sig(['labels:ptr', 'out:ptr', 'rows:i32', 'classes:i32']),
  convMeta: sig([], 'ptr'),
  /** Scratch bytes the next conv call needs for the geometry at convMeta() (kind 0 forward, 1 input, 2 weight). */
  conv2dScratch: sig(['kind:i32'], 'ptr'),
  conv2d: sig(['x:ptr', 'w:ptr', 'bias:ptr', 'out:ptr', 'scratch:ptr']),
  conv2dBackwardInput: sig(['dy:ptr', 'w:ptr', 'dx:ptr', 'scratch:ptr']),
  conv2dBackwardWeight: sig(['x:ptr', 'dy:ptr', 'dw:ptr', 'scratch:ptr']),
  poolMeta: sig([], 'ptr'),
  pool2d: sig(['x:ptr', 'out:ptr']),
  pool2dBackward: sig(['x:ptr', 'dy:ptr', 'dx:ptr']),
  channelSum: sig(['x:ptr', 'out:ptr', ...CHANNELS, 'scale:f32', ...RANGE]),
  channelVar: sig(['x:ptr', 'mean:ptr', 'out:ptr', ...CHANNELS, 'scale:f32', ...RANGE]),
  channelDot: sig(['a:ptr', 'b:ptr', 'mean:ptr', 'out:ptr', ...CHANNELS, 'scale:f32', ...RANGE]),
  bnStats: sig(['x:ptr', 'out:ptr', ...CHANNELS, ...RANGE]),
  bnApply: sig([
    'x:ptr',
    'mean:ptr',
    'variance:ptr',
    'gamma:ptr',
    'beta:ptr',
    'out:ptr',
    ...CHANNELS,
    'eps:f32',
    'relu:bool',
    ...RANGE,
  ]),
  bnBackwardStats: sig(['dy:ptr', 'x:ptr', 'mean:ptr', 'y:ptr', 'out:ptr', ...CHANNELS, 'relu:bool', ...RANGE]),
  bnBackwardInput: sig([
    'dy:ptr',
    'x:ptr',
    'mean:ptr',
    'variance:ptr',
    'gamma:ptr',
    'sums:ptr',
    'y:ptr',
    'out:ptr',
    ...CHANNELS,
    'eps:f32',
    'training:bool',
    'relu:bool',
    ...RANGE,
  ]),
  dropout: sig(['x:ptr', 'out:ptr', 'n:i32', 'p:f64', 'seed:u32', 'scale:f32']),
  softmaxCrossEntropy: sig(['logits:ptr', 'labels:ptr', 'out:ptr', 'rows:i32', 'classes:i32']),
  softmaxCrossEntropyBackward: sig([
    'logits:ptr',
    'labels:ptr',
    'dy:ptr',
    'out:ptr',
    'rows:i32',
    'classes:i32',
    'dyScalar:bool',
    'scale:f32',
  ]),
  axpby: sig(['x:ptr', 'out:ptr', 'n:i32', 'alpha:f32', 'beta:f32']),
  sgdMomentum: sig([
    'grad:ptr',
    'w:ptr',
    'v:ptr',
    'n:i32',
    'momentum:f32',
    'dampening:f32',
    'weightDecay:f32',
    'first:bool',
  ]),
  sgdApply: sig(['grad:ptr', 'v:ptr', 'w:ptr', 'n:i32', 'lr:f32', 'momentum:f32', 'weightDecay:f32', 'nesterov:bool']),
} as const satisfies Record<string, Signature>;

/** The name of a declared export. */
export type FunctionName = keyof typeof EXPORTS;
/** Export names by index: worker threads receive this list and look calls up by position. */
export const FUNCTIONS = Object.keys(EXPORTS) as FunctionName[];
/** Each export's index in FUNCTIONS. */
export const FUNCTION_INDEX = new Map<string, number>(FUNCTIONS.map((f, i) => [f, i]));

/** One number per declared parameter (pointers are byte offsets, booleans 0 or 1). */
type Args<P extends readonly Param[]> = { -readonly [I in keyof P]: number };
type ExportFn<S extends Signature> = (...args: Args<S['params']>) => S['result'] extends string ? number : void;

/** The module's exports, typed from EXPORTS, and its memory. */
export type KernelExports = { readonly [F in FunctionName]: ExportFn<(typeof EXPORTS)[F]> } & {
  readonly memory: WebAssembly.Memory;
};

/**
 * Checks that every declared function is exported with its declared parameter count, then views the exports through
 * their typed shape. `memory` is the imported shared memory of the threaded build, else the module's own.
 */
export function bindExports(raw: WebAssembly.Exports, memory?: WebAssembly.Memory): KernelExports {
  const wrong: string[] = [];
  for (const f of FUNCTIONS) {
    const fn = raw[f];
    if (typeof fn !== 'function') wrong.push(`${f} (missing)`);
    else if (fn.length !== EXPORTS[f].params.length) {
      wrong.push(`${f} (${fn.length} parameters, ${EXPORTS[f].params.length} declared)`);
    }
  }
  const mem = memory ?? raw.memory;
  if (!(mem instanceof WebAssembly.Memory)) wrong.push('memory (missing)');
  if (wrong.length) {
    throw new Error(`wasm backend: kernels.wasm does not match its declared exports: ${wrong.join(', ')}`);
  }
  return { ...(raw as unknown as KernelExports), memory: mem as WebAssembly.Memory };
}
