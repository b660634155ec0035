// Winograd convolution F(m×m, 3×3), m = 4 or 2 (Lavin & Gray, 2016), for 3×3 convolutions at stride 1, dilation 1,
// one group and padding 0–2: per panel of tiles, V = Bᵀ d B per input channel, then one GEMM per transform point
// ξ (M[ξ] = U[ξ] · V[ξ] on the 2×16 tile, U = G g Gᵀ), then Y = Aᵀ M A per output channel. F(4, 3) does 36
// multiplies per 16 outputs and channel pair where the direct convolution does 144; F(2, 3) 16 per 4 (36).

import { Geom, align64 } from './conv-geom';
import { copyFloats, tile2x16 } from './conv-kernel';
import { fill } from './elementwise';
import { filterIn, rowsIn, tilesIn, tilesOut } from './winograd-tile';

/**
 * Tiles per panel at most: a panel's V (α²·cin·lanes floats) and M (α²·cout·lanes) stay in L2 while the weights
 * stream by, and a 32×32 output (8 rows of 8 F(4, 3) tiles) is one panel.
 */
export const LANES_MAX: i32 = 64;

/** Tile rows of the output. */
@inline export function tileRows(g: Geom, m: i32): i32 {
  return (g.oh + m - 1) / m;
}

/** Tiles per tile row, rounded up to a multiple of 4 (the transforms work on four adjacent tiles). */
@inline export function tileCols4(g: Geom, m: i32): i32 {
  return (((g.ow + m - 1) / m) + 3) & ~3;
}

/** Rows of the padded input plane: every tile's α rows lie inside it. */
@inline export function padRows(g: Geom, m: i32): i32 {
  return m * tileRows(g, m) + 2;
}

/** Columns of the padded plane (a multiple of 4): the last group of four tiles reads up to m·tw4 + 3. */
@inline export function padCols(g: Geom, m: i32): i32 {
  return m * tileCols4(g, m) + 4;
}

/** Tile rows per panel. */
@inline export function panelRows(g: Geom, m: i32): i32 {
  return max(1, min(tileRows(g, m), LANES_MAX / tileCols4(g, m)));
}

/** Lanes of a panel's V and M rows: its tiles, rounded up to the GEMM's 16. */
@inline export function panelLanes(g: Geom, m: i32): i32 {
  return (panelRows(g, m) * tileCols4(g, m) + 15) & ~15;
}

/**
 * Floats from one channel's block of V or M (α² points of lp lanes) to the next. NOTE: one cache line more than the
 * block needs: at a power-of-two pitch the GEMM's rows all fall into one L1 set (measured: 3× slower transforms when
 * a tile's points were 4 KiB apart).
 */
@inline export function channelPitch(m: i32, lp: i32): i32 {
  return (m + 2) * (m + 2) * lp + 16;
}

/** Scratch bytes of winograd(g, m): U, the padded image, one tile row's half transform, V, M and a small block. */
export function winogradScratch(g: Geom, m: i32): usize {
  const a = m + 2, cp = channelPitch(m, panelLanes(g, m));
  return align64(<usize>(a * a * g.cout * g.cin) << 2) + align64(<usize>(g.cin * padRows(g, m) * padCols(g, m)) << 2)
    + align64(<usize>(a * padCols(g, m)) << 2) + align64(<usize>(g.cin * cp) << 2)
    + align64(<usize>((g.cout + 1) * cp) << 2) + 384;
}

/**
 * U[ξ, co, ci] = G f Gᵀ for the filter f of every (co, ci) (ξ = r·α + ν): f = w[co, ci], or with `flip` w[ci, co]
 * rotated 180°, where w [cin, cout, 3, 3] of g are the weights of the convolution whose input gradient g computes.
 */
function filters(g: Geom, m: i32, w: usize, flip: bool, u: usize, tmp: usize): void {
  const step = <usize>(g.cout * g.cin) << 2;
  for (let co = 0; co < g.cout; co++) {
    for (let ci = 0; ci < g.cin; ci++) {
      const f = flip ? ci * g.cout + co : co * g.cin + ci;
      filterIn(m, w + <usize>(f * 9) * 4, flip, u + (<usize>(co * g.cin + ci) << 2), step, tmp);
    }
  }
}

/** Copies image xn [cin, h, w] into the interior of its padded planes at xpad (borders stay as they are: zero). */
export function imageIn(g: Geom, m: i32, xn: usize, xpad: usize): void {
  const wp = padCols(g, m);
  const plane = <usize>(padRows(g, m) * wp) << 2, imagePlane = <usize>(g.h * g.w) << 2;
  for (let ci = 0; ci < g.cin; ci++) {
    const d = xpad + <usize>ci * plane + (<usize>(g.padH * wp + g.padW) << 2);
    const s = xn + <usize>ci * imagePlane;
    for (let y = 0; y < g.h; y++) copyFloats(d + (<usize>(y * wp) << 2), s + (<usize>(y * g.w) << 2), g.w);
  }
}

/**
 * V [cin][α²][lp] (channels cb bytes apart, points lp floats) = Bᵀ d B for the tiles of tile rows ty0..ty0+nr−1 of
 * the padded image at xpad, from lane 0 at v; t1 holds one tile row's half transform (α·padCols floats).
 */
export function panelIn(g: Geom, m: i32, xpad: usize, ty0: i32, nr: i32, t1: usize, v: usize, lp: i32,
  cb: usize): void {
  const tw4 = tileCols4(g, m), wp = padCols(g, m);
  const plane = <usize>(padRows(g, m) * wp) << 2;
  for (let ci = 0; ci < g.cin; ci++) {
    for (let r = 0; r < nr; r++) {
      rowsIn(m, xpad + <usize>ci * plane + (<usize>(m * (ty0 + r) * wp) << 2), wp, t1);
      const at = v + <usize>ci * cb + (<usize>(r * tw4) << 2);
      for (let tx = 0; tx < tw4; tx += 4) tilesIn(m, t1, wp, tx, at + (<usize>tx << 2), <usize>lp << 2);
    }
  }
}

/**
 * out [n, cout, oh, ow] = bias + conv(x [n, cin, h, w], filters) over geometry g (3×3, stride 1, dilation 1, one
 * group, padding 0–2) by F(m×m, 3×3); the filters are w [cout, cin, 3, 3], or with `flip` the transposed, rotated
 * weights of a backward input (see filters). bias is read only when g.hasBias. Uses winogradScratch(g, m) bytes.
 * NOTE: results depend only on the image, never on which images share a call, so a split over images is exact.
 */
export function winograd(g: Geom, m: i32, x: usize, w: usize, flip: bool, bias: usize, out: usize,
  scratch: usize): void {
  const a = m + 2, a2 = a * a, cin = g.cin, cout = g.cout;
  const th = tileRows(g, m), tw4 = tileCols4(g, m), hp = padRows(g, m), wp = padCols(g, m);
  const prows = panelRows(g, m), lp = panelLanes(g, m), cp = channelPitch(m, lp);
  // V [cin][α²][lp] and M [cout][α²][lp], channels cp floats apart; U [α²][cout][cin].
  const u = scratch;
  const xpad = u + align64(<usize>(a2 * cout * cin) << 2);
  const t1 = xpad + align64(<usize>(cin * hp * wp) << 2);
  const v = t1 + align64(<usize>(a * wp) << 2);
  const mm = v + align64(<usize>(cin * cp) << 2);
  const tmp = mm + align64(<usize>((cout + 1) * cp) << 2);
  const lb = <usize>lp << 2, cb = <usize>cp << 2;
  const imagePlane = <usize>(g.h * g.w) << 2, outPlane = <usize>(g.oh * g.ow) << 2;
  const ob = <usize>g.ow << 2;
  filters(g, m, w, flip, u, tmp);
  fill(xpad, cin * hp * wp, 0);
  fill(v, cin * cp, 0);
  for (let n = 0; n < g.n; n++) {
    imageIn(g, m, x + <usize>(n * cin) * imagePlane, xpad);
    for (let ty0 = 0; ty0 < th; ty0 += prows) {
      const nr = min(prows, th - ty0);
      const lanes = (nr * tw4 + 15) & ~15;
      panelIn(g, m, xpad, ty0, nr, t1, v, lp, cb);
      for (let xi = 0; xi < a2; xi++) {
        const ux = u + (<usize>(xi * cout * cin) << 2), vx = v + <usize>xi * lb, mx = mm + <usize>xi * lb;
        for (let s = 0; s < lanes; s += 16) {
          for (let co = 0; co < cout; co += 2) {
            const a0 = ux + (<usize>(co * cin) << 2);
            const a1 = co + 1 < cout ? a0 + (<usize>cin << 2) : a0;
            tile2x16(a0, a1, 4, vx + (<usize>s << 2), cb, cin, mx + <usize>co * cb + (<usize>s << 2), cb, 0, 0, false);
          }
        }
      }
      for (let co = 0; co < cout; co++) {
        const b: f32 = g.hasBias ? load<f32>(bias + (<usize>co << 2)) : 0;
        const op = out + <usize>(n * cout + co) * outPlane;
        const mc = mm + <usize>co * cb;
        for (let r = 0; r < nr; r++) {
          const oy0 = m * (ty0 + r);
          const rowsHere = min(m, g.oh - oy0);
          for (let tx = 0; tx < tw4; tx += 4) {
            const ox0 = m * tx;
            const cols = min(4 * m, g.ow - ox0);
            const at = op + (<usize>(oy0 * g.ow + ox0) << 2);
            tilesOut(m, mc + (<usize>(r * tw4 + tx) << 2), lb, b, tmp, at, ob, rowsHere, cols);
          }
        }
      }
    }
  }
}
