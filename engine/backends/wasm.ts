// WebAssembly backend: one generic glue layer over the AssemblyScript SIMD kernels in wasm/ (build/kernels.wasm).
// It owns a pooled allocator over linear memory and a table mapping each kernel to its exports; kernels run
// synchronously on the calling thread, so flush() and sync() have nothing to wait for.

import wasmBytes from '../../build/kernels.wasm';
import {
  BINARY_OPS, MAX_RANK, UNARY_OPS,
  type Backend, type BinaryOp, type Buf, type KernelName, type KernelParams, type KernelTable, type UnaryOp,
} from '../backend.ts';
import { NN_ARITY, NN_FUNCTIONS, checkSize, nnKernels, type Arity, type NnExports } from './wasm-nn.ts';

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
  oneHot(labels: number, out: number, rows: number, classes: number): void;
};

const FUNCTIONS = [...UNARY_OPS, ...BINARY_OPS, 'heapBase', 'stridedMeta', 'fill', 'copy', 'where', 'reduceSum',
  'reduceMax', 'softmax', 'logSoftmax', 'matmul', 'oneHot', ...NN_FUNCTIONS] as const;

/** Inputs each kernel takes, checked before dispatch. */
const ARITY: { [K in KernelName]: Arity } = {
  fill: 0, copy: 1, unary: 1, binary: 2, where: 3, reduce: 1, matmul: 2, softmax: 1, oneHot: 1, ...NN_ARITY,
};

/** Block alignment: a cache line, so SIMD loads of a block never straddle one needlessly (≥ the 16 bytes required). */
const ALIGN = 64;
const PAGE = 65536;
/** Memory grows by at least this much (and at least half the current size) so growth stays rare. */
const MIN_GROW = 16 << 20;
const MAX_BYTES = 65536 * PAGE;

/**
 * Rounds a byte count up to its size class: multiples of 64 up to 1 KiB, then four classes per power of two
 * (waste under 25%). Freed blocks are pooled per class and reused, never returned to the system.
 */
function sizeClass(bytes: number): number {
  if (bytes <= 1024) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const step = 2 ** (Math.ceil(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}

/**
 * Pooled allocator over the module's linear memory: per-class free lists over a bump pointer that starts at the
 * module's heap base. NOTE: on this VM the first touch of a fresh page costs ~18 µs, so freed blocks are always
 * reused and memory grows in large steps instead of being released and grown again.
 */
class Pool {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();

  constructor(private readonly memory: WebAssembly.Memory, readonly base: number) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
  }

  /** A block of at least `cls` bytes (a size class): its address and its own class, to hand back to `give`. */
  take(cls: number): { at: number; bytes: number } {
    const reused = this.freeLists.get(cls)?.pop();
    if (reused !== undefined) return { at: reused, bytes: cls };
    if (this.top + cls > this.memory.buffer.byteLength) {
      // Before growing, settle for a free block up to two classes larger.
      for (let c = sizeClass(cls + 1), i = 0; i < 2; c = sizeClass(c + 1), i++) {
        const spare = this.freeLists.get(c)?.pop();
        if (spare !== undefined) return { at: spare, bytes: c };
      }
      this.grow(this.top + cls);
    }
    const at = this.top;
    this.top += cls;
    return { at, bytes: cls };
  }

  /** Returns a block taken with `take` to the free list of its class. */
  give(at: number, bytes: number): void {
    let list = this.freeLists.get(bytes);
    if (!list) this.freeLists.set(bytes, (list = []));
    list.push(at);
  }

  /** Grows memory to hold `needTop` bytes: by at least half its size (16 MiB minimum), else by just enough. */
  private grow(needTop: number): void {
    const have = this.memory.buffer.byteLength;
    const pages = (bytes: number): number => Math.ceil(bytes / PAGE);
    if (needTop <= MAX_BYTES) {
      try {
        this.memory.grow(pages(Math.min(Math.max(needTop - have, have / 2, MIN_GROW), MAX_BYTES - have)));
        return;
      } catch {
        try {
          this.memory.grow(pages(needTop - have));
          return;
        } catch { /* reported below */ }
      }
    }
    throw new RangeError(`wasm backend: out of memory (heap of ${have} bytes cannot grow to ${needTop})`);
  }
}

/** A block of linear memory holding `size` float32 elements. */
class WasmBuf implements Buf {
  readonly device = 'wasm' as const;
  freed = false;

  constructor(readonly size: number, readonly ptr: number, readonly bytes: number, readonly pool: Pool) {}
}

/**
 * Merges dims that are contiguous in every operand and drops size-1 dims, so common cases reach the kernels'
 * fast paths (a same-shape add becomes one row). Returns null when the shape is empty (nothing to do).
 */
function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } | null {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 0) return null;
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, t) => outStrides[t][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, t) => { outStrides[t][last] = s[d]; });
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, t) => outStrides[t].push(s[d]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    outStrides.forEach((s) => s.push(0));
  }
  return { shape: outShape, strides: outStrides };
}

/** Throws unless elements offset + idx·strides over `shape` all lie inside `buf`. */
function checkSpan(buf: WasmBuf, offset: number, shape: readonly number[], strides: readonly number[], what: string): void {
  let lo = offset, hi = offset;
  shape.forEach((n, d) => {
    const reach = (n - 1) * strides[d];
    if (reach < 0) lo += reach;
    else hi += reach;
  });
  if (lo < 0 || hi >= buf.size) throw new RangeError(`wasm backend: ${what} reaches [${lo}, ${hi}] of a buffer of ${buf.size}`);
}

class WasmBackend implements Backend {
  readonly name = 'wasm' as const;
  readonly info = 'WebAssembly SIMD, 1 thread';
  private readonly pool: Pool;
  private live = 0;
  private destroyed = false;
  /** Scratch of the conv kernels: grown when a call needs more, never shrunk (fresh pages are costly to touch). */
  private scratchBlock: { at: number; bytes: number } | null = null;
  private f32: Float32Array;
  private i32: Int32Array;
  private readonly kernels: KernelTable<WasmBuf>;

  constructor(private readonly ex: KernelExports) {
    this.pool = new Pool(ex.memory, ex.heapBase());
    this.f32 = new Float32Array(ex.memory.buffer);
    this.i32 = new Int32Array(ex.memory.buffer);
    this.kernels = this.kernelTable();
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

  /** Float32 view of linear memory. NOTE: memory.grow detaches the old ArrayBuffer, so views are re-created. */
  private heap(): Float32Array {
    if (this.f32.buffer !== this.ex.memory.buffer) {
      this.f32 = new Float32Array(this.ex.memory.buffer);
      this.i32 = new Int32Array(this.ex.memory.buffer);
    }
    return this.f32;
  }

  /** The address of a scratch block of at least `bytes`, kept for later calls. */
  private scratch(bytes: number): number {
    if (!this.scratchBlock || this.scratchBlock.bytes < bytes) {
      if (this.scratchBlock) this.pool.give(this.scratchBlock.at, this.scratchBlock.bytes);
      this.scratchBlock = this.pool.take(sizeClass(Math.max(bytes, ALIGN)));
    }
    return this.scratchBlock.at;
  }

  /**
   * Coalesces a strided launch, bounds-checks each operand, writes shape and strides to the module's scratch and
   * returns the rank to pass (0 when there is nothing to do).
   */
  private layout(shape: readonly number[], ops: readonly { buf: WasmBuf; strides: readonly number[]; offset: number }[]): number {
    const c = coalesce(shape, ops.map((o) => o.strides));
    if (!c) return 0;
    if (c.shape.length > MAX_RANK) throw new Error(`wasm backend: rank ${c.shape.length} exceeds ${MAX_RANK} after coalescing`);
    ops.forEach((o, t) => checkSpan(o.buf, o.offset, c.shape, c.strides[t], `operand ${t}`));
    this.heap();
    const at = this.ex.stridedMeta() / 4;
    c.shape.forEach((n, d) => {
      this.i32[at + d] = n;
      c.strides.forEach((s, t) => { this.i32[at + MAX_RANK * (t + 1) + d] = s[d]; });
    });
    return c.shape.length;
  }

  private kernelTable(): KernelTable<WasmBuf> {
    const ex = this.ex;
    const dense = (shape: readonly number[]): number[] => {
      const s = new Array<number>(shape.length);
      for (let d = shape.length - 1, acc = 1; d >= 0; d--) { s[d] = acc; acc *= shape[d]; }
      return s;
    };
    const volume = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
    const nn = nnKernels<WasmBuf>({
      ex,
      i32: () => { this.heap(); return this.i32; },
      scratch: (bytes) => this.scratch(bytes),
    });
    return {
      ...nn,
      fill: (_, out, p) => {
        checkSize(out, p.size, 'fill');
        ex.fill(out.ptr, p.size, p.value);
      },
      copy: ([x], out, p) => {
        const rank = this.layout(p.shape, [
          { buf: x, strides: p.inStrides, offset: p.inOffset },
          { buf: out, strides: p.outStrides, offset: p.outOffset },
        ]);
        if (rank) ex.copy(x.ptr + 4 * p.inOffset, out.ptr + 4 * p.outOffset, rank);
      },
      unary: ([x], out, p) => {
        checkSize(x, p.size, 'unary input');
        checkSize(out, p.size, 'unary output');
        ex[p.op](x.ptr, out.ptr, p.size, p.alpha);
      },
      binary: ([a, b], out, p) => {
        checkSize(out, volume(p.shape), 'binary output');
        const rank = this.layout(p.shape, [
          { buf: a, strides: p.aStrides, offset: 0 }, { buf: b, strides: p.bStrides, offset: 0 },
          { buf: out, strides: dense(p.shape), offset: 0 },
        ]);
        if (rank) ex[p.op](a.ptr, b.ptr, out.ptr, rank);
      },
      where: ([cond, a, b], out, p) => {
        checkSize(out, volume(p.shape), 'where output');
        const rank = this.layout(p.shape, [
          { buf: cond, strides: p.cStrides, offset: 0 }, { buf: a, strides: p.aStrides, offset: 0 },
          { buf: b, strides: p.bStrides, offset: 0 },
        ]);
        if (rank) ex.where(cond.ptr, a.ptr, b.ptr, out.ptr, rank);
      },
      reduce: ([x], out, p) => {
        checkSize(x, p.outer * p.r * p.inner, 'reduce input');
        checkSize(out, p.outer * p.inner, 'reduce output');
        (p.op === 'sum' ? ex.reduceSum : ex.reduceMax)(x.ptr, out.ptr, p.outer, p.r, p.inner);
      },
      matmul: ([a, b], out, p) => {
        if (p.batch * p.m * p.n === 0) return;
        checkSize(a, (p.batch - 1) * p.aBatchStride + p.m * p.k, 'matmul a');
        checkSize(b, (p.batch - 1) * p.bBatchStride + p.k * p.n, 'matmul b');
        checkSize(out, p.batch * p.m * p.n, 'matmul output');
        ex.matmul(a.ptr, b.ptr, out.ptr, p.batch, p.m, p.n, p.k, p.transA ? 1 : 0, p.transB ? 1 : 0,
          p.aBatchStride, p.bBatchStride);
      },
      softmax: ([x], out, p) => {
        const size = p.outer * p.r * p.inner;
        checkSize(x, size, 'softmax input');
        checkSize(out, size, 'softmax output');
        (p.log ? ex.logSoftmax : ex.softmax)(x.ptr, out.ptr, p.outer, p.r, p.inner);
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
function bindExports(raw: WebAssembly.Exports): KernelExports {
  const missing: string[] = FUNCTIONS.filter((f) => typeof raw[f] !== 'function');
  if (!(raw.memory instanceof WebAssembly.Memory)) missing.push('memory');
  if (missing.length) throw new Error(`wasm backend: kernels.wasm lacks exports ${missing.join(', ')}`);
  return raw as unknown as KernelExports;
}

/**
 * Instantiates build/kernels.wasm (AssemblyScript, SIMD) and returns a backend over it.
 * Rejects when the runtime lacks WebAssembly SIMD.
 */
export async function createWasmBackend(): Promise<Backend> {
  const imports = { env: { abort: (): never => { throw new Error('wasm backend: kernel aborted'); } } };
  // NOTE: the copy gives a Uint8Array<ArrayBuffer>, which BufferSource requires (the asset is typed over ArrayBufferLike).
  const instance = await WebAssembly.instantiate(await WebAssembly.compile(new Uint8Array(wasmBytes)), imports);
  return new WasmBackend(bindExports(instance.exports));
}
