// The SIMD transforms of Winograd convolution F(m×m, 3×3) (Lavin & Gray, 2016, "Fast Algorithms for Convolutional
// Neural Networks"), m = 4 (6×6 tiles, points 0, ±1, ±2, ∞) or m = 2 (4×4 tiles, points 0, ±1, ∞). Each f32x4 holds
// one value of four horizontally adjacent tiles: the input and output transforms work on four tiles at a time.

/**
 * 1-D input transform Bᵀd of F(4, 3) on six vectors, stored `step` bytes apart from `at`; four and five are splats.
 * Rows of Bᵀ: (4, 0, −5, 0, 1, 0), (0, −4, −4, 1, 1, 0), (0, 4, −4, −1, 1, 0), (0, −2, −1, 2, 1, 0),
 * (0, 2, −1, −2, 1, 0), (0, 4, 0, −5, 0, 1).
 */
@inline function inputF4(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, four: v128, five: v128,
  at: usize, step: usize, real: i32): void {
  const a = f32x4.sub(d4, f32x4.mul(four, d2));
  const b = f32x4.sub(f32x4.mul(four, d1), d3);
  const c = f32x4.sub(d4, d2);
  const e0 = f32x4.sub(d1, d3);
  const e = f32x4.add(e0, e0);
  putLanes(at, f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4), real);
  at += step;
  putLanes(at, f32x4.sub(a, b), real);
  at += step;
  putLanes(at, f32x4.add(a, b), real);
  at += step;
  putLanes(at, f32x4.sub(c, e), real);
  at += step;
  putLanes(at, f32x4.add(c, e), real);
  at += step;
  putLanes(at, f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5), real);
}

/** 1-D input transform Bᵀd of F(2, 3) on four vectors, stored `step` bytes apart from `at`. */
@inline function inputF2(d0: v128, d1: v128, d2: v128, d3: v128, at: usize, step: usize, real: i32): void {
  putLanes(at, f32x4.sub(d0, d2), real);
  at += step;
  putLanes(at, f32x4.add(d1, d2), real);
  at += step;
  putLanes(at, f32x4.sub(d2, d1), real);
  at += step;
  putLanes(at, f32x4.sub(d1, d3), real);
}

/** Stores the first `real` lanes of v at p (a whole vector when real ≥ 4). */
@inline function putLanes(p: usize, v: v128, real: i32): void {
  if (real >= 4) v128.store(p, v);
  else storeLanes(p, v, real);
}

/**
 * First half of the input transform for one tile row: t1[r, ·] = Σ_i Bᵀ[r, i] · src[i, ·] over the α = m + 2 rows
 * of the padded plane from src (pitch wp floats, a multiple of 4), into t1 (α rows of wp floats).
 */
export function rowsIn(m: i32, src: usize, wp: i32, t1: usize): void {
  const pitch = <usize>wp << 2;
  const four = f32x4.splat(4), five = f32x4.splat(5);
  const end = src + pitch;
  let d = t1;
  for (let s = src; s < end; s += 16) {
    let r = s;
    const d0 = v128.load(r);
    r += pitch;
    const d1 = v128.load(r);
    r += pitch;
    const d2 = v128.load(r);
    r += pitch;
    const d3 = v128.load(r);
    if (m == 4) {
      r += pitch;
      const d4 = v128.load(r);
      r += pitch;
      inputF4(d0, d1, d2, d3, d4, v128.load(r), four, five, d, pitch, 4);
    } else {
      inputF2(d0, d1, d2, d3, d, pitch, 4);
    }
    d += 16;
  }
}

/**
 * Second half of the input transform for tiles tx..tx+3 of a tile row: for each row r of t1 (pitch wp floats), the
 * columns of the four tiles (m·(tx + k) + j) are gathered into one vector per j, transformed along j, and stored as
 * V[r·α + ν] at v + (r·α + ν)·step, one lane per tile: the first `real` lanes only (all four when real ≥ 4).
 */
export function tilesIn(m: i32, t1: usize, wp: i32, tx: i32, v: usize, step: usize, real: i32): void {
  const pitch = <usize>wp << 2;
  if (m == 4) {
    const four = f32x4.splat(4), five = f32x4.splat(5);
    let s = t1 + (<usize>tx << 4);
    let o = v;
    for (let r = 0; r < 6; r++) {
      const v0 = v128.load(s), v1 = v128.load(s, 16), v2 = v128.load(s, 32), v3 = v128.load(s, 48);
      const v4 = v128.load(s, 64);
      const t0 = i32x4.shuffle(v0, v1, 0, 4, 1, 5), t1 = i32x4.shuffle(v0, v1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(v2, v3, 0, 4, 1, 5), t3 = i32x4.shuffle(v2, v3, 2, 6, 3, 7);
      const c0 = i64x2.shuffle(t0, t2, 0, 2), c1 = i64x2.shuffle(t0, t2, 1, 3);
      const c2 = i64x2.shuffle(t1, t3, 0, 2), c3 = i64x2.shuffle(t1, t3, 1, 3);
      const c4 = i32x4.shuffle(c0, v4, 1, 2, 3, 4), c5 = i32x4.shuffle(c1, v4, 1, 2, 3, 5);
      inputF4(c0, c1, c2, c3, c4, c5, four, five, o, step, real);
      s += pitch;
      o += 6 * step;
    }
    return;
  }
  let s = t1 + (<usize>tx << 3);
  let o = v;
  for (let r = 0; r < 4; r++) {
    const v0 = v128.load(s), v1 = v128.load(s, 16), v2 = v128.load(s, 32);
    const c0 = i32x4.shuffle(v0, v1, 0, 2, 4, 6), c1 = i32x4.shuffle(v0, v1, 1, 3, 5, 7);
    const c2 = i32x4.shuffle(c0, v2, 1, 2, 3, 4), c3 = i32x4.shuffle(c1, v2, 1, 2, 3, 5);
    inputF2(c0, c1, c2, c3, o, step, real);
    s += pitch;
    o += 4 * step;
  }
}

/** Stores the first n (≥ 1) lanes of v at p: all four when n ≥ 4. */
@inline function storeLanes(p: usize, v: v128, n: i32): void {
  if (n >= 4) v128.store(p, v);
  else if (n == 1) v128.store32_lane(p, v, 0);
  else {
    v128.store64_lane(p, v, 0);
    if (n == 3) v128.store32_lane(p, v, 2, 8);
  }
}

/**
 * Output transform of four lanes (tiles anywhere): Y = Aᵀ M A + bias from the α² vectors M[r·α + ν] at
 * mv + (r·α + ν)·step. Lane k < count's tile goes to out + off_k, its first rows_k rows (`pitch` bytes apart) and
 * cols_k columns, with (off_k, rows_k, cols_k) the three u32/i32 at lanes + 12·k. `tmp` holds 384 bytes.
 * Rows of Aᵀ: F(4, 3) (1, 1, 1, 1, 1, 0), (0, 1, −1, 2, −2, 0), (0, 1, 1, 4, 4, 0), (0, 1, −1, 8, −8, 1);
 * F(2, 3) (1, 1, 1, 0), (0, 1, −1, −1).
 */
export function tilesOut(m: i32, mv: usize, step: usize, bias: f32, tmp: usize, out: usize, pitch: usize,
  lanes: usize, count: i32): void {
  const b = f32x4.splat(bias);
  if (m == 4) {
    const four = f32x4.splat(4), eight = f32x4.splat(8);
    // Down each column ν: tmp[ν·4 + i] = Σ_r Aᵀ[i, r] M[r, ν].
    const down: usize = 6 * step;
    let p = mv;
    for (let nu: usize = 0; nu < 384; nu += 64) {
      let q = p;
      const m0 = v128.load(q);
      q += down;
      const m1 = v128.load(q);
      q += down;
      const m2 = v128.load(q);
      q += down;
      const m3 = v128.load(q);
      q += down;
      const m4 = v128.load(q);
      q += down;
      const m5 = v128.load(q);
      const s12 = f32x4.add(m1, m2), d12 = f32x4.sub(m1, m2);
      const s34 = f32x4.add(m3, m4), d34 = f32x4.sub(m3, m4);
      const t = tmp + nu;
      v128.store(t, f32x4.add(f32x4.add(m0, s12), s34));
      v128.store(t, f32x4.add(d12, f32x4.add(d34, d34)), 16);
      v128.store(t, f32x4.add(s12, f32x4.mul(four, s34)), 32);
      v128.store(t, f32x4.add(f32x4.add(d12, f32x4.mul(eight, d34)), m5), 48);
      p += step;
    }
    // Then along ν for each output row i, and a 4×4 transpose from one vector per column to one per tile.
    for (let i = 0; i < 4; i++) {
      const t = tmp + (<usize>i << 4);
      const m0 = v128.load(t), m1 = v128.load(t, 64), m2 = v128.load(t, 128);
      const m3 = v128.load(t, 192), m4 = v128.load(t, 256), m5 = v128.load(t, 320);
      const s12 = f32x4.add(m1, m2), d12 = f32x4.sub(m1, m2);
      const s34 = f32x4.add(m3, m4), d34 = f32x4.sub(m3, m4);
      const y0 = f32x4.add(f32x4.add(f32x4.add(m0, s12), s34), b);
      const y1 = f32x4.add(f32x4.add(d12, f32x4.add(d34, d34)), b);
      const y2 = f32x4.add(f32x4.add(s12, f32x4.mul(four, s34)), b);
      const y3 = f32x4.add(f32x4.add(f32x4.add(d12, f32x4.mul(eight, d34)), m5), b);
      const t0 = i32x4.shuffle(y0, y1, 0, 4, 1, 5), t1 = i32x4.shuffle(y0, y1, 2, 6, 3, 7);
      const t2 = i32x4.shuffle(y2, y3, 0, 4, 1, 5), t3 = i32x4.shuffle(y2, y3, 2, 6, 3, 7);
      const row = <usize>i * pitch;
      tileRow4(out, row, lanes, i, i64x2.shuffle(t0, t2, 0, 2));
      if (count > 1) tileRow4(out, row, lanes + 12, i, i64x2.shuffle(t0, t2, 1, 3));
      if (count > 2) tileRow4(out, row, lanes + 24, i, i64x2.shuffle(t1, t3, 0, 2));
      if (count > 3) tileRow4(out, row, lanes + 36, i, i64x2.shuffle(t1, t3, 1, 3));
    }
    return;
  }
  const down: usize = 4 * step;
  let p = mv;
  for (let nu: usize = 0; nu < 128; nu += 32) {
    const m0 = v128.load(p), m1 = v128.load(p + down), m2 = v128.load(p + 2 * down), m3 = v128.load(p + 3 * down);
    v128.store(tmp + nu, f32x4.add(f32x4.add(m0, m1), m2));
    v128.store(tmp + nu, f32x4.sub(f32x4.sub(m1, m2), m3), 16);
    p += step;
  }
  for (let i = 0; i < 2; i++) {
    const t = tmp + (<usize>i << 4);
    const m0 = v128.load(t), m1 = v128.load(t, 32), m2 = v128.load(t, 64), m3 = v128.load(t, 96);
    const y0 = f32x4.add(f32x4.add(f32x4.add(m0, m1), m2), b), y1 = f32x4.add(f32x4.sub(f32x4.sub(m1, m2), m3), b);
    // Tile k's two columns: lanes 2k, 2k + 1 of (r0 | r1).
    const r0 = i32x4.shuffle(y0, y1, 0, 4, 1, 5), r1 = i32x4.shuffle(y0, y1, 2, 6, 3, 7);
    const row = <usize>i * pitch;
    for (let k = 0; k < count; k++) {
      const e = lanes + <usize>k * 12;
      if (i >= load<i32>(e, 4)) continue;
      const at = out + <usize>load<u32>(e) + row;
      const r = k < 2 ? r0 : r1;
      if (load<i32>(e, 8) >= 2) {
        if (k & 1) v128.store64_lane(at, r, 1);
        else v128.store64_lane(at, r, 0);
      } else if (k & 1) v128.store32_lane(at, r, 2);
      else v128.store32_lane(at, r, 0);
    }
  }
}

/** Row i of one F(4, 3) tile (its four columns in r) at out + off + row, cut to the tile's rows and columns. */
@inline function tileRow4(out: usize, row: usize, e: usize, i: i32, r: v128): void {
  if (i < load<i32>(e, 4)) storeLanes(out + <usize>load<u32>(e) + row, r, load<i32>(e, 8));
}

/**
 * G·(g0, g1, g2) for F(m, 3), α values stored `step` bytes apart from `at` as f64 (or f32 with `single`). Rows of G,
 * F(4, 3): (1/4, 0, 0), (−1/6, −1/6, −1/6), (−1/6, 1/6, −1/6), (1/24, 1/12, 1/6), (1/24, −1/12, 1/6), (0, 0, 1);
 * F(2, 3): (1, 0, 0), (1/2, 1/2, 1/2), (1/2, −1/2, 1/2), (0, 0, 1).
 */
@inline function gApply(m: i32, g0: f64, g1: f64, g2: f64, at: usize, step: usize, single: bool): void {
  const s02 = g0 + g2;
  if (m == 4) {
    const e = g0 / 24 + g2 / 6, f = g1 / 12;
    put(at, g0 * 0.25, single);
    put(at + step, -(s02 + g1) / 6, single);
    put(at + 2 * step, -(s02 - g1) / 6, single);
    put(at + 3 * step, e + f, single);
    put(at + 4 * step, e - f, single);
    put(at + 5 * step, g2, single);
    return;
  }
  put(at, g0, single);
  put(at + step, (s02 + g1) * 0.5, single);
  put(at + 2 * step, (s02 - g1) * 0.5, single);
  put(at + 3 * step, g2, single);
}

@inline function put(at: usize, v: f64, single: bool): void {
  if (single) store<f32>(at, <f32>v);
  else store<f64>(at, v);
}

/**
 * Weight transform U = G g Gᵀ of one 3×3 filter (9 floats from w, `flip`ped 180° when set) in float64, stored as
 * α² floats `step` bytes apart from u: G down each column into tmp (α × 3 f64, 144 bytes), then G along each row.
 */
export function filterIn(m: i32, w: usize, flip: bool, u: usize, step: usize, tmp: usize): void {
  const a = m + 2;
  for (let kx = 0; kx < 3; kx++) {
    gApply(m, tap(w, flip, kx), tap(w, flip, 3 + kx), tap(w, flip, 6 + kx), tmp + (<usize>kx << 3), 24, false);
  }
  for (let r = 0; r < a; r++) {
    const t = tmp + <usize>r * 24;
    gApply(m, load<f64>(t), load<f64>(t, 8), load<f64>(t, 16), u + <usize>(r * a) * step, step, true);
  }
}

/** Tap k = 3·ky + kx of the filter at w (tap 8 − k when flipped), as f64. */
@inline function tap(w: usize, flip: bool, k: i32): f64 {
  return <f64>load<f32>(w + (<usize>(flip ? 8 - k : k) << 2));
}
