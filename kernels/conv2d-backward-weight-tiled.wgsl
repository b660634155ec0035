// conv2dBackwardWeight for GPUs: dw[co, l] = Σ_q dy[co, q] · col[l, q] per group, a GEMM over output pixels
// q = (b, oy, ox) with l = (ci, ky, kx) (col zero in the padding), on workgroup tiles: a workgroup of 16×16
// invocations computes 32 channels × 64 weight entries over one slice of `chunk` pixels (workgroup_id.z), staging
// per step of 16 pixels the dY tile and the gathered input tile in workgroup memory. Slice s writes its partial
// weight gradient to out[s·cout·cin_g·kh·kw …]; the backend sums the slices in order (deterministic) when there
// are several.

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
  // Tiles of BM output channels per group (workgroup_id.y = group · co_tiles + tile); x runs over entry tiles.
  co_tiles: u32,
  // Output pixels per slice (a multiple of BK).
  chunk: u32,
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

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> tile_d: array<f32, BK * BM>;
var<workgroup> tile_c: array<f32, BK * BN>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let total = params.n * params.oh * params.ow;
  let ohw = params.oh * params.ow;
  let hw = params.h * params.w;
  let taps = kh * kw;
  let depth = params.cin_g * taps;
  let l0 = wid.x * BN;
  let g = wid.y / params.co_tiles;
  let co0 = (wid.y % params.co_tiles) * BM;
  let start = wid.z * params.chunk;
  let end = min(total, start + params.chunk);
  let t = lid.y * 16u + lid.x;
  var acc: array<array<f32, TN>, TM>;
  for (var q0 = start; q0 < end; q0 += BK) {
    // Both tiles put consecutive pixels on consecutive invocations (neighbouring addresses in dy and x).
    for (var e = 0u; e < BM * BK / THREADS; e++) {
      let idx = t + e * THREADS;
      let k = idx % BK;
      let i = idx / BK;
      let q = q0 + k;
      var v = 0.0;
      if (q < end && co0 + i < params.cout_g) {
        v = dy[((q / ohw) * params.cout + g * params.cout_g + co0 + i) * ohw + q % ohw];
      }
      tile_d[k * BM + i] = v;
    }
    for (var e = 0u; e < BN * BK / THREADS; e++) {
      let idx = t + e * THREADS;
      let k = idx % BK;
      let j = idx / BK;
      let q = q0 + k;
      let l = l0 + j;
      var v = 0.0;
      if (q < end && l < depth) {
        let p = q % ohw;
        let r = l % taps;
        let iy = i32(p / params.ow) * stride_h - params.pad_h + i32(r / kw) * dil_h;
        let ix = i32(p % params.ow) * stride_w - params.pad_w + i32(r % kw) * dil_w;
        if (u32(iy) < params.h && u32(ix) < params.w) {
          let c = g * params.cin_g + l / taps;
          v = x[((q / ohw) * params.cin + c) * hw + u32(iy) * params.w + u32(ix)];
        }
      }
      tile_c[k * BN + j] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      var dv: array<f32, TM>;
      var cv: array<f32, TN>;
      for (var i = 0u; i < TM; i++) {
        dv[i] = tile_d[k * BM + lid.y * TM + i];
      }
      for (var j = 0u; j < TN; j++) {
        cv[j] = tile_c[k * BN + lid.x * TN + j];
      }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          acc[i][j] = fma(dv[i], cv[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  let slice = wid.z * params.cout * depth;
  for (var i = 0u; i < TM; i++) {
    let co = co0 + lid.y * TM + i;
    for (var j = 0u; j < TN; j++) {
      let l = l0 + lid.x * TN + j;
      if (co < params.cout_g && l < depth) {
        out[slice + (g * params.cout_g + co) * depth + l] = acc[i][j];
      }
    }
  }
}
