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

// NOTE: WGSL's pow is undefined for negative bases; like Math.pow, a negative base with an integer exponent keeps
// the sign of an odd power, and with a non-integer exponent gives NaN.
fn signed_pow(v: f32, a: f32) -> f32 {
  if (a == 0.0) {
    return 1.0;
  }
  let m = select(pow(abs(v), a), 0.0, v == 0.0 && a > 0.0);
  if (v >= 0.0) {
    return m;
  }
  if (round(a) != a) {
    return sqrt(v); // v < 0 here: NaN at run time (a NaN constant is rejected by the WGSL compiler)
  }
  return select(m, -m, abs(a) % 2.0 == 1.0);
}

fn apply(v: f32, alpha: f32) -> f32 {
  switch (op) {
    case 0u: { return -v; }
    case 1u: { return exp(v); }
    case 2u: { return log(v); }
    case 3u: { return sqrt(v); }
    case 4u: { return select(0.0, v, v > 0.0); }
    case 5u: { return select(0.0, 1.0, v > 0.0); }
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
