// Batched matmul out[b] = opA(a[b])·opB(b[b]), cache-blocked GotoBLAS/BLIS style: panels of B (KC×NC) and A (MC×KC)
// are packed into static scratch, then a register-blocked SIMD micro-kernel computes MR×NR tiles of out.

import { MR, NR, microKernel } from './matmul-kernel';
import { fill } from './elementwise';

// Blocking measured at 256–1024 on Zen 5 (48 KiB L1d, 1 MiB L2); the kernel is FP-bound, so these matter little.
/** Depth of a packed panel (floats along k); a B micro-panel KC×NR (32 KiB) stays in L1. */
const KC: i32 = 512;
/** Rows of A packed per block (multiple of MR); the A block MC×KC (128 KiB) stays in L2. */
const MC: i32 = 64;
/** Columns of B packed per block (multiple of NR); the B block KC×NC (2 MiB) lives in L3. */
const NC: i32 = 1024;

// Packed panels and the edge tile live in each instance's thread-private block (wasm/thread.ts).
let PACK_A: usize = 0;
let PACK_B: usize = 0;
/** Edge tiles are computed here in full, then their valid part is written to out. */
let TILE: usize = 0;

/** Places the packing buffers at `at` (64-aligned); returns the first byte past them. */
export function placeMatmul(at: usize): usize {
  TILE = at;
  PACK_A = at + <usize>((MR * NR * 4 + 63) & ~63);
  PACK_B = PACK_A + <usize>(MC * KC * 4);
  return PACK_B + <usize>(KC * NC * 4);
}

/**
 * Packs rows [0, mc) × depth [0, kc) of A into panels of MR rows: panel t holds, for each l, rows tMR..tMR+MR−1.
 * Element (i, l) is at src + (i·rs + l·cs)·4. Rows past mc are zero so edge tiles compute harmlessly.
 */
function packA(src: usize, rs: i32, cs: i32, mc: i32, kc: i32): void {
  let dst = PACK_A;
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = min(MR, mc - i0);
    for (let l = 0; l < kc; l++) {
      const s = src + (<usize>(i0 * rs + l * cs) << 2);
      let i = 0;
      for (; i < rows; i++) store<f32>(dst + (<usize>i << 2), load<f32>(s + <usize>(i * rs) * 4));
      for (; i < MR; i++) store<f32>(dst + (<usize>i << 2), 0);
      dst += <usize>MR << 2;
    }
  }
}

/**
 * Packs depth [0, kc) × columns [0, nc) of B into panels of NR columns: panel t holds, for each l, columns
 * tNR..tNR+NR−1. Element (l, j) is at src + (l·rs + j·cs)·4; columns past nc are zero.
 */
function packB(src: usize, rs: i32, cs: i32, kc: i32, nc: i32): void {
  let dst = PACK_B;
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = min(NR, nc - j0);
    if (cs == 1 && cols == NR) {
      for (let l = 0; l < kc; l++) {
        const s = src + (<usize>(l * rs + j0) << 2);
        for (let v = 0; v < NR; v += 4) v128.store(dst + (<usize>v << 2), v128.load(s + (<usize>v << 2)));
        dst += <usize>NR << 2;
      }
      continue;
    }
    for (let l = 0; l < kc; l++) {
      const s = src + (<usize>(l * rs + j0 * cs) << 2);
      let j = 0;
      for (; j < cols; j++) store<f32>(dst + (<usize>j << 2), load<f32>(s + <usize>(j * cs) * 4));
      for (; j < NR; j++) store<f32>(dst + (<usize>j << 2), 0);
      dst += <usize>NR << 2;
    }
  }
}

/** Writes (or adds, when accumulate) the valid mr×nr corner of TILE into out at c with row pitch ldc bytes. */
function storeEdge(c: usize, ldc: usize, mr: i32, nr: i32, accumulate: bool): void {
  for (let i = 0; i < mr; i++) {
    const t = TILE + (<usize>(i * NR) << 2);
    const o = c + <usize>i * ldc;
    for (let j = 0; j < nr; j++) {
      const v = load<f32>(t + (<usize>j << 2));
      store<f32>(o + (<usize>j << 2), accumulate ? load<f32>(o + (<usize>j << 2)) + v : v);
    }
  }
}

/** One product: A (m×k, element (i, l) at a + (i·ars + l·acs)·4) times B (k×n, (l, j) at b + (l·brs + j·bcs)·4). */
function gemm(a: usize, ars: i32, acs: i32, b: usize, brs: i32, bcs: i32, out: usize, m: i32, n: i32, k: i32): void {
  const ldc = <usize>n << 2;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      const accumulate = pc > 0;
      packB(b + (<usize>(pc * brs + jc * bcs) << 2), brs, bcs, kc, nc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(a + (<usize>(ic * ars + pc * acs) << 2), ars, acs, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const pb = PACK_B + <usize>(jr * kc) * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const pa = PACK_A + <usize>(ir * kc) * 4;
            const c = out + <usize>(ic + ir) * ldc + (<usize>(jc + jr) << 2);
            if (mr == MR && nr == NR) {
              microKernel(pa, pb, kc, c, ldc, accumulate);
            } else {
              microKernel(pa, pb, kc, TILE, <usize>NR << 2, false);
              storeEdge(c, ldc, mr, nr, accumulate);
            }
          }
        }
      }
    }
  }
}

/**
 * out[b] = opA(a[b]) · opB(b[b]) for b < batch, out dense [batch, m, n]. a[b] starts aBatchStride floats after
 * a[b−1] and is [m, k] row-major ([k, m] when transA); likewise b[b] is [k, n] ([n, k] when transB).
 * bBatchStride = 0 broadcasts one B over the batch. Transposes are absorbed by the packing routines.
 */
export function matmul(
  a: usize, b: usize, out: usize, batch: i32, m: i32, n: i32, k: i32,
  transA: bool, transB: bool, aBatchStride: i32, bBatchStride: i32,
): void {
  if (k == 0) {
    fill(out, batch * m * n, 0);
    return;
  }
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;
  for (let t = 0; t < batch; t++) {
    gemm(
      a + (<usize>t * <usize>aBatchStride << 2), ars, acs,
      b + (<usize>t * <usize>bBatchStride << 2), brs, bcs,
      out + (<usize>t * <usize>m * <usize>n << 2), m, n, k,
    );
  }
}

/**
 * Rows [row0, row0 + rows) of out = opA(a) · opB(b) for one product (batch 1), out dense [m, n]: the glue splits a
 * product between threads by rows. Every element is computed exactly as `matmul` computes it.
 */
export function matmulRows(
  a: usize, b: usize, out: usize, m: i32, n: i32, k: i32, transA: bool, transB: bool, row0: i32, rows: i32,
): void {
  if (rows <= 0) return;
  if (k == 0) {
    fill(out + (<usize>row0 * <usize>n << 2), rows * n, 0);
    return;
  }
  const ars = transA ? 1 : k, acs = transA ? m : 1;
  const brs = transB ? 1 : n, bcs = transB ? k : 1;
  gemm(a + (<usize>row0 * <usize>ars << 2), ars, acs, b, brs, bcs, out + (<usize>row0 * <usize>n << 2), rows, n, k);
}
