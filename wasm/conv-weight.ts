// conv2dBackwardWeight as an implicit GEMM on the 2×16 SIMD tile: dWᵀ[taps, co] += cols[taps, pixels] ×
// dYᵀ[pixels, co] per image and group. Tiles run two taps (rows of the implicit im2col matrix, read in place from the
// padded copy at stride 1, from a per-image im2col at other strides) against 16 output channels of dY, transposed
// and packed once per image; one-channel groups (depthwise) take SIMD dot products instead.

import {
  Geom, align64, copyInterior, depth, inPlace, paddedH, paddedSize, paddedW, stride1, tapOffsets,
} from './conv-geom';
import { TILE, tile2x16Rows } from './conv-kernel';
import { fill } from './elementwise';

/** Output rows per reduction chunk: a chunk of a dYᵀ panel (≤ ~256 steps of 64 bytes) stays in L1. */
@inline function chunkRows(g: Geom): i32 {
  return max(1, 256 / g.ow);
}

/** Bytes of the source rows: the padded copy (none when read in place), or one image-group's im2col. */
@inline function sourceBytes(g: Geom): usize {
  if (!stride1(g)) return align64(<usize>depth(g) * <usize>(g.oh * g.ow) << 2);
  return inPlace(g) ? 0 : align64(<usize>paddedSize(g) << 2);
}

/** Scratch bytes of backwardWeight: tap offsets, source rows and packed dYᵀ panels. */
export function weightScratch(g: Geom): usize {
  const panels = (g.cout / g.groups + 15) >> 4;
  return align64(<usize>depth(g) << 2) + sourceBytes(g) + align64(<usize>(panels * g.oh * g.ow) << 6);
}

/** Fills the im2col matrix [taps, oh·ow] of one image-group (input planes at xg) at cols. */
function im2col(cols: usize, xg: usize, g: Geom): void {
  const cinG = g.cin / g.groups;
  let d = cols;
  for (let ci = 0; ci < cinG; ci++) {
    const base = xg + (<usize>(ci * g.h * g.w) << 2);
    for (let ky = 0; ky < g.kh; ky++) {
      for (let kx = 0; kx < g.kw; kx++) {
        for (let oy = 0; oy < g.oh; oy++) {
          const iy = oy * g.strideH - g.padH + ky * g.dilationH;
          const rowIn = <u32>iy < <u32>g.h;
          for (let ox = 0; ox < g.ow; ox++) {
            const ix = ox * g.strideW - g.padW + kx * g.dilationW;
            let v: f32 = 0;
            if (rowIn && <u32>ix < <u32>g.w) v = load<f32>(base + (<usize>(iy * g.w + ix) << 2));
            store<f32>(d, v);
            d += 4;
          }
        }
      }
    }
  }
}

/**
 * Scatters coutG dY planes (oh·ow pixels each at dyg) into panels of 16 channels: panel p holds, for each pixel j,
 * channels 16p..16p+15. Missing channels of the last panel keep the zeros written once per call.
 */
function packDyT(dp: usize, dyg: usize, coutG: i32, pixels: i32): void {
  for (let co = 0; co < coutG; co++) {
    const d = dp + (<usize>((co >> 4) * pixels) << 6) + (<usize>(co & 15) << 2);
    const s = dyg + (<usize>(co * pixels) << 2);
    for (let j = 0; j < pixels; j++) store<f32>(d + (<usize>j << 6), load<f32>(s + (<usize>j << 2)));
  }
}

/** Σ over rows of Σ_{x<ow} a[x]·b[x], with a's rows `pitch` floats apart and b dense: four lanes, then the tail. */
function rowsDot(a: usize, b: usize, rows: i32, ow: i32, pitch: i32): f32 {
  let acc = f32x4.splat(0);
  let tail: f32 = 0;
  const end4 = <usize>(ow & ~3) << 2, end = <usize>ow << 2;
  for (let r = 0; r < rows; r++) {
    const ar = a + (<usize>(r * pitch) << 2), br = b + (<usize>(r * ow) << 2);
    let i: usize = 0;
    for (; i < end4; i += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(ar + i), v128.load(br + i)));
    for (; i < end; i += 4) tail += load<f32>(ar + i) * load<f32>(br + i);
  }
  return f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3) + tail;
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
 * dw [cout, cin/groups, kh, kw] = Σ_n Σ_pixels dY · cols over geometry g. The reduction runs over the valid pixels
 * only: at stride 1 the A rows skip the garbage columns of the padded rows (tile2x16Rows).
 */
export function backwardWeight(g: Geom, x: usize, dy: usize, dw: usize, scratch: usize): void {
  const cinG = g.cin / g.groups, coutG = g.cout / g.groups, k = depth(g), pixels = g.oh * g.ow;
  const s1 = stride1(g), direct = s1 && inPlace(g);
  const pitch = s1 ? paddedW(g) : g.ow;
  const plane = s1 ? paddedH(g) * pitch : 0;
  const skip = <usize>(pitch - g.ow) << 2;
  const panels = (coutG + 15) >> 4;
  const off = scratch;
  const src = off + align64(<usize>k << 2);
  const dp = src + sourceBytes(g);
  if (s1) tapOffsets(off, g, plane, pitch);
  else for (let t = 0; t < k; t++) store<i32>(off + (<usize>t << 2), t * pixels << 2);
  if (s1 && !direct) fill(src, paddedSize(g), 0);
  if (coutG > 1) fill(dp, panels * pixels * 16, 0);
  fill(dw, g.cout * k, 0);
  const chunk = chunkRows(g);
  for (let n = 0; n < g.n; n++) {
    const xn = x + (<usize>(n * g.cin) * <usize>(g.h * g.w) << 2);
    if (s1 && !direct) copyInterior(xn, src, g);
    for (let grp = 0; grp < g.groups; grp++) {
      let xg = src;
      if (s1) xg = (direct ? xn : src) + (<usize>(grp * cinG) * <usize>plane << 2);
      else im2col(src, xn + (<usize>(grp * cinG) * <usize>(g.h * g.w) << 2), g);
      const dyg = dy + (<usize>(n * g.cout + grp * coutG) * <usize>pixels << 2);
      const dwg = dw + (<usize>(grp * coutG) * <usize>k << 2);
      if (coutG == 1) {
        for (let t = 0; t < k; t++) {
          const at = dwg + (<usize>t << 2);
          store<f32>(at, load<f32>(at) + rowsDot(xg + <usize>load<i32>(off + (<usize>t << 2)), dyg, g.oh, g.ow, pitch));
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
            tile2x16Rows(a0, a1, pb, rows, g.ow, skip);
            addTileT(dwg, k, t, two, p * 16, min(16, coutG - p * 16));
          }
        }
      }
    }
  }
}
