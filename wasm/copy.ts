// Strided copy of rank ≤ 6: out[idx·outStrides] = x[idx·inStrides], shape and strides in the strided scratch
// (operand 0 = x, operand 1 = out). Output elements outside the walked index set are left untouched.

import { dimOf, nextRow, offsetOf, startRows, strideOf } from './strided';

/** Side of the square tiles of the strided (transposing) path. */
const TILE = 16;

/** The last two dims as a plane walked in TILE×TILE tiles, so a transpose touches few cache lines at a time. */
function copyTiled(x: usize, out: usize, rank: i32): void {
  const rows = dimOf(rank - 2), cols = dimOf(rank - 1);
  const ir = strideOf(0, rank - 2), ic = strideOf(0, rank - 1);
  const or = strideOf(1, rank - 2), oc = strideOf(1, rank - 1);
  const di = <isize>ic << 2, dout = <isize>oc << 2;
  const planes = startRows(rank - 1);
  for (let t = 0; t < planes; t++) {
    const x0 = x + (<isize>offsetOf(0) << 2), o0 = out + (<isize>offsetOf(1) << 2);
    for (let i0 = 0; i0 < rows; i0 += TILE) {
      const i1 = min(i0 + TILE, rows);
      for (let j0 = 0; j0 < cols; j0 += TILE) {
        const j1 = min(j0 + TILE, cols);
        for (let i = i0; i < i1; i++) {
          let pi = x0 + (<isize>(i * ir + j0 * ic) << 2);
          let po = o0 + (<isize>(i * or + j0 * oc) << 2);
          for (let j = j0; j < j1; j++) {
            store<f32>(po, load<f32>(pi));
            pi += di;
            po += dout;
          }
        }
      }
    }
    nextRow(rank - 1);
  }
}

/**
 * Copies over the shape in the scratch. The glue has already added inOffset/outOffset to the pointers.
 * Rows with unit strides on both sides become memory.copy; a zero input stride becomes a SIMD fill.
 */
export function copy(x: usize, out: usize, rank: i32): void {
  const n = dimOf(rank - 1);
  const si = strideOf(0, rank - 1), so = strideOf(1, rank - 1);
  if (rank >= 2 && !(so == 1 && <u32>si <= 1)) {
    copyTiled(x, out, rank);
    return;
  }
  const rows = startRows(rank);
  const di = <isize>si << 2, dout = <isize>so << 2;
  for (let r = 0; r < rows; r++) {
    let pi = x + (<isize>offsetOf(0) << 2);
    let po = out + (<isize>offsetOf(1) << 2);
    if (si == 1 && so == 1) {
      memory.copy(po, pi, <usize>n << 2);
    } else if (si == 0 && so == 1) {
      const v = v128.load32_splat(pi);
      let j = 0;
      for (; j + 4 <= n; j += 4) { v128.store(po, v); po += 16; }
      for (; j < n; j++) { v128.store32_lane(po, v, 0); po += 4; }
    } else {
      for (let j = 0; j < n; j++) {
        store<f32>(po, load<f32>(pi));
        pi += di;
        po += dout;
      }
    }
    nextRow(rank);
  }
}
