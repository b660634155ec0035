// where: out[idx] = cond[idx·c_strides] != 0 ? a[idx·a_strides] : b[idx·b_strides] over `shape` (rank ≤ 8); a NaN
// cond is != 0, as in PyTorch's torch.where(cond != 0, a, b).

struct Params {
  shape: array<vec4<u32>, 2>,
  c_strides: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
  rank: u32,
  size: u32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> cond: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.size) {
    return;
  }
  var rem = i;
  var co = 0u;
  var ao = 0u;
  var bo = 0u;
  for (var d = params.rank; d > 0u; d--) {
    let q = d - 1u;
    let n = params.shape[q / 4u][q % 4u];
    let c = rem % n;
    rem = rem / n;
    co += c * params.c_strides[q / 4u][q % 4u];
    ao += c * params.a_strides[q / 4u][q % 4u];
    bo += c * params.b_strides[q / 4u][q % 4u];
  }
  // NOTE: cond != 0 on the bits (±0 are the only zeros), so a NaN cond picks a even where `!=` is ordered.
  out[i] = select(b[bo], a[ao], (bitcast<u32>(cond[co]) & 0x7fffffffu) != 0u);
}
