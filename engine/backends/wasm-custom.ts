// Runs a user CPU kernel (custom ops) on the wasm backend: Float32Array views of the inputs and the output in linear
// memory, no copies, called on the calling thread (worker threads stay idle meanwhile).

import type { CustomKernel, CustomLaunch } from '../custom-kernel.ts';
import type { WasmBuf } from './wasm-memory.ts';

/** Why `kernel` cannot run on the wasm backend, or null when it can. */
export function wasmCustomMissing(kernel: CustomKernel): Error | null {
  return kernel.wasm ? null : new Error(`customOp '${kernel.name}' has no CPU kernel: give it forward.wasm`);
}

/** Calls the kernel's CPU function over views of `heap` (the backend's current float32 view of `memory`). */
export function runWasmCustom(
  kernel: CustomKernel,
  heap: Float32Array,
  memory: WebAssembly.Memory,
  inputs: readonly WasmBuf[],
  out: WasmBuf,
  launch: CustomLaunch,
): void {
  const missing = wasmCustomMissing(kernel);
  if (missing || !kernel.wasm) throw missing;
  if (inputs.includes(out)) throw new Error(`customOp '${kernel.name}': the output must not alias an input`);
  const view = (b: WasmBuf): Float32Array => heap.subarray(b.ptr / 4, b.ptr / 4 + b.size);
  kernel.wasm(inputs.map(view), view(out), launch.params, {
    shapes: launch.shapes,
    outShape: launch.outShape,
    memory,
    ptrs: { inputs: inputs.map((b) => b.ptr), out: out.ptr },
  });
}
