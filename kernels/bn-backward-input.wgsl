// bnBackwardInput: x, dy viewed as [n, c, s]; with inv = 1/sqrt(var + eps), x̂ = (x − mean)·inv, M = n·s and
// sums = Σdy ‖ Σdy·(x − mean) (c each): training: dx = gamma·inv·(dy − Σdy/M − x̂·inv·Σdy(x − mean)/M); inference:
// dx = gamma·inv·dy; with relu, dy·[y > 0]
// in place of dy (y is bnApply's output; without relu another input is bound there and never read).
// Rewritten per channel as dx = k·dy + a·(x − mean) + d. Entry `flat`: one invocation per element, whose channel
// is (i / s) % c.
// Entry `rows` (long rows): one workgroup per row (b, c), so the channel constants are computed once per invocation.

struct Params {
  n: u32,
  c: u32,
  s: u32,
  eps: f32,
  training: u32,
  relu: u32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> variance: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> sums: array<f32>;
@group(0) @binding(6) var<storage, read> y: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<uniform> params: Params;

/** dy[i], or 0 where relu is on and y[i] is not positive (NaN included). */
fn grad(i: u32) -> f32 {
  if (params.relu != 0u && !(y[i] > 0.0)) {
    return 0.0;
  }
  return dy[i];
}

/**
 * The constants (k, a, d, mean) of dx = k·dy + a·(x − mean) + d for channel ch.
 * NOTE: x − mean stays a subtraction; folding a·mean into d would cancel badly when |mean| >> |x − mean|.
 */
fn coefficients(ch: u32) -> vec4<f32> {
  let inv = inverseSqrt(variance[ch] + params.eps);
  let k = gamma[ch] * inv;
  if (params.training == 0u) {
    return vec4<f32>(k, 0.0, 0.0, mean[ch]);
  }
  let m = f32(params.n * params.s);
  return vec4<f32>(k, -k * inv * inv * sums[params.c + ch] / m, -k * sums[ch] / m, mean[ch]);
}

@compute @workgroup_size(wg)
fn flat(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.n * params.c * params.s) {
    return;
  }
  let f = coefficients((i / params.s) % params.c);
  out[i] = f.x * grad(i) + f.y * (x[i] - f.w) + f.z;
}

@compute @workgroup_size(wg)
fn rows(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.n * params.c) {
    return;
  }
  let f = coefficients(row % params.c);
  let base = row * params.s;
  for (var i = base + lid; i < base + params.s; i += wg) {
    out[i] = f.x * grad(i) + f.y * (x[i] - f.w) + f.z;
  }
}
