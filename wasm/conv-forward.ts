// Forward convolution as an implicit GEMM on the 2×16 SIMD tile: out[co, pixels] = bias + W[co, taps] ×
// cols[taps, pixels] per image and group, one 16-pixel panel of the im2col matrix packed at a time (in blocks of
// taps that fit L1) and never built whole. Stride 1 copies the panel in whole vectors from shifted rows of a padded
// input (conv-geom.ts), one copy per output-row segment of the panel; other strides gather it with bounds checks.
// One-output-channel groups (depthwise) take a direct loop over the wide rows.

import {
  Geom, align64, compactRows, copyInterior, depth, inPlace, paddedH, paddedSize, paddedW, stride1, tapOffsets, wideLen,
} from './conv-geom';
import { tile2x16 } from './conv-kernel';
import { fill } from './elementwise';

/** Taps per block at most: a packed block (≤ 320·64 bytes = 20 KiB) stays in L1 while the weight rows stream by. */
const KC_MAX: i32 = 320;
/** Per 16-pixel panel at stride 1: start lane and padded-row offset (floats) of each output-row segment. */
const SEG_T = memory.data(16 * 4, 64);
const SEG_SRC = memory.data(16 * 4, 64);
/** Per lane of a partial panel at stride 1: the pixel's padded-row offset. */
const QOFF = memory.data(16 * 4, 64);
/** Per 16-pixel panel of a strided convolution: the top-left input row and column of each pixel's window. */
export const IY = memory.data(16 * 4, 64);
export const IX = memory.data(16 * 4, 64);
/** A window origin no tap can bring inside the input. */
const NOWHERE: i32 = -(1 << 29);

/**
 * Whether a stride-1 forward reads x where it lies. NOTE: the one-channel path (dotRows) reads whole 32-float blocks
 * past the last wide row, so it always works on the padded copy, whose tail is zero.
 */
@inline function forwardInPlace(g: Geom): bool {
  return inPlace(g) && g.cout != g.groups;
}

/** Floats rounded up to a whole 32-float block (dotRows' step). */
@inline function roundUp32(n: i32): i32 {
  return (n + 31) & ~31;
}

/** Scratch bytes of forward(g): tap offsets, padded copy, packed block, panel accumulator, wide line. */
export function forwardScratch(g: Geom): usize {
  const k = depth(g), coutG = g.cout / g.groups;
  const head = packBytes(k) + align64(<usize>(coutG + 1) << 6);
  if (!stride1(g)) return head;
  return head + align64(<usize>k << 2) + (forwardInPlace(g) ? 0 : align64(<usize>(paddedSize(g) + 16) << 2))
    + align64(<usize>roundUp32(wideLen(g)) << 2);
}

/** Bytes of a packed block: up to KC_MAX taps of 16 floats, plus the 16-float overrun of the last segment copy. */
@inline function packBytes(k: i32): usize {
  return align64((<usize>min(k, KC_MAX) << 6) + 64);
}

/** Copies 16 floats from s to d (any alignment). */
@inline function copy16(d: usize, s: usize): void {
  v128.store(d, v128.load(s)); v128.store(d, v128.load(s, 16), 16);
  v128.store(d, v128.load(s, 32), 32); v128.store(d, v128.load(s, 48), 48);
}

/** Writes `cols` lanes of coutG rows of 16 at acc to the output planes at og (plane floats apart), from pixel j0. */
function storePanel(acc: usize, og: usize, plane: i32, coutG: i32, j0: i32, cols: i32): void {
  const ldc = <usize>plane << 2;
  for (let co = 0; co < coutG; co++) {
    const s = acc + (<usize>co << 6);
    const d = og + <usize>co * ldc + (<usize>j0 << 2);
    if (cols == 16) copy16(d, s);
    else for (let t = 0; t < cols; t++) store<f32>(d + (<usize>(t << 2)), load<f32>(s + (<usize>t << 2)));
  }
}

/**
 * Splits the 16 pixels from j0 (`cols` of them real) into output-row segments: SEG_T/SEG_SRC get each segment's first
 * lane and its padded-row offset oy·pitch + ox, QOFF every lane's. Returns the number of segments.
 */
function segments(j0: i32, cols: i32, ow: i32, pitch: i32): i32 {
  let oy = j0 / ow;
  let ox = j0 - oy * ow;
  let count = 0;
  for (let t = 0; t < cols; t++) {
    const q = oy * pitch + ox;
    store<i32>(QOFF + (<usize>t << 2), q);
    if (t == 0 || ox == 0) {
      store<i32>(SEG_T + (<usize>count << 2), t);
      store<i32>(SEG_SRC + (<usize>count << 2), q);
      count++;
    }
    if (++ox == ow) { ox = 0; oy++; }
  }
  return count;
}

/**
 * Packs taps t < kc of a panel from the shifted rows at src + off[t] into pb (16 floats per tap). A full panel copies
 * each segment as 16 whole floats, later segments overwriting the overrun of earlier ones (and of the previous tap);
 * a partial panel copies its `cols` lanes one by one and zero-fills the rest.
 */
function packRows(pb: usize, src: usize, off: usize, kc: i32, cols: i32, nseg: i32): void {
  for (let t = 0; t < kc; t++) {
    const base = src + <usize>load<i32>(off + (<usize>t << 2));
    const d = pb + (<usize>t << 6);
    if (cols < 16) {
      for (let i = 0; i < 16; i++) {
        store<f32>(d + (<usize>i << 2), i < cols ? load<f32>(base + (<usize>load<i32>(QOFF + (<usize>i << 2)) << 2)) : 0);
      }
      continue;
    }
    for (let sg = 0; sg < nseg; sg++) {
      const at = <usize>sg << 2;
      copy16(d + (<usize>load<i32>(SEG_T + at) << 2), base + (<usize>load<i32>(SEG_SRC + at) << 2));
    }
  }
}

/** Sets IY/IX to the window origins of output pixels j0..j0+cols (NOWHERE for the rest of the 16). */
export function windowOrigins(g: Geom, j0: i32, cols: i32): void {
  for (let t = 0; t < 16; t++) {
    const j = j0 + t;
    const oy = j / g.ow;
    const inside = t < cols;
    store<i32>(IY + (<usize>t << 2), inside ? oy * g.strideH - g.padH : NOWHERE);
    store<i32>(IX + (<usize>t << 2), inside ? (j - oy * g.ow) * g.strideW - g.padW : NOWHERE);
  }
}

/** Packs taps [t0, t0 + kc) of the im2col panel of the 16 pixels in IY/IX (input planes of one group at xg) into pb. */
function gatherTaps(pb: usize, xg: usize, g: Geom, t0: i32, kc: i32): void {
  const taps = g.kh * g.kw;
  for (let tap = t0; tap < t0 + kc; tap++) {
    const ci = tap / taps, r = tap - ci * taps, ky = r / g.kw, kx = r - ky * g.kw;
    const base = xg + (<usize>(ci * g.h * g.w) << 2);
    const d = pb + (<usize>(tap - t0) << 6);
    for (let t = 0; t < 16; t++) {
      const iy = load<i32>(IY + (<usize>t << 2)) + ky * g.dilationH;
      const ix = load<i32>(IX + (<usize>t << 2)) + kx * g.dilationW;
      let v: f32 = 0;
      if (<u32>iy < <u32>g.h && <u32>ix < <u32>g.w) v = load<f32>(base + (<usize>(iy * g.w + ix) << 2));
      store<f32>(d + (<usize>t << 2), v);
    }
  }
}

/**
 * acc[co, 0..16] = bias[co] + W[co, ·] · panel for co < coutG, blocks of at most KC_MAX taps packed into pb (from
 * shifted rows at src + off[t] in nseg segments when off ≠ 0, else gathered from the planes at src), two weight rows
 * per tile.
 */
function panelGemm(g: Geom, src: usize, off: usize, cols: i32, nseg: i32, wg: usize, bg: usize, pb: usize, acc: usize): void {
  const k = depth(g), coutG = g.cout / g.groups;
  const blocks = max(1, (k + KC_MAX - 1) / KC_MAX);
  const step = max(1, (k + blocks - 1) / blocks);
  const rowBytes = <usize>k << 2;
  let t0 = 0;
  do {
    const kc = min(step, k - t0);
    if (off) packRows(pb, src, off + (<usize>t0 << 2), kc, cols, nseg);
    else gatherTaps(pb, src, g, t0, kc);
    const first = t0 == 0;
    for (let co = 0; co < coutG; co += 2) {
      const two = co + 1 < coutG;
      const a0 = wg + <usize>co * rowBytes + (<usize>t0 << 2);
      const b0: f32 = first && g.hasBias ? load<f32>(bg + (<usize>co << 2)) : 0;
      const b1: f32 = first && g.hasBias && two ? load<f32>(bg + (<usize>co << 2), 4) : 0;
      tile2x16(a0, two ? a0 + rowBytes : a0, 4, pb, 64, kc, acc + (<usize>co << 6), 64, b0, b1, !first);
    }
    t0 += step;
  } while (t0 < k);
}

/** One output channel (coutG = 1, e.g. depthwise) over the wide rows: 32 columns at a time, all k taps each. */
function dotRows(xg: usize, off: usize, k: i32, wg: usize, bias: f32, len: i32, line: usize): void {
  for (let j0 = 0; j0 < len; j0 += 32) {
    let s0 = f32x4.splat(bias), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    const base = xg + (<usize>j0 << 2);
    for (let t = 0; t < k; t++) {
      const wv = v128.load32_splat(wg + (<usize>t << 2));
      const p = base + <usize>load<i32>(off + (<usize>t << 2));
      s0 = f32x4.add(s0, f32x4.mul(wv, v128.load(p)));
      s1 = f32x4.add(s1, f32x4.mul(wv, v128.load(p, 16)));
      s2 = f32x4.add(s2, f32x4.mul(wv, v128.load(p, 32)));
      s3 = f32x4.add(s3, f32x4.mul(wv, v128.load(p, 48)));
      s4 = f32x4.add(s4, f32x4.mul(wv, v128.load(p, 64)));
      s5 = f32x4.add(s5, f32x4.mul(wv, v128.load(p, 80)));
      s6 = f32x4.add(s6, f32x4.mul(wv, v128.load(p, 96)));
      s7 = f32x4.add(s7, f32x4.mul(wv, v128.load(p, 112)));
    }
    const d = line + (<usize>j0 << 2);
    v128.store(d, s0); v128.store(d, s1, 16); v128.store(d, s2, 32); v128.store(d, s3, 48);
    v128.store(d, s4, 64); v128.store(d, s5, 80); v128.store(d, s6, 96); v128.store(d, s7, 112);
  }
}

/**
 * Forward convolution over geometry g: x [n, cin, h, w], wt [cout, cin/groups, kh, kw], bias [cout] (read only when
 * g.hasBias) → out [n, cout, oh, ow]. Uses forwardScratch(g) bytes at scratch.
 */
export function forward(g: Geom, x: usize, wt: usize, bias: usize, out: usize, scratch: usize): void {
  const cinG = g.cin / g.groups, coutG = g.cout / g.groups, k = depth(g), outPlane = g.oh * g.ow;
  const s1 = stride1(g), direct = s1 && forwardInPlace(g);
  const wp = paddedW(g), plane = s1 ? paddedH(g) * wp : g.h * g.w;
  const pb = scratch;
  const acc = pb + packBytes(k);
  const off = acc + align64(<usize>(coutG + 1) << 6);
  const xpad = off + align64(<usize>k << 2);
  const line = xpad + (direct ? 0 : align64(<usize>(paddedSize(g) + 16) << 2));
  if (s1) {
    tapOffsets(off, g, plane, wp);
    // NOTE: 16 more zeros than paddedSize: dotRows reads 32-float blocks, up to 31 floats past the wide rows.
    if (!direct) fill(xpad, paddedSize(g) + 16, 0);
  }
  for (let n = 0; n < g.n; n++) {
    const xn = x + (<usize>(n * g.cin) * <usize>(g.h * g.w) << 2);
    if (s1 && !direct) copyInterior(xn, xpad, g);
    for (let grp = 0; grp < g.groups; grp++) {
      const xg = (s1 && !direct ? xpad : xn) + (<usize>(grp * cinG) * <usize>plane << 2);
      const wg = wt + (<usize>(grp * coutG) * <usize>k << 2);
      const bg = bias + (<usize>(grp * coutG) << 2);
      const og = out + (<usize>(n * g.cout + grp * coutG) * <usize>outPlane << 2);
      if (s1 && coutG == 1) {
        dotRows(xg, off, k, wg, g.hasBias ? load<f32>(bg) : 0, wideLen(g), line);
        compactRows(line, og, g.oh, g.ow, wp);
        continue;
      }
      for (let j0 = 0; j0 < outPlane; j0 += 16) {
        const cols = min(16, outPlane - j0);
        let nseg = 0;
        if (s1) nseg = segments(j0, cols, g.ow, wp);
        else windowOrigins(g, j0, cols);
        panelGemm(g, xg, s1 ? off : 0, cols, nseg, wg, bg, pb, acc);
        storePanel(acc, og, outPlane, coutG, j0, cols);
      }
    }
  }
}
