// The geometry blocks the wasm glue writes into linear memory before a kernel call, declared once: fields in order
// with their types, and the AssemblyScript declaration each must match (test/kernel-layout.test.ts parses those).

import { MAX_RANK } from '../backend.ts';
import { packedLayout } from './layout.ts';

/**
 * Geometry of one convolution: the `@unmanaged class Geom` of wasm/conv-geom.ts (Conv2dParams' fields, then the
 * Winograd tile size m the call runs with, 0 for the direct convolution).
 */
export const CONV_GEOM = packedLayout({
  n: 'i32',
  cin: 'i32',
  h: 'i32',
  w: 'i32',
  cout: 'i32',
  kh: 'i32',
  kw: 'i32',
  oh: 'i32',
  ow: 'i32',
  strideH: 'i32',
  strideW: 'i32',
  padH: 'i32',
  padW: 'i32',
  dilationH: 'i32',
  dilationW: 'i32',
  groups: 'i32',
  hasBias: 'bool',
  winograd: 'i32',
});

/** Geometry of 2-D pooling: the `@unmanaged class PoolGeom` of wasm/pool.ts; mode 0 is max, 1 average. */
export const POOL_GEOM = packedLayout({
  mode: 'i32',
  nc: 'i32',
  h: 'i32',
  w: 'i32',
  kh: 'i32',
  kw: 'i32',
  oh: 'i32',
  ow: 'i32',
  strideH: 'i32',
  strideW: 'i32',
  padH: 'i32',
  padW: 'i32',
  countIncludePad: 'bool',
});

/**
 * The strided kernels' block (wasm/strided.ts, read by byte offsets SHAPE and STRIDES): the coalesced shape, then the
 * strides of operands 0, 1 and 2, MAX_RANK each.
 */
export const STRIDED_META = packedLayout({ shape: `i32[${MAX_RANK}]`, strides: `i32[${3 * MAX_RANK}]` });

/** Where each block is declared in AssemblyScript: a class's fields, or byte-offset constants (upper-case names). */
export const WASM_GEOMETRY = [
  { layout: CONV_GEOM, file: 'wasm/conv-geom.ts', asClass: 'Geom' },
  { layout: POOL_GEOM, file: 'wasm/pool.ts', asClass: 'PoolGeom' },
  { layout: STRIDED_META, file: 'wasm/strided.ts', asOffsets: true },
] as const;
