// Softmax and log-softmax over the middle axis of x viewed as [outer, r, inner], max-shifted for stability:
// softmax = e^(x−m) / Σ e^(x−m), logSoftmax = x − m − ln Σ e^(x−m).

import { expS, expV } from './simd-math';

/** Rows added into a block partial before it joins the running total (keeps f32 sums accurate). */
const BLOCK = 128;

// NOTE: the row max uses pmax (one instruction; V8's NaN-propagating max takes eight). A NaN it skips still reaches
// the sum through e^(NaN − m), so the whole row is NaN, as in the reference.
@inline function hmax(v: v128): f32 {
  const a = f32x4.pmax(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.pmax(a, i32x4.shuffle(a, a, 1, 0, 3, 2)), 0);
}

@inline function hsum(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1)
    + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
}

/** One contiguous row of r floats (the inner == 1 case). */
@inline function softmaxRow(log: bool, x: usize, out: usize, r: i32): void {
  const r4 = r & ~3;
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  for (; j < r4; j += 4) mv = f32x4.pmax(mv, v128.load(x + (<usize>j << 2)));
  let m = hmax(mv);
  for (; j < r; j++) m = max(m, load<f32>(x + (<usize>j << 2)));
  const ms = f32x4.splat(m);
  let s: f64 = 0;
  j = 0;
  while (j < r4) {
    const end = min(j + BLOCK * 4, r4);
    let acc = f32x4.splat(0);
    for (; j < end; j += 4) {
      const e = expV(f32x4.sub(v128.load(x + (<usize>j << 2)), ms));
      if (!log) v128.store(out + (<usize>j << 2), e);
      acc = f32x4.add(acc, e);
    }
    s += hsum(acc);
  }
  for (; j < r; j++) {
    const e = expS(load<f32>(x + (<usize>j << 2)) - m);
    if (!log) store<f32>(out + (<usize>j << 2), e);
    s += <f64>e;
  }
  if (log) {
    const shift = f32x4.splat(m + <f32>Math.log(s));
    j = 0;
    for (; j < r4; j += 4) v128.store(out + (<usize>j << 2), f32x4.sub(v128.load(x + (<usize>j << 2)), shift));
    const sh = m + <f32>Math.log(s);
    for (; j < r; j++) store<f32>(out + (<usize>j << 2), load<f32>(x + (<usize>j << 2)) - sh);
  } else {
    const inv = <f32>(1 / s);
    const iv = f32x4.splat(inv);
    j = 0;
    for (; j < r4; j += 4) v128.store(out + (<usize>j << 2), f32x4.mul(v128.load(out + (<usize>j << 2)), iv));
    for (; j < r; j++) store<f32>(out + (<usize>j << 2), load<f32>(out + (<usize>j << 2)) * inv);
  }
}

/** Four adjacent columns (byte stride `stride` between rows), all lanes at once. */
@inline function softmaxCols4(log: bool, x: usize, out: usize, r: i32, stride: usize): void {
  let m = f32x4.splat(-Infinity);
  for (let j = 0; j < r; j++) m = f32x4.pmax(m, v128.load(x + <usize>j * stride));
  let s = f32x4.splat(0);
  for (let j = 0; j < r; j += BLOCK) {
    const end = min(j + BLOCK, r);
    let acc = f32x4.splat(0);
    for (let jj = j; jj < end; jj++) {
      const e = expV(f32x4.sub(v128.load(x + <usize>jj * stride), m));
      if (!log) v128.store(out + <usize>jj * stride, e);
      acc = f32x4.add(acc, e);
    }
    s = f32x4.add(s, acc);
  }
  if (log) {
    // ln Σ per lane, in f64 for the four lanes.
    let lse = f32x4.splat(0);
    lse = f32x4.replace_lane(lse, 0, <f32>Math.log(<f64>f32x4.extract_lane(s, 0)));
    lse = f32x4.replace_lane(lse, 1, <f32>Math.log(<f64>f32x4.extract_lane(s, 1)));
    lse = f32x4.replace_lane(lse, 2, <f32>Math.log(<f64>f32x4.extract_lane(s, 2)));
    lse = f32x4.replace_lane(lse, 3, <f32>Math.log(<f64>f32x4.extract_lane(s, 3)));
    const shift = f32x4.add(m, lse);
    for (let j = 0; j < r; j++) v128.store(out + <usize>j * stride, f32x4.sub(v128.load(x + <usize>j * stride), shift));
  } else {
    for (let j = 0; j < r; j++) v128.store(out + <usize>j * stride, f32x4.div(v128.load(out + <usize>j * stride), s));
  }
}

/** One column, scalar (through the same SIMD exp). */
@inline function softmaxCol(log: bool, x: usize, out: usize, r: i32, stride: usize): void {
  let m: f32 = -Infinity;
  for (let j = 0; j < r; j++) m = max(m, load<f32>(x + <usize>j * stride));
  let s: f64 = 0;
  for (let j = 0; j < r; j++) {
    const e = expS(load<f32>(x + <usize>j * stride) - m);
    if (!log) store<f32>(out + <usize>j * stride, e);
    s += <f64>e;
  }
  if (log) {
    const sh = m + <f32>Math.log(s);
    for (let j = 0; j < r; j++) store<f32>(out + <usize>j * stride, load<f32>(x + <usize>j * stride) - sh);
  } else {
    const sf = <f32>s;
    for (let j = 0; j < r; j++) store<f32>(out + <usize>j * stride, load<f32>(out + <usize>j * stride) / sf);
  }
}

@inline function softmaxLoop(log: bool, x: usize, out: usize, outer: i32, r: i32, inner: i32): void {
  const stride = <usize>inner << 2;
  const slab = <usize>r * stride;
  for (let o = 0; o < outer; o++) {
    const xo = x + <usize>o * slab, oo = out + <usize>o * slab;
    if (inner == 1) {
      softmaxRow(log, xo, oo, r);
      continue;
    }
    let i = 0;
    for (; i + 4 <= inner; i += 4) softmaxCols4(log, xo + (<usize>i << 2), oo + (<usize>i << 2), r, stride);
    for (; i < inner; i++) softmaxCol(log, xo + (<usize>i << 2), oo + (<usize>i << 2), r, stride);
  }
}

/** out = softmax over j of x[o, j, i]. */
export function softmax(x: usize, out: usize, outer: i32, r: i32, inner: i32): void {
  softmaxLoop(false, x, out, outer, r, inner);
}

/** out = log-softmax over j of x[o, j, i]. */
export function logSoftmax(x: usize, out: usize, outer: i32, r: i32, inner: i32): void {
  softmaxLoop(true, x, out, outer, r, inner);
}
