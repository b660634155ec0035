// Compiled pipelines of user kernels (custom ops) for the WebGPU backend: compiled ahead of their first dispatch so a
// WGSL error rejects with the user's line instead of invalidating a batch, over an explicit binding layout
// (n read-only inputs, the output, the uniform params), and cached by a key derived from the program.

import type { CustomKernel, CustomLaunch, WgslProgram } from '../custom-kernel.ts';
import { formatCompileError } from '../custom-wgsl.ts';
import type { CachedPipeline } from './webgpu-pipelines.ts';
import { gridFor, MAX_GROUPS } from './webgpu-program.ts';

/** The first line of an error message (Dawn appends a multi-line trace of where validation failed). */
const firstLine = (m: string): string => m.split('\n')[0].trim();

/** User pipelines by program (entry point, workgroup size, source), and one binding layout per input count. */
export class CustomPipelines {
  private readonly ready = new Map<string, CachedPipeline>();
  private readonly compiling = new Map<string, Promise<void>>();
  private readonly layouts = new Map<number, { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();

  constructor(private readonly device: GPUDevice) {}

  /** The cache key of a program: every field that changes the pipeline, derived mechanically. */
  private key(p: WgslProgram): string {
    return JSON.stringify([p.entry, p.hasWg ? p.workgroupSize : 0, p.code]);
  }

  /**
   * Compiles the kernel's shader and pipeline once. Rejects with the compiler's first error at the user's line, or
   * with what does not match the binding layout.
   */
  prepare(kernel: CustomKernel): Promise<void> {
    const program = kernel.webgpu;
    if (!program) return Promise.reject(noKernel(kernel));
    const key = this.key(program);
    if (this.ready.has(key)) return Promise.resolve();
    let pending = this.compiling.get(key);
    if (!pending) {
      pending = this.compile(kernel, program, key).finally(() => this.compiling.delete(key));
      this.compiling.set(key, pending);
    }
    return pending;
  }

  private async compile(kernel: CustomKernel, program: WgslProgram, key: string): Promise<void> {
    const { device } = this;
    const label = `customOp ${kernel.name}`;
    // NOTE: the scope is pushed and popped with no await between, so it cannot capture (or steal) the scopes the
    // backend opens around each batch.
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label, code: program.code });
    const moduleError = device.popErrorScope();
    const info = await module.getCompilationInfo();
    const scoped = await moduleError;
    if (info.messages.some((m) => m.type === 'error')) {
      throw new Error(formatCompileError(kernel.name, program.code, info.messages));
    }
    if (scoped) throw new Error(`customOp '${kernel.name}': WGSL: ${firstLine(scoped.message)}`);
    const layout = this.layout(kernel.inputs.length);
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await device.createComputePipelineAsync({
        label,
        layout: layout.pipeline,
        compute: { module, entryPoint: program.entry, constants: program.hasWg ? { wg: program.workgroupSize } : {} },
      });
    } catch (e) {
      throw new Error(`customOp '${kernel.name}': the WGSL kernel cannot be built: ${firstLine((e as Error).message)}`);
    }
    this.ready.set(key, { pipeline, layout: layout.group });
  }

  /** The compiled pipeline of `kernel`; throws when `prepare` has not finished for it on this device. */
  get(kernel: CustomKernel): CachedPipeline {
    if (!kernel.webgpu) throw noKernel(kernel);
    const cached = this.ready.get(this.key(kernel.webgpu));
    if (!cached) {
      throw new Error(
        `customOp '${kernel.name}': its WGSL kernel is not compiled on this WebGPU device yet; ` +
          `await ${kernel.name}.compile('webgpu') once before the first call (WebGPU reports shader errors ` +
          'asynchronously)',
      );
    }
    return cached;
  }

  /** Read-only storage for each input, storage for the output, a uniform buffer for the params. */
  private layout(inputs: number): { group: GPUBindGroupLayout; pipeline: GPUPipelineLayout } {
    let l = this.layouts.get(inputs);
    if (!l) {
      const entry = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type },
      });
      const entries = Array.from({ length: inputs }, (_, i) => entry(i, 'read-only-storage'));
      entries.push(entry(inputs, 'storage'), entry(inputs + 1, 'uniform'));
      const group = this.device.createBindGroupLayout({ label: `customOp layout, ${inputs} inputs`, entries });
      l = { group, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [group] }) };
      this.layouts.set(inputs, l);
    }
    return l;
  }
}

const noKernel = (kernel: CustomKernel): Error =>
  new Error(`customOp '${kernel.name}' has no WebGPU kernel: give it forward.webgpu`);

/** Workgroups of one launch: the op's own grid, else one invocation per output element in a 2-D grid. */
export function customGrid(kernel: CustomKernel, launch: CustomLaunch): readonly [number, number, number] {
  const g = launch.groups;
  if (g) {
    if (g.some((n) => !Number.isInteger(n) || n < 0 || n > MAX_GROUPS)) {
      throw new RangeError(`customOp '${kernel.name}': grid [${g}] needs integers in [0, ${MAX_GROUPS}]`);
    }
    return g;
  }
  const size = launch.outShape.reduce((p, d) => p * d, 1);
  return gridFor(Math.ceil(size / (kernel.webgpu?.workgroupSize ?? 1)));
}
