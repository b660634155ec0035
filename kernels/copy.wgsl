// copy: out[out_offset + idx·out_strides] = x[in_offset + idx·in_strides] over `shape` (rank ≤ 8).
// Output elements outside the strided view are left untouched.

struct Params {
  shape: array<vec4<u32>, 2>,
  in_strides: array<vec4<u32>, 2>,
  out_strides: array<vec4<u32>, 2>,
  rank: u32,
  size: u32,
  in_offset: u32,
  out_offset: u32,
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
  var rem = i;
  var io = params.in_offset;
  var oo = params.out_offset;
  for (var d = params.rank; d > 0u; d--) {
    let q = d - 1u;
    let n = params.shape[q / 4u][q % 4u];
    let c = rem % n;
    rem = rem / n;
    io += c * params.in_strides[q / 4u][q % 4u];
    oo += c * params.out_strides[q / 4u][q % 4u];
  }
  out[oo] = x[io];
}
