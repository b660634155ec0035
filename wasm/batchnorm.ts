// Batch-norm kernels over x viewed as [n, c, s]: per-channel sums (Σx, Σ(x − mean)², Σa·(b − mean)), the
// normalising affine map and the input gradient. Sums run sixteen f32 lanes over blocks of a row, then add into f64.

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

/**
 * out = (x − mu)·k + b over one row of s floats, four lanes at a time. NOTE: subtracting the mean first (rather than
 * folding it into b) keeps the result accurate when |mean| is large next to the spread.
 */
@inline function affineRow(x: usize, out: usize, s: i32, mu: f32, k: f32, b: f32): void {
  const muv = f32x4.splat(mu), kv = f32x4.splat(k), bv = f32x4.splat(b);
  const end4 = <usize>(s & ~3) << 2, end = <usize>s << 2;
  let i: usize = 0;
  for (; i < end4; i += 16) v128.store(out + i, f32x4.add(f32x4.mul(f32x4.sub(v128.load(x + i), muv), kv), bv));
  for (; i < end; i += 4) store<f32>(out + i, (load<f32>(x + i) - mu) * k + b);
}

/** out = (x − mean)/√(var + eps) · gamma + beta per channel of x [n, c, s]. */
export function bnApply(x: usize, mean: usize, variance: usize, gamma: usize, beta: usize, out: usize,
  n: i32, c: i32, s: i32, eps: f32, c0: i32, c1: i32): void {
  for (let ch = c0; ch < c1; ch++) {
    const at = <usize>ch << 2;
    const inv = 1 / Math.sqrt(<f64>load<f32>(variance + at) + <f64>eps);
    const k = <f32>(inv * <f64>load<f32>(gamma + at));
    const mu = load<f32>(mean + at), b = load<f32>(beta + at);
    for (let i = 0; i < n; i++) {
      const row = <usize>(i * c + ch) * <usize>s << 2;
      affineRow(x + row, out + row, s, mu, k, b);
    }
  }
}

/**
 * dx per channel of [n, c, s], M = n·s, inv = 1/√(var + eps): training, gamma·inv·(dy − Σdy/M − (x − mean)·inv²·
 * Σdy(x − mean)/M); otherwise gamma·inv·dy.
 */
export function bnBackwardInput(dy: usize, x: usize, mean: usize, variance: usize, gamma: usize, sumDy: usize,
  sumDyXmu: usize, out: usize, n: i32, c: i32, s: i32, eps: f32, training: bool, c0: i32, c1: i32): void {
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
    for (let i = 0; i < n; i++) {
      const row = <usize>(i * c + ch) * <usize>s << 2;
      const d = dy + row, xs = x + row, o = out + row;
      const end4 = <usize>(s & ~3) << 2, end = <usize>s << 2;
      let j: usize = 0;
      for (; j < end4; j += 16) {
        const xm = f32x4.sub(v128.load(xs + j), muv);
        v128.store(o + j, f32x4.add(f32x4.mul(v128.load(d + j), av), f32x4.add(f32x4.mul(xm, qv), rv)));
      }
      for (; j < end; j += 4) store<f32>(o + j, load<f32>(d + j) * <f32>a + ((load<f32>(xs + j) - mu) * q + r));
    }
  }
}
