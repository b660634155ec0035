// Which WebGPU kernels a backend runs: the register-blocked ones tuned on CPU rasterisers, or the workgroup-tiled
// ones (and subgroup reductions) for GPUs, chosen by the adapter's kind unless the backend's options force one.

import type { KernelVariant } from './webgpu-program.ts';

/**
 * The WebGPU backend's kernel choice: 'auto' takes the GPU kernels on a hardware adapter and the software ones on a
 * CPU rasteriser (lavapipe/llvmpipe, SwiftShader, WARP); 'gpu' and 'software' force one (tests run the GPU kernels on
 * software adapters this way). The GPU kernels use subgroup operations only where the device has 'subgroups'.
 */
export type WebGPUKernels = 'auto' | 'gpu' | 'software';

/** Options of `createWebGPUBackend`. */
export interface WebGPUOptions {
  /** Which kernels run ['auto']: see WebGPUKernels. */
  kernels?: WebGPUKernels;
}

/** The kernel variant for a device: tiled on GPUs (or when forced), subgroups where tiled and the device has them. */
export function kernelVariant(
  kernels: WebGPUKernels,
  software: boolean,
  features: { has(name: string): boolean },
): KernelVariant {
  if (!['auto', 'gpu', 'software'].includes(kernels)) {
    throw new RangeError(`createWebGPUBackend: kernels must be 'auto', 'gpu' or 'software', got ${kernels}`);
  }
  const tiled = kernels === 'gpu' || (kernels === 'auto' && !software);
  return { tiled, subgroups: tiled && features.has('subgroups') };
}
