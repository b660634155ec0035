// The SIMD transforms of Winograd convolution F(m×m, 3×3) (Lavin & Gray, 2016, "Fast Algorithms for Convolutional
// Neural Networks"), m = 4 (6×6 tiles, points 0, ±1, ±2, ∞) or m = 2 (4×4 tiles, points 0, ±1, ∞). Each f32x4 holds
// one value of four horizontally adjacent tiles: the input and output transforms work on four tiles at a time.

/**
 * 1-D input transform Bᵀd of F(4, 3) on six vectors, stored `step` bytes apart from `at`; four and five are splats.
 * Rows of Bᵀ: (4, 0, −5, 0, 1, 0), (0, −4, −4, 1, 1, 0), (0, 4, −4, −1, 1, 0), (0, −2, −1, 2, 1, 0),
 * (0, 2, −1, −2, 1, 0), (0, 4, 0, −5, 0, 1).
 */
@inline function inputF4(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, four: v128, five: v128,
  at: usize, step: usize): void {
  const a = f32x4.sub(d4, f32x4.mul(four, d2));
  const b = f32x4.sub(f32x4.mul(four, d1), d3);
  const c = f32x4.sub(d4, d2);
  const e0 = f32x4.sub(d1, d3);
  const e = f32x4.add(e0, e0);
  v128.store(at, f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4));
  at += step;
  v128.store(at, f32x4.sub(a, b));
  at += step;
  v128.store(at, f32x4.add(a, b));
  at += step;
  v128.store(at, f32x4.sub(c, e));
  at += step;
  v128.store(at, f32x4.add(c, e));
  at += step;
  v128.store(at, f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5));
}

/** 1-D input transform Bᵀd of F(2, 3) on four vectors, stored `step` bytes apart from `at`. */
@inline function inputF2(d0: v128, d1: v128, d2: v128, d3: v128, at: usize, step: usize): void {
  v128.store(at, f32x4.sub(d0, d2));
  at += step;
  v128.store(at, f32x4.add(d1, d2));
  at += step;
  v128.store(at, f32x4.sub(d2, d1));
  at += step;
  v128.store(at, f32x4.sub(d1, d3));
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
      inputF4(d0, d1, d2, d3, d4, v128.load(r), four, five, d, pitch);
    } else {
      inputF2(d0, d1, d2, d3, d, pitch);
    }
    d += 16;
  }
}

/**
 * Second half of the input transform for tiles tx..tx+3 of a tile row: for each row r of t1 (pitch wp floats), the
 * columns of the four tiles (m·(tx + k) + j) are gathered into one vector per j, transformed along j, and stored as
 * V[r·α + ν] at v + (r·α + ν)·step (16 bytes each: one lane per tile).
 */
export function tilesIn(m: i32, t1: usize, wp: i32, tx: i32, v: usize, step: usize): void {
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
      inputF4(c0, c1, c2, c3, c4, c5, four, five, o, step);
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
    inputF2(c0, c1, c2, c3, o, step);
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

/** Stores the first `cols` of the 16 floats in r0..r3 at p (all of them when cols ≥ 16). */
@inline function storeRow(p: usize, r0: v128, r1: v128, r2: v128, r3: v128, cols: i32): void {
  if (cols >= 16) {
    v128.store(p, r0); v128.store(p, r1, 16); v128.store(p, r2, 32); v128.store(p, r3, 48);
    return;
  }
  storeLanes(p, r0, cols);
  if (cols > 4) storeLanes(p + 16, r1, cols - 4);
  if (cols > 8) storeLanes(p + 32, r2, cols - 8);
  if (cols > 12) storeLanes(p + 48, r3, cols - 12);
}

/**
 * Output transform of four tiles: Y = Aᵀ M A + bias from the α² vectors M[r·α + ν] at mv + (r·α + ν)·step, written
 * as the first `rows` (≤ m) output rows of 4·m floats (tile k's column j at m·k + j), each cut to its first `cols`,
 * `pitch` bytes apart from dst. `tmp` holds 384 bytes.
 * Rows of Aᵀ: F(4, 3) (1, 1, 1, 1, 1, 0), (0, 1, −1, 2, −2, 0), (0, 1, 1, 4, 4, 0), (0, 1, −1, 8, −8, 1);
 * F(2, 3) (1, 1, 1, 0), (0, 1, −1, −1).
 */
export function tilesOut(m: i32, mv: usize, step: usize, bias: f32, tmp: usize, dst: usize, pitch: usize, rows: i32,
  cols: i32): void {
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
    let row = dst;
    const end = <usize>rows << 4;
    for (let i: usize = 0; i < end; i += 16) {
      const t = tmp + i;
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
      const r0 = i64x2.shuffle(t0, t2, 0, 2), r1 = i64x2.shuffle(t0, t2, 1, 3);
      storeRow(row, r0, r1, i64x2.shuffle(t1, t3, 0, 2), i64x2.shuffle(t1, t3, 1, 3), cols);
      row += pitch;
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
  let row = dst;
  const end = <usize>rows << 4;
  for (let i: usize = 0; i < end; i += 16) {
    const t = tmp + i;
    const m0 = v128.load(t), m1 = v128.load(t, 32), m2 = v128.load(t, 64), m3 = v128.load(t, 96);
    const y0 = f32x4.add(f32x4.add(f32x4.add(m0, m1), m2), b), y1 = f32x4.add(f32x4.sub(f32x4.sub(m1, m2), m3), b);
    const r0 = i32x4.shuffle(y0, y1, 0, 4, 1, 5), r1 = i32x4.shuffle(y0, y1, 2, 6, 3, 7);
    if (cols >= 8) {
      v128.store(row, r0);
      v128.store(row, r1, 16);
    } else {
      storeLanes(row, r0, cols);
      if (cols > 4) storeLanes(row + 16, r1, cols - 4);
    }
    row += pitch;
  }
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
