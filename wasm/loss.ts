// Fused softmax cross-entropy over rows of logits [rows, classes] with integer labels: the per-row loss
// logsumexp − logit[label] and its gradient (softmax − onehot)·dy·scale, max-shifted for stability.

import { expS, expV } from './simd-math';

/** Σ e^(x − m) of the row sumExp last saw (a module global: a function returns one value). */
let rowSumExp: f64 = 0;

/** Maximum of one row of `classes` floats (NaN if any is NaN). */
@inline function rowMax(x: usize, classes: i32): f32 {
  const c4 = classes & ~3;
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  for (; j < c4; j += 4) mv = f32x4.max(mv, v128.load(x + (<usize>j << 2)));
  let m = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)),
    max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; j < classes; j++) m = max(m, load<f32>(x + (<usize>j << 2)));
  return m;
}

/** Sets rowSumExp = Σ e^(x − m) over one row and, when `out` is non-zero, stores each e^(x − m) there. */
@inline function sumExp(x: usize, classes: i32, m: f32, out: usize): void {
  const c4 = classes & ~3;
  const mv = f32x4.splat(m);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j < c4; j += 4) {
    const e = expV(f32x4.sub(v128.load(x + (<usize>j << 2)), mv));
    if (out) v128.store(out + (<usize>j << 2), e);
    acc = f32x4.add(acc, e);
  }
  let s: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1)
    + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  for (; j < classes; j++) {
    const e = expS(load<f32>(x + (<usize>j << 2)) - m);
    if (out) store<f32>(out + (<usize>j << 2), e);
    s += <f64>e;
  }
  rowSumExp = s;
}

/** The label of a row as a class index, or −1 when it is not an integer in [0, classes). */
@inline function labelAt(labels: usize, r: i32, classes: i32): i32 {
  const l = load<f32>(labels + (<usize>r << 2));
  return l >= 0 && l < <f32>classes && Mathf.floor(l) == l ? <i32>l : -1;
}

/** out[r] = logsumexp(logits[r]) − logits[r, label[r]] (no target term for a label outside [0, classes)). */
export function softmaxCrossEntropy(logits: usize, labels: usize, out: usize, rows: i32, classes: i32): void {
  for (let r = 0; r < rows; r++) {
    const x = logits + (<usize>(r * classes) << 2);
    const m = rowMax(x, classes);
    sumExp(x, classes, m, 0);
    const label = labelAt(labels, r, classes);
    const target: f64 = label >= 0 ? <f64>load<f32>(x + (<usize>label << 2)) : 0;
    store<f32>(out + (<usize>r << 2), <f32>(<f64>m + Math.log(rowSumExp) - target));
  }
}

/** out[r, j] = (softmax(logits[r])[j] − [j == label[r]]) · dy[dyScalar ? 0 : r] · scale. */
export function softmaxCrossEntropyBackward(logits: usize, labels: usize, dy: usize, out: usize, rows: i32,
  classes: i32, dyScalar: bool, scale: f32): void {
  for (let r = 0; r < rows; r++) {
    const x = logits + (<usize>(r * classes) << 2);
    const o = out + (<usize>(r * classes) << 2);
    const m = rowMax(x, classes);
    sumExp(x, classes, m, o);
    const g = load<f32>(dy + (dyScalar ? 0 : <usize>r << 2)) * scale;
    const k = <f32>(<f64>g / rowSumExp);
    const kv = f32x4.splat(k);
    const c4 = classes & ~3;
    let j = 0;
    for (; j < c4; j += 4) v128.store(o + (<usize>j << 2), f32x4.mul(v128.load(o + (<usize>j << 2)), kv));
    for (; j < classes; j++) store<f32>(o + (<usize>j << 2), load<f32>(o + (<usize>j << 2)) * k);
    const label = labelAt(labels, r, classes);
    if (label >= 0) {
      const at = o + (<usize>label << 2);
      store<f32>(at, load<f32>(at) - g);
    }
  }
}
