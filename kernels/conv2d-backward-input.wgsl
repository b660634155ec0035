// conv2dBackwardInput (gather form): dx[b, c, iy, ix] = Σ_{co in c's group} Σ_{ky,kx} w[co, c − g·cin_g, ky, kx] ·
// dy[b, co, oy, ox] over the taps where oy = (iy + pad_h − ky·dil_h) / stride_h is a whole number in [0, oh) (and
// likewise ox). Each invocation keeps tm input channels × tn input pixels in registers: no atomics, no races.

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
  // Tiles of tm input channels per group; workgroup_id.y = group · ci_tiles + tile.
  ci_tiles: u32,
}

// Tile sizes: see the NOTE in conv2d.wgsl (the same trade-off; 16×8 measured best here too).
const TM_MAX: u32 = 16u;
const TN_MAX: u32 = 16u;
override tm: u32 = 16u;
override tn: u32 = 8u;
override kh: u32;
override kw: u32;
override stride_h: i32;
override stride_w: i32;
override dil_h: i32;
override dil_w: i32;
override wg: u32 = 64u;

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let hw = params.h * params.w;
  let total = params.n * hw;
  // Pixel tiles run along x (and z past 65535 workgroups), input-channel tiles along y.
  let q0 = ((wid.x + wid.z * nwg.x) * wg + lid) * tn;
  if (q0 >= total) {
    return;
  }
  let g = wid.y / params.ci_tiles;
  let ci0 = (wid.y % params.ci_tiles) * tm;
  let ohw = params.oh * params.ow;
  let taps = kh * kw;
  // Per pixel: its position shifted by the padding, the dy offset of channel g·cout_g, and where dx goes.
  var ty: array<i32, TN_MAX>;
  var tx: array<i32, TN_MAX>;
  var dy_at: array<u32, TN_MAX>;
  var out_at: array<u32, TN_MAX>;
  for (var j = 0u; j < tn; j++) {
    // Pixels past the end are clamped: they compute duplicates that are never stored.
    let q = min(q0 + j, total - 1u);
    let b = q / hw;
    let p = q % hw;
    ty[j] = i32(p / params.w) + params.pad_h;
    tx[j] = i32(p % params.w) + params.pad_w;
    dy_at[j] = (b * params.cout + g * params.cout_g) * ohw;
    out_at[j] = (b * params.cin + g * params.cin_g) * hw + p;
  }
  var w_at: array<u32, TM_MAX>;
  for (var i = 0u; i < tm; i++) {
    w_at[i] = (g * params.cout_g * params.cin_g + min(ci0 + i, params.cin_g - 1u)) * taps;
  }
  let w_step = params.cin_g * taps;
  var acc: array<array<f32, TN_MAX>, TM_MAX>;
  for (var ky = 0u; ky < kh; ky++) {
    for (var kx = 0u; kx < kw; kx++) {
      var ok: array<bool, TN_MAX>;
      var at: array<u32, TN_MAX>;
      for (var j = 0u; j < tn; j++) {
        let yy = ty[j] - i32(ky) * dil_h;
        let xx = tx[j] - i32(kx) * dil_w;
        // yy, xx >= 0 first: then the divisions (by override constants) are exact and cheap.
        let oy = u32(max(yy, 0)) / u32(stride_h);
        let ox = u32(max(xx, 0)) / u32(stride_w);
        ok[j] = yy >= 0 && xx >= 0 && oy * u32(stride_h) == u32(yy) && ox * u32(stride_w) == u32(xx) &&
          oy < params.oh && ox < params.ow;
        at[j] = select(0u, dy_at[j] + oy * params.ow + ox, ok[j]);
      }
      var wo = ky * kw + kx;
      for (var k = 0u; k < params.cout_g; k++) {
        var dv: array<f32, TN_MAX>;
        for (var j = 0u; j < tn; j++) {
          dv[j] = select(0.0, dy[at[j]], ok[j]);
          at[j] += ohw;
        }
        for (var i = 0u; i < tm; i++) {
          let wv = w[w_at[i] + wo];
          for (var j = 0u; j < tn; j++) {
            acc[i][j] = fma(wv, dv[j], acc[i][j]);
          }
        }
        wo += w_step;
      }
    }
  }
  for (var i = 0u; i < tm && ci0 + i < params.cin_g; i++) {
    for (var j = 0u; j < tn && q0 + j < total; j++) {
      out[out_at[j] + (ci0 + i) * hw] = acc[i][j];
    }
  }
}
