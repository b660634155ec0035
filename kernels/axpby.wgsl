// axpby, in place: out[i] = alpha * out[i] + beta * x[i]; `out` holds the previous values and is read here.

struct Params {
  size: u32,
  alpha: f32,
  beta: f32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.size) {
    return;
  }
  out[i] = params.alpha * out[i] + params.beta * x[i];
}
