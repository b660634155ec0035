// binary: out[idx] = f(a[idx·a_strides], b[idx·b_strides]) over `shape` (rank ≤ 8), f chosen by the `op` override
// (codes: BINARY_CODE in webgpu-programs.ts). Comparisons give 1.0 or 0.0.

struct Params {
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
  rank: u32,
  size: u32,
}

// 0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 eq, 6 ne, 7 lt, 8 le, 9 gt, 10 ge, 11 gate (u where v > 0, else 0).
override op: u32;
override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

fn apply(u: f32, v: f32) -> f32 {
  switch (op) {
    case 0u: { return u + v; }
    case 1u: { return u - v; }
    case 2u: { return u * v; }
    case 3u: { return u / v; }
    case 4u: { return select(v, u, u >= v); }
    case 5u: { return select(0.0, 1.0, u == v); }
    case 6u: { return select(0.0, 1.0, u != v); }
    case 7u: { return select(0.0, 1.0, u < v); }
    case 8u: { return select(0.0, 1.0, u <= v); }
    case 9u: { return select(0.0, 1.0, u > v); }
    case 10u: { return select(0.0, 1.0, u >= v); }
    default: { return select(0.0, u, v > 0.0); }
  }
}

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.size) {
    return;
  }
  var rem = i;
  var ao = 0u;
  var bo = 0u;
  for (var d = params.rank; d > 0u; d--) {
    let q = d - 1u;
    let n = params.shape[q / 4u][q % 4u];
    let c = rem % n;
    rem = rem / n;
    ao += c * params.a_strides[q / 4u][q % 4u];
    bo += c * params.b_strides[q / 4u][q % 4u];
  }
  out[i] = apply(a[ao], b[bo]);
}
