// conv2d (NCHW, implicit GEMM): out[b, co, oy, ox] = bias[co] + Σ_{ci,ky,kx} w[co, ci, ky, kx] ·
// x[b, g·cin_g + ci, oy·stride_h − pad_h + ky·dil_h, ox·stride_w − pad_w + kx·dil_w], g the group of co.
// Each invocation keeps tm output channels × tn output pixels in registers; no im2col matrix is materialised.

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
  // Tiles of tm output channels per group; workgroup_id.y = group · co_tiles + tile.
  co_tiles: u32,
  // NOTE: a uniform, not an override: without a bias the weight buffer is bound as a stand-in, and a load that an
  // override made dead could drop `bias` from the auto layout, which would then reject the bind group.
  has_bias: u32,
}

// NOTE: tuned on lavapipe. llvmpipe runs 8 invocations per SIMD vector and turns every storage load into a per-lane
// gather, even a workgroup-uniform one like the weights here; with the loads removed a pass took 1/3 of the time. So
// the tile maximises FMAs per load (tm·tn per tm + tn loads) short of heavy spilling: 16×8. Staging the weights in
// workgroup memory (barriers) was 2× slower, and sharing x loads across the taps of a row did not help.
// tm and tn are overrides; Dawn substitutes them before Mesa compiles, so the loops unroll and the arrays (sized by
// the *_MAX consts) stay in registers.
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

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let total = params.n * params.oh * params.ow;
  // Pixel tiles run along x (and z past 65535 workgroups), output-channel tiles along y.
  let q0 = ((wid.x + wid.z * nwg.x) * wg + lid) * tn;
  if (q0 >= total) {
    return;
  }
  let g = wid.y / params.co_tiles;
  let co0 = g * params.cout_g + (wid.y % params.co_tiles) * tm;
  let co_end = (g + 1u) * params.cout_g;
  let hw = params.h * params.w;
  let ohw = params.oh * params.ow;
  let taps = kh * kw;
  // Per pixel: the corner of its window and the x offset of channel g·cin_g at that corner (negative in padding).
  var y0: array<i32, TN_MAX>;
  var x0: array<i32, TN_MAX>;
  var corner: array<i32, TN_MAX>;
  var out_at: array<u32, TN_MAX>;
  for (var j = 0u; j < tn; j++) {
    // Pixels past the end are clamped: they compute duplicates that are never stored.
    let q = min(q0 + j, total - 1u);
    let b = q / ohw;
    let p = q % ohw;
    y0[j] = i32(p / params.ow) * stride_h - params.pad_h;
    x0[j] = i32(p % params.ow) * stride_w - params.pad_w;
    corner[j] = i32((b * params.cin + g * params.cin_g) * hw) + y0[j] * i32(params.w) + x0[j];
    out_at[j] = b * params.cout * ohw + p;
  }
  var w_at: array<u32, TM_MAX>;
  for (var i = 0u; i < tm; i++) {
    w_at[i] = min(co0 + i, co_end - 1u) * params.cin_g * taps;
  }
  var acc: array<array<f32, TN_MAX>, TM_MAX>;
  for (var ky = 0u; ky < kh; ky++) {
    let sy = i32(ky) * dil_h;
    for (var kx = 0u; kx < kw; kx++) {
      let sx = i32(kx) * dil_w;
      var ok: array<bool, TN_MAX>;
      var at: array<u32, TN_MAX>;
      for (var j = 0u; j < tn; j++) {
        ok[j] = u32(y0[j] + sy) < params.h && u32(x0[j] + sx) < params.w;
        at[j] = select(0u, u32(corner[j] + sy * i32(params.w) + sx), ok[j]);
      }
      var wo = ky * kw + kx;
      for (var ci = 0u; ci < params.cin_g; ci++) {
        var xv: array<f32, TN_MAX>;
        for (var j = 0u; j < tn; j++) {
          xv[j] = select(0.0, x[at[j]], ok[j]);
          at[j] += hw;
        }
        for (var i = 0u; i < tm; i++) {
          let wv = w[w_at[i] + wo];
          for (var j = 0u; j < tn; j++) {
            acc[i][j] = fma(wv, xv[j], acc[i][j]);
          }
        }
        wo += taps;
      }
    }
  }
  for (var i = 0u; i < tm && co0 + i < co_end; i++) {
    let b = select(0.0, bias[co0 + i], params.has_bias != 0u);
    for (var j = 0u; j < tn && q0 + j < total; j++) {
      out[out_at[j] + (co0 + i) * ohw] = acc[i][j] + b;
    }
  }
}
