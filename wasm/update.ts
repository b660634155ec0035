// In-place parameter updates (axpby, PyTorch's SGD momentum and step) and dropout with a PCG-hash mask that is
// bit-identical to kernel-reference-nn.ts. The in-place kernels read the output's previous contents.

/** out = alpha·out + beta·x over n floats. */
export function axpby(x: usize, out: usize, n: i32, alpha: f32, beta: f32): void {
  const av = f32x4.splat(alpha), bv = f32x4.splat(beta);
  const end4 = <usize>(n & ~3) << 2, end = <usize>n << 2;
  let i: usize = 0;
  for (; i < end4; i += 16) {
    v128.store(out + i, f32x4.add(f32x4.mul(v128.load(out + i), av), f32x4.mul(v128.load(x + i), bv)));
  }
  for (; i < end; i += 4) store<f32>(out + i, load<f32>(out + i) * alpha + load<f32>(x + i) * beta);
}

/** v = out: d = grad + weightDecay·w; v = first ? d : momentum·v + (1 − dampening)·d. */
export function sgdMomentum(grad: usize, w: usize, v: usize, n: i32, momentum: f32, dampening: f32,
  weightDecay: f32, first: bool): void {
  const keep = <f32>(1 - <f64>dampening);
  const mv = f32x4.splat(first ? 0 : momentum), kv = f32x4.splat(first ? 1 : keep), wdv = f32x4.splat(weightDecay);
  const end4 = <usize>(n & ~3) << 2, end = <usize>n << 2;
  let i: usize = 0;
  // NOTE: `first` must not read v (a fresh buffer may hold NaN), so it selects instead of multiplying by zero.
  for (; i < end4; i += 16) {
    const d = f32x4.add(v128.load(grad + i), f32x4.mul(v128.load(w + i), wdv));
    v128.store(v + i, first ? d : f32x4.add(f32x4.mul(v128.load(v + i), mv), f32x4.mul(d, kv)));
  }
  for (; i < end; i += 4) {
    const d = load<f32>(grad + i) + load<f32>(w + i) * weightDecay;
    store<f32>(v + i, first ? d : load<f32>(v + i) * momentum + d * keep);
  }
}

/** w = out: d = grad + weightDecay·w; with momentum, d = nesterov ? d + momentum·v : v; w −= lr·d. */
export function sgdApply(grad: usize, v: usize, w: usize, n: i32, lr: f32, momentum: f32, weightDecay: f32,
  nesterov: bool): void {
  const lrv = f32x4.splat(lr), mv = f32x4.splat(momentum), wdv = f32x4.splat(weightDecay);
  const end4 = <usize>(n & ~3) << 2, end = <usize>n << 2;
  const plain = momentum == 0;
  let i: usize = 0;
  for (; i < end4; i += 16) {
    const wi = v128.load(w + i);
    let d = f32x4.add(v128.load(grad + i), f32x4.mul(wi, wdv));
    if (!plain) d = nesterov ? f32x4.add(d, f32x4.mul(v128.load(v + i), mv)) : v128.load(v + i);
    v128.store(w + i, f32x4.sub(wi, f32x4.mul(d, lrv)));
  }
  for (; i < end; i += 4) {
    const wi = load<f32>(w + i);
    let d = load<f32>(grad + i) + wi * weightDecay;
    if (!plain) d = nesterov ? d + load<f32>(v + i) * momentum : load<f32>(v + i);
    store<f32>(w + i, wi - d * lr);
  }
}

/** PCG hash (RXS-M-XS) of one u32, as pcgHash in kernel-reference-nn.ts. */
@inline function pcgHash(x: u32): u32 {
  const state = x * 747796405 + 2891336453;
  const word = ((state >>> ((state >>> 28) + 4)) ^ state) * 277803737;
  return (word >>> 22) ^ word;
}

/**
 * pcgHash on four lanes. NOTE: wasm SIMD shifts take one count for all lanes, so the per-lane `state >>> s`
 * (s = (state >>> 28) + 4 in 4..19) is a 32×32→64 multiply by 2^(32−s) keeping the high word; 2^(32−s) is built
 * exactly from float exponent bits and converted back to an integer.
 */
@inline function pcgHashV(x: v128): v128 {
  const state = i32x4.add(i32x4.mul(x, i32x4.splat(747796405)), i32x4.splat(<i32>2891336453));
  const e = i32x4.sub(i32x4.splat(28), i32x4.shr_u(state, 28));
  const pow = i32x4.trunc_sat_f32x4_u(i32x4.shl(i32x4.add(e, i32x4.splat(127)), 23));
  const lo = i64x2.extmul_low_i32x4_u(state, pow), hi = i64x2.extmul_high_i32x4_u(state, pow);
  const shifted = i32x4.shuffle(lo, hi, 1, 3, 5, 7);
  const word = i32x4.mul(v128.xor(shifted, state), i32x4.splat(277803737));
  return v128.xor(i32x4.shr_u(word, 22), word);
}

/**
 * out[i] = keep ? x[i]·scale : 0 with keep = (hash(i + hash(seed)) >>> 8)/2^24 ≥ p, tested exactly in integers as
 * (hash >>> 8) ≥ ⌈p·2^24⌉ (p arrives as f64: rounding it to f32 would flip elements next to the threshold).
 */
export function dropout(x: usize, out: usize, n: i32, p: f64, seed: u32, scale: f32): void {
  const limit: f64 = 16777217;
  const t = p != p ? limit : min(max(Math.ceil(p * 16777216), 0), limit);
  const threshold = <i32>t;
  const base = pcgHash(seed);
  const sv = f32x4.splat(scale), tv = i32x4.splat(threshold);
  const n4 = n & ~3;
  let idx = i32x4.add(i32x4.splat(<i32>base), i32x4(0, 1, 2, 3));
  let i = 0;
  for (; i < n4; i += 4) {
    const keep = i32x4.ge_s(i32x4.shr_u(pcgHashV(idx), 8), tv);
    const at = <usize>i << 2;
    v128.store(out + at, v128.and(f32x4.mul(v128.load(x + at), sv), keep));
    idx = i32x4.add(idx, i32x4.splat(4));
  }
  for (; i < n; i++) {
    const at = <usize>i << 2;
    const keep = <i32>(pcgHash(<u32>i + base) >>> 8) >= threshold;
    store<f32>(out + at, keep ? load<f32>(x + at) * scale : 0);
  }
}
