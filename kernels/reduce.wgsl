// reduce: x viewed as [outer, r, inner]; out[o, i] = sum (op 0), max (1) or min (2, both NaN if any is) over j of
// x[o, j, i]. Entry `rows`: one invocation per output, summing in blocks of 64 so rounding error grows slowly with r.
// Entry `tree`: one workgroup per output (for long rows): strided partial results, then a tree in workgroup memory.

struct Params {
  outer: u32,
  r: u32,
  inner: u32,
}

override op: u32;
override wg: u32 = 256u;
const BLOCK: u32 = 64u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partial: array<f32, wg>;

// NOTE: not the max/min builtins, whose NaN behaviour is unspecified (lavapipe drops NaN): NaN is tested on the bits.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn combine(acc: f32, v: f32) -> f32 {
  if (op == 0u) {
    return acc + v;
  }
  let better = select((v < acc), (v > acc), op == 1u);
  return select(select(acc, v, better), acc + v, is_nan(acc) || is_nan(v)); // acc + v: NaN when either is
}

@compute @workgroup_size(wg)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * wg;
  if (t >= params.outer * params.inner) {
    return;
  }
  let base = (t / params.inner) * params.r * params.inner + t % params.inner;
  if (params.r == 0u) {
    out[t] = 0.0;
    return;
  }
  var acc = x[base];
  var j = 1u;
  while (j < params.r) {
    let end = min(j + BLOCK, params.r);
    var block = x[base + j * params.inner];
    for (j++; j < end; j++) {
      block = combine(block, x[base + j * params.inner]);
    }
    acc = combine(acc, block);
  }
  out[t] = acc;
}

@compute @workgroup_size(wg)
fn tree(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= params.outer * params.inner) {
    return;
  }
  let base = (g / params.inner) * params.r * params.inner + g % params.inner;
  // Every invocation starts from an element of the row (r >= wg on this path), so max needs no identity.
  var acc = x[base + min(lid, params.r - 1u) * params.inner];
  for (var j = lid + wg; j < params.r; j += wg) {
    acc = combine(acc, x[base + j * params.inner]);
  }
  if (lid >= params.r && op == 0u) {
    acc = 0.0;
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = wg / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[g] = partial[0];
  }
}
