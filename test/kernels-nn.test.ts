// The neural-network kernels (conv, pooling, batch norm, dropout, fused cross-entropy, in-place updates) on every
// backend against the plain reference kernels.

import { test } from 'uvu';
import type { Conv2dParams, KernelName, Pool2dParams } from '../engine/backend.ts';
import { outLen } from '../engine/shape.ts';
import { rand, registerKernelCases, type KernelCase } from './util/kernel-case.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const cases: KernelCase<any>[] = [];
const add = <K extends KernelName>(c: KernelCase<K>): void => {
  cases.push(c);
};

interface ConvSpec {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: [number, number];
  stride?: number;
  pad?: number;
  dil?: number;
  groups?: number;
  bias?: boolean;
}

function conv(name: string, c: ConvSpec): void {
  const [kh, kw] = c.k;
  const s = c.stride ?? 1;
  const pd = c.pad ?? 0;
  const d = c.dil ?? 1;
  const g = c.groups ?? 1;
  const p: Conv2dParams = {
    n: c.n,
    cin: c.cin,
    h: c.h,
    w: c.w,
    cout: c.cout,
    kh,
    kw,
    oh: outLen(c.h, kh, s, pd, d),
    ow: outLen(c.w, kw, s, pd, d),
    strideH: s,
    strideW: s,
    padH: pd,
    padW: pd,
    dilationH: d,
    dilationW: d,
    groups: g,
    hasBias: c.bias ?? false,
  };
  const xs = c.n * c.cin * c.h * c.w;
  const ws = c.cout * (c.cin / g) * kh * kw;
  const ys = c.n * c.cout * p.oh * p.ow;
  const tol = 2e-5 * Math.sqrt((c.cin / g) * kh * kw * Math.max(1, (c.n * p.oh * p.ow) / 64));
  const x = rand(xs, xs + 1);
  const w = rand(ws, ws + 2, -0.5, 0.5);
  const inputs = p.hasBias ? [x, w, rand(c.cout, 3)] : [x, w];
  // Outputs start dirty (as pooled buffers do): kernels must overwrite, never accumulate into, their output.
  add({ name: `conv2d ${name}`, kernel: 'conv2d', inputs, outSize: ys, params: p, tol, init: rand(ys, 11) });
  add({
    name: `conv2dBackwardInput ${name}`,
    kernel: 'conv2dBackwardInput',
    inputs: [rand(ys, ys + 4), w],
    outSize: xs,
    params: p,
    tol,
    init: rand(xs, 12),
  });
  add({
    name: `conv2dBackwardWeight ${name}`,
    kernel: 'conv2dBackwardWeight',
    inputs: [x, rand(ys, ys + 5)],
    outSize: ws,
    params: p,
    tol: tol * 4,
    init: rand(ws, 13),
  });
}

conv('3x3 pad 1 bias', { n: 2, cin: 3, h: 7, w: 7, cout: 4, k: [3, 3], pad: 1, bias: true });
conv('3x3 stride 2', { n: 2, cin: 3, h: 9, w: 8, cout: 5, k: [3, 3], stride: 2, pad: 1 });
conv('3x3 dilation 2', { n: 1, cin: 2, h: 9, w: 9, cout: 3, k: [3, 3], dil: 2, pad: 2 });
conv('groups 2', { n: 2, cin: 4, h: 6, w: 6, cout: 6, k: [3, 3], pad: 1, groups: 2, bias: true });
conv('depthwise', { n: 2, cin: 5, h: 6, w: 7, cout: 5, k: [3, 3], pad: 1, groups: 5 });
conv('1x1', { n: 3, cin: 8, h: 5, w: 5, cout: 7, k: [1, 1] });
conv('1x1 stride 2', { n: 2, cin: 6, h: 8, w: 8, cout: 4, k: [1, 1], stride: 2 });
conv('3x1 no pad', { n: 2, cin: 3, h: 6, w: 5, cout: 2, k: [3, 1] });
conv('small CNN layer 1', { n: 4, cin: 1, h: 28, w: 28, cout: 32, k: [3, 3], pad: 1, bias: true });
conv('small CNN layer 2', { n: 2, cin: 32, h: 14, w: 14, cout: 64, k: [3, 3], pad: 1, bias: true });
conv('ResNet 16→32 stride 2', { n: 2, cin: 16, h: 16, w: 16, cout: 32, k: [3, 3], stride: 2, pad: 1 });
conv('PreResNet stem 3→16', { n: 8, cin: 3, h: 32, w: 32, cout: 16, k: [3, 3], pad: 1 });
// 80·3·3 = 720 taps: more than one packed block of the forward (KC_MAX = 576 in wasm/conv-forward.ts).
conv('deep 80→6, two tap blocks', { n: 2, cin: 80, h: 6, w: 6, cout: 6, k: [3, 3], pad: 1, bias: true });

function pool(
  name: string,
  mode: 'max' | 'avg',
  nc: number,
  h: number,
  w: number,
  k: number,
  s: number,
  pd: number,
  countIncludePad = true,
  ties = false,
): void {
  const p: Pool2dParams = {
    mode,
    nc,
    h,
    w,
    kh: k,
    kw: k,
    oh: outLen(h, k, s, pd),
    ow: outLen(w, k, s, pd),
    strideH: s,
    strideW: s,
    padH: pd,
    padW: pd,
    countIncludePad,
  };
  let x = rand(nc * h * w, nc * h + k);
  if (ties) x = x.map((v) => Math.round(v));
  add({ name: `pool2d ${mode} ${name}`, kernel: 'pool2d', inputs: [x], outSize: nc * p.oh * p.ow, params: p });
  add({
    name: `pool2dBackward ${mode} ${name}`,
    kernel: 'pool2dBackward',
    inputs: [x, rand(nc * p.oh * p.ow, 9)],
    outSize: nc * h * w,
    params: p,
    init: rand(nc * h * w, 14),
  });
}
pool('2x2 s2', 'max', 6, 8, 8, 2, 2, 0);
pool('2x2 s2 odd size', 'max', 3, 7, 9, 2, 2, 0);
pool('3x3 s2 p1', 'max', 4, 9, 9, 3, 2, 1);
pool('2x2 s2 ties', 'max', 4, 6, 6, 2, 2, 0, true, true);
// ow = 7 and 5: the SIMD path's last, overlapping step (ow ≥ 4, not a multiple of 4), with and without ties.
pool('2x2 s2 ow 7', 'max', 3, 14, 14, 2, 2, 0);
pool('2x2 s2 ow 5 odd width ties', 'max', 2, 10, 11, 2, 2, 0, true, true);
pool('3x3 s1 ties overlap', 'max', 2, 6, 6, 3, 1, 1, true, true);
pool('2x2 s2', 'avg', 6, 8, 8, 2, 2, 0);
pool('3x3 s1 p1 include pad', 'avg', 3, 6, 7, 3, 1, 1, true);
pool('3x3 s1 p1 exclude pad', 'avg', 3, 6, 7, 3, 1, 1, false);
pool('3x3 s2 p1 include pad', 'avg', 2, 8, 8, 3, 2, 1, true);

for (const [n, c, s] of [
  [8, 3, 49],
  [128, 64, 1],
  [2, 5, 1000],
  [3, 7, 5],
  [8, 16, 1024],
]) {
  const x = rand(n * c * s, n + c + s, -1, 3);
  const mean = rand(c, c + 1, 0.5, 1.5);
  const tol = 2e-5 * Math.sqrt(n * s);
  const shape = `[${n},${c},${s}]`;
  add({
    name: `channelSum ${shape}`,
    kernel: 'channelSum',
    inputs: [x],
    outSize: c,
    params: { n, c, s, scale: 1 / (n * s) },
    tol,
  });
  add({
    name: `channelVar ${shape}`,
    kernel: 'channelVar',
    inputs: [x, mean],
    outSize: c,
    params: { n, c, s, scale: 1 / (n * s) },
    tol,
  });
  add({
    name: `channelDot ${shape}`,
    kernel: 'channelDot',
    inputs: [rand(n * c * s, 77), x, mean],
    outSize: c,
    params: { n, c, s, scale: 1 },
    tol,
  });
  const variance = rand(c, c + 2, 0.1, 2);
  const gamma = rand(c, c + 3);
  const beta = rand(c, c + 4);
  add({
    name: `bnStats ${shape}`,
    kernel: 'bnStats',
    inputs: [x],
    outSize: 2 * c,
    params: { n, c, s },
    tol,
  });
  for (const relu of [false, true]) {
    add({
      name: `bnApply ${shape} relu=${relu}`,
      kernel: 'bnApply',
      inputs: [x, mean, variance, gamma, beta],
      outSize: n * c * s,
      params: { n, c, s, eps: 1e-5, relu },
    });
    // y: a bnApply output whose sign gates dy, with exact zeros (relu(0) has gradient 0) and a NaN (gradient 0).
    const y = rand(n * c * s, 78).map((v, i) => (i % 5 === 0 ? 0 : i === 7 ? NaN : v));
    const gate = relu ? [y] : [];
    add({
      name: `bnBackwardStats ${shape} relu=${relu}`,
      kernel: 'bnBackwardStats',
      inputs: [rand(n * c * s, 5), x, mean, ...gate],
      outSize: 2 * c,
      params: { n, c, s, relu },
      tol,
    });
    for (const training of [true, false]) {
      add({
        name: `bnBackwardInput ${shape} training=${training} relu=${relu}`,
        kernel: 'bnBackwardInput',
        inputs: [rand(n * c * s, 5), x, mean, variance, gamma, rand(2 * c, 6, -5, 5), ...gate],
        outSize: n * c * s,
        params: { n, c, s, eps: 1e-5, training, relu },
      });
    }
  }
}

// Channel sums feed batch-norm backward, where dx = γ·inv·(dy − Σdy/M − x̂·inv·Σdy(x−μ)/M) cancels heavily; PyTorch
// accumulates these sums in double on CPU, so the kernels must be accurate to ~1e-7 even over 8192 values per channel.
{
  const [n, c, s] = [8, 16, 1024];
  const x = rand(n * c * s, 41, -1, 1).map((v) => 3 + 1e-3 * v);
  const mean = new Float32Array(c).fill(3);
  add({
    name: 'channelSum accurate over 8192 values',
    kernel: 'channelSum',
    inputs: [x],
    outSize: c,
    params: { n, c, s, scale: 1 / (n * s) },
    tol: 2e-7,
  });
  // Mean 3, spread 1e-3: Σx²/M − mean² would keep no correct digit of the variance in float32.
  add({
    name: 'bnStats accurate over 8192 values (variance 3e-7 around a mean of 3)',
    kernel: 'bnStats',
    inputs: [x],
    outSize: 2 * c,
    params: { n, c, s },
    tol: 2e-7,
  });
  add({
    name: 'channelDot accurate over 8192 values',
    kernel: 'channelDot',
    inputs: [x, x, mean],
    outSize: c,
    params: { n, c, s, scale: 1 },
    tol: 2e-7,
  });
}

for (const [p, seed] of [
  [0.3, 12345],
  [0, 1],
  [1, 2],
  [0.5, 0xffffffff],
]) {
  add({
    name: `dropout p=${p} seed=${seed}`,
    kernel: 'dropout',
    inputs: [rand(5000, 8)],
    outSize: 5000,
    params: { size: 5000, p, seed, scale: p < 1 ? 1 / (1 - p) : 0 },
  });
}

for (const [rows, classes] of [
  [16, 10],
  [3, 1000],
  [128, 10],
]) {
  const logits = rand(rows * classes, rows + classes, -6, 6);
  const labels = Float32Array.from({ length: rows }, (_, i) => (i * 7) % classes);
  if (rows === 16) labels[3] = classes; // out of range: no target term
  add({
    name: `softmaxCrossEntropy ${rows}x${classes}`,
    kernel: 'softmaxCrossEntropy',
    inputs: [logits, labels],
    outSize: rows,
    params: { rows, classes },
  });
  add({
    name: `softmaxCrossEntropyBackward ${rows}x${classes} scalar dy`,
    kernel: 'softmaxCrossEntropyBackward',
    inputs: [logits, labels, Float32Array.of(0.7)],
    outSize: rows * classes,
    params: { rows, classes, dyScalar: true, scale: 1 / rows },
  });
  add({
    name: `softmaxCrossEntropyBackward ${rows}x${classes} per-row dy`,
    kernel: 'softmaxCrossEntropyBackward',
    inputs: [logits, labels, rand(rows, 3)],
    outSize: rows * classes,
    params: { rows, classes, dyScalar: false, scale: 1 },
  });
}

for (const size of [7, 1000, 70001]) {
  for (const n of [1, 7]) {
    // SWA's running average a ← a + (x − a)/(n + 1) as axpby (swa/averaged-model.ts).
    add({
      name: `axpby ${size} as SWA's average, n=${n}`,
      kernel: 'axpby',
      inputs: [rand(size, 21)],
      outSize: size,
      init: rand(size, 22),
      params: { size, alpha: n / (n + 1), beta: 1 / (n + 1) },
    });
  }
  add({
    name: `axpby ${size}`,
    kernel: 'axpby',
    inputs: [rand(size, 1)],
    outSize: size,
    init: rand(size, 2),
    params: { size, alpha: 0.9, beta: 0.3 },
  });
  for (const first of [true, false]) {
    add({
      name: `sgdMomentum ${size} first=${first}`,
      kernel: 'sgdMomentum',
      inputs: [rand(size, 3), rand(size, 4)],
      outSize: size,
      init: rand(size, 5),
      params: { size, momentum: 0.9, dampening: 0.1, weightDecay: 5e-4, first },
    });
  }
  for (const [momentum, nesterov] of [
    [0, false],
    [0.9, false],
    [0.9, true],
  ] as const) {
    add({
      name: `sgdApply ${size} momentum=${momentum} nesterov=${nesterov}`,
      kernel: 'sgdApply',
      inputs: [rand(size, 6), rand(size, 7)],
      outSize: size,
      init: rand(size, 8),
      params: { size, lr: 0.05, momentum, weightDecay: 5e-4, nesterov },
    });
  }
}

await registerKernelCases(cases);
test.run();
