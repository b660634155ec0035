// Contiguous element-wise kernels: fill, the unary ops (one export per op) and oneHot.
// Pointers are byte offsets into linear memory; sizes count float32 elements.

import { expV, logV } from './simd-math';

/** out[i] = value for i < n. */
export function fill(out: usize, n: i32, value: f32): void {
  const v = f32x4.splat(value);
  const end = out + (<usize>n << 2);
  const end4 = out + (<usize>(n & ~3) << 2);
  let p = out;
  for (; p < end4; p += 16) v128.store(p, v);
  for (; p < end; p += 4) store<f32>(p, value);
}

// Op codes, folded to constants once `unaryLoop` is inlined into each export.
const NEG = 0, EXP = 1, LOG = 2, SQRT = 3, RELU = 4, STEP = 5, SCALE = 6, SHIFT = 7;
// Exponents of `pow` with a SIMD path (the powers autograd produces: x², its derivative x¹, x^−1 → x^−2, √x → x^−½).
const SQUARE = 8, CUBE = 9, RECIP = 10, RECIP_SQUARE = 11, POW_HALF = 12, POW_MINUS_HALF = 13;

@inline function unaryV(op: i32, x: v128, alpha: v128): v128 {
  switch (op) {
    case NEG: return f32x4.neg(x);
    case EXP: return expV(x);
    case LOG: return logV(x);
    case SQRT: return f32x4.sqrt(x);
    // pmax(x, 0) = x < 0 ? 0 : x: NaN and −0 pass through, as torch.relu (one instruction, unlike f32x4.max).
    case RELU: return f32x4.pmax(x, f32x4.splat(0));
    case STEP: return v128.and(f32x4.gt(x, f32x4.splat(0)), f32x4.splat(1));
    case SCALE: return f32x4.mul(x, alpha);
    case SHIFT: return f32x4.add(x, alpha);
    case SQUARE: return f32x4.mul(x, x);
    case CUBE: return f32x4.mul(f32x4.mul(x, x), x);
    case RECIP: return f32x4.div(f32x4.splat(1), x);
    case RECIP_SQUARE: {
      const r = f32x4.div(f32x4.splat(1), x); // (1/x)² rather than 1/x², which loses bits when x² is denormal
      return f32x4.mul(r, r);
    }
    // PyTorch computes x^½ as √x and x^−½ as 1/√x: pow(−inf, ±½) is NaN and pow(−0, −½) is −inf (not powf's).
    case POW_HALF: return f32x4.sqrt(x);
    default: return f32x4.div(f32x4.splat(1), f32x4.sqrt(x));
  }
}

/** Applies `op` to n floats: four lanes at a time, the tail through a splat so it rounds like the body. */
@inline function unaryLoop(op: i32, x: usize, out: usize, n: i32, alpha: f32): void {
  const a = f32x4.splat(alpha);
  const n4 = <usize>(n & ~3) << 2;
  const nb = <usize>n << 2;
  let i: usize = 0;
  for (; i < n4; i += 16) v128.store(out + i, unaryV(op, v128.load(x + i), a));
  for (; i < nb; i += 4) store<f32>(out + i, f32x4.extract_lane(unaryV(op, f32x4.splat(load<f32>(x + i)), a), 0));
}

/** out = −x. */
export function neg(x: usize, out: usize, n: i32, alpha: f32): void { unaryLoop(NEG, x, out, n, alpha); }
/** out = e^x (SIMD Cephes expf, about 1 ulp). */
export function exp(x: usize, out: usize, n: i32, alpha: f32): void { unaryLoop(EXP, x, out, n, alpha); }
/** out = ln x (SIMD Cephes logf, about 1 ulp; ln 0 = −inf, ln of a negative is NaN). */
export function log(x: usize, out: usize, n: i32, alpha: f32): void { unaryLoop(LOG, x, out, n, alpha); }
/** out = √x (correctly rounded). */
export function sqrt(x: usize, out: usize, n: i32, alpha: f32): void { unaryLoop(SQRT, x, out, n, alpha); }
/** out = x < 0 ? 0 : x (NaN stays NaN). */
export function relu(x: usize, out: usize, n: i32, alpha: f32): void { unaryLoop(RELU, x, out, n, alpha); }
/** out = x > 0 ? 1 : 0. */
export function step(x: usize, out: usize, n: i32, alpha: f32): void { unaryLoop(STEP, x, out, n, alpha); }
/** out = x · alpha. */
export function scale(x: usize, out: usize, n: i32, alpha: f32): void { unaryLoop(SCALE, x, out, n, alpha); }
/** out = x + alpha. */
export function shift(x: usize, out: usize, n: i32, alpha: f32): void { unaryLoop(SHIFT, x, out, n, alpha); }

/**
 * out = x^alpha. Exponents 1, 2, 3, −1, −2, ½, −½ take SIMD paths (≤ 2 roundings; ±½ as √x and 1/√x, like
 * PyTorch); any other exponent goes through musl's powf (< 1 ulp, Math.pow's edge values), one element at a time.
 */
export function pow(x: usize, out: usize, n: i32, alpha: f32): void {
  if (alpha == 1) {
    memory.copy(out, x, <usize>n << 2);
  } else if (alpha == 2) {
    unaryLoop(SQUARE, x, out, n, alpha);
  } else if (alpha == 3) {
    unaryLoop(CUBE, x, out, n, alpha);
  } else if (alpha == -1) {
    unaryLoop(RECIP, x, out, n, alpha);
  } else if (alpha == -2) {
    unaryLoop(RECIP_SQUARE, x, out, n, alpha);
  } else if (alpha == 0.5) {
    unaryLoop(POW_HALF, x, out, n, alpha);
  } else if (alpha == -0.5) {
    unaryLoop(POW_MINUS_HALF, x, out, n, alpha);
  } else {
    const nb = <usize>n << 2;
    for (let i: usize = 0; i < nb; i += 4) store<f32>(out + i, Mathf.pow(load<f32>(x + i), alpha));
  }
}

/** out[r, c] = 1 where c == labels[r] (an integer in [0, classes)), else 0; out is [rows, classes]. */
export function oneHot(labels: usize, out: usize, rows: i32, classes: i32): void {
  fill(out, rows * classes, 0);
  for (let r = 0; r < rows; r++) {
    const c = load<f32>(labels + (<usize>r << 2));
    if (c >= 0 && c < <f32>classes && Mathf.floor(c) == c) {
      store<f32>(out + ((<usize>r * <usize>classes + <usize>(<i32>c)) << 2), 1);
    }
  }
}
