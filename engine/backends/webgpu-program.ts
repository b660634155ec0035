// What one WebGPU dispatch needs (a Program) and the small helpers the program tables build them with.

/** A WGSL file: its name (the shader-module cache key) and source. */
export interface Shader {
  readonly name: string;
  readonly code: string;
}

/** A 32-bit uniform word: an unsigned integer, or a float wrapped as `{ f32 }`. */
export type UniformWord = number | { readonly f32: number };

/**
 * Everything one dispatch needs. Bindings follow one convention in every shader: the inputs at 0..n-1 in the
 * order the kernel receives them, then `out`, then the `params` uniform struct.
 */
export interface Program {
  readonly shader: Shader;
  readonly entry: string;
  /** Pipeline override constants (booleans as 0/1). */
  readonly constants: Readonly<Record<string, number>>;
  /** The words of the shader's `Params` struct in declaration order (vec4 arrays padded by `vec8`). */
  readonly uniforms: readonly UniformWord[];
  /** Workgroups along x, y, z (each at most 65535). */
  readonly grid: readonly [number, number, number];
  /**
   * Which of the kernel's inputs fill the input bindings, in order (default: all of them as given). Lets a shader
   * that always declares an optional input (conv2d's bias) bind another read-only input as a stand-in.
   */
  readonly bind?: readonly number[];
}

/** Invocations per workgroup for element-wise kernels and for tree reductions. */
export const WG = 256;
export const MAX_GROUPS = 65535;

export const shader = (name: string, code: string): Shader => ({ name, code });
export const f32 = (value: number): UniformWord => ({ f32: value });
export const flag = (value: boolean): UniformWord => (value ? 1 : 0);

/** Splits `groups` workgroups into a 2-D grid; shaders recover the linear index from num_workgroups. */
export function gridFor(groups: number): [number, number, number] {
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  if (y > MAX_GROUPS) throw new Error(`webgpu: ${groups} workgroups exceed a ${MAX_GROUPS}² grid`);
  return [Math.ceil(groups / y), y, 1];
}

/** One invocation per element in workgroups of WG (the shader's `wg` override); null when size is 0. */
export function elementwise(sh: Shader, size: number, constants: Record<string, number>, uniforms: UniformWord[]): Program | null {
  if (size === 0) return null;
  return { shader: sh, entry: 'main', constants: { ...constants, wg: WG }, uniforms, grid: gridFor(Math.ceil(size / WG)) };
}
