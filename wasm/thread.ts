// Thread-private scratch. Every instance of the module (the calling thread's, and each worker's when the kernels run
// on several threads over one shared memory) keeps its packing buffers and geometry blocks in a block of linear memory
// the glue allocates for it and hands over with setThreadScratch; module globals are per instance, memory is not.

import { align64, placeConvGeom } from './conv-geom';
import { placeConvForward } from './conv-forward';
import { placeConvKernel } from './conv-kernel';
import { placeMatmul } from './matmul';
import { placePool } from './pool';
import { placeStrided } from './strided';

function place(at: usize): usize {
  at = placeStrided(align64(at));
  at = placePool(align64(at));
  at = placeConvGeom(align64(at));
  at = placeConvForward(align64(at));
  at = placeConvKernel(align64(at));
  at = placeMatmul(align64(at));
  return align64(at);
}

/** Bytes of one instance's private block (64-aligned start required). */
export function threadScratchBytes(): usize {
  return place(0);
}

/** Points this instance's scratch at the block `at` (64-aligned, threadScratchBytes() long); call before any kernel. */
export function setThreadScratch(at: usize): void {
  place(at);
}
