// swaAverage, in place on the average a = out: a ← a + (x − a)/(n + 1) (SWA, Izmailov et al., 2018, Algorithm 1).

struct Params {
  size: u32,
  n: u32,
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
  let a = out[i];
  out[i] = a + (x[i] - a) / (f32(params.n) + 1.0);
}
