// Entry point of the AssemblyScript kernels compiled to build/kernels.wasm: re-exports every kernel under its op name.
// Pointers are byte offsets into linear memory; the JS glue (engine/backends/wasm.ts) owns all memory above heapBase().

export { fill, neg, exp, log, sqrt, relu, step, pow, scale, shift, oneHot } from './elementwise';
export { add, sub, mul, div, maximum, minimum, eq, ne, lt, le, gt, ge, gate, where } from './binary';
export { copy } from './copy';
export { reduceSum, reduceMax, reduceMin } from './reduce';
export { softmax, logSoftmax } from './softmax';
export { matmul, matmulRows } from './matmul';
export { setThreadScratch, threadScratchBytes } from './thread';
export { stridedMeta } from './strided';
export { conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv2dScratch } from './conv';
export { convMeta } from './conv-geom';
export { pool2d, pool2dBackward, poolMeta } from './pool';
export { channelSum, channelVar, channelDot, bnStats, bnApply, bnBackwardStats, bnBackwardInput } from './batchnorm';
export { softmaxCrossEntropy, softmaxCrossEntropyBackward } from './loss';
export { axpby, sgdMomentum, sgdApply, dropout } from './update';

/** First byte past the module's static data (packing scratch included); the glue allocates from here, 16-aligned. */
export function heapBase(): usize {
  return __heap_base;
}
