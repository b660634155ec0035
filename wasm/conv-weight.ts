// conv2dBackwardWeight as an implicit GEMM on the 2×16 SIMD tile: dWᵀ[taps, co] += cols[taps, pixels] ×
// dYᵀ[pixels, co] per image and group. Tiles run two taps (rows of the implicit im2col matrix, read from the padded
// input copy of conv-geom.ts row by output row) against 16 output channels of dY, transposed and packed once per
// image; one-channel groups (depthwise) take dot products instead.

import { Geom, align64, copyInterior, depth, inPlace, paddedSize, paddedW, rowPitch, tapOffsets } from './conv-geom';
import { TILE, tile2x16Rows } from './conv-kernel';
import { fill } from './elementwise';

/** Output rows per reduction chunk: a chunk of a dYᵀ panel (about 256 steps of 64 bytes) stays in L1. */
@inline function chunkRows(g: Geom): i32 {
  return max(1, 256 / g.ow);
}

/** Scratch bytes of backwardWeight: tap offsets, padded copy (none when read in place) and packed dYᵀ panels. */
export function weightScratch(g: Geom): usize {
  const panels = (g.cout / g.groups + 15) >> 4;
  return align64(<usize>depth(g) << 2) + (inPlace(g) ? 0 : align64(<usize>paddedSize(g) << 2))
    + align64(<usize>(panels * g.oh * g.ow) << 6);
}

/**
 * Scatters coutG dY planes (oh·ow pixels each at dyg) into panels of 16 channels: panel p holds, for each pixel j,
 * channels 16p..16p+15. Four channels × four pixels go through one register transpose; missing channels of the last
 * panel keep the zeros written once per call.
 */
function packDyT(dp: usize, dyg: usize, coutG: i32, pixels: i32): void {
  const rowBytes = <usize>pixels << 2;
  const p4 = pixels & ~3;
  let co = 0;
  for (; co + 4 <= coutG; co += 4) {
    const d = dp + (<usize>((co >> 4) * pixels) << 6) + (<usize>(co & 15) << 2);
    const s = dyg + <usize>co * rowBytes;
    let j = 0;
    for (; j < p4; j += 4) {
      const at = s + (<usize>j << 2);
      const r0 = v128.load(at), r1 = v128.load(at + rowBytes);
      const r2 = v128.load(at + 2 * rowBytes), r3 = v128.load(at + 3 * rowBytes);
      const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5), t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5), t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
      const o = d + (<usize>j << 6);
      v128.store(o, i64x2.shuffle(t0, t2, 0, 2)); v128.store(o, i64x2.shuffle(t0, t2, 1, 3), 64);
      v128.store(o, i64x2.shuffle(t1, t3, 0, 2), 128); v128.store(o, i64x2.shuffle(t1, t3, 1, 3), 192);
    }
    for (; j < pixels; j++) {
      for (let c = 0; c < 4; c++) {
        store<f32>(d + (<usize>j << 6) + (<usize>c << 2), load<f32>(s + <usize>c * rowBytes + (<usize>j << 2)));
      }
    }
  }
  for (; co < coutG; co++) {
    const d = dp + (<usize>((co >> 4) * pixels) << 6) + (<usize>(co & 15) << 2);
    const s = dyg + <usize>co * rowBytes;
    for (let j = 0; j < pixels; j++) store<f32>(d + (<usize>j << 6), load<f32>(s + (<usize>j << 2)));
  }
}

/**
 * Σ over the oh·ow pixels of a[q(oy, ox)]·b[oy·ow + ox] with q = oy·pitch + ox·sw (floats): one tap's gradient of a
 * one-channel group. Four lanes at a time at stride 1, one by one otherwise.
 */
function tapDot(a: usize, b: usize, g: Geom, pitch: i32): f32 {
  const sw = g.strideW, ow = g.ow;
  let acc = f32x4.splat(0);
  let tail: f32 = 0;
  const ow4 = sw == 1 ? ow & ~3 : 0;
  for (let oy = 0; oy < g.oh; oy++) {
    const ar = a + (<usize>(oy * pitch) << 2), br = b + (<usize>(oy * ow) << 2);
    let ox = 0;
    for (; ox < ow4; ox += 4) {
      acc = f32x4.add(acc, f32x4.mul(v128.load(ar + (<usize>ox << 2)), v128.load(br + (<usize>ox << 2))));
    }
    for (; ox < ow; ox++) tail += load<f32>(ar + (<usize>(ox * sw) << 2)) * load<f32>(br + (<usize>ox << 2));
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2)
    + f32x4.extract_lane(acc, 3) + tail;
}

/** dw[co0 + c, t] += TILE[0, c] and, when two, dw[co0 + c, t + 1] += TILE[1, c], for c < cnt (rows of k floats). */
function addTileT(dwg: usize, k: i32, t: i32, two: bool, co0: i32, cnt: i32): void {
  for (let c = 0; c < cnt; c++) {
    const at = dwg + (<usize>((co0 + c) * k + t) << 2);
    store<f32>(at, load<f32>(at) + load<f32>(TILE + (<usize>c << 2)));
    if (two) store<f32>(at, load<f32>(at, 4) + load<f32>(TILE + (<usize>(16 + c) << 2)), 4);
  }
}

/**
 * dw [cout, cin/groups, kh, kw] = Σ_n Σ_pixels dY · cols over geometry g, the reduction chunked by output rows.
 * NOTE: each chunk (≈ 256 pixels) sums in float32 before it joins dw, as PyTorch's blocked GEMMs do; a dY that
 * cancels to ~0 against a large input mean loses about as much as PyTorch's CPU kernels (~5e-5 relative to |dw|+1).
 */
export function backwardWeight(g: Geom, x: usize, dy: usize, dw: usize, scratch: usize): void {
  const cinG = g.cin / g.groups, coutG = g.cout / g.groups, k = depth(g), pixels = g.oh * g.ow;
  const direct = inPlace(g);
  const plane = direct ? g.h * g.w : (g.h + 2 * g.padH) * paddedW(g);
  const pitch = rowPitch(g);
  const sa = <usize>g.strideW << 2;
  const skip = <usize>(pitch - g.ow * g.strideW) << 2;
  const panels = (coutG + 15) >> 4;
  const off = scratch;
  const xpad = off + align64(<usize>k << 2);
  const dp = xpad + (direct ? 0 : align64(<usize>paddedSize(g) << 2));
  tapOffsets(off, g);
  if (!direct) fill(xpad, paddedSize(g), 0);
  if (coutG > 1) fill(dp, panels * pixels * 16, 0);
  fill(dw, g.cout * k, 0);
  const chunk = chunkRows(g);
  for (let n = 0; n < g.n; n++) {
    const xn = x + (<usize>(n * g.cin) * <usize>(g.h * g.w) << 2);
    if (!direct) copyInterior(xn, xpad, g);
    for (let grp = 0; grp < g.groups; grp++) {
      const xg = (direct ? xn : xpad) + (<usize>(grp * cinG) * <usize>plane << 2);
      const dyg = dy + (<usize>(n * g.cout + grp * coutG) * <usize>pixels << 2);
      const dwg = dw + (<usize>(grp * coutG) * <usize>k << 2);
      if (coutG == 1) {
        for (let t = 0; t < k; t++) {
          const at = dwg + (<usize>t << 2);
          store<f32>(at, load<f32>(at) + tapDot(xg + <usize>load<i32>(off + (<usize>t << 2)), dyg, g, pitch));
        }
        continue;
      }
      packDyT(dp, dyg, coutG, pixels);
      for (let oy = 0; oy < g.oh; oy += chunk) {
        const rows = min(chunk, g.oh - oy);
        const rowAt = <usize>(oy * pitch) << 2;
        for (let p = 0; p < panels; p++) {
          const pb = dp + (<usize>(p * pixels + oy * g.ow) << 6);
          for (let t = 0; t < k; t += 2) {
            const two = t + 1 < k;
            const a0 = xg + <usize>load<i32>(off + (<usize>t << 2)) + rowAt;
            const a1 = two ? xg + <usize>load<i32>(off + (<usize>(t + 1) << 2)) + rowAt : a0;
            tile2x16Rows(a0, a1, sa, pb, rows, g.ow, skip);
            addTileT(dwg, k, t, two, p * 16, min(16, coutG - p * 16));
          }
        }
      }
    }
  }
}
