// pool2d: x viewed as [nc, h, w]; out[c, oy, ox] = max or mean of the kh×kw window at (oy·stride_h − pad_h,
// ox·stride_w − pad_w). Padding never wins a max; the mean divides by the window clipped to the padded input
// (count_include_pad) or by its valid cells, as PyTorch. One invocation per output.

struct Params {
  nc: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  pad_h: i32,
  pad_w: i32,
  count_include_pad: u32,
}

override is_max: bool;
override kh: i32;
override kw: i32;
override stride_h: i32;
override stride_w: i32;
override wg: u32 = 256u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

// NaN tested on the bits: a compiler may fold `v != v` to false, assuming no NaN.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * wg;
  let ohw = params.oh * params.ow;
  if (t >= params.nc * ohw) {
    return;
  }
  let h = i32(params.h);
  let w = i32(params.w);
  let c = t / ohw;
  let y0 = i32((t % ohw) / params.ow) * stride_h - params.pad_h;
  let x0 = i32(t % params.ow) * stride_w - params.pad_w;
  let plane = c * params.h * params.w;
  // NOTE: WGSL has no infinity (even bitcast<f32>(0xff800000u) is rejected as a constant), so the max starts from the
  // first valid cell; a window without one (impossible with padding <= half the window) gives -FLT_MAX.
  var m = -0x1.fffffep+127f;
  var first = true;
  var sum = 0.0;
  for (var iy = max(y0, 0); iy < min(y0 + kh, h); iy++) {
    for (var ix = max(x0, 0); ix < min(x0 + kw, w); ix++) {
      let v = x[plane + u32(iy * w + ix)];
      // NOTE: a NaN takes the max (the last one), as in the reference; max() may drop NaNs.
      if (first || is_nan(v) || (v > m && !is_nan(m))) {
        m = v;
        first = false;
      }
      sum += v;
    }
  }
  if (is_max) {
    out[t] = m;
    return;
  }
  let cells = (min(y0 + kh, h) - max(y0, 0)) * (min(x0 + kw, w) - max(x0, 0));
  let padded = (min(y0 + kh, h + params.pad_h) - y0) * (min(x0 + kw, w + params.pad_w) - x0);
  out[t] = sum / f32(select(cells, padded, params.count_include_pad != 0u));
}
