// matmul: out[b] = opA(a[b]) · opB(b[b]) with out [batch, m, n]. Each invocation keeps a TM×TN tile of the output in
// registers; transposes and batch broadcasting arrive as strides, so one shader covers every layout and size.
// NOTE: tuned on lavapipe (CPU Vulkan): workgroup-memory tiling, vec4 loads and unrolling k were all slower there
// than this plain register blocking; a 16×8 tile beat 4×4 (10 GFLOP/s), 8×8 (16) and 16×16 (9, spills) at 1024³.

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

const TM: u32 = 16u;
const TN: u32 = 8u;
override wgx: u32 = 8u;
override wgy: u32 = 4u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(wgx, wgy)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let m = params.m;
  let n = params.n;
  let row = gid.y * TM;
  let col = gid.x * TN;
  // Rows and columns past the edge are clamped: they compute duplicates that are never stored.
  var a_at: array<u32, TM>;
  for (var i = 0u; i < TM; i++) {
    a_at[i] = gid.z * params.a_batch + min(row + i, m - 1u) * params.a_row;
  }
  var b_at: array<u32, TN>;
  for (var j = 0u; j < TN; j++) {
    b_at[j] = gid.z * params.b_batch + min(col + j, n - 1u) * params.b_col;
  }
  var acc: array<array<f32, TN>, TM>;
  var ao = 0u;
  var bo = 0u;
  for (var l = 0u; l < params.k; l++) {
    var bv: array<f32, TN>;
    for (var j = 0u; j < TN; j++) {
      bv[j] = b[b_at[j] + bo];
    }
    for (var i = 0u; i < TM; i++) {
      let av = a[a_at[i] + ao];
      for (var j = 0u; j < TN; j++) {
        acc[i][j] = fma(av, bv[j], acc[i][j]);
      }
    }
    ao += params.a_col;
    bo += params.b_row;
  }
  let o = gid.z * m * n;
  for (var i = 0u; i < TM && row + i < m; i++) {
    for (var j = 0u; j < TN && col + j < n; j++) {
      out[o + (row + i) * n + col + j] = acc[i][j];
    }
  }
}
