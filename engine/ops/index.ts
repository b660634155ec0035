// The op table: every op name maps to its one definition. A missing entry fails `tsc`.

import { setRegistry, type OpTable } from '../op.ts';
import { binaryDefs, unaryDefs, whereDef } from './elementwise.ts';
import { matmulDef } from './matmul.ts';
import { broadcastToDef, concatDef, embedDef, padDef, permuteDef, reshapeDef, sliceDef, transposeDef } from './movement.ts';
import { maxDef, meanDef, sumDef, sumToDef } from './reduce.ts';
import { crossEntropyDef, oneHotDef, softmaxDefs } from './softmax.ts';
import { conv2dDef, pool2dDef } from './conv.ts';
import { batchNormDef, dropoutDef } from './norm.ts';

export const OPS: OpTable = {
  ...unaryDefs,
  ...binaryDefs,
  where: whereDef,
  sum: sumDef,
  max: maxDef,
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
  dropout: dropoutDef,
};

setRegistry(OPS);

export * from './elementwise.ts';
export * from './matmul.ts';
export * from './movement.ts';
export * from './reduce.ts';
export * from './softmax.ts';
export * from './conv.ts';
export * from './norm.ts';
export * from './update.ts';
