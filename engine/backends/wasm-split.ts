// What the wasm kernel tables (wasm-core.ts, wasm-nn.ts) need from the backend that owns the module: its exports,
// views of linear memory, per-thread scratch, and the split of one kernel call into parts run on several threads.

import type { Buf } from '../backend.ts';
import type { ConvAlgorithm } from './wasm-conv-rule.ts';
import type { FunctionName, KernelExports } from './wasm-exports.ts';

/** A buffer of the wasm backend: `ptr` is its byte offset in linear memory. */
export interface PtrBuf extends Buf {
  readonly ptr: number;
}

/** How the backend splits a kernel between threads (one part per thread, part 0 on the calling thread). */
export interface Splitter {
  /** Parts to split `work` (multiply-adds, or elements if memory-bound) into; 1 below a grain or on 1 thread. */
  parts(work: number, kind: 'compute' | 'memory', most?: number): number;
  /** Calls export `fn` once per part with `args(p)`; returns when every part is done. */
  split(fn: FunctionName, parts: number, args: (p: number) => number[]): void;
  /** Where thread t keeps what the calling thread keeps at `addr` (geometry blocks are per thread). */
  threadAddr(t: number, addr: number): number;
}

/** What a kernel table needs from the backend that owns the module. */
export interface KernelHost extends Splitter {
  readonly ex: KernelExports;
  /** How 3×3 stride-1 convolutions are computed (WasmOptions.conv). */
  readonly conv: ConvAlgorithm;
  /** Int32 and Float32 views of linear memory, current after any growth. */
  views(): { i32: Int32Array; f32: Float32Array };
  /** The address of thread t's scratch block of at least `bytes`, reused by later calls (contents not kept). */
  scratch(bytes: number, t?: number): number;
}

/** Part p of `parts` of [0, total): contiguous ranges, the first ones one larger; bounds rounded to `align`. */
export function range(total: number, parts: number, p: number, align = 1): [number, number] {
  const units = Math.ceil(total / align);
  const cut = (q: number): number =>
    Math.min(total, align * (q * Math.floor(units / parts) + Math.min(q, units % parts)));
  return [cut(p), cut(p + 1)];
}

/** Throws unless `buf` holds at least `size` elements. */
export function checkSize(buf: Buf, size: number, what: string): void {
  if (size > buf.size) throw new RangeError(`wasm backend: ${what} needs ${size} elements, buffer has ${buf.size}`);
}

/** An elementwise kernel over n floats split into 16-float-aligned ranges: `args(lo, count)` gives each part's call. */
export function splitFlat(
  s: Splitter,
  fn: FunctionName,
  n: number,
  args: (lo: number, count: number) => number[],
): void {
  const parts = s.parts(n, 'memory');
  s.split(fn, parts, (t) => {
    const [lo, hi] = range(n, parts, t, 16);
    return args(lo, hi - lo);
  });
}
