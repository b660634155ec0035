// matmul for GPUs: out[b] = opA(a[b]) · opB(b[b]) with out [batch, m, n], as matmul.wgsl (same Params, strides for
// transposes and batch broadcasting). A workgroup of 16×16 invocations computes a 64×64 tile of out: per step of 16
// along k it stages a 64×16 tile of A and a 16×64 tile of B in workgroup memory (each element loaded once from
// global memory for 64 uses), and every invocation accumulates its 4×4 outputs from there.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  // Element offsets between consecutive batch entries of a and b (0 broadcasts).
  a_batch: u32,
  b_batch: u32,
  // a(i, l) = a[i * a_row + l * a_col]; b(l, j) = b[l * b_row + j * b_col].
  a_row: u32,
  a_col: u32,
  b_row: u32,
  b_col: u32,
}

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;
const TM: u32 = 4u;
const TN: u32 = 4u;
/** Invocations per workgroup (16 × 16); each loads BM·BK / THREADS = 4 elements of each tile per step. */
const THREADS: u32 = 256u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// [l][i] and [l][j]: an invocation reads TM (TN) consecutive floats of one row per step.
var<workgroup> tile_a: array<f32, BK * BM>;
var<workgroup> tile_b: array<f32, BK * BN>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = params.m;
  let n = params.n;
  let k = params.k;
  let row0 = wid.y * BM;
  let col0 = wid.x * BN;
  let t = lid.y * 16u + lid.x;
  let a0 = wid.z * params.a_batch;
  let b0 = wid.z * params.b_batch;
  // Loads walk the contiguous index of each operand fastest, so neighbouring invocations read neighbouring floats.
  let a_by_k = params.a_col == 1u;
  let b_by_j = params.b_col == 1u;
  var acc: array<array<f32, TN>, TM>;
  for (var k0 = 0u; k0 < k; k0 += BK) {
    for (var e = 0u; e < BM * BK / THREADS; e++) {
      let idx = t + e * THREADS;
      let i = select(idx % BM, idx / BK, a_by_k);
      let l = select(idx / BM, idx % BK, a_by_k);
      let gi = row0 + i;
      let gl = k0 + l;
      var v = 0.0;
      if (gi < m && gl < k) {
        v = a[a0 + gi * params.a_row + gl * params.a_col];
      }
      tile_a[l * BM + i] = v;
    }
    for (var e = 0u; e < BN * BK / THREADS; e++) {
      let idx = t + e * THREADS;
      let j = select(idx / BK, idx % BN, b_by_j);
      let l = select(idx % BK, idx / BN, b_by_j);
      let gj = col0 + j;
      let gl = k0 + l;
      var v = 0.0;
      if (gj < n && gl < k) {
        v = b[b0 + gl * params.b_row + gj * params.b_col];
      }
      tile_b[l * BN + j] = v;
    }
    workgroupBarrier();
    for (var l = 0u; l < BK; l++) {
      var av: array<f32, TM>;
      var bv: array<f32, TN>;
      for (var i = 0u; i < TM; i++) {
        av[i] = tile_a[l * BM + lid.y * TM + i];
      }
      for (var j = 0u; j < TN; j++) {
        bv[j] = tile_b[l * BN + lid.x * TN + j];
      }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) {
          acc[i][j] = fma(av[i], bv[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  let o = wid.z * m * n;
  for (var i = 0u; i < TM; i++) {
    let r = row0 + lid.y * TM + i;
    for (var j = 0u; j < TN; j++) {
      let c = col0 + lid.x * TN + j;
      if (r < m && c < n) {
        out[o + r * n + c] = acc[i][j];
      }
    }
  }
}
