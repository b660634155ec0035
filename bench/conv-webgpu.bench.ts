// Convolution and batch-norm throughput of the WebGPU backend at the small CNN's and PreResNet-20's shapes (batch 128):
// conv2d forward, backward-input and backward-weight in GFLOP/s (2·N·Cout·OH·OW·Cin/groups·kH·kW per pass), and a
// batch-norm forward + backward in ms, on the kernels `--kernels=` picks (auto, gpu or software: the backend's option).
// Usage: node build/bench/conv-webgpu.bench.js [reps=5] [--kernels=auto] [--batch=128]

import {
  createWebGPUBackend,
  type Backend,
  type Buf,
  type Conv2dParams,
  type KernelName,
  type KernelParams,
  type WebGPUOptions,
} from '../engine/index.ts';

const flag = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const reps = Number(process.argv[2]) > 0 ? Number(process.argv[2]) : 5;
const batch = Number(flag('batch') ?? 128);
const be = await createWebGPUBackend({ kernels: (flag('kernels') ?? 'auto') as WebGPUOptions['kernels'] });
console.log(be.info);

interface Shape {
  name: string;
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  pad: number;
}

const SHAPES: Shape[] = [
  { name: 'small CNN layer 1', n: batch, cin: 1, h: 28, w: 28, cout: 32, k: 3, pad: 1 },
  { name: 'small CNN layer 2', n: batch, cin: 32, h: 14, w: 14, cout: 64, k: 3, pad: 1 },
  { name: 'PreResNet-20 16→16', n: batch, cin: 16, h: 32, w: 32, cout: 16, k: 3, pad: 1 },
  { name: 'PreResNet-20 32→32', n: batch, cin: 32, h: 16, w: 16, cout: 32, k: 3, pad: 1 },
  { name: 'PreResNet-20 64→64', n: batch, cin: 64, h: 8, w: 8, cout: 64, k: 3, pad: 1 },
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

/** Best and median wall time (ms) of `reps` runs of `body`, each followed by sync, after one warm-up run. */
async function time(backend: Backend, body: () => void): Promise<{ best: number; median: number }> {
  body();
  await backend.sync();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    body();
    await backend.sync();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { best: times[0], median: times[reps >> 1] };
}

const run = <K extends KernelName>(k: K, ins: Buf[], out: Buf, p: KernelParams[K]): void => be.run(k, ins, out, p);

console.log('| shape | pass | best ms | GFLOP/s (best) | median ms | GFLOP/s (median) |');
console.log('|---|---|---|---|---|---|');
for (const s of SHAPES) {
  const oh = s.h + 2 * s.pad - s.k + 1;
  const ow = s.w + 2 * s.pad - s.k + 1;
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
    strideH: 1,
    strideW: 1,
    padH: s.pad,
    padW: s.pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    hasBias: true,
  };
  const gflop = (2 * s.n * s.cout * oh * ow * s.cin * s.k * s.k) / 1e9;
  const x = filled(s.n * s.cin * s.h * s.w, 1);
  const w = filled(s.cout * s.cin * s.k * s.k, 2);
  const bias = filled(s.cout, 3);
  const dy = filled(s.n * s.cout * oh * ow, 4);
  const y = be.alloc(s.n * s.cout * oh * ow);
  const dx = be.alloc(s.n * s.cin * s.h * s.w);
  const dw = be.alloc(s.cout * s.cin * s.k * s.k);
  const passes: [string, () => void][] = [
    ['forward', () => run('conv2d', [x, w, bias], y, p)],
    ['backward input', () => run('conv2dBackwardInput', [dy, w], dx, p)],
    ['backward weight', () => run('conv2dBackwardWeight', [x, dy], dw, p)],
  ];
  for (const [pass, body] of passes) {
    const t = await time(be, body);
    const rate = (ms: number): string => (gflop / (ms / 1e3)).toFixed(2);
    console.log(
      `| ${s.name} x[${s.n},${s.cin},${s.h},${s.w}] w[${s.cout},${s.cin},${s.k},${s.k}] | ${pass} | ` +
        `${t.best.toFixed(1)} | ${rate(t.best)} | ${t.median.toFixed(1)} | ${rate(t.median)} |`,
    );
  }
  for (const b of [x, w, bias, dy, y, dx, dw]) be.free(b);
}

// Batch norm + ReLU in training mode on [batch, 64, 14, 14] as batchNormRelu runs it: forward = bnStats (mean and
// variance in one pass), apply + ReLU; backward = Σg and Σg·(x − mean) in one pass, dx.
{
  const [n, c, s] = [batch, 64, 14 * 14];
  const size = n * c * s;
  const x = filled(size, 5);
  const dy = filled(size, 6);
  const gamma = filled(c, 7);
  const beta = filled(c, 8);
  const [mean, variance, stats, sums] = [be.alloc(c), filled(c, 9), be.alloc(2 * c), be.alloc(2 * c)];
  const y = be.alloc(size);
  const dx = be.alloc(size);
  const forward = (): void => {
    run('bnStats', [x], stats, { n, c, s });
    run('bnApply', [x, mean, variance, gamma, beta], y, { n, c, s, eps: 1e-5, relu: true });
  };
  const backward = (): void => {
    run('bnBackwardStats', [dy, x, mean, y], sums, { n, c, s, relu: true });
    const p = { n, c, s, eps: 1e-5, training: true, relu: true };
    run('bnBackwardInput', [dy, x, mean, variance, gamma, sums, y], dx, p);
  };
  const f = await time(be, forward);
  const b = await time(be, backward);
  const fb = await time(be, () => {
    forward();
    backward();
  });
  console.log(
    `\nbatch norm + ReLU [${n},${c},14,14]: forward best ${f.best.toFixed(1)} ms (median ${f.median.toFixed(1)}), ` +
      `backward best ${b.best.toFixed(1)} ms (median ${b.median.toFixed(1)}), ` +
      `forward+backward best ${fb.best.toFixed(1)} ms (median ${fb.median.toFixed(1)})`,
  );
  for (const buf of [x, dy, gamma, beta, mean, variance, stats, sums, y, dx]) be.free(buf);
}
be.destroy();
