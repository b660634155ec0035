// Register-blocked SIMD micro-kernel of the matmul: a 2×16 tile of out held in eight f32x4 accumulators.
// Shape chosen by measurement (1024³, V8 on Zen 5): 2×16 ≈ 57 GFLOP/s vs 4×8 ≈ 46, 6×8 ≈ 31, 4×12 ≈ 30.

/** Rows of out per tile (A panels are packed MR rows wide). */
export const MR: i32 = 2;
/** Columns of out per tile (B panels are packed NR columns wide). */
export const NR: i32 = 16;

/**
 * out[0..2, 0..16] (=|+=) Σ_l pa[l]ᵀ · pb[l] over kc steps: pa holds MR floats per step, pb NR floats per step.
 * c is the tile's top-left byte address and ldc the row pitch in bytes; accumulate adds to what c holds.
 * NOTE: wasm SIMD has no FMA, so each step is 8 mul + 8 add; with 8 accumulators, 4 B vectors, 2 A splats and a
 * temporary the loop fits x64's 16 xmm registers without spills. Wider tiles (4×8, 6×8, 4×16) spill under V8 and
 * unrolling k by 2 also spills; both measured slower.
 */
export function microKernel(pa: usize, pb: usize, kc: i32, c: usize, ldc: usize, accumulate: bool): void {
  const z = f32x4.splat(0);
  let c00 = z, c01 = z, c02 = z, c03 = z;
  let c10 = z, c11 = z, c12 = z, c13 = z;
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16), b2 = v128.load(pb, 32), b3 = v128.load(pb, 48);
    const a0 = v128.load32_splat(pa);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c02 = f32x4.add(c02, f32x4.mul(a0, b2));
    c03 = f32x4.add(c03, f32x4.mul(a0, b3));
    const a1 = v128.load32_splat(pa, 4);
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c12 = f32x4.add(c12, f32x4.mul(a1, b2));
    c13 = f32x4.add(c13, f32x4.mul(a1, b3));
    pa += 8;
    pb += 64;
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
