// Strided binary kernels (one export per op) and `where`, over shapes of rank ≤ 6 described in the strided scratch.
// Output is dense. Rows of the last dim take a SIMD path when the operands' last strides are 1 or 0 (broadcast).
// NaN as PyTorch: maximum/minimum propagate it, comparisons are false except ne, gate passes a where b is NaN.

import { dimOf, nextRow, offsetOf, startRows, strideOf } from './strided';

/** Side of the square tiles of the strided (transposed-operand) path. */
const TILE = 16;

const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAXIMUM = 4, MINIMUM = 5;
const EQ = 6, NE = 7, LT = 8, LE = 9, GT = 10, GE = 11, GATE = 12;

@inline function opV(op: i32, a: v128, b: v128): v128 {
  const one = f32x4.splat(1);
  switch (op) {
    case ADD: return f32x4.add(a, b);
    case SUB: return f32x4.sub(a, b);
    case MUL: return f32x4.mul(a, b);
    case DIV: return f32x4.div(a, b);
    // NOTE: f32x4.max/min, not pmax/pmin: they propagate a NaN from either operand, as torch.maximum does.
    case MAXIMUM: return f32x4.max(a, b);
    case MINIMUM: return f32x4.min(a, b);
    case EQ: return v128.and(f32x4.eq(a, b), one);
    case NE: return v128.and(f32x4.ne(a, b), one);
    case LT: return v128.and(f32x4.lt(a, b), one);
    case LE: return v128.and(f32x4.le(a, b), one);
    case GT: return v128.and(f32x4.gt(a, b), one);
    case GE: return v128.and(f32x4.ge(a, b), one);
    // b <= 0 ? 0 : a, so a NaN b passes a (PyTorch's threshold_backward: ReLU's gradient at NaN is 1).
    default: return v128.andnot(a, f32x4.le(b, f32x4.splat(0)));
  }
}

@inline function opS(op: i32, a: f32, b: f32): f32 {
  return f32x4.extract_lane(opV(op, f32x4.splat(a), f32x4.splat(b)), 0);
}

/** One row of n outputs; sa, sb are the element strides of a and b along it. */
@inline function binaryRow(op: i32, a: usize, b: usize, out: usize, n: i32, sa: i32, sb: i32): void {
  const n4 = <usize>(n & ~3) << 2;
  const nb = <usize>n << 2;
  let i: usize = 0;
  if (sa == 1 && sb == 1) {
    for (; i < n4; i += 16) v128.store(out + i, opV(op, v128.load(a + i), v128.load(b + i)));
    for (; i < nb; i += 4) store<f32>(out + i, opS(op, load<f32>(a + i), load<f32>(b + i)));
  } else if (sa == 1 && sb == 0) {
    const bv = v128.load32_splat(b);
    for (; i < n4; i += 16) v128.store(out + i, opV(op, v128.load(a + i), bv));
    for (; i < nb; i += 4) store<f32>(out + i, f32x4.extract_lane(opV(op, v128.load32_splat(a + i), bv), 0));
  } else if (sa == 0 && sb == 1) {
    const av = v128.load32_splat(a);
    for (; i < n4; i += 16) v128.store(out + i, opV(op, av, v128.load(b + i)));
    for (; i < nb; i += 4) store<f32>(out + i, f32x4.extract_lane(opV(op, av, v128.load32_splat(b + i)), 0));
  } else {
    const da = <isize>sa << 2, db = <isize>sb << 2;
    for (; i < nb; i += 4) {
      store<f32>(out + i, opS(op, load<f32>(a), load<f32>(b)));
      a += da;
      b += db;
    }
  }
}

/**
 * The last two dims as a plane walked in TILE×TILE tiles, for operands strided along the last dim (a transposed
 * view): each tile touches TILE cache lines per operand, instead of one line per element of a row.
 */
@inline function binaryTiled(op: i32, a: usize, b: usize, out: usize, rank: i32): void {
  const rows = dimOf(rank - 2), cols = dimOf(rank - 1);
  const ar = strideOf(0, rank - 2), ac = strideOf(0, rank - 1);
  const br = strideOf(1, rank - 2), bc = strideOf(1, rank - 1);
  const da = <isize>ac << 2, db = <isize>bc << 2;
  const planes = startRows(rank - 1);
  for (let t = 0; t < planes; t++) {
    const a0 = a + (<isize>offsetOf(0) << 2), b0 = b + (<isize>offsetOf(1) << 2);
    for (let i0 = 0; i0 < rows; i0 += TILE) {
      const i1 = min(i0 + TILE, rows);
      for (let j0 = 0; j0 < cols; j0 += TILE) {
        const j1 = min(j0 + TILE, cols);
        for (let i = i0; i < i1; i++) {
          let pa = a0 + (<isize>(i * ar + j0 * ac) << 2), pb = b0 + (<isize>(i * br + j0 * bc) << 2);
          let po = out + (<usize>(i * cols + j0) << 2);
          for (let j = j0; j < j1; j++) {
            store<f32>(po, opS(op, load<f32>(pa), load<f32>(pb)));
            pa += da; pb += db; po += 4;
          }
        }
      }
    }
    out += <usize>(rows * cols) << 2;
    nextRow(rank - 1);
  }
}

/** out[idx] = op(a[idx·aStrides], b[idx·bStrides]) with shape/strides (operands 0 = a, 1 = b) in the scratch. */
@inline function binaryLoop(op: i32, a: usize, b: usize, out: usize, rank: i32): void {
  const n = dimOf(rank - 1);
  const sa = strideOf(0, rank - 1), sb = strideOf(1, rank - 1);
  if (rank >= 2 && (<u32>sa > 1 || <u32>sb > 1)) {
    binaryTiled(op, a, b, out, rank);
    return;
  }
  const rows = startRows(rank);
  const rowBytes = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    binaryRow(op, a + (<isize>offsetOf(0) << 2), b + (<isize>offsetOf(1) << 2), out, n, sa, sb);
    out += rowBytes;
    nextRow(rank);
  }
}

/** out = a + b (strided, broadcasting through zero strides). */
export function add(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(ADD, a, b, out, rank); }
/** out = a − b. */
export function sub(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(SUB, a, b, out, rank); }
/** out = a · b. */
export function mul(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(MUL, a, b, out, rank); }
/** out = a / b. */
export function div(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(DIV, a, b, out, rank); }
/** out = max(a, b), NaN if either is NaN. */
export function maximum(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(MAXIMUM, a, b, out, rank); }
/** out = min(a, b), NaN if either is NaN. */
export function minimum(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(MINIMUM, a, b, out, rank); }
/** out = a == b ? 1 : 0. */
export function eq(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(EQ, a, b, out, rank); }
/** out = a != b ? 1 : 0. */
export function ne(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(NE, a, b, out, rank); }
/** out = a < b ? 1 : 0. */
export function lt(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(LT, a, b, out, rank); }
/** out = a <= b ? 1 : 0. */
export function le(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(LE, a, b, out, rank); }
/** out = a > b ? 1 : 0. */
export function gt(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(GT, a, b, out, rank); }
/** out = a >= b ? 1 : 0. */
export function ge(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(GE, a, b, out, rank); }
/** out = b <= 0 ? 0 : a (ReLU's backward: a NaN b passes a). */
export function gate(a: usize, b: usize, out: usize, rank: i32): void { binaryLoop(GATE, a, b, out, rank); }

/** Loads four lanes of a row whose stride is 1, or splats one value when the stride is 0. */
@inline function lanes(p: usize, stride: i32): v128 {
  return stride == 0 ? v128.load32_splat(p) : v128.load(p);
}

/**
 * out[idx] = cond[idx·cStrides] != 0 ? a[idx·aStrides] : b[idx·bStrides]; operands 0 = cond, 1 = a, 2 = b.
 * NOTE: NaN in cond counts as true (NaN != 0), as in the reference.
 */
export function where(cond: usize, a: usize, b: usize, out: usize, rank: i32): void {
  const n = dimOf(rank - 1);
  const sc = strideOf(0, rank - 1), sa = strideOf(1, rank - 1), sb = strideOf(2, rank - 1);
  const simd = <u32>sc <= 1 && <u32>sa <= 1 && <u32>sb <= 1;
  const rows = startRows(rank);
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    let pc = cond + (<isize>offsetOf(0) << 2), pa = a + (<isize>offsetOf(1) << 2), pb = b + (<isize>offsetOf(2) << 2);
    let j = 0;
    if (sc == 1 && sa == 1 && sb == 1) {
      for (; j + 4 <= n; j += 4) {
        const m = f32x4.ne(v128.load(pc), zero);
        v128.store(out, v128.bitselect(v128.load(pa), v128.load(pb), m));
        pc += 16; pa += 16; pb += 16; out += 16;
      }
    } else if (simd) {
      const dc = <usize>sc << 4, da = <usize>sa << 4, db = <usize>sb << 4;
      for (; j + 4 <= n; j += 4) {
        const m = f32x4.ne(lanes(pc, sc), zero);
        v128.store(out, v128.bitselect(lanes(pa, sa), lanes(pb, sb), m));
        pc += dc; pa += da; pb += db; out += 16;
      }
    }
    const dc = <isize>sc << 2, da = <isize>sa << 2, db = <isize>sb << 2;
    for (; j < n; j++) {
      store<f32>(out, load<f32>(pc) != 0 ? load<f32>(pa) : load<f32>(pb));
      pc += dc; pa += da; pb += db; out += 4;
    }
    nextRow(rank);
  }
}
