// The op table: every op name maps to its one definition (a missing or misnamed entry fails `tsc`), plus running an
// op by name for kernel-level work. The op functions themselves live in the files re-exported below.

import { runOp, type OpDef, type OpName, type OpParams, type OpTable } from '../op.ts';
import type { Tensor } from '../tensor-type.ts';
import { broadcastToDef, reshapeDef, sumDef, sumToDef } from './broadcast.ts';
import { conv2dDef, pool2dDef } from './conv.ts';
import { binaryDefs, unaryDefs, whereDef } from './elementwise.ts';
import { matmulDef } from './matmul.ts';
import { concatDef, embedDef, padDef, permuteDef, sliceDef, transposeDef } from './movement.ts';
import { batchNormDef, batchNormReluDef, dropoutDef } from './norm.ts';
import { maxDef, meanDef, minDef } from './reduce.ts';
import { crossEntropyDef, oneHotDef, softmaxDefs } from './softmax.ts';

export const OPS: OpTable = {
  ...unaryDefs,
  ...binaryDefs,
  where: whereDef,
  sum: sumDef,
  max: maxDef,
  min: minDef,
  mean: meanDef,
  sumTo: sumToDef,
  reshape: reshapeDef,
  permute: permuteDef,
  transpose: transposeDef,
  broadcastTo: broadcastToDef,
  slice: sliceDef,
  embed: embedDef,
  pad: padDef,
  concat: concatDef,
  matmul: matmulDef,
  ...softmaxDefs,
  oneHot: oneHotDef,
  crossEntropy: crossEntropyDef,
  conv2d: conv2dDef,
  pool2d: pool2dDef,
  batchNorm: batchNormDef,
  batchNormRelu: batchNormReluDef,
  dropout: dropoutDef,
};

/** The definition of op `name` (its shape rule, kernels, backward and float64 reference). */
export function opDef<N extends OpName>(name: N): OpDef<N> {
  return OPS[name];
}

/**
 * Runs op `name` on `inputs` with parameters `p`, recorded for autograd like the op's own function.
 * @example apply('add', [a, b], {}) // the same as add(a, b) for two tensors
 */
export function apply<N extends OpName>(name: N, inputs: Tensor[], p: OpParams[N]): Tensor {
  const def: OpDef<N> | undefined = OPS[name];
  if (!def) throw new TypeError(`apply: unknown op '${String(name)}'`);
  return runOp(def, inputs, p);
}

export * from './broadcast.ts';
export * from './conv.ts';
export * from './elementwise.ts';
export * from './matmul.ts';
export * from './movement.ts';
export * from './norm.ts';
export * from './reduce.ts';
export * from './softmax.ts';
export * from './update.ts';
