// bnStats with subgroup operations (adapters with the 'subgroups' feature): as bn-stats.wgsl (one workgroup per
// channel, shifted sums about the channel's first element), but each subgroup adds its invocations' sums with
// subgroupAdd and only one value per subgroup goes through workgroup memory. Where subgroups are not contiguous,
// aligned runs of local_invocation_index (WGSL does not promise it), the workgroup takes the plain tree instead.

enable subgroups;

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
/** Set by any invocation whose subgroup is not the run [lid − sid, lid − sid + size) with lid − sid a multiple. */
var<workgroup> scattered: atomic<u32>;

@compute @workgroup_size(wg)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(subgroup_invocation_id) sid: u32,
  @builtin(subgroup_size) size: u32,
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
  let sub_acc = subgroupAdd(acc);
  let sub_sq = subgroupAdd(sq);
  let first = subgroupBroadcastFirst(lid);
  if (first != lid - sid || first % size != 0u) {
    atomicOr(&scattered, 1u);
  }
  if (workgroupUniformLoad(&scattered) == 0u) {
    if (sid == 0u) {
      sums[lid / size] = sub_acc;
      squares[lid / size] = sub_sq;
    }
    workgroupBarrier();
    if (lid == 0u) {
      for (var j = 1u; j < wg / size; j++) {
        sums[0] += sums[j];
        squares[0] += squares[j];
      }
    }
  } else {
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
  }
  if (lid == 0u) {
    let m = f32(params.n * s);
    let d = sums[0] / m;
    out[ch] = k + d;
    out[params.c + ch] = max(squares[0] / m - d * d, 0.0);
  }
}
