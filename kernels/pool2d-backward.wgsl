// pool2dBackward: x viewed as [nc, h, w], dy [nc, oh, ow]; out dx [nc, h, w]. Gather form, one invocation per input
// cell: it visits every window that contains it and adds that window's dy when the cell is the window's first maximum
// (max), or dy / divisor (avg). No atomics; windows are visited in the reference's order (oy, then ox).

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
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// NaN tested on the bits: a compiler may fold `v != v` to false, assuming no NaN.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

/** The first window position o with o·stride − pad + k − 1 >= i, i.e. ceil((i + pad − k + 1) / stride), at least 0. */
fn first_window(i: i32, pad: i32, k: i32, stride: i32) -> i32 {
  let num = i + pad - k + 1;
  return select(0, (num + stride - 1) / stride, num > 0);
}

/** Flat index (within the plane) of the first maximum of the window whose top-left corner is (y0, x0). */
fn window_argmax(plane: u32, y0: i32, x0: i32) -> i32 {
  let h = i32(params.h);
  let w = i32(params.w);
  var m = 0.0;
  var arg = -1;
  for (var iy = max(y0, 0); iy < min(y0 + kh, h); iy++) {
    for (var ix = max(x0, 0); ix < min(x0 + kw, w); ix++) {
      let v = x[plane + u32(iy * w + ix)];
      // NOTE: strict > keeps the first maximum on ties; a NaN wins (the last), as in the reference.
      if (arg < 0 || is_nan(v) || (v > m && !is_nan(m))) {
        m = v;
        arg = iy * w + ix;
      }
    }
  }
  return arg;
}

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * wg;
  let hw = params.h * params.w;
  if (t >= params.nc * hw) {
    return;
  }
  let h = i32(params.h);
  let w = i32(params.w);
  let c = t / hw;
  let iy = i32((t % hw) / params.w);
  let ix = i32(t % params.w);
  let plane = c * hw;
  let oy_end = min(i32(params.oh), (iy + params.pad_h) / stride_h + 1);
  let ox_end = min(i32(params.ow), (ix + params.pad_w) / stride_w + 1);
  var acc = 0.0;
  for (var oy = first_window(iy, params.pad_h, kh, stride_h); oy < oy_end; oy++) {
    let y0 = oy * stride_h - params.pad_h;
    for (var ox = first_window(ix, params.pad_w, kw, stride_w); ox < ox_end; ox++) {
      let x0 = ox * stride_w - params.pad_w;
      let d = dy[c * params.oh * params.ow + u32(oy) * params.ow + u32(ox)];
      if (is_max) {
        if (window_argmax(plane, y0, x0) == iy * w + ix) {
          acc += d;
        }
      } else {
        let cells = (min(y0 + kh, h) - max(y0, 0)) * (min(x0 + kw, w) - max(x0, 0));
        let padded = (min(y0 + kh, h + params.pad_h) - y0) * (min(x0 + kw, w + params.pad_w) - x0);
        acc += d / f32(select(cells, padded, params.count_include_pad != 0u));
      }
    }
  }
  out[t] = acc;
}
