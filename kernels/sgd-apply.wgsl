// sgdApply, in place on the weight w = out: d = grad + weight_decay · w; with momentum, d = nesterov ? d + momentum · v
// : v; then w = w − lr · d. Without momentum `v` is a stand-in (the grad buffer again) and is never read.

struct Params {
  size: u32,
  lr: f32,
  momentum: f32,
  weight_decay: f32,
  nesterov: u32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.size) {
    return;
  }
  let w = out[i];
  var d = grad[i] + params.weight_decay * w;
  if (params.momentum != 0.0) {
    d = select(v[i], d + params.momentum * v[i], params.nesterov != 0u);
  }
  out[i] = w - params.lr * d;
}
