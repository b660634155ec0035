// dropout: out[i] = keep(i) ? x[i] * scale : 0, with keep(i) = (hash(i + hash(seed)) >> 8) / 2^24 >= p and hash the
// PCG RXS-M-XS step of kernel-reference-nn.ts. u32 arithmetic wraps like Math.imul(...) >>> 0, so the masks match
// the reference bit for bit.

struct Params {
  size: u32,
  // ceil(p · 2^24), computed exactly on the CPU: keep when (hash >> 8) >= threshold, i.e. uniform >= p.
  threshold: u32,
  seed: u32,
  scale: f32,
}

override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

fn pcg_hash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.size) {
    return;
  }
  let keep = (pcg_hash(i + pcg_hash(params.seed)) >> 8u) >= params.threshold;
  out[i] = select(0.0, x[i] * params.scale, keep);
}
