// WebAssembly backend: one generic glue layer over the AssemblyScript SIMD kernels in wasm/ (build/kernels.wasm).
// It owns a pooled allocator over linear memory and a table mapping each kernel to its exports. Kernels run
// synchronously: on the calling thread alone, or split between it and worker threads that share the memory
// (build/kernels-mt.wasm, wasm-threads.ts); either way a kernel has finished when its call returns, so flush() and
// sync() have nothing to wait for.

import wasmBytes from '../../build/kernels.wasm';
import wasmBytesShared from '../../build/kernels-mt.wasm';
import {
  kernelInputs,
  type Backend,
  type Buf,
  type KernelName,
  type KernelParams,
  type KernelTable,
} from '../backend.ts';
import type { CustomKernel, CustomLaunch } from '../custom-kernel.ts';
import type { ConvAlgorithm } from './wasm-conv-rule.ts';
import { coreKernels } from './wasm-core.ts';
import { runWasmCustom, wasmCustomMissing } from './wasm-custom.ts';
import { bindExports, FUNCTION_INDEX, FUNCTIONS, type FunctionName, type KernelExports } from './wasm-exports.ts';
import { ALIGN, MAX_PAGES, PAGE, Pool, WasmBuf, sharedMemory, sizeClass } from './wasm-memory.ts';
import { nnKernels } from './wasm-nn.ts';
import { checkSize, type KernelHost } from './wasm-split.ts';
import { WasmThreads, threadsUnavailable, threadsWanted, type WaitPolicy } from './wasm-threads.ts';

/**
 * Work per thread below which a kernel is not split: a worker wakes in ~10–50 µs, so a share must take longer than
 * that. Compute-bound kernels count multiply-adds, memory-bound ones elements.
 */
export const DEFAULT_GRAIN = { compute: 1 << 20, memory: 1 << 16 };

/** Options of `createWasmBackend`. */
export interface WasmOptions {
  /**
   * Threads the kernels run on, the calling one included [the machine's logical cores, at most 8]. More than 1 needs
   * SharedArrayBuffer and workers (Node, or a cross-origin-isolated page); without them, or when a worker cannot
   * start, the backend runs on 1 thread and `info` says why. The library reads no environment variables: the CLIs
   * pass SWA_WASM_THREADS here.
   */
  threads?: number;
  /** Work per thread below which a kernel runs unsplit (DEFAULT_GRAIN); tests pass 1 to split every kernel. */
  grain?: { compute: number; memory: number };
  /** How idle threads wait (WaitPolicy) ['poll']. */
  wait?: WaitPolicy;
  /**
   * Where the worker script is [`wasm-worker.js` beside the library bundle, found through `import.meta.url`]. Set it
   * when a bundler or server puts that file elsewhere (it is built as dist/browser/wasm-worker.js and
   * dist/node/wasm-worker.js); browsers load it as a module worker.
   */
  workerUrl?: string | URL;
  /**
   * How 3×3 stride-1 convolutions run ['auto']: Winograd F(4×4, 3×3) or F(2×2, 3×3) where the shape favours it, else
   * the direct implicit GEMM; 'direct', 'winograd2' and 'winograd4' force one (see ConvAlgorithm).
   */
  conv?: ConvAlgorithm;
}

class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  info: string;
  private readonly pool: Pool;
  private live = 0;
  private destroyed = false;
  /** Per-thread scratch of the conv kernels: grown when a call needs more, never shrunk (fresh pages cost to touch). */
  private readonly scratchBlocks: ({ at: number; bytes: number } | null)[] = [];
  /** Each thread's private block (packing buffers, geometry); index 0 is the calling thread's. */
  readonly threadBlocks: number[] = [];
  private threads: WasmThreads | null = null;
  private f32: Float32Array;
  private i32: Int32Array;
  private readonly kernels: KernelTable<WasmBuf>;

  constructor(
    readonly ex: KernelExports,
    private readonly maxBytes: number,
    threadCount: number,
    private readonly grain: { compute: number; memory: number },
    private readonly conv: ConvAlgorithm,
  ) {
    this.pool = new Pool(ex.memory, ex.heapBase(), maxBytes);
    this.f32 = new Float32Array(ex.memory.buffer);
    this.i32 = new Int32Array(ex.memory.buffer);
    const blockBytes = sizeClass(ex.threadScratchBytes());
    for (let t = 0; t < threadCount; t++) this.threadBlocks.push(this.pool.take(blockBytes).at);
    ex.setThreadScratch(this.threadBlocks[0]);
    this.info = 'WebAssembly SIMD, 1 thread';
    this.kernels = this.kernelTable();
  }

  /** Hands the kernels to worker threads (one per thread block after the first). */
  attachThreads(threads: WasmThreads): void {
    this.threads = threads;
    this.info = `WebAssembly SIMD, ${threads.workers + 1} threads`;
  }

  /** Threads kernels may be split over (1 when single-threaded). */
  get threadCount(): number {
    return this.threads ? this.threads.workers + 1 : 1;
  }

  alloc(size: number): Buf {
    this.alive();
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`wasm backend: cannot allocate ${size} elements`);
    if (4 * size > this.maxBytes - this.pool.base) {
      throw new RangeError(
        `wasm backend: cannot allocate ${size} elements (${4 * size} bytes): over the memory limit ` +
          `of ${this.maxBytes} bytes (${this.maxBytes - this.pool.base} after the kernels' static data)`,
      );
    }
    this.live++;
    if (size === 0) return new WasmBuf(0, this.pool.base, 0, this.pool);
    const block = this.pool.take(sizeClass(size * 4));
    return new WasmBuf(size, block.at, block.bytes, this.pool);
  }

  free(buf: Buf): void {
    const b = this.foreign(buf);
    if (b.freed) throw new Error(`wasm backend: double free of a buffer of ${b.size} elements`);
    b.freed = true;
    this.live--;
    if (b.bytes > 0) this.pool.give(b.ptr, b.bytes);
  }

  write(buf: Buf, data: Float32Array, offset = 0): void {
    const b = this.own(buf);
    if (offset < 0 || offset + data.length > b.size) {
      throw new RangeError(`wasm backend: write of ${data.length} at ${offset} into a buffer of ${b.size}`);
    }
    this.heap().set(data, b.ptr / 4 + offset);
  }

  async read(buf: Buf, size: number): Promise<Float32Array> {
    const b = this.own(buf);
    checkSize(b, size, 'read');
    return this.heap().slice(b.ptr / 4, b.ptr / 4 + size);
  }

  run<K extends KernelName>(kernel: K, inputs: readonly Buf[], out: Buf, params: KernelParams[K]): void {
    const count = kernelInputs(kernel, params);
    if (inputs.length !== count) throw new Error(`wasm backend: ${kernel} takes ${count} inputs, got ${inputs.length}`);
    const run: KernelTable<WasmBuf>[K] = this.kernels[kernel];
    run(
      inputs.map((b) => this.own(b)),
      this.own(out),
      params,
    );
  }

  // User kernels (custom ops, engine/custom-op.ts; wasm-custom.ts): nothing to compile, run on the calling thread.
  prepareCustom(kernel: CustomKernel): Promise<void> {
    const missing = wasmCustomMissing(kernel);
    return missing ? Promise.reject(missing) : Promise.resolve();
  }

  runCustom(kernel: CustomKernel, inputs: readonly Buf[], out: Buf, launch: CustomLaunch): void {
    const ins = inputs.map((b) => this.own(b));
    runWasmCustom(kernel, this.heap(), this.ex.memory, ins, this.own(out), launch);
  }

  flush(): void {}

  async sync(): Promise<void> {}

  liveBuffers(): number {
    return this.live;
  }

  destroy(): void {
    this.destroyed = true;
    this.threads?.destroy();
    this.threads = null;
    this.f32 = new Float32Array(0);
    this.i32 = new Int32Array(0);
  }

  private alive(): void {
    if (this.destroyed) throw new Error('wasm backend: used after destroy()');
  }

  /** The buffer as this backend's own, or a clear error. */
  private foreign(buf: Buf): WasmBuf {
    this.alive();
    if (!(buf instanceof WasmBuf) || buf.pool !== this.pool) {
      throw new Error(`wasm backend: buffer belongs to another backend (${buf.device})`);
    }
    return buf;
  }

  private own(buf: Buf): WasmBuf {
    const b = this.foreign(buf);
    if (b.freed) throw new Error(`wasm backend: buffer of ${b.size} elements used after free`);
    return b;
  }

  /**
   * Float32 view of linear memory. NOTE: memory.grow detaches a plain memory's old ArrayBuffer, and gives a shared
   * memory a new, longer SharedArrayBuffer, so views are re-created whenever the length changed.
   */
  private heap(): Float32Array {
    const buffer = this.ex.memory.buffer;
    if (this.f32.buffer !== buffer || this.f32.byteLength !== buffer.byteLength) {
      this.f32 = new Float32Array(buffer);
      this.i32 = new Int32Array(buffer);
    }
    return this.f32;
  }

  /** The address of thread t's scratch block of at least `bytes`, kept for later calls. */
  private scratch(bytes: number, t = 0): number {
    const have = this.scratchBlocks[t];
    if (!have || have.bytes < bytes) {
      if (have) this.pool.give(have.at, have.bytes);
      this.scratchBlocks[t] = this.pool.take(sizeClass(Math.max(bytes, ALIGN)));
    }
    return this.scratchBlocks[t]!.at;
  }

  /** Parts to split `work` over: one per grain of work, at most the thread count and `most`. */
  private parts(work: number, kind: 'compute' | 'memory', most = Infinity): number {
    if (!this.threads) return 1;
    return Math.max(1, Math.min(this.threads.workers + 1, Math.floor(work / this.grain[kind]), most));
  }

  /** Calls export `fn` once per part with `args(p)`, part 0 on this thread and part p on worker p. */
  private split(fn: FunctionName, parts: number, args: (p: number) => number[]): void {
    const call = this.ex[fn] as unknown as (...a: number[]) => void;
    if (parts <= 1 || !this.threads) {
      call(...args(0));
      return;
    }
    const index = FUNCTION_INDEX.get(fn)!;
    const calls = [{ fn: index, args: [] as number[] }];
    for (let p = 1; p < parts; p++) calls.push({ fn: index, args: args(p) });
    const own = args(0);
    this.threads.run(calls, () => call(...own));
  }

  /** The address in thread t's private block of what lies at `addr` in the calling thread's. */
  private threadAddr(t: number, addr: number): number {
    return this.threadBlocks[t] + (addr - this.threadBlocks[0]);
  }

  private kernelTable(): KernelTable<WasmBuf> {
    const host: KernelHost = {
      ex: this.ex,
      conv: this.conv,
      views: () => {
        this.heap();
        return { i32: this.i32, f32: this.f32 };
      },
      scratch: (bytes, t) => this.scratch(bytes, t),
      parts: (work, kind, most) => this.parts(work, kind, most),
      split: (fn, parts, args) => this.split(fn, parts, args),
      threadAddr: (t, addr) => this.threadAddr(t, addr),
    };
    return { ...coreKernels(host), ...nnKernels<WasmBuf>(host) };
  }
}

const abortImport = (): never => {
  throw new Error('wasm backend: kernel aborted');
};

/** The kernels over a shared memory with `threads − 1` workers; throws when shared memory or workers fail. */
async function createThreaded(
  threads: number,
  grain: WasmOptions['grain'] & object,
  policy: WaitPolicy,
  workerUrl: string | URL | undefined,
  conv: ConvAlgorithm,
): Promise<WasmBackend> {
  const module = await WebAssembly.compile(new Uint8Array(wasmBytesShared));
  const { memory, maxBytes } = sharedMemory();
  const instance = await WebAssembly.instantiate(module, { env: { memory, abort: abortImport } });
  const backend = new WasmBackend(bindExports(instance.exports, memory), maxBytes, threads, grain, conv);
  try {
    backend.attachThreads(
      await WasmThreads.start({
        module,
        memory,
        names: FUNCTIONS,
        scratch: backend.threadBlocks,
        workers: threads - 1,
        policy,
        workerUrl,
      }),
    );
  } catch (e) {
    backend.destroy();
    throw e;
  }
  return backend;
}

/**
 * Instantiates the AssemblyScript SIMD kernels and returns a backend over them, on `threads` threads when the
 * runtime allows (see WasmOptions), else on one with the reason in `info`.
 * Rejects when the runtime lacks WebAssembly SIMD.
 */
export async function createWasmBackend(opts: WasmOptions = {}): Promise<Backend> {
  const threads = await threadsWanted(opts.threads);
  const grain = opts.grain ?? DEFAULT_GRAIN;
  const conv = opts.conv ?? 'auto';
  if (!['auto', 'direct', 'winograd2', 'winograd4'].includes(conv)) {
    throw new RangeError(`createWasmBackend: conv must be 'auto', 'direct', 'winograd2' or 'winograd4', got ${conv}`);
  }
  let why = '';
  if (threads > 1) {
    const unavailable = threadsUnavailable();
    if (!unavailable) {
      try {
        return await createThreaded(threads, grain, opts.wait ?? 'poll', opts.workerUrl, conv);
      } catch (e) {
        why = (e as Error).message;
      }
    } else {
      why = unavailable;
    }
  }
  // NOTE: the copy gives a Uint8Array<ArrayBuffer>, which BufferSource requires (the asset is typed ArrayBufferLike).
  const module = await WebAssembly.compile(new Uint8Array(wasmBytes));
  const instance = await WebAssembly.instantiate(module, { env: { abort: abortImport } });
  const backend = new WasmBackend(bindExports(instance.exports), MAX_PAGES * PAGE, 1, grain, conv);
  if (why) backend.info += ` (${threads} asked: ${why})`;
  return backend;
}
