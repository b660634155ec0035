// Register-blocked 2×16 SIMD tile for the convolution GEMMs. Like matmul's micro-kernel, but the two A rows are
// independent pointers and both operands advance by a free step, so weights, shifted image rows, im2col rows and dY
// rows are read where they lie instead of being packed first.

/** Tiles that cannot be stored straight into out land here (row pitch 64 bytes) and are scattered by the caller. */
export let TILE: usize = 0;

/** Places TILE at `at` (64-aligned, thread-private); returns the first byte past it. */
export function placeConvKernel(at: usize): usize {
  TILE = at;
  return at + 2 * 16 * 4;
}

/**
 * c[r, 0..16] (=|+=) bias_r + Σ_{l<kc} a_r[l·sa] · pb[l·sb + 0..16] for rows r = 0, 1 (a0, a1, pb, c are byte
 * addresses; sa, sb and the row pitch ldc are bytes); accumulate adds to what c holds. Pass a1 = a0 for a single row
 * (both rows are still stored); pb's 16 floats per step need no alignment.
 * NOTE: same register budget as matmul's 2×16 kernel (8 accumulators, 4 B vectors, 1 splat, 1 temporary), which
 * fits x64's 16 xmm registers; the extra pointer and the two steps live in general registers. Inlined into its
 * callers: as a called function it ran ~10% slower inside the conv loops (V8, measured).
 */
@inline export function tile2x16(
  a0: usize, a1: usize, sa: usize, pb: usize, sb: usize, kc: i32, c: usize, ldc: usize, bias0: f32, bias1: f32,
  accumulate: bool,
): void {
  let c00 = f32x4.splat(bias0), c01 = c00, c02 = c00, c03 = c00;
  let c10 = f32x4.splat(bias1), c11 = c10, c12 = c10, c13 = c10;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16), b2 = v128.load(pb, 32), b3 = v128.load(pb, 48);
    const x0 = v128.load32_splat(a0);
    c00 = f32x4.add(c00, f32x4.mul(x0, b0));
    c01 = f32x4.add(c01, f32x4.mul(x0, b1));
    c02 = f32x4.add(c02, f32x4.mul(x0, b2));
    c03 = f32x4.add(c03, f32x4.mul(x0, b3));
    const x1 = v128.load32_splat(a1);
    c10 = f32x4.add(c10, f32x4.mul(x1, b0));
    c11 = f32x4.add(c11, f32x4.mul(x1, b1));
    c12 = f32x4.add(c12, f32x4.mul(x1, b2));
    c13 = f32x4.add(c13, f32x4.mul(x1, b3));
    a0 += sa;
    a1 += sa;
    pb += sb;
  }
  const c1 = c + ldc;
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c02 = f32x4.add(c02, v128.load(c, 32)); c03 = f32x4.add(c03, v128.load(c, 48));
    c10 = f32x4.add(c10, v128.load(c1)); c11 = f32x4.add(c11, v128.load(c1, 16));
    c12 = f32x4.add(c12, v128.load(c1, 32)); c13 = f32x4.add(c13, v128.load(c1, 48));
  }
  v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c02, 32); v128.store(c, c03, 48);
  v128.store(c1, c10); v128.store(c1, c11, 16); v128.store(c1, c12, 32); v128.store(c1, c13, 48);
}

/** Copies n floats from src to dst (any alignment, no overlap): four lanes at a time, then one by one. */
@inline export function copyFloats(dst: usize, src: usize, n: i32): void {
  const n4 = <usize>(n & ~3) << 2;
  const nb = <usize>n << 2;
  let i: usize = 0;
  for (; i < n4; i += 16) v128.store(dst + i, v128.load(src + i));
  for (; i < nb; i += 4) store<f32>(dst + i, load<f32>(src + i));
}


/**
 * TILE[r, 0..16] = Σ over `rows` rows of rowLen steps of a_r[·] · pb[·]: like tile2x16 with sb = 64 into TILE, except
 * that after each row of steps both A pointers skip `skip` more bytes (to the next output row's reads).
 */
export function tile2x16Rows(a0: usize, a1: usize, sa: usize, pb: usize, rows: i32, rowLen: i32, skip: usize): void {
  const z = f32x4.splat(0);
  let c00 = z, c01 = z, c02 = z, c03 = z;
  let c10 = z, c11 = z, c12 = z, c13 = z;
  for (let r = 0; r < rows; r++) {
    for (let p = 0; p < rowLen; p++) {
      const b0 = v128.load(pb), b1 = v128.load(pb, 16), b2 = v128.load(pb, 32), b3 = v128.load(pb, 48);
      const x0 = v128.load32_splat(a0);
      c00 = f32x4.add(c00, f32x4.mul(x0, b0));
      c01 = f32x4.add(c01, f32x4.mul(x0, b1));
      c02 = f32x4.add(c02, f32x4.mul(x0, b2));
      c03 = f32x4.add(c03, f32x4.mul(x0, b3));
      const x1 = v128.load32_splat(a1);
      c10 = f32x4.add(c10, f32x4.mul(x1, b0));
      c11 = f32x4.add(c11, f32x4.mul(x1, b1));
      c12 = f32x4.add(c12, f32x4.mul(x1, b2));
      c13 = f32x4.add(c13, f32x4.mul(x1, b3));
      a0 += sa;
      a1 += sa;
      pb += 64;
    }
    a0 += skip;
    a1 += skip;
  }
  v128.store(TILE, c00); v128.store(TILE, c01, 16); v128.store(TILE, c02, 32); v128.store(TILE, c03, 48);
  v128.store(TILE, c10, 64); v128.store(TILE, c11, 80); v128.store(TILE, c12, 96); v128.store(TILE, c13, 112);
}
