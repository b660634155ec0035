// bnStats: x viewed as [n, c, s]; out[c'] = mean and out[c + c'] = biased variance (÷ n·s) of channel c', in one pass.
// One workgroup per channel: each invocation sums every wg-th element's deviation d = x − k from k = the channel's
// first element, and d² (the shifted-data form: with k a sample of the channel, Σd²/M − (Σd/M)² cannot cancel the
// way Σx²/M − mean² does), then a tree in workgroup memory.

struct Params {
  n: u32,
  c: u32,
  s: u32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> sums: array<f32, wg>;
var<workgroup> squares: array<f32, wg>;

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
  // Element e = lid + j·wg of the channel is at [row, ch, i] with (row, i) = (e / s, e % s); a step of wg adds
  // (wg / s, wg % s) with one carry.
  var row = select(lid / s, params.n, s == 0u);
  var i = lid % s;
  let step_row = wg / s;
  let step_i = wg % s;
  let k = select(0.0, x[ch * s], params.n * s > 0u);
  var acc = 0.0;
  var sq = 0.0;
  while (row < params.n) {
    let d = x[(row * params.c + ch) * s + i] - k;
    acc += d;
    sq += d * d;
    i += step_i;
    row += step_row;
    if (i >= s) {
      i -= s;
      row++;
    }
  }
  sums[lid] = acc;
  squares[lid] = sq;
  workgroupBarrier();
  for (var h = wg / 2u; h > 0u; h >>= 1u) {
    if (lid < h) {
      sums[lid] += sums[lid + h];
      squares[lid] += squares[lid + h];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let m = f32(params.n * s);
    let d = sums[0] / m;
    out[ch] = k + d;
    out[params.c + ch] = max(squares[0] / m - d * d, 0.0);
  }
}
