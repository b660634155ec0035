// Forward convolution as an implicit GEMM on the 2×16 SIMD tile: out[co, pixels] = bias + W[co, taps] ×
// cols[taps, pixels] per image and group. The im2col matrix is never built: one 16-pixel panel of it is packed at a
// time (in blocks of taps that fit L1) from the padded input copy (conv-geom.ts), one whole-vector copy per
// output-row segment of the panel. One-output-channel groups (depthwise) at stride 1 take a direct loop instead.

import {
  Geom, align64, compactRows, copyInterior, depth, inPlace, paddedSize, paddedW, rowPitch, stride1, tapOffsets, wideLen,
} from './conv-geom';
import { tile2x16 } from './conv-kernel';
import { fill } from './elementwise';

/**
 * Taps per block at most: a packed block (≤ 576·64 bytes = 36 KiB) stays in a 48 KiB L1d while the weight rows stream
 * by. 576 = 64 channels × 3×3, so PreResNet's 64→64 and the small CNN's input gradient take one block (2–4% faster
 * here).
 */
const KC_MAX: i32 = 576;
/** Per 16-pixel panel: first lane and padded-copy offset q (floats) of each output-row segment. */
let SEG_T: usize = 0;
let SEG_Q: usize = 0;
/** Per lane of a 16-pixel panel: the pixel's padded-copy offset q = oy·sh·wp + ox·sw (floats). */
export let QOFF: usize = 0;

/** Places the three 64-byte panel tables at `at` (64-aligned, thread-private); returns the first byte past them. */
export function placeConvForward(at: usize): usize {
  SEG_T = at;
  SEG_Q = at + 64;
  QOFF = at + 128;
  return at + 192;
}

/**
 * Whether a forward reads x where it lies. NOTE: the one-channel path (dotRows) reads whole 32-float blocks past the
 * last wide row, so it always works on the padded copy, whose tail is zero.
 */
@inline function forwardInPlace(g: Geom): bool {
  return inPlace(g) && g.cout != g.groups;
}

/** Whether a group with one output channel takes dotRows (stride 1 only: it runs over contiguous wide rows). */
@inline function oneChannel(g: Geom): bool {
  return g.cout == g.groups && stride1(g);
}

/** Bytes of a packed block: up to KC_MAX taps of 16 floats, plus the 16-float overrun of the last segment copy. */
@inline function packBytes(k: i32): usize {
  return align64((<usize>min(k, KC_MAX) << 6) + 64);
}

/** Scratch bytes of forward(g): packed block, panel accumulator, tap offsets, padded copy, wide line. */
export function forwardScratch(g: Geom): usize {
  const k = depth(g), coutG = g.cout / g.groups;
  return packBytes(k) + align64(<usize>(coutG + 1) << 6) + align64(<usize>k << 2)
    + (forwardInPlace(g) ? 0 : align64(<usize>paddedSize(g) << 2))
    + (oneChannel(g) ? align64(<usize>((wideLen(g) + 31) & ~31) << 2) : 0);
}

/** Copies 16 floats from s to d (any alignment). */
@inline function copy16(d: usize, s: usize): void {
  v128.store(d, v128.load(s)); v128.store(d, v128.load(s, 16), 16);
  v128.store(d, v128.load(s, 32), 32); v128.store(d, v128.load(s, 48), 48);
}

/** Copies the 16 even floats of the 32 at s to d: one stride-2 segment. */
@inline function copyEven16(d: usize, s: usize): void {
  v128.store(d, i32x4.shuffle(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
  v128.store(d, i32x4.shuffle(v128.load(s, 32), v128.load(s, 48), 0, 2, 4, 6), 16);
  v128.store(d, i32x4.shuffle(v128.load(s, 64), v128.load(s, 80), 0, 2, 4, 6), 32);
  v128.store(d, i32x4.shuffle(v128.load(s, 96), v128.load(s, 112), 0, 2, 4, 6), 48);
}

/**
 * Fills QOFF for the 16 pixels from j0 (`cols` of them real) and splits them into output-row segments (SEG_T/SEG_Q).
 * Returns the number of segments.
 */
export function segments(g: Geom, j0: i32, cols: i32): i32 {
  const pitch = rowPitch(g);
  let oy = j0 / g.ow;
  let ox = j0 - oy * g.ow;
  let count = 0;
  let next = -1;
  for (let t = 0; t < cols; t++) {
    const q = oy * pitch + ox * g.strideW;
    store<i32>(QOFF + (<usize>t << 2), q);
    // NOTE: a new segment only where the reads jump; at stride 1 without padding a row change is no jump, and a
    // needless segment would make its whole-vector copy read past the end of an unpadded input.
    if (q != next) {
      store<i32>(SEG_T + (<usize>count << 2), t);
      store<i32>(SEG_Q + (<usize>count << 2), q);
      count++;
    }
    next = q + g.strideW;
    if (++ox == g.ow) { ox = 0; oy++; }
  }
  return count;
}

/**
 * Packs taps t < kc of the panel from the padded copy at src + off[t] into pb (16 floats per tap). A full panel copies
 * each segment as 16 whole lanes, later segments overwriting the overrun of earlier ones (and of the previous tap); a
 * partial panel, or a stride other than 1 and 2, copies lane by lane (zero-filling past cols).
 */
function packPanel(pb: usize, src: usize, off: usize, kc: i32, cols: i32, nseg: i32, sw: i32): void {
  const vector = cols == 16 && sw <= 2;
  for (let t = 0; t < kc; t++) {
    const base = src + <usize>load<i32>(off + (<usize>t << 2));
    const d = pb + (<usize>t << 6);
    if (vector) {
      for (let sg = 0; sg < nseg; sg++) {
        const at = <usize>sg << 2;
        const dd = d + (<usize>load<i32>(SEG_T + at) << 2), ss = base + (<usize>load<i32>(SEG_Q + at) << 2);
        if (sw == 1) copy16(dd, ss);
        else copyEven16(dd, ss);
      }
      continue;
    }
    for (let i = 0; i < 16; i++) {
      store<f32>(d + (<usize>i << 2), i < cols ? load<f32>(base + (<usize>load<i32>(QOFF + (<usize>i << 2)) << 2)) : 0);
    }
  }
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
 * acc[co, 0..16] = bias[co] + W[co, ·] · panel for co < coutG (rows of acc 64 bytes apart), blocks of at most KC_MAX
 * taps packed into pb from the padded copy of the group at src, two weight rows per tile.
 */
function panelGemm(g: Geom, src: usize, off: usize, cols: i32, nseg: i32, wg: usize, bg: usize, pb: usize,
  acc: usize): void {
  const k = depth(g), coutG = g.cout / g.groups;
  const blocks = max(1, (k + KC_MAX - 1) / KC_MAX);
  const step = max(1, (k + blocks - 1) / blocks);
  const rowBytes = <usize>k << 2;
  let t0 = 0;
  do {
    const kc = min(step, k - t0);
    packPanel(pb, src, off + (<usize>t0 << 2), kc, cols, nseg, g.strideW);
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

/**
 * One output channel over the wide rows (stride 1) into line: per input channel (so its taps' reads stay in L1), 32
 * columns at a time, each block adding that channel's `taps` taps to what the previous channels left in line.
 */
function dotRows(xg: usize, off: usize, cinG: i32, taps: i32, wg: usize, bias: f32, len: i32, line: usize): void {
  for (let ci = 0; ci < cinG; ci++) {
    const o = off + (<usize>(ci * taps) << 2), w = wg + (<usize>(ci * taps) << 2);
    for (let j0 = 0; j0 < len; j0 += 32) {
      const d = line + (<usize>j0 << 2);
      let s0 = f32x4.splat(bias), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
      if (ci > 0) {
        s0 = v128.load(d); s1 = v128.load(d, 16); s2 = v128.load(d, 32); s3 = v128.load(d, 48);
        s4 = v128.load(d, 64); s5 = v128.load(d, 80); s6 = v128.load(d, 96); s7 = v128.load(d, 112);
      }
      const base = xg + (<usize>j0 << 2);
      for (let t = 0; t < taps; t++) {
        const wv = v128.load32_splat(w + (<usize>t << 2));
        const p = base + <usize>load<i32>(o + (<usize>t << 2));
        s0 = f32x4.add(s0, f32x4.mul(wv, v128.load(p)));
        s1 = f32x4.add(s1, f32x4.mul(wv, v128.load(p, 16)));
        s2 = f32x4.add(s2, f32x4.mul(wv, v128.load(p, 32)));
        s3 = f32x4.add(s3, f32x4.mul(wv, v128.load(p, 48)));
        s4 = f32x4.add(s4, f32x4.mul(wv, v128.load(p, 64)));
        s5 = f32x4.add(s5, f32x4.mul(wv, v128.load(p, 80)));
        s6 = f32x4.add(s6, f32x4.mul(wv, v128.load(p, 96)));
        s7 = f32x4.add(s7, f32x4.mul(wv, v128.load(p, 112)));
      }
      v128.store(d, s0); v128.store(d, s1, 16); v128.store(d, s2, 32); v128.store(d, s3, 48);
      v128.store(d, s4, 64); v128.store(d, s5, 80); v128.store(d, s6, 96); v128.store(d, s7, 112);
    }
  }
}

/**
 * Forward convolution over geometry g: x [n, cin, h, w], wt [cout, cin/groups, kh, kw], bias [cout] (read only when
 * g.hasBias) → out [n, cout, oh, ow]. Uses forwardScratch(g) bytes at scratch.
 */
export function forward(g: Geom, x: usize, wt: usize, bias: usize, out: usize, scratch: usize): void {
  const cinG = g.cin / g.groups, coutG = g.cout / g.groups, k = depth(g), outPlane = g.oh * g.ow;
  const direct = forwardInPlace(g);
  const plane = direct ? g.h * g.w : (g.h + 2 * g.padH) * paddedW(g);
  const pb = scratch;
  const acc = pb + packBytes(k);
  const off = acc + align64(<usize>(coutG + 1) << 6);
  const xpad = off + align64(<usize>k << 2);
  const line = xpad + (direct ? 0 : align64(<usize>paddedSize(g) << 2));
  tapOffsets(off, g);
  if (!direct) fill(xpad, paddedSize(g), 0);
  for (let n = 0; n < g.n; n++) {
    const xn = x + (<usize>(n * g.cin) * <usize>(g.h * g.w) << 2);
    if (!direct) copyInterior(xn, xpad, g);
    for (let grp = 0; grp < g.groups; grp++) {
      const xg = (direct ? xn : xpad) + (<usize>(grp * cinG) * <usize>plane << 2);
      const wg = wt + (<usize>(grp * coutG) * <usize>k << 2);
      const bg = bias + (<usize>(grp * coutG) << 2);
      const og = out + (<usize>(n * g.cout + grp * coutG) * <usize>outPlane << 2);
      if (oneChannel(g)) {
        dotRows(xg, off, cinG, g.kh * g.kw, wg, g.hasBias ? load<f32>(bg) : 0, wideLen(g), line);
        compactRows(line, og, g.oh, g.ow, paddedW(g));
        continue;
      }
      for (let j0 = 0; j0 < outPlane; j0 += 16) {
        // A last, partial panel runs as a full one ending at the last pixel: its first pixels are computed again (the
        // same values), but it packs by whole vectors instead of lane by lane (reads stay inside padTail).
        const start = j0 + 16 > outPlane && outPlane >= 16 ? outPlane - 16 : j0;
        const cols = min(16, outPlane - start);
        panelGemm(g, xg, off, cols, segments(g, start, cols), wg, bg, pb, acc);
        storePanel(acc, og, outPlane, coutG, start, cols);
      }
    }
  }
}
