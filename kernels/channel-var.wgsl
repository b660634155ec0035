// channelVar: x viewed as [n, c, s]; out[c] = scale · Σ_{n,s} (x[n, c, s] − mean[c])². One workgroup per channel:
// each invocation sums every wg-th element of the channel, then a tree in workgroup memory (as channel-sum.wgsl).

struct Params {
  n: u32,
  c: u32,
  s: u32,
  scale: f32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<f32, wg>;

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
  // Element e = lid + k·wg of the channel is at [row, ch, i] with (row, i) = (e / s, e % s); a step of wg adds
  // (wg / s, wg % s) with one carry.
  var row = select(lid / s, params.n, s == 0u);
  var i = lid % s;
  let step_row = wg / s;
  let step_i = wg % s;
  let m = mean[ch];
  var acc = 0.0;
  while (row < params.n) {
    let d = x[(row * params.c + ch) * s + i] - m;
    acc += d * d;
    i += step_i;
    row += step_row;
    if (i >= s) {
      i -= s;
      row++;
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var k = wg / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      partial[lid] += partial[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[ch] = partial[0] * params.scale;
  }
}
