// Reductions over the middle axis of x viewed as [outer, r, inner]: reduceSum, reduceMax and reduceMin, out is
// [outer, inner]. Sums are cascaded (SIMD partial sums over blocks, blocks added into a running total) for ~r·eps/100
// error. NOTE: max and min use f32x4.max/min and f64 max/min, which propagate NaN (pmax/pmin would skip it).

const SUM = 0, MAX = 1, MIN = 2;
/** Rows summed into a block partial before the partial is added to the running total. */
const BLOCK = 128;

@inline function combine(op: i32, acc: v128, v: v128): v128 {
  return op == SUM ? f32x4.add(acc, v) : op == MAX ? f32x4.max(acc, v) : f32x4.min(acc, v);
}

@inline function combineS(op: i32, acc: f64, v: f64): f64 {
  return op == SUM ? acc + v : op == MAX ? max(acc, v) : min(acc, v);
}

@inline function start(op: i32): f64 {
  return op == SUM ? 0 : op == MAX ? -Infinity : Infinity;
}

@inline function identity(op: i32): v128 {
  return f32x4.splat(<f32>start(op));
}

@inline function horizontal(op: i32, v: v128): f32 {
  const a = combine(op, v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  const b = combine(op, a, i32x4.shuffle(a, a, 1, 0, 3, 2));
  return f32x4.extract_lane(b, 0);
}

/** Reduces r contiguous floats (the inner == 1 case): 16 lanes at a time, blocks of BLOCK·16 into an f64 total. */
@inline function reduceRow(op: i32, p: usize, r: i32): f32 {
  const r16 = r & ~15;
  let j = 0;
  let total = start(op);
  while (j < r16) {
    const end = min(j + BLOCK * 16, r16);
    let a0 = identity(op), a1 = a0, a2 = a0, a3 = a0;
    for (; j < end; j += 16) {
      const q = p + (<usize>j << 2);
      a0 = combine(op, a0, v128.load(q));
      a1 = combine(op, a1, v128.load(q, 16));
      a2 = combine(op, a2, v128.load(q, 32));
      a3 = combine(op, a3, v128.load(q, 48));
    }
    total = combineS(op, total, <f64>horizontal(op, combine(op, combine(op, a0, a1), combine(op, a2, a3))));
  }
  for (; j < r; j++) total = combineS(op, total, <f64>load<f32>(p + (<usize>j << 2)));
  return <f32>total;
}

/** Reduces r rows of 16 adjacent columns (row stride `stride` bytes) into out[0..16). */
@inline function reduceCols16(op: i32, p: usize, stride: usize, r: i32, out: usize): void {
  let t0 = identity(op), t1 = t0, t2 = t0, t3 = t0;
  for (let j = 0; j < r; j += BLOCK) {
    const end = min(j + BLOCK, r);
    let a0 = identity(op), a1 = a0, a2 = a0, a3 = a0;
    let q = p + <usize>j * stride;
    for (let jj = j; jj < end; jj++) {
      a0 = combine(op, a0, v128.load(q));
      a1 = combine(op, a1, v128.load(q, 16));
      a2 = combine(op, a2, v128.load(q, 32));
      a3 = combine(op, a3, v128.load(q, 48));
      q += stride;
    }
    t0 = combine(op, t0, a0); t1 = combine(op, t1, a1); t2 = combine(op, t2, a2); t3 = combine(op, t3, a3);
  }
  v128.store(out, t0); v128.store(out, t1, 16); v128.store(out, t2, 32); v128.store(out, t3, 48);
}

/** Reduces r rows of 4 adjacent columns into out[0..4). */
@inline function reduceCols4(op: i32, p: usize, stride: usize, r: i32, out: usize): void {
  let t = identity(op);
  for (let j = 0; j < r; j += BLOCK) {
    const end = min(j + BLOCK, r);
    let a = identity(op);
    let q = p + <usize>j * stride;
    for (let jj = j; jj < end; jj++) { a = combine(op, a, v128.load(q)); q += stride; }
    t = combine(op, t, a);
  }
  v128.store(out, t);
}

/** Reduces r rows of one column, accumulating in f64. */
@inline function reduceCol(op: i32, p: usize, stride: usize, r: i32): f32 {
  let total = start(op);
  for (let j = 0; j < r; j++) {
    total = combineS(op, total, <f64>load<f32>(p));
    p += stride;
  }
  return <f32>total;
}

@inline function reduceLoop(op: i32, x: usize, out: usize, outer: i32, r: i32, inner: i32): void {
  const stride = <usize>inner << 2;
  for (let o = 0; o < outer; o++) {
    const base = x + <usize>o * <usize>r * stride;
    const dst = out + <usize>o * stride;
    if (inner == 1) {
      store<f32>(dst, reduceRow(op, base, r));
      continue;
    }
    let i = 0;
    for (; i + 16 <= inner; i += 16) reduceCols16(op, base + (<usize>i << 2), stride, r, dst + (<usize>i << 2));
    for (; i + 4 <= inner; i += 4) reduceCols4(op, base + (<usize>i << 2), stride, r, dst + (<usize>i << 2));
    for (; i < inner; i++) store<f32>(dst + (<usize>i << 2), reduceCol(op, base + (<usize>i << 2), stride, r));
  }
}

/** out[o, i] = Σ_j x[o, j, i]; r = 0 gives 0. */
export function reduceSum(x: usize, out: usize, outer: i32, r: i32, inner: i32): void {
  reduceLoop(SUM, x, out, outer, r, inner);
}

/** out[o, i] = max_j x[o, j, i] (NaN propagates); r = 0 gives −inf. */
export function reduceMax(x: usize, out: usize, outer: i32, r: i32, inner: i32): void {
  reduceLoop(MAX, x, out, outer, r, inner);
}

/** out[o, i] = min_j x[o, j, i] (NaN propagates); r = 0 gives +inf. */
export function reduceMin(x: usize, out: usize, outer: i32, r: i32, inner: i32): void {
  reduceLoop(MIN, x, out, outer, r, inner);
}
