// bnBackwardStats: dy, x viewed as [n, c, s]; with g = dy, or dy·[y > 0] when relu (y is bnApply's output; without
// relu another input is bound there and never read): out[c'] = Σ g and out[c + c'] = Σ g·(x − mean[c']) over the
// channel's n·s elements. One workgroup per channel: each invocation sums every wg-th element, then a tree.

struct Params {
  n: u32,
  c: u32,
  s: u32,
  relu: u32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> sums: array<f32, wg>;
var<workgroup> dots: array<f32, wg>;

@compute @workgroup_size(wg)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let ch = wid.x + wid.y * nwg.x;
  if (ch >= params.c) {
    return;
  }
  let s = params.s;
  var row = select(lid / s, params.n, s == 0u);
  var i = lid % s;
  let step_row = wg / s;
  let step_i = wg % s;
  let m = mean[ch];
  var acc = 0.0;
  var dot = 0.0;
  while (row < params.n) {
    let at = (row * params.c + ch) * s + i;
    var g = dy[at];
    if (params.relu != 0u && !(y[at] > 0.0)) {
      g = 0.0;
    }
    acc += g;
    dot += g * (x[at] - m);
    i += step_i;
    row += step_row;
    if (i >= s) {
      i -= s;
      row++;
    }
  }
  sums[lid] = acc;
  dots[lid] = dot;
  workgroupBarrier();
  for (var h = wg / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      sums[lid] += sums[lid + h];
      dots[lid] += dots[lid + h];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[ch] = sums[0];
    out[params.c + ch] = dots[0];
  }
}
