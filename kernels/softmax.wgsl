// softmax: x viewed as [outer, r, inner]; out[o, j, i] = exp(x[o, j, i] - m) / s, or x[o, j, i] - m - log(s) when
// `log_softmax` is set, where m = max_j x[o, j, i] and s = sum_j exp(x[o, j, i] - m).
// Entry `rows`: one invocation per (o, i), summing in blocks of 64. Entry `tree`: one workgroup per (o, i).

struct Params {
  outer: u32,
  r: u32,
  inner: u32,
}

override log_softmax: bool = false;
override wg: u32 = 256u;
const BLOCK: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partial: array<f32, wg>;

// NOTE: the max builtin's NaN behaviour is unspecified (lavapipe drops NaN); max_nan propagates it (NaN tested on the
// bits, which no compiler folds away), so a row holding a NaN has m = NaN and is NaN throughout, as PyTorch's.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn max_nan(a: f32, b: f32) -> f32 {
  return select(select(b, a, a > b), a + b, is_nan(a) || is_nan(b)); // a + b: NaN when either is
}

// NOTE: SwiftShader's exp and log turn NaN into +inf or a finite value (so a NaN row would give 0s); NaN passes here.
fn exp_nan(v: f32) -> f32 {
  return select(exp(v), v, is_nan(v));
}

fn log_nan(v: f32) -> f32 {
  return select(log(v), v, is_nan(v));
}

fn finish(v: f32, m: f32, s: f32) -> f32 {
  if (log_softmax) {
    return v - m - log_nan(s);
  }
  return exp_nan(v - m) / s;
}

@compute @workgroup_size(wg)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * wg;
  if (t >= params.outer * params.inner || params.r == 0u) {
    return;
  }
  let inner = params.inner;
  let base = (t / inner) * params.r * inner + t % inner;
  var m = x[base];
  for (var j = 1u; j < params.r; j++) {
    m = max_nan(m, x[base + j * inner]);
  }
  var s = 0.0;
  var j = 0u;
  while (j < params.r) {
    let end = min(j + BLOCK, params.r);
    var block = 0.0;
    for (; j < end; j++) {
      block += exp_nan(x[base + j * inner] - m);
    }
    s += block;
  }
  for (var k = 0u; k < params.r; k++) {
    out[base + k * inner] = finish(x[base + k * inner], m, s);
  }
}

@compute @workgroup_size(wg)
fn tree(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= params.outer * params.inner) {
    return;
  }
  let inner = params.inner;
  let base = (g / inner) * params.r * inner + g % inner;
  // Max: every invocation starts from an element of the row (r >= wg on this path).
  var m = x[base + min(lid, params.r - 1u) * inner];
  for (var j = lid + wg; j < params.r; j += wg) {
    m = max_nan(m, x[base + j * inner]);
  }
  partial[lid] = m;
  workgroupBarrier();
  for (var k = wg / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      partial[lid] = max_nan(partial[lid], partial[lid + k]);
    }
    workgroupBarrier();
  }
  m = partial[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = lid; j < params.r; j += wg) {
    s += exp_nan(x[base + j * inner] - m);
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var k = wg / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      partial[lid] += partial[lid + k];
    }
    workgroupBarrier();
  }
  s = partial[0];
  for (var j = lid; j < params.r; j += wg) {
    out[base + j * inner] = finish(x[base + j * inner], m, s);
  }
}
