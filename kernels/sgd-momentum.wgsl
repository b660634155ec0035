// sgdMomentum, in place on the momentum buffer v = out (PyTorch's SGD): d = grad + weight_decay · w;
// v = first ? d : momentum · v + (1 − dampening) · d. Every scalar is a uniform, so schedules never recompile.

struct Params {
  size: u32,
  momentum: f32,
  dampening: f32,
  weight_decay: f32,
  first: u32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.size) {
    return;
  }
  let d = grad[i] + params.weight_decay * weight[i];
  if (params.first != 0u) {
    out[i] = d;
  } else {
    out[i] = params.momentum * out[i] + (1.0 - params.dampening) * d;
  }
}
