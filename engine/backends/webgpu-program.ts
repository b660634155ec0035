// What one WebGPU dispatch needs (a Program) and the small helpers the program tables build them with.

import type { Conv2dParams } from '../backend.ts';
import type { Fields, Layout, UniformWord, Values } from './layout.ts';
import { WGSL_PARAMS, type ShaderName } from './webgpu-params.ts';

export type { UniformWord } from './layout.ts';

/** A WGSL file: its name (the shader-module cache key), source, and the layout of its `Params` struct. */
export interface Shader<F extends Fields = Fields> {
  readonly name: ShaderName;
  readonly code: string;
  readonly params: Layout<F>;
}

/** The fields of shader N's Params struct. */
type ParamsOf<N extends ShaderName> = (typeof WGSL_PARAMS)[N] extends Layout<infer F> ? F : never;

/**
 * Everything one dispatch needs. Bindings follow one convention in every shader: the inputs at 0..n-1 in the
 * order the kernel receives them, then `out`, then the `params` uniform struct.
 */
export interface Program {
  readonly shader: Shader;
  readonly entry: string;
  /** Pipeline override constants (booleans as 0/1). */
  readonly constants: Readonly<Record<string, number>>;
  /** The words of the shader's `Params` struct, from `uniforms(shader, values)`. */
  readonly uniforms: readonly UniformWord[];
  /** Workgroups along x, y, z (each at most 65535). */
  readonly grid: readonly [number, number, number];
  /**
   * Which of the kernel's inputs fill the input bindings, in order (default: all of them as given). Lets a shader
   * that always declares an optional input (conv2d's bias) bind another read-only input as a stand-in.
   */
  readonly bind?: readonly number[];
  /**
   * When set, the shader writes `slices` partial results of `size` floats each (slice s at s·size) into a temporary
   * buffer, which the backend then sums slice by slice, in order, into the kernel's output (a split reduction).
   */
  readonly partials?: { readonly slices: number; readonly size: number };
}

/**
 * Which kernels a backend runs. The default ones are register-blocked for CPU rasterisers (lavapipe, SwiftShader);
 * `tiled` picks the workgroup-tiled matmul and implicit-GEMM convolutions written for GPUs, `subgroups` the
 * reductions that use subgroup operations (only where the device has the 'subgroups' feature).
 */
export interface KernelVariant {
  readonly tiled: boolean;
  readonly subgroups: boolean;
}

/** Invocations per workgroup for element-wise kernels and for tree reductions. */
export const WG = 256;
export const MAX_GROUPS = 65535;

/** The shader kernels/<name>.wgsl with its declared Params layout (webgpu-params.ts). */
export function shader<N extends ShaderName>(name: N, code: string): Shader<ParamsOf<N>> {
  return { name, code, params: WGSL_PARAMS[name] as unknown as Layout<ParamsOf<N>> };
}

/** The uniform words of `sh`'s Params struct, filled by field name. */
export const uniforms = <F extends Fields>(sh: Shader<F>, values: Values<F>): UniformWord[] => sh.params.pack(values);

/** Splits `groups` workgroups into a 2-D grid; shaders recover the linear index from num_workgroups. */
export function gridFor(groups: number): [number, number, number] {
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  if (y > MAX_GROUPS) throw new Error(`webgpu: ${groups} workgroups exceed a ${MAX_GROUPS}² grid`);
  return [Math.ceil(groups / y), y, 1];
}

/** One invocation per element in workgroups of WG (the shader's `wg` override); null when size is 0. */
export function elementwise<F extends Fields>(
  sh: Shader<F>,
  size: number,
  constants: Record<string, number>,
  values: Values<F>,
): Program | null {
  if (size === 0) return null;
  return {
    shader: sh,
    entry: 'main',
    constants: { ...constants, wg: WG },
    uniforms: uniforms(sh, values),
    grid: gridFor(Math.ceil(size / WG)),
  };
}

/** The Params fields shared by the three conv shaders (each adds its own tile counts). */
export const convFields = (p: Conv2dParams) => ({ ...p, cinG: p.cin / p.groups, coutG: p.cout / p.groups });

/**
 * The grid of the conv shaders that put pixel tiles on x (spilling into z past 65535 workgroups) and channel tiles on
 * y: enough workgroups of `wg` for `invocations` along x/z, `rows` along y.
 */
export function tileGrid(invocations: number, wg: number, rows: number): [number, number, number] {
  if (rows > MAX_GROUPS) throw new Error(`webgpu: ${rows} channel tiles exceed ${MAX_GROUPS}`);
  const [x, z] = gridFor(Math.ceil(invocations / wg));
  return [x, rows, z];
}
