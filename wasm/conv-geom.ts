// Convolution geometry shared by the conv kernels: the parameter block the glue fills before each call, and the
// padded-copy layout that turns every row of the implicit im2col matrix into (strided) slices of one padded input.

import { copyFloats } from './conv-kernel';

/**
 * Geometry of one convolution (Conv2dParams' fields, hasBias 0 or 1), written by the glue: its layout is CONV_GEOM in
 * engine/backends/wasm-geometry.ts, and test/kernel-layout.test.ts checks that the two agree field for field.
 * winograd is the tile size m of the Winograd F(m×m, 3×3) the call uses (2 or 4; 0 for the direct convolution).
 */
@unmanaged export class Geom {
  n: i32; cin: i32; h: i32; w: i32; cout: i32; kh: i32; kw: i32; oh: i32; ow: i32;
  strideH: i32; strideW: i32; padH: i32; padW: i32; dilationH: i32; dilationW: i32; groups: i32; hasBias: i32;
  winograd: i32;
}

const GEOM_BYTES: usize = offsetof<Geom>();
// Both blocks live in each instance's thread-private block (wasm/thread.ts).
let META: usize = 0;
/** The geometry of the current call (filled by the glue). */
export let GEOM = changetype<Geom>(0);
/** A derived geometry (backward input rewritten as a forward convolution). */
export let DERIVED = changetype<Geom>(0);

/** Places the two geometry blocks at `at`; returns the first byte past them. */
export function placeConvGeom(at: usize): usize {
  META = at;
  GEOM = changetype<Geom>(at);
  DERIVED = changetype<Geom>(at + GEOM_BYTES);
  return at + 2 * GEOM_BYTES;
}

/** Address of the geometry block (a Geom) the glue writes before calling a conv kernel. */
export function convMeta(): usize {
  return META;
}

/** Bytes rounded up to a cache line. */
@inline export function align64(bytes: usize): usize {
  return (bytes + 63) & ~(<usize>63);
}

@inline export function stride1(g: Geom): bool {
  return g.strideH == 1 && g.strideW == 1;
}

/** Stride-1 convolutions without padding and with one tap per row may read the input where it lies (no copy). */
@inline export function inPlace(g: Geom): bool {
  return stride1(g) && g.padH == 0 && g.padW == 0 && g.kw == 1;
}

/** Taps per output of one group: (cin/groups)·kh·kw, the GEMM's depth. */
@inline export function depth(g: Geom): i32 {
  return g.cin / g.groups * g.kh * g.kw;
}

// The padded copy. The input is copied into planes of hp × wp with the padding made explicit (negative padding crops).
// Tap k = (ci, ky, kx) of output pixel (oy, ox) then reads the copy at off[k] + q(oy, ox), with off[k] = ci·hp·wp +
// ky·dh·wp + kx·dw and q = oy·sh·wp + ox·sw: no bounds checks, and along an output row the reads are sw apart.
// At stride 1 a whole "wide" row set j = oy·wp + ox (the last wp − ow columns of each row garbage) is one contiguous
// slice per tap, which the one-channel path (dotRows) uses.

/** Rows of a padded plane. */
@inline export function paddedH(g: Geom): i32 {
  return g.h + 2 * g.padH;
}

/** Columns of a padded plane. */
@inline export function paddedW(g: Geom): i32 {
  return g.w + 2 * g.padW;
}

/** Floats from one output row's reads to the next's: sh·wp. */
@inline export function rowPitch(g: Geom): i32 {
  return g.strideH * paddedW(g);
}

/** Columns of the wide output (stride 1): oh·wp. */
@inline export function wideLen(g: Geom): i32 {
  return g.oh * paddedW(g);
}

/**
 * Zero floats after the padded planes. NOTE: whole-vector copies read past the last pixel's tap: up to 16·sw floats
 * for a 16-lane segment, and dotRows's 32-float blocks run up to (kw−1)·dw + 31 past the last wide row.
 */
@inline export function padTail(g: Geom): i32 {
  return (g.kw - 1) * g.dilationW + 16 * g.strideW + 32;
}

/** Floats of the padded copy of one image, tail included. */
@inline export function paddedSize(g: Geom): i32 {
  return g.cin * paddedH(g) * paddedW(g) + padTail(g);
}

/** Writes off[k] (bytes) for the k = (ci·kh + ky)·kw + kx taps of one group, as i32 at `off`. */
export function tapOffsets(off: usize, g: Geom): void {
  const cinG = g.cin / g.groups;
  const wp = paddedW(g), plane = paddedH(g) * wp;
  let k: usize = 0;
  for (let ci = 0; ci < cinG; ci++) {
    for (let ky = 0; ky < g.kh; ky++) {
      for (let kx = 0; kx < g.kw; kx++) {
        store<i32>(off + (k << 2), (ci * plane + ky * g.dilationH * wp + kx * g.dilationW) << 2);
        k++;
      }
    }
  }
}

/**
 * Copies the image at src ([cin, h, w]) into the interior of the padded planes at dst, or (toPadded false) the
 * interior of the planes at dst back out to the image at src. Borders and tail are not touched: the caller zeroes
 * the copy once per call and every image overwrites the same interior.
 */
export function copyInterior(src: usize, dst: usize, g: Geom, toPadded: bool = true): void {
  const hp = paddedH(g), wp = paddedW(g);
  const y0 = max(0, g.padH), y1 = min(hp, g.h + g.padH);
  const x0 = max(0, g.padW), x1 = min(wp, g.w + g.padW);
  if (y1 <= y0 || x1 <= x0) return;
  const plane = <usize>(hp * wp) << 2;
  const imagePlane = <usize>(g.h * g.w) << 2;
  for (let c = 0; c < g.cin; c++) {
    const s = src + <usize>c * imagePlane + (<usize>((y0 - g.padH) * g.w + x0 - g.padW) << 2);
    const d = dst + <usize>c * plane + (<usize>(y0 * wp + x0) << 2);
    for (let y = 0; y < y1 - y0; y++) {
      const image = s + (<usize>(y * g.w) << 2), padded = d + (<usize>(y * wp) << 2);
      if (toPadded) copyFloats(padded, image, x1 - x0);
      else copyFloats(image, padded, x1 - x0);
    }
  }
}

/** Copies the valid ow columns of each of the oh wide rows at src (pitch wp) to the dense plane at dst. */
export function compactRows(src: usize, dst: usize, oh: i32, ow: i32, wp: i32): void {
  for (let y = 0; y < oh; y++) copyFloats(dst + (<usize>(y * ow) << 2), src + (<usize>(y * wp) << 2), ow);
}
