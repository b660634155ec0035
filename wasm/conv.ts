// The convolution kernels' exports. conv2d is an implicit GEMM (conv-forward.ts), or Winograd (winograd.ts) where the
// glue chose it; conv2dBackwardInput at stride 1 is itself a stride-1 convolution of dY with the transposed, flipped
// weights, and at other strides dcols = Wᵀ × dY on the 2×16 tile, scatter-added into a padded dx (col2im without
// bounds checks); conv2dBackwardWeight is in conv-weight.ts.

import { DERIVED, GEOM, Geom, align64, copyInterior, depth, paddedH, paddedW, stride1, tapOffsets } from './conv-geom';
import { QOFF, forward, forwardScratch, segments } from './conv-forward';
import { TILE, tile2x16 } from './conv-kernel';
import { backwardWeight, weightScratch } from './conv-weight';
import { fill } from './elementwise';
import { winograd, winogradScratch } from './winograd';
import { winogradWeight, winogradWeightScratch } from './winograd-weight';

/** Writes into DERIVED the stride-1 forward convolution of dY that computes dx for g (stride 1). */
function deriveBackwardInput(g: Geom): Geom {
  const d = DERIVED;
  d.n = g.n; d.cin = g.cout; d.h = g.oh; d.w = g.ow; d.cout = g.cin; d.kh = g.kh; d.kw = g.kw; d.oh = g.h; d.ow = g.w;
  d.strideH = 1; d.strideW = 1; d.dilationH = g.dilationH; d.dilationW = g.dilationW;
  d.groups = g.groups; d.hasBias = 0; d.winograd = g.winograd;
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

/** Adds the first `cols` floats of row (one tap's dcols for the panel in QOFF) at base + QOFF[i] in the padded dx. */
@inline function scatterAdd(base: usize, row: usize, cols: i32): void {
  for (let i = 0; i < cols; i++) {
    const at = base + (<usize>load<i32>(QOFF + (<usize>i << 2)) << 2);
    store<f32>(at, load<f32>(at) + load<f32>(row + (<usize>i << 2)));
  }
}

/** Scratch bytes of backwardStrided: a partial dY panel, tap offsets and the padded dx. */
function stridedScratch(g: Geom): usize {
  return align64(<usize>(g.cout / g.groups) << 6) + align64(<usize>depth(g) << 2)
    + align64(<usize>(g.cin * paddedH(g) * paddedW(g)) << 2);
}

/**
 * Backward input at a stride other than 1: per 16-pixel panel, dcols = Wᵀ × dY (two taps per tile) is scatter-added
 * into a padded copy of dx (taps that land in the padding are dropped with it), whose interior is copied out per image.
 */
function backwardStrided(g: Geom, dy: usize, wt: usize, dx: usize, scratch: usize): void {
  const cinG = g.cin / g.groups, coutG = g.cout / g.groups, k = depth(g), outPlane = g.oh * g.ow;
  const plane = paddedH(g) * paddedW(g);
  const rowBytes = <usize>outPlane << 2;
  const pb = scratch;
  const off = pb + align64(<usize>coutG << 6);
  const dxpad = off + align64(<usize>k << 2);
  tapOffsets(off, g);
  for (let n = 0; n < g.n; n++) {
    fill(dxpad, g.cin * plane, 0);
    for (let grp = 0; grp < g.groups; grp++) {
      const dyg = dy + <usize>(n * g.cout + grp * coutG) * rowBytes;
      const dxg = dxpad + (<usize>(grp * cinG * plane) << 2);
      const wg = wt + (<usize>(grp * coutG) * <usize>k << 2);
      for (let j0 = 0; j0 < outPlane; j0 += 16) {
        const cols = min(16, outPlane - j0);
        segments(g, j0, cols);
        // dY's 16 columns are read in place; a last partial panel is copied out, zero-filled.
        let b = dyg + (<usize>j0 << 2);
        let sb = rowBytes;
        if (cols < 16) {
          for (let co = 0; co < coutG; co++) {
            const s = b + <usize>co * rowBytes;
            for (let t = 0; t < 16; t++) {
              store<f32>(pb + (<usize>(co * 16 + t) << 2), t < cols ? load<f32>(s + (<usize>t << 2)) : 0);
            }
          }
          b = pb;
          sb = 64;
        }
        for (let t = 0; t < k; t += 2) {
          const two = t + 1 < k;
          const a0 = wg + (<usize>t << 2);
          tile2x16(a0, two ? a0 + 4 : a0, <usize>k << 2, b, sb, coutG, TILE, 64, 0, 0, false);
          scatterAdd(dxg + <usize>load<i32>(off + (<usize>t << 2)), TILE, cols);
          if (two) scatterAdd(dxg + <usize>load<i32>(off + (<usize>(t + 1) << 2)), TILE + 64, cols);
        }
      }
    }
    copyInterior(dx + (<usize>(n * g.cin) * <usize>(g.h * g.w) << 2), dxpad, g, false);
  }
}

/** Scratch bytes the next conv call needs (kind 0 forward, 1 backward input, 2 backward weight) for GEOM. */
export function conv2dScratch(kind: i32): usize {
  const g = GEOM;
  if (kind == 0) return g.winograd ? winogradScratch(g, g.winograd) : forwardScratch(g);
  if (kind == 2) return g.winograd ? winogradWeightScratch(g, g.winograd) : weightScratch(g);
  if (!stride1(g)) return stridedScratch(g);
  if (g.winograd) return winogradScratch(deriveBackwardInput(g), g.winograd);
  return align64(<usize>(g.cout * depth(g)) << 2) + forwardScratch(deriveBackwardInput(g));
}

/**
 * conv2d over GEOM: x [n, cin, h, w], w [cout, cin/groups, kh, kw], bias [cout] (when hasBias) → out [n, cout, oh, ow].
 */
export function conv2d(x: usize, w: usize, bias: usize, out: usize, scratch: usize): void {
  const g = GEOM;
  if (g.winograd) winograd(g, g.winograd, x, w, false, bias, out, scratch);
  else forward(g, x, w, bias, out, scratch);
}

/** Gradient of conv2d over GEOM with respect to x: dy [n, cout, oh, ow], w → dx [n, cin, h, w]. */
export function conv2dBackwardInput(dy: usize, w: usize, dx: usize, scratch: usize): void {
  const g = GEOM;
  if (!stride1(g)) {
    backwardStrided(g, dy, w, dx, scratch);
    return;
  }
  if (g.winograd) {
    winograd(deriveBackwardInput(g), g.winograd, dy, w, true, 0, dx, scratch);
    return;
  }
  transposeFlip(w, scratch, g);
  forward(deriveBackwardInput(g), dy, scratch, 0, dx, scratch + align64(<usize>(g.cout * depth(g)) << 2));
}

/** Gradient of conv2d over GEOM with respect to the weight: x, dy → dw [cout, cin/groups, kh, kw]. */
export function conv2dBackwardWeight(x: usize, dy: usize, dw: usize, scratch: usize): void {
  const g = GEOM;
  if (g.winograd) winogradWeight(g, g.winograd, x, dy, dw, scratch);
  else backwardWeight(g, x, dy, dw, scratch);
}
