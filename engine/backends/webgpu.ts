// The WebGPU backend: pooled storage buffers, dispatches recorded into one command encoder and submitted in batches,
// readback through pooled staging buffers, and device errors surfaced on the next call instead of silent garbage.

import { kernelInputs, type Backend, type Buf, type KernelName, type KernelParams } from '../backend.ts';
import type { CustomKernel, CustomLaunch } from '../custom-kernel.ts';
import { CustomPipelines, customGrid } from './webgpu-custom.ts';
import { isSoftwareAdapter, openDevice, summarizeAdapter, type GpuContext } from './webgpu-device.ts';
import { BufferPool } from './webgpu-pool.ts';
import { PipelineCache, UniformArena } from './webgpu-pipelines.ts';
import type { KernelVariant, Program } from './webgpu-program.ts';
import { programs } from './webgpu-programs.ts';
import { kernelVariant, type WebGPUOptions } from './webgpu-variant.ts';

export type { WebGPUKernels, WebGPUOptions } from './webgpu-variant.ts';

/** Dispatches recorded before the batch is submitted on its own (also the uniform arena's slot count). */
const MAX_PENDING = 512;
/** Bytes of freed storage and staging buffers kept for reuse; beyond this they are destroyed. */
const MAX_POOLED_STORAGE = 1 << 30;
const MAX_POOLED_STAGING = 1 << 28;

/** A WebGPU storage buffer of float32 elements. */
class GpuBuf implements Buf {
  readonly device = 'webgpu' as const;
  freed = false;
  constructor(
    readonly size: number,
    readonly buffer: GPUBuffer,
  ) {}
}

/**
 * Opens the WebGPU backend (Dawn in Node, `navigator.gpu` in browsers), with the kernels for the adapter's kind
 * (WebGPUOptions.kernels).
 * @throws when no adapter or device is available, or on an unknown `kernels` option.
 */
export async function createWebGPUBackend(opts: WebGPUOptions = {}): Promise<Backend> {
  const ctx = await openDevice();
  const software = isSoftwareAdapter(summarizeAdapter(ctx.adapter));
  let variant: KernelVariant;
  try {
    variant = kernelVariant(opts.kernels ?? 'auto', software, ctx.device.features);
  } catch (e) {
    ctx.device.destroy();
    throw e;
  }
  return new WebGPUBackend(ctx, variant);
}

class WebGPUBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly info: string;
  private readonly device: GPUDevice;
  private readonly storage: BufferPool;
  private readonly staging: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly arena: UniformArena;
  private readonly customs: CustomPipelines;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private live = 0;
  /** Buffers dropped by a full pool, destroyed once the batch that may still use them is submitted. */
  private doomed: GPUBuffer[] = [];
  /** Settles once the error scopes of every submitted batch have reported (their errors go to `fail`). */
  private scopesSettled: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private destroyed = false;
  /** Bytes of the largest storage buffer a kernel can bind, and the device limit that sets it. */
  private readonly maxBinding: { bytes: number; name: string };

  /** Holds `ctx.gpu` for the backend's lifetime (see the NOTE on GpuContext.gpu). */
  constructor(
    private readonly ctx: GpuContext,
    private readonly variant: KernelVariant,
  ) {
    const { device } = ctx;
    this.device = device;
    const kinds = [
      variant.tiled ? 'tiled GPU kernels' : 'software-tuned kernels',
      variant.subgroups ? 'subgroups' : '',
    ];
    this.info = `${ctx.info}; ${kinds.filter(Boolean).join(', ')}`;
    const { maxStorageBufferBindingSize: binding, maxBufferSize } = device.limits;
    const maxBinding = Math.min(binding, maxBufferSize);
    const limit = binding <= maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
    this.maxBinding = { bytes: maxBinding, name: limit };
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.storage = new BufferPool(device, usage, maxBinding, MAX_POOLED_STORAGE);
    this.staging = new BufferPool(
      device,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      device.limits.maxBufferSize,
      MAX_POOLED_STAGING,
    );
    this.pipelines = new PipelineCache(device);
    this.arena = new UniformArena(device, MAX_PENDING);
    this.customs = new CustomPipelines(device);
    device.lost.then((lost) => {
      if (this.destroyed) return;
      this.fail(`WebGPU device lost (${lost.reason}): ${lost.message}`);
    });
    device.addEventListener('uncapturederror', (ev) => {
      this.fail(`WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`);
    });
  }

  alloc(size: number): Buf {
    this.check();
    if (!Number.isInteger(size) || size < 0) throw new Error(`webgpu: invalid buffer size ${size}`);
    if (4 * size > this.maxBinding.bytes) {
      throw new RangeError(
        `webgpu: cannot allocate ${size} elements (${4 * size} bytes): over the device's limit of ` +
          `${this.maxBinding.bytes} bytes per storage buffer (${this.maxBinding.name})`,
      );
    }
    const buf = new GpuBuf(size, this.storage.acquire(size * 4));
    this.live++;
    return buf;
  }

  free(buf: Buf): void {
    const b = this.own(buf, 'free', false);
    if (b.freed) throw new Error(`webgpu: buffer of ${b.size} elements freed twice`);
    b.freed = true;
    this.live--;
    // NOTE: destroying a buffer that an unsubmitted command uses invalidates the batch; submitted work is safe.
    if (!this.destroyed) {
      this.storage.release(b.buffer, (gone) => (this.encoder ? this.doomed.push(gone) : gone.destroy()));
    }
  }

  write(buf: Buf, data: Float32Array, offset = 0): void {
    this.check();
    const b = this.own(buf, 'write');
    if (!Number.isInteger(offset) || offset < 0 || offset + data.length > b.size) {
      throw new Error(`webgpu: writing ${data.length} elements at ${offset} overflows a buffer of ${b.size}`);
    }
    if (data.length === 0) return;
    // NOTE: queue.writeBuffer runs at queue time, i.e. before commands still sitting in the unsubmitted encoder.
    // Submitting them first keeps a reused pooled buffer from being overwritten before earlier kernels read it.
    this.flush();
    this.device.queue.writeBuffer(b.buffer, offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  async read(buf: Buf, size: number): Promise<Float32Array> {
    this.check();
    const b = this.own(buf, 'read');
    if (!Number.isInteger(size) || size < 0 || size > b.size) {
      throw new Error(`webgpu: cannot read ${size} elements from a buffer of ${b.size}`);
    }
    if (size === 0) {
      await this.sync();
      return new Float32Array(0);
    }
    const bytes = size * 4;
    const staging = this.staging.acquire(bytes);
    this.endPass();
    this.begin().copyBufferToBuffer(b.buffer, 0, staging, 0, bytes);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    } catch (e) {
      await this.settleScopes();
      this.check();
      throw new Error(`webgpu: reading back failed: ${(e as Error).message}`);
    }
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    this.staging.release(staging, (gone) => gone.destroy());
    await this.settleScopes();
    this.check();
    return out;
  }

  run<K extends KernelName>(kernel: K, inputs: readonly Buf[], out: Buf, params: KernelParams[K]): void {
    this.check();
    const count = kernelInputs(kernel, params);
    if (inputs.length !== count) throw new Error(`webgpu: ${kernel} takes ${count} inputs, got ${inputs.length}`);
    const ins = inputs.map((x) => this.own(x, kernel));
    const o = this.own(out, kernel);
    if (ins.includes(o)) throw new Error(`webgpu: ${kernel} output must not alias one of its inputs`);
    const make: (p: KernelParams[K], v: KernelVariant) => Program | null = programs[kernel];
    const program = make(params, this.variant);
    if (!program) return;
    const bound = program.bind ? program.bind.map((i) => ins[i]) : ins;
    if (!program.partials) {
      this.dispatch(program, bound, o.buffer);
      return;
    }
    // A split reduction: the slices' partial results into a pooled temporary, then their ordered sum into out.
    const { slices, size } = program.partials;
    const temp = this.storage.acquire(slices * size * 4);
    this.dispatch(program, bound, temp);
    const sum = programs.reduce({ op: 'sum', outer: 1, r: slices, inner: size }, this.variant)!;
    this.dispatch(sum, [{ buffer: temp }], o.buffer);
    this.storage.release(temp, (gone) => this.doomed.push(gone));
  }

  /** Records one dispatch of `program` over the input buffers and the output buffer. */
  private dispatch(program: Program, inputs: readonly { buffer: GPUBuffer }[], out: GPUBuffer): void {
    if (this.arena.full) this.flush();
    const pass = this.computePass();
    const { pipeline, layout } = this.pipelines.get(program);
    const slot = this.arena.push(program.uniforms);
    const buffers = [...inputs.map((x) => x.buffer), out];
    const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
    entries.push({
      binding: entries.length,
      resource: { buffer: this.arena.buffer, offset: slot, size: this.arena.slotBytes },
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout, entries }));
    pass.dispatchWorkgroups(...program.grid);
    if (++this.pending >= MAX_PENDING) this.flush();
  }

  // ---- user kernels (custom ops, engine/custom-op.ts; pipelines in webgpu-custom.ts) --------------------------------

  prepareCustom(kernel: CustomKernel): Promise<void> {
    this.check();
    return this.customs.prepare(kernel);
  }

  /** Records a custom kernel's dispatch into the current batch, like `run` does a built-in one. */
  runCustom(kernel: CustomKernel, inputs: readonly Buf[], out: Buf, launch: CustomLaunch): void {
    this.check();
    const ins = inputs.map((x) => this.own(x, kernel.name));
    const o = this.own(out, kernel.name);
    const { pipeline, layout } = this.customs.get(kernel);
    const grid = customGrid(kernel, launch);
    if (this.arena.full) this.flush();
    const pass = this.computePass();
    const slot = this.arena.push(launch.uniforms);
    const entries: GPUBindGroupEntry[] = [...ins, o].map((x, i) => ({ binding: i, resource: { buffer: x.buffer } }));
    const params = { buffer: this.arena.buffer, offset: slot, size: this.arena.slotBytes };
    entries.push({ binding: entries.length, resource: params });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout, entries }));
    pass.dispatchWorkgroups(...grid);
    if (++this.pending >= MAX_PENDING) this.flush();
  }

  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    this.arena.upload(this.device.queue);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.pending = 0;
    const oom = this.device.popErrorScope();
    const validation = this.device.popErrorScope();
    const reported = Promise.all([validation, oom]).then(
      (errors) => errors.forEach((e) => e && this.fail(`WebGPU ${e.constructor.name}: ${e.message}`)),
      (e: Error) => this.fail(`WebGPU error scope failed: ${e.message}`),
    );
    this.scopesSettled = Promise.all([this.scopesSettled, reported]).then(() => undefined);
    for (const b of this.doomed) b.destroy();
    this.doomed = [];
  }

  async sync(): Promise<void> {
    this.check();
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.settleScopes();
    this.check();
  }

  liveBuffers(): number {
    return this.live;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.storage.destroy();
    this.staging.destroy();
    this.arena.buffer.destroy();
    this.device.destroy();
    this.failure = new Error('webgpu: backend destroyed');
  }

  /** The encoder of the current batch; opens a new one inside an error scope when none is recording. */
  private begin(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('validation');
      this.device.pushErrorScope('out-of-memory');
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.begin().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Waits until the error scopes of all submitted batches have reported. */
  private settleScopes(): Promise<void> {
    return this.scopesSettled;
  }

  private fail(message: string): void {
    if (this.failure) return;
    this.failure = new Error(message);
    console.error(`[webgpu] ${message}`);
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }

  private own(buf: Buf, op: string, live = true): GpuBuf {
    if (!(buf instanceof GpuBuf)) throw new Error(`webgpu: ${op} got a buffer from the ${buf.device} backend`);
    if (live && buf.freed) throw new Error(`webgpu: ${op} used a freed buffer`);
    return buf;
  }
}
