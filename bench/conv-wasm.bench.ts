// Convolution, pooling and batch-norm throughput of the wasm backend (1 thread, SIMD) at the small CNN's and
// PreResNet-20's shapes, batch 128: conv2d forward, backward-input and backward-weight in GFLOP/s
// (2·N·Cout·OH·OW·Cin/groups·kH·kW per pass), next to a 512³ matmul; max-pool and batch-norm passes in ms.
// Run: node build.mjs wasm bench && node build/bench/conv-wasm.bench.js [reps=5] [conv=auto] [threads=1]
// (conv: auto, direct, winograd2 or winograd4: the wasm backend's `conv` option).

import {
  createWasmBackend,
  type Backend,
  type Buf,
  type Conv2dParams,
  type KernelName,
  type KernelParams,
} from '../engine/index.ts';
import type { ConvAlgorithm } from '../engine/backends/wasm-conv-rule.ts';

const reps = Number(process.argv[2]) > 0 ? Number(process.argv[2]) : 5;
const conv = (process.argv[3] ?? 'auto') as ConvAlgorithm;
const threads = Number(process.argv[4] ?? 1);
const be: Backend = await createWasmBackend({ threads, conv });

interface Shape {
  name: string;
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  pad: number;
  stride?: number;
  groups?: number;
  bias?: boolean;
}

const SHAPES: Shape[] = [
  { name: 'small CNN layer 1', n: 128, cin: 1, h: 28, w: 28, cout: 32, k: 3, pad: 1, bias: true },
  { name: 'small CNN layer 2', n: 128, cin: 32, h: 14, w: 14, cout: 64, k: 3, pad: 1, bias: true },
  { name: 'PreResNet-20 16→16', n: 128, cin: 16, h: 32, w: 32, cout: 16, k: 3, pad: 1 },
  { name: 'PreResNet-20 32→32', n: 128, cin: 32, h: 16, w: 16, cout: 32, k: 3, pad: 1 },
  { name: 'PreResNet-20 64→64', n: 128, cin: 64, h: 8, w: 8, cout: 64, k: 3, pad: 1 },
  { name: 'PreResNet-20 16→32 s2', n: 128, cin: 16, h: 32, w: 32, cout: 32, k: 3, pad: 1, stride: 2 },
  { name: 'depthwise 64 3×3', n: 128, cin: 64, h: 14, w: 14, cout: 64, k: 3, pad: 1, groups: 64 },
];

/** A buffer of `size` deterministic values in [-0.5, 0.5). */
function filled(size: number, seed: number): Buf {
  const b = be.alloc(size);
  be.write(
    b,
    Float32Array.from({ length: size }, (_, i) => (((i + seed) * 7919) % 1013) / 1013 - 0.5),
  );
  return b;
}

/**
 * Best and median time (ms) of `reps` runs of `body`, after one warm-up run. On one thread this is the process's CPU
 * time (user + system), which other processes on a shared machine barely move; on several, wall time.
 */
function time(body: () => void): { best: number; median: number } {
  body();
  const times: number[] = [];
  const cpu = threads === 1;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now(),
      c0 = process.cpuUsage();
    body();
    const c = process.cpuUsage(c0);
    times.push(cpu ? (c.user + c.system) / 1000 : performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { best: times[0], median: times[reps >> 1] };
}

const run = <K extends KernelName>(k: K, ins: Buf[], out: Buf, p: KernelParams[K]): void => be.run(k, ins, out, p);
const row = (cells: (string | number)[]): void => console.log(`| ${cells.join(' | ')} |`);

console.log(
  `conv (${conv}) on ${be.info}, ${reps} timed runs each (best / median, ${threads === 1 ? 'CPU' : 'wall'} time)`,
);
{
  const n = 512;
  const a = filled(n * n, 1),
    b = filled(n * n, 2),
    out = be.alloc(n * n);
  const t = time(() =>
    run('matmul', [a, b], out, {
      batch: 1,
      m: n,
      n,
      k: n,
      transA: false,
      transB: false,
      aBatchStride: 0,
      bBatchStride: 0,
    }),
  );
  console.log(`matmul 512³: ${((2 * n ** 3) / t.best / 1e6).toFixed(1)} GFLOP/s best\n`);
  for (const buf of [a, b, out]) be.free(buf);
}

row(['shape', 'pass', 'best ms', 'GFLOP/s best', 'median ms', 'GFLOP/s median']);
row(['---', '---', '---', '---', '---', '---']);
for (const s of SHAPES) {
  const st = s.stride ?? 1,
    g = s.groups ?? 1;
  const oh = Math.floor((s.h + 2 * s.pad - s.k) / st) + 1;
  const ow = Math.floor((s.w + 2 * s.pad - s.k) / st) + 1;
  const p: Conv2dParams = {
    n: s.n,
    cin: s.cin,
    h: s.h,
    w: s.w,
    cout: s.cout,
    kh: s.k,
    kw: s.k,
    oh,
    ow,
    strideH: st,
    strideW: st,
    padH: s.pad,
    padW: s.pad,
    dilationH: 1,
    dilationW: 1,
    groups: g,
    hasBias: s.bias ?? false,
  };
  const gflop = (2 * s.n * s.cout * oh * ow * (s.cin / g) * s.k * s.k) / 1e9;
  const x = filled(s.n * s.cin * s.h * s.w, 1);
  const w = filled(s.cout * (s.cin / g) * s.k * s.k, 2);
  const bias = filled(s.cout, 3);
  const dy = filled(s.n * s.cout * oh * ow, 4);
  const y = be.alloc(s.n * s.cout * oh * ow);
  const dx = be.alloc(s.n * s.cin * s.h * s.w);
  const dw = be.alloc(s.cout * (s.cin / g) * s.k * s.k);
  const passes: [string, () => void][] = [
    ['forward', () => run('conv2d', p.hasBias ? [x, w, bias] : [x, w], y, p)],
    ['backward input', () => run('conv2dBackwardInput', [dy, w], dx, p)],
    ['backward weight', () => run('conv2dBackwardWeight', [x, dy], dw, p)],
  ];
  for (const [pass, body] of passes) {
    const t = time(body);
    row([
      s.name,
      pass,
      t.best.toFixed(2),
      ((gflop / t.best) * 1e3).toFixed(1),
      t.median.toFixed(2),
      ((gflop / t.median) * 1e3).toFixed(1),
    ]);
  }
  for (const buf of [x, w, bias, dy, y, dx, dw]) be.free(buf);
}

console.log('');
row(['kernels', 'shape', 'best ms', 'median ms', 'GB/s best (bytes read + written)']);
row(['---', '---', '---', '---', '---']);
{
  const [nc, h, wd] = [128 * 32, 28, 28];
  const pp = {
    mode: 'max' as const,
    nc,
    h,
    w: wd,
    kh: 2,
    kw: 2,
    oh: h / 2,
    ow: wd / 2,
    strideH: 2,
    strideW: 2,
    padH: 0,
    padW: 0,
    countIncludePad: true,
  };
  const x = filled(nc * h * wd, 5),
    y = be.alloc((nc * h * wd) / 4),
    dy = filled((nc * h * wd) / 4, 6),
    dx = be.alloc(nc * h * wd);
  const fwd = time(() => run('pool2d', [x], y, pp));
  const bwd = time(() => run('pool2dBackward', [x, dy], dx, pp));
  const gb = (bytes: number, ms: number): string => (bytes / ms / 1e6).toFixed(1);
  const el = nc * h * wd * 4;
  row(['max-pool 2×2 forward', '[128,32,28,28]', fwd.best.toFixed(2), fwd.median.toFixed(2), gb(el * 1.25, fwd.best)]);
  row(['max-pool 2×2 backward', '[128,32,28,28]', bwd.best.toFixed(2), bwd.median.toFixed(2), gb(el * 2.25, bwd.best)]);
  for (const buf of [x, y, dy, dx]) be.free(buf);
}
{
  const [n, c, s] = [128, 64, 196];
  const size = n * c * s;
  const x = filled(size, 7),
    dy = filled(size, 8),
    y = be.alloc(size),
    dx = be.alloc(size);
  const mean = be.alloc(c),
    variance = be.alloc(c),
    gamma = filled(c, 9),
    beta = filled(c, 10),
    sums = be.alloc(2 * c),
    stats2 = be.alloc(2 * c);
  const stats = { n, c, s, scale: 1 / (n * s) };
  const r = be.alloc(size),
    g = be.alloc(size);
  const relu = { op: 'relu' as const, size, alpha: 0 };
  const gate = { op: 'gate' as const, shape: [size], aStrides: [1], bStrides: [1] };
  // The ops before fusion: mean and variance in two passes, bnApply, then relu; backward gate, Σg, Σg(x − mean), dx.
  const passes: [string, number, () => void][] = [
    [
      'BN-ReLU forward, unfused (sum, var, apply, relu)',
      6,
      () => {
        run('channelSum', [x], mean, stats);
        run('channelVar', [x, mean], variance, stats);
        run('bnApply', [x, mean, variance, gamma, beta], y, { n, c, s, eps: 1e-5 });
        run('unary', [y], r, relu);
      },
    ],
    [
      'BN-ReLU forward, fused (bnStats, apply+relu)',
      3,
      () => {
        run('bnStats', [x], stats2, { n, c, s });
        run('bnApply', [x, mean, variance, gamma, beta], y, { n, c, s, eps: 1e-5, relu: true });
      },
    ],
    [
      'BN-ReLU backward, unfused (gate, sum, dot, input)',
      9,
      () => {
        run('binary', [dy, y], g, gate);
        run('channelSum', [g], mean, { ...stats, scale: 1 });
        run('channelDot', [g, x, mean], variance, { ...stats, scale: 1 });
        run('bnBackwardInput', [g, x, mean, variance, gamma, sums], dx, { n, c, s, eps: 1e-5, training: true });
      },
    ],
    [
      'BN-ReLU backward, fused (stats, input, both gated)',
      7,
      () => {
        run('bnBackwardStats', [dy, x, mean, y], sums, { n, c, s, relu: true });
        const p = { n, c, s, eps: 1e-5, training: true, relu: true };
        run('bnBackwardInput', [dy, x, mean, variance, gamma, sums, y], dx, p);
      },
    ],
  ];
  for (const [name, tensors, body] of passes) {
    const t = time(body);
    const gbs = ((size * 4 * tensors) / t.best / 1e6).toFixed(1);
    row([name, '[128,64,14,14]', t.best.toFixed(2), t.median.toFixed(2), `${gbs} (${tensors} tensor passes)`]);
  }
  be.free(r);
  be.free(g);
  for (const buf of [x, dy, y, dx, mean, variance, gamma, beta, sums, stats2]) be.free(buf);
}
be.destroy();
