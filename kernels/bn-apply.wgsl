// bnApply: x viewed as [n, c, s]; out = (x − mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c], then max(·, 0) when
// relu (NaN stays NaN, as torch.relu).
// Entry `flat`: one invocation per element, whose channel is (i / s) % c. Entry `rows` (long rows): one workgroup per
// row (b, c) of s elements, so each invocation finds its channel and loads its four constants once for many elements.

struct Params {
  n: u32,
  c: u32,
  s: u32,
  eps: f32,
  relu: u32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> variance: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

/** v, or 0 where relu is on and v ≤ 0 (written so that a NaN v passes). */
fn activate(v: f32) -> f32 {
  return select(v, 0.0, params.relu != 0u && v <= 0.0);
}

@compute @workgroup_size(wg)
fn flat(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.n * params.c * params.s) {
    return;
  }
  let ch = (i / params.s) % params.c;
  let inv = inverseSqrt(variance[ch] + params.eps);
  out[i] = activate((x[i] - mean[ch]) * (inv * gamma[ch]) + beta[ch]);
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
  let ch = row % params.c;
  let m = mean[ch];
  let k = inverseSqrt(variance[ch] + params.eps) * gamma[ch];
  let shift = beta[ch];
  let base = row * params.s;
  for (var i = base + lid; i < base + params.s; i += wg) {
    out[i] = activate((x[i] - m) * k + shift);
  }
}
