// WebAssembly backend: one generic glue layer over the AssemblyScript SIMD kernels in wasm/ (build/kernels.wasm).
// It owns a pooled allocator over linear memory and a table mapping each kernel to its exports. Kernels run
// synchronously: on the calling thread alone, or split between it and worker threads that share the memory
// (build/kernels-mt.wasm, wasm-threads.ts); either way a kernel has finished when its call returns, so flush() and
// sync() have nothing to wait for.

import wasmBytes from '../../build/kernels.wasm';
import wasmBytesShared from '../../build/kernels-mt.wasm';
import {
  BINARY_OPS, MAX_RANK, UNARY_OPS,
  type Backend, type BinaryOp, type Buf, type KernelName, type KernelParams, type KernelTable, type UnaryOp,
} from '../backend.ts';
import { NN_ARITY, NN_FUNCTIONS, checkSize, nnKernels, range, splitFlat, type Arity, type NnExports, type Splitter } from './wasm-nn.ts';
import { coalesce } from '../shape.ts';
import { ALIGN, MAX_PAGES, PAGE, Pool, WasmBuf, checkSpan, sharedMemory, sizeClass } from './wasm-memory.ts';
import { WasmThreads, threadsUnavailable, threadsWanted, type WaitPolicy } from './wasm-threads.ts';

type UnaryFn = (x: number, out: number, n: number, alpha: number) => void;
type BinaryFn = (a: number, b: number, out: number, rank: number) => void;
/** Kernels over x viewed as [outer, r, inner]. */
type AxisFn = (x: number, out: number, outer: number, r: number, inner: number) => void;

/** The module's exports; pointers are byte offsets into `memory`, booleans are passed as 0 or 1. */
type KernelExports = Record<UnaryOp, UnaryFn> & Record<BinaryOp, BinaryFn> & NnExports & {
  memory: WebAssembly.Memory;
  heapBase(): number;
  stridedMeta(): number;
  fill(out: number, n: number, value: number): void;
  copy(x: number, out: number, rank: number): void;
  where(cond: number, a: number, b: number, out: number, rank: number): void;
  reduceSum: AxisFn;
  reduceMax: AxisFn;
  softmax: AxisFn;
  logSoftmax: AxisFn;
  matmul(a: number, b: number, out: number, batch: number, m: number, n: number, k: number,
    transA: number, transB: number, aBatchStride: number, bBatchStride: number): void;
  matmulRows(a: number, b: number, out: number, m: number, n: number, k: number, transA: number, transB: number,
    row0: number, rows: number): void;
  oneHot(labels: number, out: number, rows: number, classes: number): void;
  threadScratchBytes(): number;
  setThreadScratch(at: number): void;
};

/** Every export the glue calls; worker threads look calls up by their index in this list. */
const FUNCTIONS = [...UNARY_OPS, ...BINARY_OPS, 'heapBase', 'stridedMeta', 'fill', 'copy', 'where', 'reduceSum',
  'reduceMax', 'softmax', 'logSoftmax', 'matmul', 'matmulRows', 'oneHot', 'threadScratchBytes', 'setThreadScratch',
  ...NN_FUNCTIONS] as const;
type FunctionName = (typeof FUNCTIONS)[number];
const FUNCTION_INDEX = new Map<string, number>(FUNCTIONS.map((f, i) => [f, i]));

/** Inputs each kernel takes, checked before dispatch. */
const ARITY: { [K in KernelName]: Arity } = {
  fill: 0, copy: 1, unary: 1, binary: 2, where: 3, reduce: 1, matmul: 2, softmax: 1, oneHot: 1, ...NN_ARITY,
};

/**
 * Work per thread below which a kernel is not split: a worker wakes in ~10–50 µs, so a share must take longer than
 * that. Compute-bound kernels count multiply-adds, memory-bound ones elements.
 */
export const DEFAULT_GRAIN = { compute: 1 << 20, memory: 1 << 16 };

/** Options of `createWasmBackend`. */
export interface WasmOptions {
  /**
   * Threads the kernels run on, the calling one included [the machine's logical cores, at most 8; in Node the
   * SWA_WASM_THREADS environment variable overrides]. More than 1 needs SharedArrayBuffer and workers (Node, or a
   * cross-origin-isolated page); without them the backend runs on 1 thread and `info` says why.
   */
  threads?: number;
  /** Work per thread below which a kernel runs unsplit (DEFAULT_GRAIN); tests pass 1 to split every kernel. */
  grain?: { compute: number; memory: number };
  /** How idle threads wait (WaitPolicy) [SWA_WASM_WAIT, else 'poll']. */
  wait?: WaitPolicy;
}

class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  info: string;
  private readonly pool: Pool;
  private live = 0;
  private destroyed = false;
  /** Per-thread scratch of the conv kernels: grown when a call needs more, never shrunk (fresh pages are costly to touch). */
  private readonly scratchBlocks: ({ at: number; bytes: number } | null)[] = [];
  /** Each thread's private block (packing buffers, geometry); index 0 is the calling thread's. */
  readonly threadBlocks: number[] = [];
  private threads: WasmThreads | null = null;
  private f32: Float32Array;
  private i32: Int32Array;
  private readonly kernels: KernelTable<WasmBuf>;

  constructor(readonly ex: KernelExports, maxBytes: number, threadCount: number, private readonly grain: { compute: number; memory: number }) {
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
    const arity = ARITY[kernel];
    const [fewest, most] = typeof arity === 'number' ? [arity, arity] : arity;
    if (inputs.length < fewest || inputs.length > most) {
      throw new Error(`wasm backend: ${kernel} takes ${fewest === most ? fewest : `${fewest}–${most}`} inputs, got ${inputs.length}`);
    }
    const run: KernelTable<WasmBuf>[K] = this.kernels[kernel];
    run(inputs.map((b) => this.own(b)), this.own(out), params);
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

  /**
   * Coalesces a strided launch and bounds-checks each operand. Returns null when there is nothing to do, else the
   * coalesced layout and a writer that puts dims [lo, hi) of its outermost dim into thread t's strided scratch.
   */
  private layout(shape: readonly number[], ops: readonly { buf: WasmBuf; strides: readonly number[]; offset: number }[]) {
    if (shape.includes(0)) return null;
    // Throws, naming the shape, when the coalesced rank still exceeds MAX_RANK.
    const c = coalesce('wasm backend', shape, ops.map((o) => o.strides));
    ops.forEach((o, t) => checkSpan(o.buf, o.offset, c.shape, c.strides[t], `operand ${t}`));
    const meta = this.ex.stridedMeta();
    const write = (t: number, lo: number, hi: number): void => {
      this.heap();
      const at = this.threadAddr(t, meta) / 4;
      c.shape.forEach((n, d) => {
        this.i32[at + d] = d === 0 ? hi - lo : n;
        c.strides.forEach((s, k) => { this.i32[at + MAX_RANK * (k + 1) + d] = s[d]; });
      });
    };
    return { rank: c.shape.length, shape: c.shape, strides: c.strides, write };
  }

  /**
   * A strided kernel split over the outermost coalesced dim: `ptrs` are the operands' base byte addresses (in the
   * kernel's argument order), `tail` the arguments after them.
   */
  private strided(fn: FunctionName, shape: readonly number[], ops: readonly { buf: WasmBuf; strides: readonly number[]; offset: number }[],
    ptrs: readonly number[], tail: (rank: number) => number[]): void {
    const l = this.layout(shape, ops);
    if (!l) return;
    const parts = this.parts(l.shape.reduce((a, b) => a * b, 1), 'memory', l.shape[0]);
    this.split(fn, parts, (p) => {
      const [lo, hi] = range(l.shape[0], parts, p);
      l.write(p, lo, hi);
      return [...ptrs.map((q, k) => q + 4 * lo * l.strides[k][0]), ...tail(l.rank)];
    });
  }

  private kernelTable(): KernelTable<WasmBuf> {
    const ex = this.ex;
    const dense = (shape: readonly number[]): number[] => {
      const s = new Array<number>(shape.length);
      for (let d = shape.length - 1, acc = 1; d >= 0; d--) { s[d] = acc; acc *= shape[d]; }
      return s;
    };
    const volume = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
    const splitter: Splitter = {
      parts: (work, kind, most) => this.parts(work, kind, most),
      split: (fn, parts, args) => this.split(fn as FunctionName, parts, args),
      threadAddr: (t, addr) => this.threadAddr(t, addr),
    };
    const nn = nnKernels<WasmBuf>({
      ex,
      i32: () => { this.heap(); return this.i32; },
      scratch: (bytes, t) => this.scratch(bytes, t),
      ...splitter,
    });
    /** A flat kernel over n floats split into 16-float-aligned ranges: args(lo, count) for each part. */
    const flat = (fn: FunctionName, n: number, args: (lo: number, count: number) => number[]): void => splitFlat(splitter, fn, n, args);
    /** A kernel over [outer, r, inner] split over outer (rows are independent). */
    const rows = (fn: FunctionName, x: WasmBuf, out: WasmBuf, outer: number, r: number, inner: number, outR: number): void => {
      const parts = this.parts(outer * r * inner, 'memory', outer);
      this.split(fn, parts, (p) => {
        const [lo, hi] = range(outer, parts, p);
        return [x.ptr + 4 * lo * r * inner, out.ptr + 4 * lo * outR * inner, hi - lo, r, inner];
      });
    };
    return {
      ...nn,
      fill: (_, out, p) => {
        checkSize(out, p.size, 'fill');
        flat('fill', p.size, (lo, n) => [out.ptr + 4 * lo, n, p.value]);
      },
      copy: ([x], out, p) => {
        this.strided('copy', p.shape, [
          { buf: x, strides: p.inStrides, offset: p.inOffset },
          { buf: out, strides: p.outStrides, offset: p.outOffset },
        ], [x.ptr + 4 * p.inOffset, out.ptr + 4 * p.outOffset], (rank) => [rank]);
      },
      unary: ([x], out, p) => {
        checkSize(x, p.size, 'unary input');
        checkSize(out, p.size, 'unary output');
        flat(p.op, p.size, (lo, n) => [x.ptr + 4 * lo, out.ptr + 4 * lo, n, p.alpha]);
      },
      binary: ([a, b], out, p) => {
        checkSize(out, volume(p.shape), 'binary output');
        this.strided(p.op, p.shape, [
          { buf: a, strides: p.aStrides, offset: 0 }, { buf: b, strides: p.bStrides, offset: 0 },
          { buf: out, strides: dense(p.shape), offset: 0 },
        ], [a.ptr, b.ptr, out.ptr], (rank) => [rank]);
      },
      where: ([cond, a, b], out, p) => {
        checkSize(out, volume(p.shape), 'where output');
        // The output is dense: operand 3 of the kernel, not in the strided scratch (its offset follows the first dim).
        const l = this.layout(p.shape, [
          { buf: cond, strides: p.cStrides, offset: 0 }, { buf: a, strides: p.aStrides, offset: 0 },
          { buf: b, strides: p.bStrides, offset: 0 },
        ]);
        if (!l) return;
        const inner = volume(l.shape.slice(1));
        const parts = this.parts(volume(l.shape), 'memory', l.shape[0]);
        this.split('where', parts, (q) => {
          const [lo, hi] = range(l.shape[0], parts, q);
          l.write(q, lo, hi);
          return [cond.ptr + 4 * lo * l.strides[0][0], a.ptr + 4 * lo * l.strides[1][0], b.ptr + 4 * lo * l.strides[2][0],
            out.ptr + 4 * lo * inner, l.rank];
        });
      },
      reduce: ([x], out, p) => {
        checkSize(x, p.outer * p.r * p.inner, 'reduce input');
        checkSize(out, p.outer * p.inner, 'reduce output');
        rows(p.op === 'sum' ? 'reduceSum' : 'reduceMax', x, out, p.outer, p.r, p.inner, 1);
      },
      matmul: ([a, b], out, p) => {
        if (p.batch * p.m * p.n === 0) return;
        checkSize(a, (p.batch - 1) * p.aBatchStride + p.m * p.k, 'matmul a');
        checkSize(b, (p.batch - 1) * p.bBatchStride + p.k * p.n, 'matmul b');
        checkSize(out, p.batch * p.m * p.n, 'matmul output');
        const tA = p.transA ? 1 : 0, tB = p.transB ? 1 : 0;
        const work = p.batch * p.m * p.n * Math.max(1, p.k);
        if (p.batch > 1) {
          const parts = this.parts(work, 'compute', p.batch);
          this.split('matmul', parts, (q) => {
            const [lo, hi] = range(p.batch, parts, q);
            return [a.ptr + 4 * lo * p.aBatchStride, b.ptr + 4 * lo * p.bBatchStride, out.ptr + 4 * lo * p.m * p.n,
              hi - lo, p.m, p.n, p.k, tA, tB, p.aBatchStride, p.bBatchStride];
          });
          return;
        }
        // One product: rows of the output in blocks of whole micro-tiles (2 rows).
        const parts = this.parts(work, 'compute', Math.ceil(p.m / 2));
        this.split('matmulRows', parts, (q) => {
          const [lo, hi] = range(p.m, parts, q, 2);
          return [a.ptr, b.ptr, out.ptr, p.m, p.n, p.k, tA, tB, lo, hi - lo];
        });
      },
      softmax: ([x], out, p) => {
        const size = p.outer * p.r * p.inner;
        checkSize(x, size, 'softmax input');
        checkSize(out, size, 'softmax output');
        rows(p.log ? 'logSoftmax' : 'softmax', x, out, p.outer, p.r, p.inner, p.r);
      },
      oneHot: ([labels], out, p) => {
        checkSize(labels, p.rows, 'oneHot labels');
        checkSize(out, p.rows * p.classes, 'oneHot output');
        ex.oneHot(labels.ptr, out.ptr, p.rows, p.classes);
      },
    };
  }
}

/** Checks that every kernel the glue calls is exported, then views the exports through their typed shape. */
function bindExports(raw: WebAssembly.Exports, memory?: WebAssembly.Memory): KernelExports {
  const missing: string[] = FUNCTIONS.filter((f) => typeof raw[f] !== 'function');
  const mem = memory ?? raw.memory;
  if (!(mem instanceof WebAssembly.Memory)) missing.push('memory');
  if (missing.length) throw new Error(`wasm backend: kernels.wasm lacks exports ${missing.join(', ')}`);
  return { ...(raw as unknown as KernelExports), memory: mem as WebAssembly.Memory };
}

const abortImport = (): never => { throw new Error('wasm backend: kernel aborted'); };

/** The kernels over a shared memory with `threads − 1` workers; throws when shared memory or workers fail. */
async function createThreaded(threads: number, grain: WasmOptions['grain'] & object, policy: WaitPolicy): Promise<WasmBackend> {
  const module = await WebAssembly.compile(new Uint8Array(wasmBytesShared));
  const { memory, maxBytes } = sharedMemory();
  const instance = await WebAssembly.instantiate(module, { env: { memory, abort: abortImport } });
  const backend = new WasmBackend(bindExports(instance.exports, memory), maxBytes, threads, grain);
  try {
    backend.attachThreads(await WasmThreads.start({
      module, memory, names: FUNCTIONS, scratch: backend.threadBlocks, workers: threads - 1, policy,
    }));
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
  let why = '';
  if (threads > 1) {
    const unavailable = threadsUnavailable();
    if (!unavailable) {
      try {
        const env = typeof process !== 'undefined' ? process.env?.SWA_WASM_WAIT : undefined;
        const policy = opts.wait ?? (env === 'spin' || env === 'block' || env === 'poll' ? env : 'poll');
        return await createThreaded(threads, grain, policy);
      } catch (e) {
        why = (e as Error).message;
      }
    } else {
      why = unavailable;
    }
  }
  // NOTE: the copy gives a Uint8Array<ArrayBuffer>, which BufferSource requires (the asset is typed over ArrayBufferLike).
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(new Uint8Array(wasmBytes)), { env: { abort: abortImport } });
  const backend = new WasmBackend(bindExports(instance.exports), MAX_PAGES * PAGE, 1, grain);
  if (why) backend.info += ` (${threads} asked: ${why})`;
  return backend;
}
