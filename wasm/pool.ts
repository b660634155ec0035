// Max and average 2-D pooling over x viewed as [nc, h, w], forward and backward. Max pooling sends the gradient to
// the first maximum of each window (a NaN always wins, the last one seen; all −inf: the first cell), as PyTorch; 2×2
// stride-2 unpadded max pooling, the common case, runs four windows per SIMD step (f32x4.max: NaN propagates).

/**
 * Pool geometry (Pool2dParams' fields): mode 0 max, 1 avg; countIncludePad 0 or 1. Its layout is POOL_GEOM in
 * engine/backends/wasm-geometry.ts, and test/kernel-layout.test.ts checks that the two agree field for field.
 */
@unmanaged class PoolGeom {
  mode: i32; nc: i32; h: i32; w: i32; kh: i32; kw: i32; oh: i32; ow: i32;
  strideH: i32; strideW: i32; padH: i32; padW: i32; countIncludePad: i32;
}

/** The geometry block lives in each instance's thread-private block (wasm/thread.ts). */
let META: usize = 0;
let PG = changetype<PoolGeom>(0);

/** Places the geometry block at `at`; returns the first byte past it. */
export function placePool(at: usize): usize {
  META = at;
  PG = changetype<PoolGeom>(at);
  return at + offsetof<PoolGeom>();
}

/** Address of the geometry block (a PoolGeom) the glue writes before calling a pooling kernel. */
export function poolMeta(): usize {
  return META;
}

@inline function fast2x2(g: PoolGeom): bool {
  return g.mode == 0 && g.kh == 2 && g.kw == 2 && g.strideH == 2 && g.strideW == 2 && g.padH == 0 && g.padW == 0;
}

/** Divisor of the average over the window at (y0, x0), PyTorch's rule (see kernel-reference-nn.ts). */
@inline function divisor(g: PoolGeom, y0: i32, x0: i32): f32 {
  if (g.countIncludePad) return <f32>((min(y0 + g.kh, g.h + g.padH) - y0) * (min(x0 + g.kw, g.w + g.padW) - x0));
  return <f32>((min(y0 + g.kh, g.h) - max(y0, 0)) * (min(x0 + g.kw, g.w) - max(x0, 0)));
}

/** 2×2 stride-2 max pooling, four windows per step; odd trailing rows and columns are never read. */
function maxPool2x2(x: usize, out: usize, g: PoolGeom): void {
  const rowBytes = <usize>g.w << 2;
  const ow4 = g.ow & ~3;
  for (let c = 0; c < g.nc; c++) {
    for (let oy = 0; oy < g.oh; oy++) {
      const r0 = x + (<usize>((c * g.h + 2 * oy) * g.w) << 2);
      const r1 = r0 + rowBytes;
      const o = out + (<usize>((c * g.oh + oy) * g.ow) << 2);
      let ox = 0;
      for (; ox < ow4; ox += 4) max4(r0, r1, o, ox);
      // The last windows as one more (overlapping) step: recomputing a window stores the same value. NOTE: a scalar
      // tail ran 4× slower on real activations, its f32.max branches mispredicting.
      if (ox < g.ow && g.ow >= 4) {
        max4(r0, r1, o, g.ow - 4);
        ox = g.ow;
      }
      for (; ox < g.ow; ox++) {
        const at = <usize>ox << 3;
        const m = max(max(load<f32>(r0 + at), load<f32>(r0 + at, 4)), max(load<f32>(r1 + at), load<f32>(r1 + at, 4)));
        store<f32>(o + (<usize>ox << 2), m);
      }
    }
  }
}

/** Four 2×2 windows: out[ox..ox+3] = max of rows r0, r1 at columns 2·ox … 2·ox + 7. */
@inline function max4(r0: usize, r1: usize, o: usize, ox: i32): void {
  const at = <usize>ox << 3;
  const a = v128.load(r0 + at), b = v128.load(r0 + at, 16), p = v128.load(r1 + at), q = v128.load(r1 + at, 16);
  const top = f32x4.max(i32x4.shuffle(a, b, 0, 2, 4, 6), i32x4.shuffle(a, b, 1, 3, 5, 7));
  const bottom = f32x4.max(i32x4.shuffle(p, q, 0, 2, 4, 6), i32x4.shuffle(p, q, 1, 3, 5, 7));
  v128.store(o + (<usize>ox << 2), f32x4.max(top, bottom));
}

/** Lanes where the first-maximum scan moves to v: v > m, or v is NaN. */
@inline function takes(v: v128, m: v128): v128 {
  return v128.or(f32x4.gt(v, m), f32x4.ne(v, v));
}

/** Four windows of maxPool2x2Backward at output columns ox … ox + 3 (rows r0, r1 of x and d0, d1 of dx; dy at gy). */
@inline function maxBack4(r0: usize, r1: usize, d0: usize, d1: usize, gy: usize, ox: i32): void {
  const at = <usize>ox << 3;
  const a = v128.load(r0 + at), b = v128.load(r0 + at, 16), p = v128.load(r1 + at), q = v128.load(r1 + at, 16);
  const v0 = i32x4.shuffle(a, b, 0, 2, 4, 6), v1 = i32x4.shuffle(a, b, 1, 3, 5, 7);
  const v2 = i32x4.shuffle(p, q, 0, 2, 4, 6), v3 = i32x4.shuffle(p, q, 1, 3, 5, 7);
  let idx = i32x4.splat(1), m = v0;
  let k = takes(v1, m); idx = v128.bitselect(i32x4.splat(2), idx, k); m = v128.bitselect(v1, m, k);
  k = takes(v2, m); idx = v128.bitselect(i32x4.splat(3), idx, k); m = v128.bitselect(v2, m, k);
  idx = v128.bitselect(i32x4.splat(4), idx, takes(v3, m));
  const d = v128.load(gy + (<usize>ox << 2));
  // idx is 1 + the window cell of the first maximum (cell 0 when none beats it, all −inf included).
  const e0 = v128.and(d, i32x4.eq(idx, i32x4.splat(1))), e1 = v128.and(d, i32x4.eq(idx, i32x4.splat(2)));
  const e2 = v128.and(d, i32x4.eq(idx, i32x4.splat(3))), e3 = v128.and(d, i32x4.eq(idx, i32x4.splat(4)));
  v128.store(d0 + at, i32x4.shuffle(e0, e1, 0, 4, 1, 5)); v128.store(d0 + at, i32x4.shuffle(e0, e1, 2, 6, 3, 7), 16);
  v128.store(d1 + at, i32x4.shuffle(e2, e3, 0, 4, 1, 5)); v128.store(d1 + at, i32x4.shuffle(e2, e3, 2, 6, 3, 7), 16);
}

/** Backward of maxPool2x2: every input cell gets the dy of its window if it is that window's first maximum, else 0. */
function maxPool2x2Backward(x: usize, dy: usize, dx: usize, g: PoolGeom): void {
  const rowBytes = <usize>g.w << 2;
  const ow4 = g.ow & ~3;
  for (let c = 0; c < g.nc; c++) {
    for (let oy = 0; oy < g.oh; oy++) {
      const at0 = (<usize>((c * g.h + 2 * oy) * g.w) << 2);
      const r0 = x + at0, r1 = r0 + rowBytes, d0 = dx + at0, d1 = d0 + rowBytes;
      const gy = dy + (<usize>((c * g.oh + oy) * g.ow) << 2);
      let ox = 0;
      for (; ox < ow4; ox += 4) maxBack4(r0, r1, d0, d1, gy, ox);
      // As forward: the last windows as one overlapping step (a window's cells get the same values again).
      if (ox < g.ow && g.ow >= 4) {
        maxBack4(r0, r1, d0, d1, gy, g.ow - 4);
        ox = g.ow;
      }
      for (; ox < g.ow; ox++) {
        const at = <usize>ox << 3;
        const d = load<f32>(gy + (<usize>ox << 2));
        let m: f32 = -Infinity;
        let best = -1;
        for (let t = 0; t < 4; t++) {
          const v = load<f32>((t < 2 ? r0 : r1) + at + (<usize>(t & 1) << 2));
          if (t == 0 || v > m || v != v) { m = v; best = t; }
        }
        for (let t = 0; t < 4; t++) store<f32>((t < 2 ? d0 : d1) + at + (<usize>(t & 1) << 2), t == best ? d : 0);
      }
      if (g.w & 1) { store<f32>(d0 + rowBytes - 4, 0); store<f32>(d1 + rowBytes - 4, 0); }
    }
    if (g.h & 1) fill0(dx + (<usize>((c * g.h + g.h - 1) * g.w) << 2), g.w);
  }
}

@inline function fill0(p: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<f32>(p + (<usize>i << 2), 0);
}

/** Any pooling, one window at a time. */
function poolGeneral(x: usize, out: usize, g: PoolGeom): void {
  for (let c = 0; c < g.nc; c++) {
    const xc = x + (<usize>(c * g.h * g.w) << 2);
    for (let oy = 0; oy < g.oh; oy++) {
      const y0 = oy * g.strideH - g.padH;
      const ya = max(y0, 0), yb = min(y0 + g.kh, g.h);
      for (let ox = 0; ox < g.ow; ox++) {
        const x0 = ox * g.strideW - g.padW;
        const xa = max(x0, 0), xb = min(x0 + g.kw, g.w);
        let m: f32 = -Infinity;
        let s: f32 = 0;
        for (let iy = ya; iy < yb; iy++) {
          for (let ix = xa; ix < xb; ix++) {
            const v = load<f32>(xc + (<usize>(iy * g.w + ix) << 2));
            s += v;
            if (v > m || v != v) m = v;
          }
        }
        store<f32>(out + (<usize>((c * g.oh + oy) * g.ow + ox) << 2), g.mode == 0 ? m : s / divisor(g, y0, x0));
      }
    }
  }
}

/** Backward of any pooling: dx is zeroed, then each window adds its dy (to its first maximum, or dy/divisor to all). */
function poolGeneralBackward(x: usize, dy: usize, dx: usize, g: PoolGeom): void {
  memory.fill(dx, 0, <usize>(g.nc * g.h * g.w) << 2);
  for (let c = 0; c < g.nc; c++) {
    const xc = x + (<usize>(c * g.h * g.w) << 2);
    const dc = dx + (<usize>(c * g.h * g.w) << 2);
    for (let oy = 0; oy < g.oh; oy++) {
      const y0 = oy * g.strideH - g.padH;
      const ya = max(y0, 0), yb = min(y0 + g.kh, g.h);
      for (let ox = 0; ox < g.ow; ox++) {
        const x0 = ox * g.strideW - g.padW;
        const xa = max(x0, 0), xb = min(x0 + g.kw, g.w);
        const d = load<f32>(dy + (<usize>((c * g.oh + oy) * g.ow + ox) << 2));
        if (g.mode == 0) {
          let m: f32 = -Infinity;
          let best = -1;
          for (let iy = ya; iy < yb; iy++) {
            for (let ix = xa; ix < xb; ix++) {
              const v = load<f32>(xc + (<usize>(iy * g.w + ix) << 2));
              if (best < 0 || v > m || v != v) { m = v; best = iy * g.w + ix; }
            }
          }
          if (best >= 0) store<f32>(dc + (<usize>best << 2), load<f32>(dc + (<usize>best << 2)) + d);
        } else {
          const share = d / divisor(g, y0, x0);
          for (let iy = ya; iy < yb; iy++) {
            for (let ix = xa; ix < xb; ix++) {
              const at = dc + (<usize>(iy * g.w + ix) << 2);
              store<f32>(at, load<f32>(at) + share);
            }
          }
        }
      }
    }
  }
}

/** pool2d over the geometry at poolMeta(): x [nc, h, w] → out [nc, oh, ow]. */
export function pool2d(x: usize, out: usize): void {
  if (fast2x2(PG)) maxPool2x2(x, out, PG);
  else poolGeneral(x, out, PG);
}

/** pool2dBackward over the geometry at poolMeta(): x, dy [nc, oh, ow] → dx [nc, h, w]. */
export function pool2dBackward(x: usize, dy: usize, dx: usize): void {
  if (fast2x2(PG)) maxPool2x2Backward(x, dy, dx, PG);
  else poolGeneralBackward(x, dy, dx, PG);
}
