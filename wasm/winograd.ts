// Winograd convolution F(m×m, 3×3), m = 4 or 2 (Lavin & Gray, 2016), for 3×3 convolutions at stride 1, dilation 1,
// one group and padding 0–2: per panel of tiles, V = Bᵀ d B per input channel, then one GEMM per transform point
// ξ (M[ξ] = U[ξ] · V[ξ] on the 2×16 tile, U = G g Gᵀ), then Y = Aᵀ M A per output channel. F(4, 3) does 36
// multiplies per 16 outputs and channel pair where the direct convolution does 144; F(2, 3) 16 per 4 (36).
// A panel's lanes are the real tiles of consecutive tile rows, across images when they are small (an 8×8 output's
// four F(4, 3) tiles take four lanes, not the eight of its two padded groups of four).

import { Geom, align64 } from './conv-geom';
import { copyFloats, tile2x16 } from './conv-kernel';
import { fill } from './elementwise';
import { filterIn, rowsIn, tilesIn, tilesOut } from './winograd-tile';

/**
 * Tiles per panel at most (more only when one tile row has more): a panel's V (α²·cin·lanes floats) and M
 * (α²·cout·lanes) stay in L2 beside the weights U (α²·cin·cout). Measured (F(4, 3), one thread): 64→64 at 8×8
 * forward 5.8 ms with 32 lanes against 10.2 with 64, the weight gradient 7.0 against 6.7; 16 lanes no faster.
 */
export const LANES_MAX: i32 = 32;

/** Tile rows of the output. */
@inline export function tileRows(g: Geom, m: i32): i32 {
  return (g.oh + m - 1) / m;
}

/** Tiles per tile row. */
@inline export function tileCols(g: Geom, m: i32): i32 {
  return (g.ow + m - 1) / m;
}

/** Tiles per tile row, rounded up to a multiple of 4 (the transforms work on four adjacent tiles). */
@inline export function tileCols4(g: Geom, m: i32): i32 {
  return (tileCols(g, m) + 3) & ~3;
}

/** Rows of the padded input plane: every tile's α rows lie inside it. */
@inline export function padRows(g: Geom, m: i32): i32 {
  return m * tileRows(g, m) + 2;
}

/** Columns of the padded plane (a multiple of 4): the last group of four tiles reads up to m·tw4 + 3. */
@inline export function padCols(g: Geom, m: i32): i32 {
  return m * tileCols4(g, m) + 4;
}

/** Tile rows (of any images, in order) per panel: as many as fill LANES_MAX lanes, at least one. */
@inline export function panelUnits(g: Geom, m: i32): i32 {
  return max(1, LANES_MAX / tileCols(g, m));
}

/** Lanes of a panel's V and M rows: its tiles, rounded up to the GEMM's 16. */
@inline export function panelLanes(g: Geom, m: i32): i32 {
  return (panelUnits(g, m) * tileCols(g, m) + 15) & ~15;
}

/**
 * Floats from one channel's block of V or M (α² points of lp lanes) to the next. NOTE: one cache line more than the
 * block needs: at a power-of-two pitch the GEMM's rows all fall into one L1 set (measured: 3× slower transforms when
 * a tile's points were 4 KiB apart).
 */
@inline export function channelPitch(m: i32, lp: i32): i32 {
  return (m + 2) * (m + 2) * lp + 16;
}

/** Bytes of a panel's lane table: per lane, its tile's output offset (bytes), rows and columns (i32 each). */
@inline function laneTable(g: Geom, m: i32): usize {
  return align64(<usize>panelLanes(g, m) * 12);
}

/** Scratch bytes of winograd(g, m): U, the padded image, a tile row's half transform, V, M, lane table, 384 bytes. */
export function winogradScratch(g: Geom, m: i32): usize {
  const a = m + 2, cp = channelPitch(m, panelLanes(g, m));
  return align64(<usize>(a * a * g.cout * g.cin) << 2) + align64(<usize>(g.cin * padRows(g, m) * padCols(g, m)) << 2)
    + align64(<usize>(a * padCols(g, m)) << 2) + align64(<usize>(g.cin * cp) << 2)
    + align64(<usize>((g.cout + 1) * cp) << 2) + laneTable(g, m) + 384;
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
 * V [cin][α²][lanes] (channels cb bytes apart, points lp floats) = Bᵀ d B for the tw real tiles of tile row ty of
 * the padded image at xpad, into lanes from v on; t1 holds one tile row's half transform (α·padCols floats).
 */
export function rowIn(g: Geom, m: i32, xpad: usize, ty: i32, t1: usize, v: usize, lp: i32, cb: usize): void {
  const tw = tileCols(g, m), wp = padCols(g, m);
  const plane = <usize>(padRows(g, m) * wp) << 2;
  for (let ci = 0; ci < g.cin; ci++) {
    rowsIn(m, xpad + <usize>ci * plane + (<usize>(m * ty * wp) << 2), wp, t1);
    const at = v + <usize>ci * cb;
    for (let tx = 0; tx < tw; tx += 4) tilesIn(m, t1, wp, tx, at + (<usize>tx << 2), <usize>lp << 2, tw - tx);
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
  const th = tileRows(g, m), tw = tileCols(g, m), hp = padRows(g, m), wp = padCols(g, m);
  const per = panelUnits(g, m), lp = panelLanes(g, m), cp = channelPitch(m, lp);
  // V [cin][α²][lp] and M [cout][α²][lp], channels cp floats apart; U [α²][cout][cin].
  const u = scratch;
  const xpad = u + align64(<usize>(a2 * cout * cin) << 2);
  const t1 = xpad + align64(<usize>(cin * hp * wp) << 2);
  const v = t1 + align64(<usize>(a * wp) << 2);
  const mm = v + align64(<usize>(cin * cp) << 2);
  const lanesAt = mm + align64(<usize>((cout + 1) * cp) << 2);
  const tmp = lanesAt + laneTable(g, m);
  const lb = <usize>lp << 2, cb = <usize>cp << 2;
  const imagePlane = <usize>(g.h * g.w) << 2, outPlane = <usize>(g.oh * g.ow) << 2;
  const ob = <usize>g.ow << 2;
  filters(g, m, w, flip, u, tmp);
  fill(xpad, cin * hp * wp, 0);
  fill(v, cin * cp, 0);
  const units = g.n * th;
  let image = -1;
  for (let u0 = 0; u0 < units; u0 += per) {
    const count = min(per, units - u0), lanes = count * tw;
    // Each tile row's tiles into their lanes, and where each lane's tile goes (offset, rows, columns).
    for (let j = 0; j < count; j++) {
      const b = (u0 + j) / th, ty = (u0 + j) % th;
      if (b != image) {
        imageIn(g, m, x + <usize>(b * cin) * imagePlane, xpad);
        image = b;
      }
      rowIn(g, m, xpad, ty, t1, v + (<usize>(j * tw) << 2), lp, cb);
      for (let tx = 0; tx < tw; tx++) {
        const e = lanesAt + <usize>(j * tw + tx) * 12;
        store<u32>(e, <u32>(<usize>(b * cout) * outPlane + (<usize>((m * ty) * g.ow + m * tx) << 2)));
        store<i32>(e, min(m, g.oh - m * ty), 4);
        store<i32>(e, min(m, g.ow - m * tx), 8);
      }
    }
    const l16 = (lanes + 15) & ~15;
    for (let xi = 0; xi < a2; xi++) {
      const ux = u + (<usize>(xi * cout * cin) << 2), vx = v + <usize>xi * lb, mx = mm + <usize>xi * lb;
      for (let s = 0; s < l16; s += 16) {
        for (let co = 0; co < cout; co += 2) {
          const a0 = ux + (<usize>(co * cin) << 2);
          const a1 = co + 1 < cout ? a0 + (<usize>cin << 2) : a0;
          tile2x16(a0, a1, 4, vx + (<usize>s << 2), cb, cin, mx + <usize>co * cb + (<usize>s << 2), cb, 0, 0, false);
        }
      }
    }
    for (let co = 0; co < cout; co++) {
      const bc: f32 = g.hasBias ? load<f32>(bias + (<usize>co << 2)) : 0;
      const oc = out + <usize>co * outPlane, mc = mm + <usize>co * cb;
      for (let l = 0; l < lanes; l += 4) {
        tilesOut(m, mc + (<usize>l << 2), lb, bc, tmp, oc, ob, lanesAt + <usize>l * 12, min(4, lanes - l));
      }
    }
  }
}
