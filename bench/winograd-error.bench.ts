// Numerical error of the wasm convolutions against float64: the direct implicit GEMM, Winograd F(2×2, 3×3) and
// F(4×4, 3×3), forward, input gradient and weight gradient, at the small CNN's and PreResNet-20's 3×3 shapes with
// realistic values (x = relu(N(0, 1)) as after BN-ReLU, He-initialised weights, dY ~ N(0, 1)).
// Prints, per pass, the largest error over the largest |reference| (normwise) and the largest and RMS error
// relative to each element, over elements with |reference| ≥ 1% of the largest.
// Run: node build.mjs wasm bench && node build/bench/winograd-error.bench.js [batch=8]

import { createWasmBackend, Generator, type Backend, type Conv2dParams, type KernelName } from '../engine/index.ts';
import { referenceKernels } from '../engine/kernel-reference.ts';

const batch = Number(process.argv[2] ?? 8);
const SHAPES = [
  { name: 'small CNN layer 2, 32→64 14×14', cin: 32, cout: 64, hw: 14 },
  { name: 'PreResNet-20 16→16 32×32', cin: 16, cout: 16, hw: 32 },
  { name: 'PreResNet-20 32→32 16×16', cin: 32, cout: 32, hw: 16 },
  { name: 'PreResNet-20 64→64 8×8', cin: 64, cout: 64, hw: 8 },
];
const ALGOS = ['direct', 'winograd2', 'winograd4'] as const;
const backends = new Map<string, Backend>();
for (const conv of ALGOS) backends.set(conv, await createWasmBackend({ threads: 1, conv }));

async function run(be: Backend, kernel: KernelName, inputs: Float32Array[], size: number, p: Conv2dParams) {
  const bufs = inputs.map((x) => {
    const b = be.alloc(x.length);
    be.write(b, x);
    return b;
  });
  const out = be.alloc(size);
  be.run(kernel, bufs, out, p as never);
  const got = await be.read(out, size);
  for (const b of [...bufs, out]) be.free(b);
  return got;
}

/** Normwise, largest and RMS elementwise relative error of got against want. */
function errors(got: Float32Array, want: Float64Array): string {
  const top = want.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
  let worst = 0,
    rel = 0,
    sq = 0,
    count = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    worst = Math.max(worst, e);
    if (Math.abs(want[i]) >= 0.01 * top) {
      const r = e / Math.abs(want[i]);
      rel = Math.max(rel, r);
      sq += r * r;
      count++;
    }
  }
  const f = (v: number): string => v.toExponential(1);
  return `${f(worst / top)} / ${f(rel)} / ${f(Math.sqrt(sq / count))}`;
}

const g = new Generator(5);
console.log(`batch ${batch}; each cell: max|err|/max|ref| / max rel / RMS rel (elements ≥ 1% of max|ref|)`);
console.log(`| shape | pass | ${ALGOS.join(' | ')} |`);
console.log(`| --- | --- | ${ALGOS.map(() => '---').join(' | ')} |`);
for (const s of SHAPES) {
  const p: Conv2dParams = {
    n: batch,
    cin: s.cin,
    h: s.hw,
    w: s.hw,
    cout: s.cout,
    kh: 3,
    kw: 3,
    oh: s.hw,
    ow: s.hw,
    strideH: 1,
    strideW: 1,
    padH: 1,
    padW: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    hasBias: false,
  };
  const xs = batch * s.cin * s.hw * s.hw,
    ys = batch * s.cout * s.hw * s.hw,
    ws = s.cout * s.cin * 9;
  const x = Float32Array.from({ length: xs }, () => Math.max(0, g.normal()));
  const w = Float32Array.from({ length: ws }, () => g.normal() * Math.sqrt(2 / (9 * s.cin)));
  const dy = Float32Array.from({ length: ys }, () => g.normal());
  const passes: [string, KernelName, Float32Array[], number][] = [
    ['forward', 'conv2d', [x, w], ys],
    ['input gradient', 'conv2dBackwardInput', [dy, w], xs],
    ['weight gradient', 'conv2dBackwardWeight', [x, dy], ws],
  ];
  for (const [name, kernel, inputs, size] of passes) {
    const want = new Float64Array(size);
    (referenceKernels[kernel] as (i: Float32Array[], o: Float64Array, p: Conv2dParams) => void)(inputs, want, p);
    const cells: string[] = [];
    for (const algo of ALGOS) cells.push(errors(await run(backends.get(algo)!, kernel, inputs, size, p), want));
    console.log(`| ${s.name} | ${name} | ${cells.join(' | ')} |`);
  }
}
for (const be of backends.values()) be.destroy();
