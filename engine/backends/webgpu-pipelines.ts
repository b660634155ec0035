// Compiled compute pipelines cached by a key derived from the program, and the uniform arena that holds every
// recorded dispatch's parameters until the batch is submitted.

import type { Program, Shader, UniformWord } from './webgpu-program.ts';

/** A pipeline with its bind group layout (fetched once; Dawn returns a new object per call). */
export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/** Shader modules per WGSL file and pipelines per (file, entry point, override constants). */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, CachedPipeline>();

  constructor(private readonly device: GPUDevice) {}

  get(program: Program): CachedPipeline {
    const key = JSON.stringify([program.shader.name, program.entry, program.constants]);
    let cached = this.pipelines.get(key);
    if (!cached) {
      const pipeline = this.device.createComputePipeline({
        label: key,
        layout: 'auto',
        compute: {
          module: this.module(program.shader),
          entryPoint: program.entry,
          constants: { ...program.constants },
        },
      });
      cached = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.pipelines.set(key, cached);
    }
    return cached;
  }

  private module(shader: Shader): GPUShaderModule {
    let mod = this.modules.get(shader.name);
    if (!mod) {
      mod = this.device.createShaderModule({ label: shader.name, code: shader.code });
      this.modules.set(shader.name, mod);
    }
    return mod;
  }
}

/**
 * One uniform buffer of fixed-size slots, filled on the CPU while dispatches are recorded and uploaded with a single
 * writeBuffer just before the batch is submitted. Its slot count bounds the dispatches per batch.
 */
export class UniformArena {
  readonly buffer: GPUBuffer;
  /** Bytes per slot: at least 256 and a multiple of the device's uniform offset alignment. */
  readonly slotBytes: number;
  private readonly words: ArrayBuffer;
  private readonly u32: Uint32Array;
  private readonly f32: Float32Array;
  private used = 0;

  constructor(
    device: GPUDevice,
    readonly slots: number,
  ) {
    const align = device.limits.minUniformBufferOffsetAlignment;
    this.slotBytes = Math.ceil(256 / align) * align;
    this.buffer = device.createBuffer({
      label: 'uniform arena',
      size: slots * this.slotBytes,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.words = new ArrayBuffer(slots * this.slotBytes);
    this.u32 = new Uint32Array(this.words);
    this.f32 = new Float32Array(this.words);
  }

  get full(): boolean {
    return this.used === this.slots;
  }

  /** Copies `uniforms` into the next slot and returns its byte offset. */
  push(uniforms: readonly UniformWord[]): number {
    if (this.full) throw new Error('webgpu: uniform arena is full (flush before recording more dispatches)');
    if (uniforms.length * 4 > this.slotBytes) throw new Error(`webgpu: ${uniforms.length} uniform words exceed a slot`);
    const offset = this.used++ * this.slotBytes;
    const base = offset / 4;
    uniforms.forEach((w, i) => {
      if (typeof w === 'number') this.u32[base + i] = w;
      else this.f32[base + i] = w.f32;
    });
    return offset;
  }

  /** Writes the used slots to the GPU (queue order: before the batch submitted next) and starts over. */
  upload(queue: GPUQueue): void {
    if (this.used > 0) queue.writeBuffer(this.buffer, 0, this.words, 0, this.used * this.slotBytes);
    this.used = 0;
  }
}
