// The convolution kernels' exports. conv2d is an implicit GEMM (conv-forward.ts); conv2dBackwardInput at stride 1 is
// itself a stride-1 convolution of dY with the transposed, flipped weights, and at other strides dcols = Wᵀ × dY on
// the 2×16 tile followed by col2im; conv2dBackwardWeight is in conv-weight.ts.

import { DERIVED, GEOM, Geom, align64, depth, stride1 } from './conv-geom';
import { IX, IY, forward, forwardScratch, windowOrigins } from './conv-forward';
import { TILE, tile2x16 } from './conv-kernel';
import { backwardWeight, weightScratch } from './conv-weight';
import { fill } from './elementwise';

/** Writes into DERIVED the stride-1 forward convolution of dY that computes dx for g (stride 1). */
function deriveBackwardInput(g: Geom): Geom {
  const d = DERIVED;
  d.n = g.n; d.cin = g.cout; d.h = g.oh; d.w = g.ow; d.cout = g.cin; d.kh = g.kh; d.kw = g.kw; d.oh = g.h; d.ow = g.w;
  d.strideH = 1; d.strideW = 1; d.dilationH = g.dilationH; d.dilationW = g.dilationW; d.groups = g.groups; d.hasBias = 0;
  // Negative when g pads more than (k − 1)·dilation: the padded copy then crops dY.
  d.padH = (g.kh - 1) * g.dilationH - g.padH;
  d.padW = (g.kw - 1) * g.dilationW - g.padW;
  return d;
}

/** dst[g·cinG + ci, co, kh−1−ky, kw−1−kx] = w[g·coutG + co, ci, ky, kx]: the weights of the derived convolution. */
function transposeFlip(w: usize, dst: usize, g: Geom): void {
  const cinG = g.cin / g.groups, coutG = g.cout / g.groups, taps = g.kh * g.kw;
  let s = w;
  for (let grp = 0; grp < g.groups; grp++) {
    for (let co = 0; co < coutG; co++) {
      for (let ci = 0; ci < cinG; ci++) {
        const d = dst + (<usize>(((grp * cinG + ci) * coutG + co) * taps + taps - 1) << 2);
        for (let t = 0; t < taps; t++) store<f32>(d - (<usize>t << 2), load<f32>(s + (<usize>t << 2)));
        s += <usize>taps << 2;
      }
    }
  }
}

/** Adds TILE row r (dcols of tap k for the 16 pixels in IY/IX, the first `cols` real) into the dx planes at dxg. */
function col2imRow(dxg: usize, g: Geom, k: i32, r: i32, cols: i32): void {
  const taps = g.kh * g.kw;
  const ci = k / taps, rem = k - ci * taps, ky = rem / g.kw, kx = rem - ky * g.kw;
  const base = dxg + (<usize>(ci * g.h * g.w) << 2);
  for (let t = 0; t < cols; t++) {
    const iy = load<i32>(IY + (<usize>t << 2)) + ky * g.dilationH;
    const ix = load<i32>(IX + (<usize>t << 2)) + kx * g.dilationW;
    if (<u32>iy < <u32>g.h && <u32>ix < <u32>g.w) {
      const at = base + (<usize>(iy * g.w + ix) << 2);
      store<f32>(at, load<f32>(at) + load<f32>(TILE + (<usize>(r * 16 + t) << 2)));
    }
  }
}

/** Backward input at any stride: per 16-pixel panel, dcols = Wᵀ × dY (two taps per tile), then col2im. */
function backwardGather(g: Geom, dy: usize, wt: usize, dx: usize, pb: usize): void {
  const cinG = g.cin / g.groups, coutG = g.cout / g.groups, k = depth(g), outPlane = g.oh * g.ow;
  const rowBytes = <usize>outPlane << 2;
  fill(dx, g.n * g.cin * g.h * g.w, 0);
  for (let n = 0; n < g.n; n++) {
    for (let grp = 0; grp < g.groups; grp++) {
      const dyg = dy + <usize>(n * g.cout + grp * coutG) * rowBytes;
      const dxg = dx + (<usize>(n * g.cin + grp * cinG) * <usize>(g.h * g.w) << 2);
      const wg = wt + (<usize>(grp * coutG) * <usize>k << 2);
      for (let j0 = 0; j0 < outPlane; j0 += 16) {
        const cols = min(16, outPlane - j0);
        windowOrigins(g, j0, cols);
        // dY's 16 columns are read in place; a last partial panel is copied out, zero-filled.
        let b = dyg + (<usize>j0 << 2);
        let sb = rowBytes;
        if (cols < 16) {
          for (let co = 0; co < coutG; co++) {
            const s = b + <usize>co * rowBytes;
            for (let t = 0; t < 16; t++) store<f32>(pb + (<usize>(co * 16 + t) << 2), t < cols ? load<f32>(s + (<usize>t << 2)) : 0);
          }
          b = pb;
          sb = 64;
        }
        for (let t = 0; t < k; t += 2) {
          const two = t + 1 < k;
          const a0 = wg + (<usize>t << 2);
          tile2x16(a0, two ? a0 + 4 : a0, <usize>k << 2, b, sb, coutG, TILE, 64, 0, 0, false);
          col2imRow(dxg, g, t, 0, cols);
          if (two) col2imRow(dxg, g, t + 1, 1, cols);
        }
      }
    }
  }
}

/** Scratch bytes the next conv call needs (kind 0 forward, 1 backward input, 2 backward weight) for GEOM. */
export function conv2dScratch(kind: i32): usize {
  const g = GEOM;
  if (kind == 0) return forwardScratch(g);
  if (kind == 2) return weightScratch(g);
  if (!stride1(g)) return <usize>(g.cout / g.groups) << 6;
  return align64(<usize>(g.cout * depth(g)) << 2) + forwardScratch(deriveBackwardInput(g));
}

/** conv2d over GEOM: x [n, cin, h, w], w [cout, cin/groups, kh, kw], bias [cout] (when hasBias) → out [n, cout, oh, ow]. */
export function conv2d(x: usize, w: usize, bias: usize, out: usize, scratch: usize): void {
  forward(GEOM, x, w, bias, out, scratch);
}

/** Gradient of conv2d over GEOM with respect to x: dy [n, cout, oh, ow], w → dx [n, cin, h, w]. */
export function conv2dBackwardInput(dy: usize, w: usize, dx: usize, scratch: usize): void {
  const g = GEOM;
  if (!stride1(g)) {
    backwardGather(g, dy, w, dx, scratch);
    return;
  }
  transposeFlip(w, scratch, g);
  forward(deriveBackwardInput(g), dy, scratch, 0, dx, scratch + align64(<usize>(g.cout * depth(g)) << 2));
}

/** Gradient of conv2d over GEOM with respect to the weight: x, dy → dw [cout, cin/groups, kh, kw]. */
export function conv2dBackwardWeight(x: usize, dy: usize, dw: usize, scratch: usize): void {
  backwardWeight(GEOM, x, dy, dw, scratch);
}
