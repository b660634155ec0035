// conv2dBackwardWeight: dw[co, ci, ky, kx] = Σ_{b,oy,ox} dy[b, co, oy, ox] · x[b, g·cin_g + ci, oy·stride_h − pad_h +
// ky·dil_h, ox·stride_w − pad_w + kx·dil_w]. A GEMM whose long dimension n·oh·ow is the sum: one workgroup per tile of
// tm output channels × tn entries r = (ci, ky, kx); each invocation sums every wg-th pixel in blocks, then the
// invocations' tiles are added in workgroup memory (no atomics; few terms per running sum).

struct Params {
  n: u32,
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  oh: u32,
  ow: u32,
  pad_h: i32,
  pad_w: i32,
  cin_g: u32,
  cout_g: u32,
  // Tiles of tm output channels per group and of tn weight entries (cin_g·kh·kw per output channel).
  co_tiles: u32,
  r_tiles: u32,
}

const TM_MAX: u32 = 16u;
const TN_MAX: u32 = 16u;
override tm: u32 = 16u;
override tn: u32 = 9u;
override kh: u32;
override kw: u32;
override stride_h: i32;
override stride_w: i32;
override dil_h: i32;
override dil_w: i32;
// NOTE: `partial` takes tm·tn·wg floats of workgroup memory; WebGPU's default limit is 16 KiB (4096 floats).
override wg: u32 = 16u;
// Pixels per blocked sum (see the NOTE in main).
const BLOCK: u32 = 32u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partial: array<f32, tm * tn * wg>;

@compute @workgroup_size(wg)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Workgroup t = (group · co_tiles + co tile) · r_tiles + r tile.
  let t = wid.x + wid.y * nwg.x;
  if (t >= params.cout / params.cout_g * params.co_tiles * params.r_tiles) {
    return;
  }
  let r0 = (t % params.r_tiles) * tn;
  let gc = t / params.r_tiles;
  let g = gc / params.co_tiles;
  let co0 = g * params.cout_g + (gc % params.co_tiles) * tm;
  let co_end = (g + 1u) * params.cout_g;
  let taps = kh * kw;
  let r_len = params.cin_g * taps;
  let hw = params.h * params.w;
  let ohw = params.oh * params.ow;
  // Per entry r: the x offset of (ci, ky, kx) from a window's corner, and the tap's shift inside the window.
  var x_off: array<i32, TN_MAX>;
  var sy: array<i32, TN_MAX>;
  var sx: array<i32, TN_MAX>;
  for (var j = 0u; j < tn; j++) {
    // Entries past the end are clamped: they compute duplicates that are never stored.
    let r = min(r0 + j, r_len - 1u);
    let tap = r % taps;
    sy[j] = i32(tap / kw) * dil_h;
    sx[j] = i32(tap % kw) * dil_w;
    x_off[j] = i32((r / taps) * hw) + sy[j] * i32(params.w) + sx[j];
  }
  var dy_off: array<u32, TM_MAX>;
  for (var i = 0u; i < tm; i++) {
    dy_off[i] = min(co0 + i, co_end - 1u) * ohw;
  }
  // Invocation lid takes pixels k = lid, lid + wg, lid + 2·wg, … of the n·oh·ow, so the lanes of one SIMD vector read
  // neighbouring addresses (contiguous chunks per lane were up to 2× slower on lavapipe). Its position (b, oy, ox)
  // advances by wg = (step_b, step_y, step_x) with carries: no divisions in the loop.
  let count = params.n * ohw;
  let step_b = wg / ohw;
  let step_y = (wg % ohw) / params.ow;
  let step_x = wg % params.ow;
  var b = lid / ohw;
  var oy = (lid % ohw) / params.ow;
  var ox = lid % params.ow;
  let x_image = params.cin * hw;
  let x_group = g * params.cin_g * hw;
  var acc: array<array<f32, TN_MAX>, TM_MAX>;
  var k = lid;
  while (k < count) {
    // NOTE: blocked sums. After batch norm dy is zero-mean per channel and Σ dy·x cancels heavily; one running f32 sum
    // over hundreds of pixels loses ~1e-4 relative there, so each block of BLOCK pixels is summed on its own first.
    // The explicit zero initializer matters: a bare `var block: T;` in a loop was NOT re-zeroed per iteration on
    // Dawn + lavapipe (results came out ~8× too large).
    var block = array<array<f32, TN_MAX>, TM_MAX>();
    for (var step = 0u; step < BLOCK && k < count; step++) {
      let y0 = i32(oy) * stride_h - params.pad_h;
      let x0 = i32(ox) * stride_w - params.pad_w;
      let corner = i32(b * x_image + x_group) + y0 * i32(params.w) + x0;
      let dy_at = b * params.cout * ohw + oy * params.ow + ox;
      var xv: array<f32, TN_MAX>;
      for (var j = 0u; j < tn; j++) {
        let ok = u32(y0 + sy[j]) < params.h && u32(x0 + sx[j]) < params.w;
        xv[j] = select(0.0, x[select(0u, u32(corner + x_off[j]), ok)], ok);
      }
      for (var i = 0u; i < tm; i++) {
        let dv = dy[dy_at + dy_off[i]];
        for (var j = 0u; j < tn; j++) {
          block[i][j] = fma(dv, xv[j], block[i][j]);
        }
      }
      k += wg;
      ox += step_x;
      let carry_x = ox >= params.ow;
      ox = select(ox, ox - params.ow, carry_x);
      oy += step_y + select(0u, 1u, carry_x);
      let carry_y = oy >= params.oh;
      oy = select(oy, oy - params.oh, carry_y);
      b += step_b + select(0u, 1u, carry_y);
    }
    for (var i = 0u; i < tm; i++) {
      for (var j = 0u; j < tn; j++) {
        acc[i][j] += block[i][j];
      }
    }
  }
  for (var i = 0u; i < tm; i++) {
    for (var j = 0u; j < tn; j++) {
      partial[(i * tn + j) * wg + lid] = acc[i][j];
    }
  }
  workgroupBarrier();
  for (var e = lid; e < tm * tn; e += wg) {
    let i = e / tn;
    let j = e % tn;
    if (co0 + i < co_end && r0 + j < r_len) {
      var s = 0.0;
      for (var l = 0u; l < wg; l++) {
        s += partial[e * wg + l];
      }
      out[(co0 + i) * r_len + r0 + j] = s;
    }
  }
}
