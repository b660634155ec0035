// conv2dBackwardInput for GPUs, as conv2d-backward-input.wgsl (same Params and overrides): an implicit GEMM
// dx[c, q] = Σ_l wᵀ[c, l] · dcol[l, q] per group, over l = (co, ky, kx) and input pixels q = (b, iy, ix), where
// dcol[l, q] = dy[b, co, oy, ox] when oy = (iy + pad_h − ky·dil_h) / stride_h is a whole number in [0, oh) (and
// likewise ox), else 0. A workgroup of 16×16 invocations computes 32 channels × 64 pixels from workgroup tiles.

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
  // Tiles of BM input channels per group; workgroup_id.y = group · ci_tiles + tile.
  ci_tiles: u32,
}

const BM: u32 = 32u;
const BN: u32 = 64u;
const BK: u32 = 16u;
const TM: u32 = 2u;
const TN: u32 = 4u;
const THREADS: u32 = 256u;
override kh: u32;
override kw: u32;
override stride_h: i32;
override stride_w: i32;
override dil_h: i32;
override dil_w: i32;

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> tile_w: array<f32, BK * BM>;
var<workgroup> tile_d: array<f32, BK * BN>;

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let total = params.n * params.h * params.w;
  let ohw = params.oh * params.ow;
  let hw = params.h * params.w;
  let taps = kh * kw;
  let depth = params.cout_g * taps;
  let q0 = (wid.x + wid.z * nwg.x) * BN;
  let g = wid.y / params.ci_tiles;
  let ci0 = (wid.y % params.ci_tiles) * BM;
  let t = lid.y * 16u + lid.x;
  let jx = t % BN;
  let q = q0 + jx;
  let live = q < total;
  let qc = min(q, total - 1u);
  let p = qc % hw;
  let ty0 = i32(p / params.w) + params.pad_h;
  let tx0 = i32(p % params.w) + params.pad_w;
  let dbase = ((qc / hw) * params.cout + g * params.cout_g) * ohw;
  var acc: array<array<f32, TN>, TM>;
  for (var k0 = 0u; k0 < depth; k0 += BK) {
    for (var e = 0u; e < BM * BK / THREADS; e++) {
      let idx = t + e * THREADS;
      let i = idx % BM;
      let l = idx / BM;
      let gl = k0 + l;
      var v = 0.0;
      if (ci0 + i < params.cin_g && gl < depth) {
        let co = gl / taps;
        v = w[((g * params.cout_g + co) * params.cin_g + ci0 + i) * taps + gl % taps];
      }
      tile_w[l * BM + i] = v;
    }
    for (var e = 0u; e < BN * BK / THREADS; e++) {
      let l = t / BN + e * (THREADS / BN);
      let gl = k0 + l;
      var v = 0.0;
      if (live && gl < depth) {
        let co = gl / taps;
        let r = gl % taps;
        let sy = ty0 - i32(r / kw) * dil_h;
        let sx = tx0 - i32(r % kw) * dil_w;
        let oy = sy / stride_h;
        let ox = sx / stride_w;
        if (sy >= 0 && sx >= 0 && oy * stride_h == sy && ox * stride_w == sx && u32(oy) < params.oh &&
            u32(ox) < params.ow) {
          v = dy[dbase + co * ohw + u32(oy) * params.ow + u32(ox)];
        }
      }
      tile_d[l * BN + jx] = v;
    }
    workgroupBarrier();
    for (var l = 0u; l < BK; l++) {
      var wv: array<f32, TM>;
      var dv: array<f32, TN>;
      for (var i = 0u; i < TM; i++) {
        wv[i] = tile_w[l * BM + lid.y * TM + i];
      }
      for (var j = 0u; j < TN; j++) {
        dv[j] = tile_d[l * BN + lid.x * TN + j];
      }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          acc[i][j] = fma(wv[i], dv[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var j = 0u; j < TN; j++) {
    let qo = q0 + lid.x * TN + j;
    if (qo >= total) {
      break;
    }
    let at = (qo / hw) * params.cin * hw + qo % hw;
    for (var i = 0u; i < TM; i++) {
      let ci = ci0 + lid.y * TM + i;
      if (ci < params.cin_g) {
        out[at + (g * params.cin_g + ci) * hw] = acc[i][j];
      }
    }
  }
}
