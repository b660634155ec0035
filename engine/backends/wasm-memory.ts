// Linear memory of the wasm backend: the pooled allocator, its buffers, the shared memory worker threads use, and the
// bounds check of strided launches.

import type { Buf } from '../backend.ts';

/** Block alignment: a cache line, so SIMD loads of a block never straddle one needlessly (≥ the 16 bytes required). */
export const ALIGN = 64;
export const PAGE = 65536;
/** Memory grows by at least this much (and at least half the current size) so growth stays rare. */
const MIN_GROW = 16 << 20;
export const MAX_PAGES = 65536;

/**
 * Rounds a byte count up to its size class: multiples of 64 up to 1 KiB, then four classes per power of two
 * (waste under 25%). Freed blocks are pooled per class and reused, never returned to the system.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 1024) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const step = 2 ** (Math.ceil(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}

/**
 * Pooled allocator over the module's linear memory: per-class free lists over a bump pointer that starts at the
 * module's heap base. NOTE: on this VM the first touch of a fresh page costs ~18 µs, so freed blocks are always
 * reused and memory grows in large steps instead of being released and grown again.
 */
export class Pool {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();

  constructor(
    private readonly memory: WebAssembly.Memory,
    readonly base: number,
    private readonly maxBytes: number,
  ) {
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
    if (needTop <= this.maxBytes) {
      try {
        this.memory.grow(pages(Math.min(Math.max(needTop - have, have / 2, MIN_GROW), this.maxBytes - have)));
        return;
      } catch {
        try {
          this.memory.grow(pages(needTop - have));
          return;
        } catch {
          /* reported below */
        }
      }
    }
    throw new RangeError(`wasm backend: out of memory (heap of ${have} bytes cannot grow to ${needTop})`);
  }
}

/** A block of linear memory holding `size` float32 elements. */
export class WasmBuf implements Buf {
  readonly device = 'wasm' as const;
  freed = false;

  constructor(
    readonly size: number,
    readonly ptr: number,
    readonly bytes: number,
    readonly pool: Pool,
  ) {}
}

/** Throws unless elements offset + idx·strides over `shape` all lie inside `buf`. */
export function checkSpan(
  buf: WasmBuf,
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
  what: string,
): void {
  let lo = offset,
    hi = offset;
  shape.forEach((n, d) => {
    const reach = (n - 1) * strides[d];
    if (reach < 0) lo += reach;
    else hi += reach;
  });
  if (lo < 0 || hi >= buf.size) {
    throw new RangeError(`wasm backend: ${what} reaches [${lo}, ${hi}] of a buffer of ${buf.size}`);
  }
}

/** Shared memory (threads) starts at this many pages: build.mjs compiles kernels-mt.wasm with the same minimum. */
const SHARED_INITIAL_PAGES = 256;

/**
 * A shared memory for the threaded kernels, as large a maximum as the host reserves (4 GiB, else 1 GiB, else 256 MiB).
 */
export function sharedMemory(): { memory: WebAssembly.Memory; maxBytes: number } {
  for (const pages of [MAX_PAGES, MAX_PAGES / 4, MAX_PAGES / 16]) {
    try {
      const memory = new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: pages, shared: true });
      return { memory, maxBytes: pages * PAGE };
    } catch {
      /* a 4 GiB reservation can fail (32-bit hosts, some browsers): try smaller */
    }
  }
  throw new Error('cannot create a shared WebAssembly.Memory');
}
