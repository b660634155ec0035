// SIMD exp and log for four float32 lanes (Cephes single-precision algorithms, about 1 ulp), shared by the
// unary and softmax kernels. Scalars go through the same code via a splat so every position rounds alike.

/**
 * e^x per lane: x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), e^r by a degree-6 polynomial, then 2^n.
 * NOTE: 2^n is applied as two factors 2^(n>>1)·2^(n-(n>>1)) so results that are denormal or that overflow still
 * round correctly; inputs are clamped to [-104, 88.8] first (exp is 0 below and +inf above in float32). The clamp uses
 * pmin/pmax, which keep NaN and compile to one instruction each (V8's NaN-propagating min/max take eight), and n is
 * rounded with the 1.5·2^23 shifter, whose low mantissa bits are n itself (cheaper than nearest + trunc_sat).
 */
@inline export function expV(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.8)), f32x4.splat(-104.0));
  const shifter = f32x4.splat(12582912.0);
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), shifter);
  const fn = f32x4.sub(t, shifter);
  let r = f32x4.sub(x, f32x4.mul(fn, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(fn, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1.0));
  const n = i32x4.sub(t, shifter);
  const n1 = i32x4.shr_s(n, 1);
  const n2 = i32x4.sub(n, n1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(n2, bias), 23);
  return f32x4.mul(f32x4.mul(y, s1), s2);
}

/**
 * ln x per lane: x = m·2^e with m in [√½, √2), ln m by a degree-9 polynomial in m−1, plus e·ln2 in two parts.
 * Exact edges: ln 0 = −inf, ln(+inf) = +inf, negative or NaN gives NaN; denormals are rescaled by 2^23 first.
 */
@inline export function logV(x: v128): v128 {
  const den = f32x4.lt(x, f32x4.splat(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(8388608.0)), x, den);
  const bits = xs;
  let e = i32x4.sub(i32x4.shr_s(bits, 23), i32x4.splat(126));
  e = i32x4.sub(e, v128.and(den, i32x4.splat(23)));
  let m = v128.or(v128.and(bits, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000));
  // m in [0.5, 1): when m < √½ use 2m − 1 and e − 1, else m − 1.
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = i32x4.add(e, small); // the mask is −1 in selected lanes
  m = f32x4.sub(f32x4.add(m, v128.and(m, small)), f32x4.splat(1.0));
  const fe = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(m, m);
  let p = f32x4.splat(7.0376836292e-2);
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(-1.1514610310e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(1.1676998740e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(-1.2420140846e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(1.4249322787e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(-1.6668057665e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(2.0000714765e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(-2.4999993993e-1));
  p = f32x4.add(f32x4.mul(p, m), f32x4.splat(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(p, m), z);
  y = f32x4.add(y, f32x4.mul(fe, f32x4.splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let out = f32x4.add(f32x4.add(m, y), f32x4.mul(fe, f32x4.splat(0.693359375)));
  const inf = f32x4.splat(Infinity);
  out = v128.bitselect(inf, out, f32x4.eq(x, inf));
  out = v128.bitselect(f32x4.neg(inf), out, f32x4.eq(x, f32x4.splat(0.0)));
  return v128.bitselect(f32x4.splat(NaN), out, v128.not(f32x4.ge(x, f32x4.splat(0.0))));
}

/** e^x for one float through the SIMD path (same rounding as the vector lanes). */
@inline export function expS(x: f32): f32 {
  return f32x4.extract_lane(expV(f32x4.splat(x)), 0);
}

/** ln x for one float through the SIMD path. */
@inline export function logS(x: f32): f32 {
  return f32x4.extract_lane(logV(f32x4.splat(x)), 0);
}
