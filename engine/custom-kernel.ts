// A user kernel as the backends receive it (custom ops, engine/custom-op.ts): the WGSL program and the CPU function,
// and what one launch of it carries. Types only, so backend.ts can name them without importing the engine above it.

import type { UniformWord } from './backends/layout.ts';

/** Shapes as custom kernels see them. */
export type KernelShape = readonly number[];

/**
 * The wasm backend's `WebAssembly.Memory`, typed by what the library relies on so that the published types need no
 * DOM or WebAssembly lib; it is a `WebAssembly.Memory` and can be passed to `WebAssembly.instantiate`.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

/** What a CPU kernel gets besides its arrays: the shapes, and where the arrays lie in the backend's memory. */
export interface CpuKernelInfo {
  /** The inputs' shapes, in the op's input order. */
  readonly shapes: readonly KernelShape[];
  readonly outShape: KernelShape;
  /**
   * The wasm backend's linear memory (a shared memory when it runs on threads). An AssemblyScript kernel compiled with
   * `--importMemory` can be instantiated over it and given `ptrs` (docs/custom-ops.md says how, and what to avoid).
   */
  readonly memory: WasmMemory;
  /** Byte offsets of the inputs and of the output in `memory`. */
  readonly ptrs: { readonly inputs: readonly number[]; readonly out: number };
}

/**
 * A CPU kernel: writes every element of `out` from `inputs`. The arrays are views into the wasm backend's memory (no
 * copies); the function runs synchronously on the calling thread and must not create or free tensors.
 */
export type CpuKernel<P> = (inputs: readonly Float32Array[], out: Float32Array, params: P, info: CpuKernelInfo) => void;

/** A WGSL compute shader, checked against the op (custom-wgsl.ts) before any backend sees it. */
export interface WgslProgram {
  readonly code: string;
  readonly entry: string;
  /** Invocations per workgroup along x; set as the `wg` override when the shader declares one. */
  readonly workgroupSize: number;
  /** Whether the shader declares `override wg`. */
  readonly hasWg: boolean;
}

/** One user kernel: the op's name and input names (for errors and bindings) and its backend implementations. */
export interface CustomKernel {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly webgpu?: WgslProgram;
  readonly wasm?: CpuKernel<Readonly<Record<string, unknown>>>;
}

/** What one launch of a custom kernel carries. */
export interface CustomLaunch {
  /** The words of the shader's `Params` struct: `size` (elements of out), then the op's parameters. */
  readonly uniforms: readonly UniformWord[];
  /** The op's parameters by name, for the CPU kernel. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Workgroups along x, y, z; by default ⌈size / workgroupSize⌉ split into a 2-D grid. */
  readonly groups?: readonly [number, number, number];
  readonly shapes: readonly KernelShape[];
  readonly outShape: KernelShape;
}
