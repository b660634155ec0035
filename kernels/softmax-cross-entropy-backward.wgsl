// softmaxCrossEntropyBackward: logits [rows, classes], labels [rows], dy ([rows], or [1] when dy_scalar);
// out[r, j] = (softmax(logits[r])_j − (j == label[r])) · dy[r or 0] · scale. Entry `rows`: one invocation per row.
// Entry `tree`: one workgroup per row (long rows), max and sum reduced in workgroup memory.

struct Params {
  rows: u32,
  classes: u32,
  dy_scalar: u32,
  scale: f32,
}

override wg: u32 = 256u;
const BLOCK: u32 = 64u;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> partial: array<f32, wg>;

// NOTE: the max builtin's NaN behaviour is unspecified (lavapipe drops NaN); max_nan propagates it (NaN tested on the
// bits, which no compiler folds away), so a row holding a NaN has m = NaN and is NaN throughout, as PyTorch's.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn max_nan(a: f32, b: f32) -> f32 {
  return select(select(b, a, a > b), a + b, is_nan(a) || is_nan(b)); // a + b: NaN when either is
}

// NOTE: SwiftShader's exp (and log) turn NaN into +inf or a finite value (so a NaN row would give 0s); NaN passes here.
fn exp_nan(v: f32) -> f32 {
  return select(exp(v), v, is_nan(v));
}

fn row_grad(r: u32) -> f32 {
  return dy[select(r, 0u, params.dy_scalar != 0u)] * params.scale;
}

fn finish(r: u32, j: u32, m: f32, inv_s: f32, g: f32) {
  let at = r * params.classes + j;
  let onehot = select(0.0, 1.0, labels[r] == f32(j));
  out[at] = (exp_nan(logits[at] - m) * inv_s - onehot) * g;
}

@compute @workgroup_size(wg)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * wg;
  if (r >= params.rows) {
    return;
  }
  let base = r * params.classes;
  var m = logits[base];
  for (var j = 1u; j < params.classes; j++) {
    m = max_nan(m, logits[base + j]);
  }
  var s = 0.0;
  var j = 0u;
  while (j < params.classes) {
    let end = min(j + BLOCK, params.classes);
    var block = 0.0;
    for (; j < end; j++) {
      block += exp_nan(logits[base + j] - m);
    }
    s += block;
  }
  let g = row_grad(r);
  for (var k = 0u; k < params.classes; k++) {
    finish(r, k, m, 1.0 / s, g);
  }
}

@compute @workgroup_size(wg)
fn tree(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let r = wid.x + wid.y * nwg.x;
  if (r >= params.rows) {
    return;
  }
  let base = r * params.classes;
  // Max: every invocation starts from an element of the row (classes >= wg on this path).
  var m = logits[base + min(lid, params.classes - 1u)];
  for (var j = lid + wg; j < params.classes; j += wg) {
    m = max_nan(m, logits[base + j]);
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
  for (var j = lid; j < params.classes; j += wg) {
    s += exp_nan(logits[base + j] - m);
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var k = wg / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      partial[lid] += partial[lid + k];
    }
    workgroupBarrier();
  }
  let inv_s = 1.0 / partial[0];
  let g = row_grad(r);
  for (var j = lid; j < params.classes; j += wg) {
    finish(r, j, m, inv_s, g);
  }
}
