// unary: out[i] = f(x[i]) for i < size, with f chosen by the `op` override (codes: UNARY_CODE in webgpu-programs.ts).

struct Params {
  size: u32,
  alpha: f32,
}

// 0 neg, 1 exp, 2 log, 3 sqrt, 4 relu, 5 step, 6 pow, 7 scale, 8 shift.
override op: u32;
override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// NOTE: WGSL's max/min builtins leave NaN unspecified and a compiler may assume no NaN in comparisons, so NaN is
// tested on the bits (integer compares nothing folds away) wherever the result depends on it.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// NOTE: SwiftShader's log gives finite values for NaN, negatives (−inf too) and ±0, so those are set by hand, from v's
// own bits (WGSL rejects NaN and infinite constants): exponent and quiet bit set is NaN, ±0 with them set is −inf.
fn log_ieee(v: f32) -> f32 {
  let bits = bitcast<u32>(v);
  if (v < 0.0 || is_nan(v)) {
    return bitcast<f32>(bits | 0x7fc00000u);
  }
  if (v == 0.0) {
    return bitcast<f32>(bits | 0xff800000u);
  }
  return log(v);
}

// NOTE: WGSL's pow is undefined for negative bases and for zero with a negative exponent; like Math.pow, a negative
// base with an integer exponent keeps the sign of an odd power, and with a non-integer exponent gives NaN. Exponents
// ½ and −½ are √v and 1/√v, as torch.pow computes them (pow(−inf, ½) is NaN, pow(−0, −½) is −inf).
fn signed_pow(v: f32, a: f32) -> f32 {
  if (a == 0.5 || a == -0.5) {
    let r = select(sqrt(v), v, v == 0.0); // √−0 = −0, as IEEE
    return select(r, 1.0 / r, a < 0.0);
  }
  if (a == 0.0) {
    return 1.0;
  }
  if (is_nan(v)) {
    return v;
  }
  let odd = abs(a) % 2.0 == 1.0;
  if (v == 0.0) {
    let z = select(0.0, 1.0 / v, a < 0.0); // ±0 → ±inf at run time (an infinite constant is rejected)
    return select(abs(z), z, odd);
  }
  let m = pow(abs(v), a);
  if (v >= 0.0) {
    return m;
  }
  // v < 0 here. A non-integer power of a finite v is NaN (sqrt(v) makes one at run time: a NaN constant is rejected),
  // of −inf it is pow(inf, a).
  if (round(a) != a) {
    return select(sqrt(v), m, (bitcast<u32>(v) & 0x7fffffffu) == 0x7f800000u);
  }
  return select(m, -m, odd);
}

fn apply(v: f32, alpha: f32) -> f32 {
  switch (op) {
    case 0u: { return -v; }
    // NOTE: SwiftShader's exp turns NaN into +inf: NaN is passed through by hand.
    case 1u: { return select(exp(v), v, is_nan(v)); }
    case 2u: { return log_ieee(v); }
    case 3u: { return select(sqrt(v), v, v == 0.0); } // √−0 = −0, as IEEE (and 1/√−0 = −inf)
    // relu as torch.relu: v < 0 ? 0 : v, so NaN (and −0) pass through.
    case 4u: { return select(v, 0.0, v < 0.0 && !is_nan(v)); }
    case 5u: { return select(0.0, 1.0, v > 0.0 && !is_nan(v)); }
    case 6u: { return signed_pow(v, alpha); }
    case 7u: { return v * alpha; }
    default: { return v + alpha; }
  }
}

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.size) {
    return;
  }
  out[i] = apply(x[i], params.alpha);
}
