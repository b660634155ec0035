// The weight gradient of a 3×3 stride-1 convolution by Winograd F(m×m, 3×3), the adjoint of winograd.ts's forward:
// per tile, Ŷ = A dY Aᵀ and V = Bᵀ d B; per transform point ξ, dU[ξ] = Σ_tiles Ŷ[ξ] ⊗ V[ξ] (a GEMM over tiles on the
// 2×16 tile, accumulated over panels and images); finally dw = Gᵀ dU G per filter, in float64.

import { Geom, align64 } from './conv-geom';
import { copyFloats, tile2x16 } from './conv-kernel';
import { fill } from './elementwise';
import {
  channelPitch, imageIn, padCols, padRows, panelLanes, panelUnits, rowIn, tileCols, tileCols4, tileRows,
} from './winograd';

/** Columns of a padded dY plane: whole groups of four tiles (zero past ow). */
@inline function gradCols(g: Geom, m: i32): i32 {
  return m * tileCols4(g, m);
}

/** Output channels rounded up to the GEMM's 16. */
@inline function cout16(g: Geom): i32 {
  return (g.cout + 15) & ~15;
}

/**
 * Floats of one point's Ŷᵀ block: 16-channel blocks of lp lanes × 16, and a cache line so that the α² points of a
 * lane do not share L1 sets (see winograd.ts's channelPitch).
 */
@inline function gradPoint(g: Geom, m: i32): i32 {
  return cout16(g) * panelLanes(g, m) + 16;
}

/** Floats of one point's dUᵀ block: cin + 1 rows (the odd row's partner) of cout16, and a cache line. */
@inline function duPoint(g: Geom): i32 {
  return (g.cin + 1) * cout16(g) + 16;
}

/**
 * Scratch bytes of winogradWeight: padded image, half-transform row, V, padded dY planes, every channel's dY row
 * halves, Ŷᵀ, dUᵀ, and 192 bytes for the transforms' small temporaries.
 */
export function winogradWeightScratch(g: Geom, m: i32): usize {
  const a = m + 2, a2 = a * a;
  return align64(<usize>(g.cin * padRows(g, m) * padCols(g, m)) << 2) + align64(<usize>(a * padCols(g, m)) << 2)
    + align64(<usize>(g.cin * channelPitch(m, panelLanes(g, m))) << 2)
    + align64(<usize>(g.cout * m * tileRows(g, m) * gradCols(g, m)) << 2)
    + align64(<usize>(g.cout * a * gradCols(g, m)) << 2)
    + align64(<usize>(a2 * gradPoint(g, m)) << 2) + align64(<usize>(a2 * duPoint(g)) << 2) + 192;
}

/**
 * 1-D transform A·d of F(4, 3), four values into six (A = (Aᵀ)ᵀ of the forward, rows (1, 0, 0, 0), (1, 1, 1, 1),
 * (1, −1, 1, −1), (1, 2, 4, 8), (1, −2, 4, −8), (0, 0, 0, 1)), stored `step` bytes apart from `at`. F(2, 3)'s rows
 * are (1, 0), (1, 1), (1, −1), (0, −1).
 */
@inline function gradF4(d0: v128, d1: v128, d2: v128, d3: v128, four: v128, at: usize, step: usize): void {
  const e = f32x4.add(d0, d2), f = f32x4.add(d1, d3);
  const p = f32x4.add(d0, f32x4.mul(four, d2)), q0 = f32x4.add(d1, f32x4.mul(four, d3));
  const q = f32x4.add(q0, q0);
  v128.store(at, d0);
  at += step;
  v128.store(at, f32x4.add(e, f));
  at += step;
  v128.store(at, f32x4.sub(e, f));
  at += step;
  v128.store(at, f32x4.add(p, q));
  at += step;
  v128.store(at, f32x4.sub(p, q));
  at += step;
  v128.store(at, d3);
}

/** Stores the first `real` lanes of v 64 bytes apart from p (one float per tile of a Ŷᵀ row of 16 channels). */
@inline function scatter4(p: usize, v: v128, real: i32): void {
  v128.store32_lane(p, v, 0);
  if (real > 1) v128.store32_lane(p, v, 1, 64);
  if (real > 2) v128.store32_lane(p, v, 2, 128);
  if (real > 3) v128.store32_lane(p, v, 3, 192);
}

/** Row half of Ŷ for one tile row: t1[ρ, ·] = Σ_i A[ρ, i] · src[i, ·] over m rows of a padded dY plane (pitch wq). */
function gradRows(m: i32, src: usize, wq: i32, t1: usize): void {
  const pitch = <usize>wq << 2;
  const four = f32x4.splat(4);
  const end = src + pitch;
  let d = t1;
  for (let s = src; s < end; s += 16) {
    const d0 = v128.load(s), d1 = v128.load(s + pitch);
    if (m == 4) {
      gradF4(d0, d1, v128.load(s + 2 * pitch), v128.load(s + 3 * pitch), four, d, pitch);
    } else {
      v128.store(d, d0);
      v128.store(d + pitch, f32x4.add(d0, d1));
      v128.store(d + 2 * pitch, f32x4.sub(d0, d1));
      v128.store(d + 3 * pitch, f32x4.neg(d1));
    }
    d += 16;
  }
}

/**
 * Column half of Ŷ for tiles tx..tx+3 of a tile row from t1 (α rows, pitch wq floats): Ŷ[ρ·α + ν] of tile k < real
 * goes to out + (ρ·α + ν)·step + 64·k, one float (the caller's channel) in each tile's row of 16 channels.
 */
function gradTiles(m: i32, t1: usize, wq: i32, tx: i32, out: usize, step: usize, tmp: usize, real: i32): void {
  const pitch = <usize>wq << 2;
  const a = m + 2;
  const four = f32x4.splat(4);
  let s = t1 + (<usize>(tx * m) << 2);
  let o = out;
  for (let r = 0; r < a; r++) {
    if (m == 4) {
      const v0 = v128.load(s), v1 = v128.load(s, 16), v2 = v128.load(s, 32), v3 = v128.load(s, 48);
      const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1v = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(v2, v3, 0, 4, 1, 5), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
      gradF4(
        i64x2.shuffle(t0, t2, 0, 2), i64x2.shuffle(t0, t2, 1, 3), i64x2.shuffle(t1v, t3, 0, 2),
        i64x2.shuffle(t1v, t3, 1, 3), four, tmp, 16,
      );
      for (let nu = 0; nu < 6; nu++) scatter4(o + <usize>nu * step, v128.load(tmp + (<usize>nu << 4)), real);
    } else {
      const v0 = v128.load(s), v1 = v128.load(s, 16);
      const c0 = i32x4.shuffle(v0, v1, 0, 2, 4, 6), c1 = i32x4.shuffle(v0, v1, 1, 3, 5, 7);
      scatter4(o, c0, real);
      scatter4(o + step, f32x4.add(c0, c1), real);
      scatter4(o + 2 * step, f32x4.sub(c0, c1), real);
      scatter4(o + 3 * step, f32x4.neg(c1), real);
    }
    s += pitch;
    o += <usize>a * step;
  }
}

/**
 * Gᵀ·d for one column of dU (α values `step` bytes apart from at), stored as 3 f64 at t (24 bytes apart by `ts`).
 * Rows of Gᵀ, F(4, 3): (1/4, −1/6, −1/6, 1/24, 1/24, 0), (0, −1/6, 1/6, 1/12, −1/12, 0), (0, −1/6, −1/6, 1/6, 1/6, 1);
 * F(2, 3): (1, 1/2, 1/2, 0), (0, 1/2, −1/2, 0), (0, 1/2, 1/2, 1).
 */
@inline function gT(m: i32, d0: f64, d1: f64, d2: f64, d3: f64, d4: f64, d5: f64, t: usize, ts: usize): void {
  if (m == 4) {
    const s12 = d1 + d2, s34 = d3 + d4;
    store<f64>(t, 0.25 * d0 - s12 / 6 + s34 / 24);
    store<f64>(t + ts, (d2 - d1) / 6 + (d3 - d4) / 12);
    store<f64>(t + 2 * ts, (s34 - s12) / 6 + d5);
    return;
  }
  store<f64>(t, d0 + 0.5 * (d1 + d2));
  store<f64>(t + ts, 0.5 * (d1 - d2));
  store<f64>(t + 2 * ts, 0.5 * (d1 + d2) + d3);
}

/**
 * dw[ky, kx] = Σ_{r,ν} G[r, ky] dU[r, ν] G[ν, kx] from the α² floats of dU `step` bytes apart at du, in float64:
 * Gᵀ down each column ν into t (3 × α), then Gᵀ along each row of t. `t` holds 18 f64 (thread-private scratch).
 */
function filterOut(m: i32, du: usize, step: usize, dw: usize, t: usize): void {
  const a = m + 2;
  for (let nu = 0; nu < a; nu++) {
    const c = du + <usize>nu * step, rs = <usize>a * step;
    const d0 = <f64>load<f32>(c), d1 = <f64>load<f32>(c + rs), d2 = <f64>load<f32>(c + 2 * rs);
    const d3 = <f64>load<f32>(c + 3 * rs);
    const d4: f64 = m == 4 ? <f64>load<f32>(c + 4 * rs) : 0, d5: f64 = m == 4 ? <f64>load<f32>(c + 5 * rs) : 0;
    gT(m, d0, d1, d2, d3, d4, d5, t + (<usize>nu << 3), 48);
  }
  for (let ky = 0; ky < 3; ky++) {
    const r = t + <usize>ky * 48;
    gT(m, load<f64>(r), load<f64>(r, 8), load<f64>(r, 16), load<f64>(r, 24), load<f64>(r, 32), load<f64>(r, 40),
      t + 144, 8);
    const o = dw + <usize>(ky * 12);
    for (let kx = 0; kx < 3; kx++) store<f32>(o + (<usize>kx << 2), <f32>load<f64>(t + 144 + (<usize>kx << 3)));
  }
}

/**
 * dw [cout, cin, 3, 3] = Σ_images the weight gradient of x [n, cin, h, w] against dy [n, cout, oh, ow] over geometry
 * g (3×3, stride 1, dilation 1, one group, padding 0–2) by F(m×m, 3×3). Uses winogradWeightScratch(g, m) bytes.
 * NOTE: dU sums in float32 over every tile of the call (as the direct kernel's chunks do over pixels) before the
 * float64 Gᵀ dU G.
 */
export function winogradWeight(g: Geom, m: i32, x: usize, dy: usize, dw: usize, scratch: usize): void {
  const a = m + 2, a2 = a * a, cin = g.cin, cout = g.cout, c16 = cout16(g);
  const th = tileRows(g, m), tw = tileCols(g, m), tw4 = tileCols4(g, m), per = panelUnits(g, m);
  const lp = panelLanes(g, m);
  const wq = gradCols(g, m), hq = m * th;
  const xpad = scratch;
  const t1 = xpad + align64(<usize>(cin * padRows(g, m) * padCols(g, m)) << 2);
  const v = t1 + align64(<usize>(a * padCols(g, m)) << 2);
  const dypad = v + align64(<usize>(cin * channelPitch(m, lp)) << 2);
  const yrow = dypad + align64(<usize>(cout * hq * wq) << 2);
  const yrb = <usize>(a * wq) << 2;
  const yt = yrow + align64(<usize>cout * yrb);
  const du = yt + align64(<usize>(a2 * gradPoint(g, m)) << 2);
  const cb = <usize>channelPitch(m, lp) << 2, ystep = <usize>gradPoint(g, m) << 2, dstep = <usize>duPoint(g) << 2;
  const tmp = du + align64(<usize>(a2 * duPoint(g)) << 2);
  const qplane = <usize>(hq * wq) << 2, outPlane = <usize>(g.oh * g.ow) << 2;
  fill(xpad, cin * padRows(g, m) * padCols(g, m), 0);
  fill(v, cin * channelPitch(m, lp), 0);
  fill(dypad, cout * hq * wq, 0);
  fill(yt, a2 * gradPoint(g, m), 0);
  fill(du, a2 * duPoint(g), 0);
  const units = g.n * th;
  let image = -1;
  for (let u0 = 0; u0 < units; u0 += per) {
    const count = min(per, units - u0);
    for (let j = 0; j < count; j++) {
      const n = (u0 + j) / th, ty = (u0 + j) % th, lane0 = j * tw;
      if (n != image) {
        image = n;
        imageIn(g, m, x + <usize>(n * cin) * <usize>(g.h * g.w) * 4, xpad);
        const dyn = dy + <usize>(n * cout) * outPlane;
        for (let co = 0; co < cout; co++) {
          const d = dypad + <usize>co * qplane, s = dyn + <usize>co * outPlane;
          for (let y = 0; y < g.oh; y++) copyFloats(d + <usize>y * <usize>wq * 4, s + <usize>(y * g.ow) * 4, g.ow);
        }
      }
      rowIn(g, m, xpad, ty, t1, v + (<usize>lane0 << 2), lp, cb);
      // All channels' row halves first: then each group of four tiles writes its Ŷᵀ lines (α² points × 4 tiles ×
      // 16 channels) for every channel while they are in L1.
      const src = dypad + <usize>(m * ty) * <usize>wq * 4;
      for (let co = 0; co < cout; co++) gradRows(m, src + <usize>co * qplane, wq, yrow + <usize>co * yrb);
      for (let tx = 0; tx < tw4; tx += 4) {
        if (tx >= tw) break;
        const lane = yt + (<usize>(lane0 + tx) << 6);
        for (let co = 0; co < cout; co++) {
          const block = lane + (<usize>((co >> 4) * lp) << 6) + (<usize>(co & 15) << 2);
          gradTiles(m, yrow + <usize>co * yrb, wq, tx, block, ystep, tmp, tw - tx);
        }
      }
    }
    const lanes = count * tw;
    for (let xi = 0; xi < a2; xi++) {
      const vx = v + (<usize>(xi * lp) << 2), yx = yt + <usize>xi * ystep, dx = du + <usize>xi * dstep;
      for (let ci = 0; ci < cin; ci += 2) {
        const a0 = vx + <usize>ci * cb;
        const a1 = ci + 1 < cin ? a0 + cb : a0;
        for (let b = 0; b < c16; b += 16) {
          const c = dx + (<usize>(ci * c16 + b) << 2);
          tile2x16(a0, a1, 4, yx + (<usize>(b * lp) << 2), 64, lanes, c, <usize>c16 << 2, 0, 0, true);
        }
      }
    }
  }
  for (let co = 0; co < cout; co++) {
    for (let ci = 0; ci < cin; ci++) {
      filterOut(m, du + (<usize>(ci * c16 + co) << 2), dstep, dw + <usize>((co * cin + ci) * 9) * 4, tmp);
    }
  }
}
