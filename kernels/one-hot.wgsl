// oneHot: out[r, c] = labels[r] == c ? 1 : 0 for out [rows, classes]; a label out of range or not an integer
// matches no class, so its row is all zeros.

struct Params {
  rows: u32,
  classes: u32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> labels: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.rows * params.classes) {
    return;
  }
  let r = i / params.classes;
  let c = i % params.classes;
  out[i] = select(0.0, 1.0, labels[r] == f32(c));
}
