// Batch-norm kernels over x viewed as [n, c, s]: per-channel sums (Σx, Σ(x − mean)², Σa·(b − mean)), the one-pass
// statistics (mean and variance) and backward sums (Σg, Σg·(x − mean)), the normalising affine map (with a fused
// ReLU) and the input gradient. Sums run sixteen f32 lanes over blocks of a row, then add into f64.

const SUM = 0, SQDEV = 1, DOT = 2;
/** Floats of a row summed in f32 lanes before the partial joins the f64 total. */
const BLOCK: i32 = 1024;

@inline function term(op: i32, a: v128, b: v128, mu: v128): v128 {
  if (op == SUM) return a;
  if (op == SQDEV) {
    const d = f32x4.sub(a, mu);
    return f32x4.mul(d, d);
  }
  return f32x4.mul(a, f32x4.sub(b, mu));
}

@inline function termS(op: i32, a: f64, b: f64, mu: f64): f64 {
  if (op == SUM) return a;
  if (op == SQDEV) return (a - mu) * (a - mu);
  return a * (b - mu);
}

/** Σ over one row of len floats of term(a[i], b[i]) (b is read only by DOT). */
@inline function rowSum(op: i32, a: usize, b: usize, mu: f32, len: i32): f64 {
  const muv = f32x4.splat(mu);
  const end16 = len & ~15;
  let total: f64 = 0;
  let i = 0;
  while (i < end16) {
    const stop = min(i + BLOCK, end16);
    let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (; i < stop; i += 16) {
      const o = <usize>i << 2;
      const zero = f32x4.splat(0);
      s0 = f32x4.add(s0, term(op, v128.load(a + o), op == DOT ? v128.load(b + o) : zero, muv));
      s1 = f32x4.add(s1, term(op, v128.load(a + o, 16), op == DOT ? v128.load(b + o, 16) : zero, muv));
      s2 = f32x4.add(s2, term(op, v128.load(a + o, 32), op == DOT ? v128.load(b + o, 32) : zero, muv));
      s3 = f32x4.add(s3, term(op, v128.load(a + o, 48), op == DOT ? v128.load(b + o, 48) : zero, muv));
    }
    const v = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
    total += <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1)
      + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
  }
  for (; i < len; i++) {
    const o = <usize>i << 2;
    total += termS(op, load<f32>(a + o), op == DOT ? <f64>load<f32>(b + o) : 0, mu);
  }
  return total;
}

@inline function channelLoop(op: i32, a: usize, b: usize, mean: usize, out: usize, n: i32, c: i32, s: i32, scale: f32,
  c0: i32, c1: i32): void {
  const rowBytes = <usize>s << 2;
  for (let ch = c0; ch < c1; ch++) {
    const mu: f32 = op == SUM ? 0 : load<f32>(mean + (<usize>ch << 2));
    let total: f64 = 0;
    for (let i = 0; i < n; i++) {
      const at = <usize>(i * c + ch) * rowBytes;
      total += rowSum(op, a + at, b + at, mu, s);
    }
    store<f32>(out + (<usize>ch << 2), <f32>(total * <f64>scale));
  }
}

// Every kernel below works on channels [c0, c1) of x [n, c, s] (the glue splits channels between threads).

/** out[c] = scale · Σ_{n,s} x[n, c, s]. */
export function channelSum(x: usize, out: usize, n: i32, c: i32, s: i32, scale: f32, c0: i32, c1: i32): void {
  channelLoop(SUM, x, x, 0, out, n, c, s, scale, c0, c1);
}

/** out[c] = scale · Σ_{n,s} (x[n, c, s] − mean[c])². */
export function channelVar(x: usize, mean: usize, out: usize, n: i32, c: i32, s: i32, scale: f32, c0: i32,
  c1: i32): void {
  channelLoop(SQDEV, x, x, mean, out, n, c, s, scale, c0, c1);
}

/** out[c] = scale · Σ_{n,s} a[n, c, s] · (b[n, c, s] − mean[c]). */
export function channelDot(a: usize, b: usize, mean: usize, out: usize, n: i32, c: i32, s: i32, scale: f32,
  c0: i32, c1: i32): void {
  channelLoop(DOT, a, b, mean, out, n, c, s, scale, c0, c1);
}

/** Σ of the four lanes of v, in f64. */
@inline function lanes64(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2)
    + <f64>f32x4.extract_lane(v, 3);
}

/** Rows of a channel whose f32 lane sums are taken together before they join the f64 totals (≈ BLOCK floats). */
@inline function rowsPerBlock(s: i32): i32 {
  return max(1, BLOCK / max(1, s));
}

/** Σx over `rows` rows of s floats (rowStep bytes apart from x): sixteen f32 lanes, the tails one by one, in f64. */
@inline function blockSum(x: usize, rows: i32, s: i32, rowStep: usize): f64 {
  const end16 = <usize>(s & ~15) << 2, end = <usize>s << 2;
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
  let tail: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * rowStep;
    let o: usize = 0;
    for (; o < end16; o += 64) {
      s0 = f32x4.add(s0, v128.load(row + o)); s1 = f32x4.add(s1, v128.load(row + o, 16));
      s2 = f32x4.add(s2, v128.load(row + o, 32)); s3 = f32x4.add(s3, v128.load(row + o, 48));
    }
    for (; o < end; o += 4) tail += <f64>load<f32>(row + o);
  }
  return lanes64(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3))) + tail;
}

/**
 * Σ(x − mu)² − (Σ(x − mu))²/count over the same block: its M2 about its own mean from deviations about mu, a float32
 * close to that mean (the correction term removes mu's rounding; with mu this close it cannot cancel badly).
 */
@inline function blockM2(x: usize, rows: i32, s: i32, rowStep: usize, mu: f32): f64 {
  const end16 = <usize>(s & ~15) << 2, end = <usize>s << 2;
  const muv = f32x4.splat(mu);
  let d0 = f32x4.splat(0), d1 = d0, q0 = d0, q1 = d0;
  let d: f64 = 0, q: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * rowStep;
    let o: usize = 0;
    for (; o < end16; o += 64) {
      const a = f32x4.sub(v128.load(row + o), muv), b = f32x4.sub(v128.load(row + o, 16), muv);
      const e = f32x4.sub(v128.load(row + o, 32), muv), f = f32x4.sub(v128.load(row + o, 48), muv);
      d0 = f32x4.add(d0, f32x4.add(a, b)); d1 = f32x4.add(d1, f32x4.add(e, f));
      q0 = f32x4.add(q0, f32x4.add(f32x4.mul(a, a), f32x4.mul(b, b)));
      q1 = f32x4.add(q1, f32x4.add(f32x4.mul(e, e), f32x4.mul(f, f)));
    }
    for (; o < end; o += 4) {
      const t = <f64>(load<f32>(row + o) - mu);
      d += t;
      q += t * t;
    }
  }
  d += lanes64(f32x4.add(d0, d1));
  q += lanes64(f32x4.add(q0, q1));
  return q - d * d / (<f64>rows * <f64>s);
}

/**
 * out[c] = mean and out[c + ch] = Σ(x − mean)²/(n·s) per channel ch of x [n, c, s], in one pass over memory: each
 * block of rows (≈ BLOCK floats, in L1) gives its mean and its M2 about that mean, merged in f64 by Chan, Golub &
 * LeVeque's pairwise update (mean += δ·n_b/n, M2 += M2_b + δ²·n_a·n_b/n).
 */
export function bnStats(x: usize, out: usize, n: i32, c: i32, s: i32, c0: i32, c1: i32): void {
  const rowStep = <usize>(c * s) << 2;
  const per = rowsPerBlock(s);
  for (let ch = c0; ch < c1; ch++) {
    let count: f64 = 0, mean: f64 = 0, m2: f64 = 0;
    for (let i = 0; i < n; i += per) {
      const rows = min(per, n - i);
      const at = x + (<usize>(i * c + ch) * <usize>s << 2);
      const nb = <f64>rows * <f64>s;
      if (nb == 0) continue;
      const mb = blockSum(at, rows, s, rowStep) / nb;
      const qb = blockM2(at, rows, s, rowStep, <f32>mb);
      const total = count + nb;
      const delta = mb - mean;
      mean += delta * nb / total;
      m2 += qb + delta * delta * count * nb / total;
      count = total;
    }
    store<f32>(out + (<usize>ch << 2), <f32>mean);
    store<f32>(out + (<usize>(c + ch) << 2), <f32>(count > 0 ? m2 / count : NaN));
  }
}

/**
 * out[ch] = Σg and out[c + ch] = Σg·(x − mean) per channel ch, g = relu ? (y > 0 ? dy : 0) : dy: eight f32 lanes
 * over blocks of rows (≈ BLOCK floats), added into f64.
 */
export function bnBackwardStats(dy: usize, x: usize, mean: usize, y: usize, out: usize, n: i32, c: i32, s: i32,
  relu: bool, c0: i32, c1: i32): void {
  if (relu) backwardSums(dy, x, mean, y, out, n, c, s, true, c0, c1);
  else backwardSums(dy, x, mean, y, out, n, c, s, false, c0, c1);
}

/** bnBackwardStats with relu a constant once inlined. */
@inline function backwardSums(dy: usize, x: usize, mean: usize, y: usize, out: usize, n: i32, c: i32, s: i32,
  relu: bool, c0: i32, c1: i32): void {
  const rowStep = <usize>(c * s) << 2;
  const per = rowsPerBlock(s);
  const zero = f32x4.splat(0);
  const end8 = <usize>(s & ~7) << 2, end = <usize>s << 2;
  for (let ch = c0; ch < c1; ch++) {
    const mu = load<f32>(mean + (<usize>ch << 2));
    const muv = f32x4.splat(mu);
    let sum: f64 = 0, dot: f64 = 0;
    for (let i0 = 0; i0 < n; i0 += per) {
      const rows = min(per, n - i0);
      let s0 = zero, s1 = zero, t0 = zero, t1 = zero;
      for (let r = 0; r < rows; r++) {
        const at = (<usize>((i0 + r) * c + ch) * <usize>s) << 2;
        const d = dy + at, xs = x + at, ys = y + at;
        let o: usize = 0;
        for (; o < end8; o += 32) {
          let g0 = v128.load(d + o), g1 = v128.load(d + o, 16);
          if (relu) {
            g0 = v128.and(g0, f32x4.gt(v128.load(ys + o), zero));
            g1 = v128.and(g1, f32x4.gt(v128.load(ys + o, 16), zero));
          }
          s0 = f32x4.add(s0, g0);
          s1 = f32x4.add(s1, g1);
          t0 = f32x4.add(t0, f32x4.mul(g0, f32x4.sub(v128.load(xs + o), muv)));
          t1 = f32x4.add(t1, f32x4.mul(g1, f32x4.sub(v128.load(xs + o, 16), muv)));
        }
        for (; o < end; o += 4) {
          const g: f32 = relu && !(load<f32>(ys + o) > 0) ? 0 : load<f32>(d + o);
          sum += <f64>g;
          dot += <f64>(g * (load<f32>(xs + o) - mu));
        }
      }
      sum += lanes64(f32x4.add(s0, s1));
      dot += lanes64(f32x4.add(t0, t1));
    }
    store<f32>(out + (<usize>ch << 2), <f32>sum);
    store<f32>(out + (<usize>(c + ch) << 2), <f32>dot);
  }
}

/**
 * out = (x − mu)·k + b over one row of s floats, four lanes at a time, then max(·, 0) when relu (f32x4.max keeps a
 * NaN). NOTE: subtracting the mean first (rather than folding it into b) keeps the result accurate when |mean| is
 * large next to the spread.
 */
@inline function affineRow(x: usize, out: usize, s: i32, mu: f32, k: f32, b: f32, relu: bool): void {
  const muv = f32x4.splat(mu), kv = f32x4.splat(k), bv = f32x4.splat(b), zero = f32x4.splat(0);
  const end4 = <usize>(s & ~3) << 2, end = <usize>s << 2;
  let i: usize = 0;
  for (; i < end4; i += 16) {
    const v = f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + i), muv), kv), bv);
    v128.store(out + i, relu ? f32x4.max(v, zero) : v);
  }
  for (; i < end; i += 4) {
    const v = (load<f32>(x + i) - mu) * k + b;
    store<f32>(out + i, relu ? max<f32>(v, 0) : v);
  }
}

/** out = (x − mean)/√(var + eps) · gamma + beta per channel of x [n, c, s], then max(·, 0) when relu. */
export function bnApply(x: usize, mean: usize, variance: usize, gamma: usize, beta: usize, out: usize,
  n: i32, c: i32, s: i32, eps: f32, relu: bool, c0: i32, c1: i32): void {
  for (let ch = c0; ch < c1; ch++) {
    const at = <usize>ch << 2;
    const inv = 1 / Math.sqrt(<f64>load<f32>(variance + at) + <f64>eps);
    const k = <f32>(inv * <f64>load<f32>(gamma + at));
    const mu = load<f32>(mean + at), b = load<f32>(beta + at);
    for (let i = 0; i < n; i++) {
      const row = <usize>(i * c + ch) * <usize>s << 2;
      if (relu) affineRow(x + row, out + row, s, mu, k, b, true);
      else affineRow(x + row, out + row, s, mu, k, b, false);
    }
  }
}

/**
 * dx per channel of [n, c, s], M = n·s, inv = 1/√(var + eps): training, gamma·inv·(dy − Σdy/M − (x − mean)·inv²·
 * Σdy(x − mean)/M); otherwise gamma·inv·dy; with relu, dy·[y > 0] in place of dy. sums holds Σdy then Σdy(x − mean)
 * (c floats each).
 */
export function bnBackwardInput(dy: usize, x: usize, mean: usize, variance: usize, gamma: usize, sums: usize,
  y: usize, out: usize, n: i32, c: i32, s: i32, eps: f32, training: bool, relu: bool, c0: i32, c1: i32): void {
  const xm = sums + (<usize>c << 2);
  if (relu) inputGrad(dy, x, mean, variance, gamma, sums, xm, y, out, n, c, s, eps, training, true, c0, c1);
  else inputGrad(dy, x, mean, variance, gamma, sums, xm, y, out, n, c, s, eps, training, false, c0, c1);
}

/** bnBackwardInput with relu a constant once inlined. */
@inline function inputGrad(dy: usize, x: usize, mean: usize, variance: usize, gamma: usize, sumDy: usize,
  sumDyXmu: usize, y: usize, out: usize, n: i32, c: i32, s: i32, eps: f32, training: bool, relu: bool, c0: i32,
  c1: i32): void {
  const count = <f64>n * <f64>s;
  for (let ch = c0; ch < c1; ch++) {
    const at = <usize>ch << 2;
    const inv = 1 / Math.sqrt(<f64>load<f32>(variance + at) + <f64>eps);
    const a = <f64>load<f32>(gamma + at) * inv;
    // dx = a·dy + q·(x − mean) + r with q = −a·inv²·Σdy(x−mean)/M and r = −a·Σdy/M.
    const q = <f32>(training ? -a * inv * inv * <f64>load<f32>(sumDyXmu + at) / count : 0);
    const r = <f32>(training ? -a * <f64>load<f32>(sumDy + at) / count : 0);
    const mu = load<f32>(mean + at);
    const av = f32x4.splat(<f32>a), qv = f32x4.splat(q), rv = f32x4.splat(r), muv = f32x4.splat(mu);
    const zero = f32x4.splat(0);
    for (let i = 0; i < n; i++) {
      const row = <usize>(i * c + ch) * <usize>s << 2;
      const d = dy + row, xs = x + row, ys = y + row, o = out + row;
      const end4 = <usize>(s & ~3) << 2, end = <usize>s << 2;
      let j: usize = 0;
      for (; j < end4; j += 16) {
        const xm = f32x4.sub(v128.load(xs + j), muv);
        let g = v128.load(d + j);
        if (relu) g = v128.and(g, f32x4.gt(v128.load(ys + j), zero));
        v128.store(o + j, f32x4.add(f32x4.mul(g, av), f32x4.add(f32x4.mul(xm, qv), rv)));
      }
      for (; j < end; j += 4) {
        const g: f32 = relu && !(load<f32>(ys + j) > 0) ? 0 : load<f32>(d + j);
        store<f32>(o + j, g * <f32>a + ((load<f32>(xs + j) - mu) * q + r));
      }
    }
  }
}
