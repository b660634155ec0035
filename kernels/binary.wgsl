// binary: out[idx] = f(a[idx·a_strides], b[idx·b_strides]) over `shape` (rank ≤ 8), f chosen by the `op` override
// (codes: BINARY_CODE in webgpu-programs.ts). Comparisons give 1.0 or 0.0. NaN as PyTorch: maximum/minimum give
// NaN, comparisons are false except ne, gate passes u where v is NaN.

struct Params {
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
  rank: u32,
  size: u32,
}

// 0 add, 1 sub, 2 mul, 3 div, 4 maximum, 5 eq, 6 ne, 7 lt, 8 le, 9 gt, 10 ge, 11 gate (v <= 0 ? 0 : u), 12 minimum.
override op: u32;
override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// NOTE: WGSL's max/min builtins leave NaN unspecified, and Dawn's compilers may treat `!=` as ordered or assume no
// NaN in comparisons; so NaN is tested on the bits (integer compares nothing folds away) and forces each result.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn apply(u: f32, v: f32) -> f32 {
  let unordered = is_nan(u) || is_nan(v);
  switch (op) {
    case 0u: { return u + v; }
    case 1u: { return u - v; }
    case 2u: { return u * v; }
    case 3u: { return u / v; }
    case 4u: { return select(select(v, u, u > v), u + v, unordered); } // u + v: NaN when either is
    case 12u: { return select(select(v, u, u < v), u + v, unordered); }
    case 5u: { return select(0.0, 1.0, u == v && !unordered); }
    case 6u: { return select(0.0, 1.0, u != v || unordered); }
    case 7u: { return select(0.0, 1.0, u < v && !unordered); }
    case 8u: { return select(0.0, 1.0, u <= v && !unordered); }
    case 9u: { return select(0.0, 1.0, u > v && !unordered); }
    case 10u: { return select(0.0, 1.0, u >= v && !unordered); }
    default: { return select(0.0, u, v > 0.0 || is_nan(v)); }
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
