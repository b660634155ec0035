// Winograd convolution on the wasm backend (wasm/winograd.ts), forced with the backend's `conv` option: F(2×2, 3×3)
// and F(4×4, 3×3), forward, input and weight gradients, against the float64 reference over the geometries the
// tiling must get right (padding 0–2, sizes that are not multiples of the tile, partial groups of four tiles, panels
// that span images or cut an image, rows wider than a panel, odd channel counts, bias); the split over threads
// changes no bit (forward, input) or gives the same bits every run (weight); and the rule that picks the algorithm.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, Conv2dParams, KernelName } from '../engine/backend.ts';
import { createWasmBackend } from '../engine/backends/wasm.ts';
import { winogradTile, type ConvAlgorithm } from '../engine/backends/wasm-conv-rule.ts';
import { referenceKernels } from '../engine/kernel-reference.ts';
import { outLen } from '../engine/shape.ts';
import { rand } from './util/kernel-case.ts';

const backends = new Map<string, Backend>();
for (const conv of ['direct', 'winograd2', 'winograd4'] as const) {
  backends.set(conv, await createWasmBackend({ threads: 1, conv }));
  const three = await createWasmBackend({ threads: 3, conv, grain: { compute: 1, memory: 1 } });
  if (!three.info.includes('3 threads')) throw new Error(`wasm on 3 threads is unavailable: ${three.info}`);
  backends.set(`${conv}-3threads`, three);
}

interface Spec {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  pad: number | [number, number];
  bias?: boolean;
}

function params(s: Spec): Conv2dParams {
  const [padH, padW] = typeof s.pad === 'number' ? [s.pad, s.pad] : s.pad;
  return {
    n: s.n,
    cin: s.cin,
    h: s.h,
    w: s.w,
    cout: s.cout,
    kh: 3,
    kw: 3,
    oh: outLen(s.h, 3, 1, padH, 1),
    ow: outLen(s.w, 3, 1, padW, 1),
    strideH: 1,
    strideW: 1,
    padH,
    padW,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    hasBias: s.bias ?? false,
  };
}

async function run(be: Backend, kernel: KernelName, inputs: Float32Array[], size: number, p: Conv2dParams) {
  const bufs = inputs.map((x) => {
    const b = be.alloc(x.length);
    be.write(b, x);
    return b;
  });
  const out = be.alloc(size);
  be.write(out, rand(size, 99)); // a dirty output: the kernel must overwrite every element
  be.run(kernel, bufs, out, p as never);
  const got = await be.read(out, size);
  for (const b of [...bufs, out]) be.free(b);
  return got;
}

type ConvKernel = 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight';

/** Inputs, output size and float64 result of one pass of a case. */
function pass(s: Spec, kernel: ConvKernel) {
  const p = params(s);
  const xs = p.n * p.cin * p.h * p.w,
    ys = p.n * p.cout * p.oh * p.ow,
    ws = p.cout * p.cin * 9;
  const w = rand(ws, 7, -0.5, 0.5);
  const inputs = {
    conv2d: [rand(xs, 5), w, ...(p.hasBias ? [rand(p.cout, 6)] : [])],
    conv2dBackwardInput: [rand(ys, 8), w],
    conv2dBackwardWeight: [rand(xs, 5), rand(ys, 8)],
  }[kernel];
  const size = { conv2d: ys, conv2dBackwardInput: xs, conv2dBackwardWeight: ws }[kernel];
  const want = new Float64Array(size);
  (referenceKernels[kernel] as (i: Float32Array[], o: Float64Array, p: Conv2dParams) => void)(inputs, want, p);
  return { p, inputs, size, want };
}

const CASES: [string, Spec][] = [
  ['pad 1, 7×7 (partial tiles and groups)', { n: 2, cin: 3, h: 7, w: 7, cout: 4, pad: 1, bias: true }],
  ['pad 0, 10×9', { n: 2, cin: 5, h: 10, w: 9, cout: 3, pad: 0 }],
  ['pad 2, 5×6', { n: 1, cin: 4, h: 5, w: 6, cout: 5, pad: 2, bias: true }],
  ['pad (0, 2), 6×11', { n: 2, cin: 2, h: 6, w: 11, cout: 2, pad: [0, 2] }],
  ['3×3 input, pad 0 (one output)', { n: 3, cin: 2, h: 3, w: 3, cout: 3, pad: 0 }],
  ['1 output channel, 1 input channel', { n: 2, cin: 1, h: 8, w: 8, cout: 1, pad: 1 }],
  ['32×32: several panels per image for F(2, 3)', { n: 1, cin: 3, h: 32, w: 32, cout: 5, pad: 1 }],
  ['40×18: partial last panel', { n: 1, cin: 2, h: 40, w: 18, cout: 3, pad: 1, bias: true }],
  ['5×140: one tile row holds more tiles than a panel', { n: 2, cin: 3, h: 5, w: 140, cout: 4, pad: 1 }],
  [
    '5 images of 8×8 (weight gradient: several images per panel, a partial last group)',
    {
      n: 5,
      cin: 3,
      h: 8,
      w: 8,
      cout: 4,
      pad: 1,
    },
  ],
  ['small CNN layer 2 (32→64, 14×14)', { n: 2, cin: 32, h: 14, w: 14, cout: 64, pad: 1, bias: true }],
];

for (const algo of ['winograd2', 'winograd4'] as const) {
  for (const [name, s] of CASES) {
    for (const kernel of ['conv2d', 'conv2dBackwardInput'] as const) {
      test(`${algo} ${kernel} ${name}: matches the float64 reference; 3 threads give the same bits`, async () => {
        const c = pass(s, kernel);
        const got = await run(backends.get(algo)!, kernel, c.inputs, c.size, c.p);
        const depth = (kernel === 'conv2d' ? c.p.cin : c.p.cout) * 9;
        // Winograd's error grows with the transform's constants (F(4, 3) more than F(2, 3)): see bench/winograd-error.
        const tol = (algo === 'winograd4' ? 3e-6 : 1e-6) * depth;
        for (let i = 0; i < c.size; i++) {
          if (!(Math.abs(got[i] - c.want[i]) <= tol * (1 + Math.abs(c.want[i])))) {
            assert.unreachable(`element ${i}: ${got[i]}, expected ${c.want[i]} (tolerance ${tol})`);
          }
        }
        const split = await run(backends.get(`${algo}-3threads`)!, kernel, c.inputs, c.size, c.p);
        for (let i = 0; i < c.size; i++) {
          if (!Object.is(split[i], got[i]))
            assert.unreachable(`element ${i}: ${split[i]} on 3 threads, ${got[i]} on 1`);
        }
      });
    }
  }
}

for (const algo of ['winograd2', 'winograd4'] as const) {
  for (const [name, s] of CASES) {
    const title = `${algo} conv2dBackwardWeight ${name}: matches the float64 reference; 3 threads, the same bits`;
    test(title, async () => {
      const c = pass(s, 'conv2dBackwardWeight');
      const got = await run(backends.get(algo)!, 'conv2dBackwardWeight', c.inputs, c.size, c.p);
      // A sum over n·oh·ow products per tap, through transforms whose error grows with that count.
      const terms = c.p.n * c.p.oh * c.p.ow;
      const tol = (algo === 'winograd4' ? 3e-6 : 1e-6) * Math.sqrt(terms) * 8;
      const scale = Math.max(...c.want.map(Math.abs));
      for (let i = 0; i < c.size; i++) {
        if (!(Math.abs(got[i] - c.want[i]) <= tol * (1 + scale))) {
          assert.unreachable(`element ${i}: ${got[i]}, expected ${c.want[i]} (tolerance ${tol}·(1 + ${scale}))`);
        }
      }
      // Threads sum their images' gradients, then the parts are added in order: the same bits on every run.
      const three = backends.get(`${algo}-3threads`)!;
      const [first, again] = [
        await run(three, 'conv2dBackwardWeight', c.inputs, c.size, c.p),
        await run(three, 'conv2dBackwardWeight', c.inputs, c.size, c.p),
      ];
      for (let i = 0; i < c.size; i++) {
        if (!(Math.abs(first[i] - c.want[i]) <= tol * (1 + scale))) assert.unreachable(`3 threads, element ${i}`);
        if (!Object.is(first[i], again[i])) assert.unreachable(`element ${i} differs between two threaded runs`);
      }
    });
  }
}

test('forcing Winograd changes the algorithm of all three passes (the last bits differ from direct)', async () => {
  for (const kernel of ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight'] as const) {
    const c = pass(CASES.find(([name]) => name.startsWith('small CNN'))![1], kernel);
    const direct = await run(backends.get('direct')!, kernel, c.inputs, c.size, c.p);
    for (const algo of ['winograd2', 'winograd4']) {
      const got = await run(backends.get(algo)!, kernel, c.inputs, c.size, c.p);
      assert.ok(
        got.some((v, i) => v !== direct[i]),
        `${algo} ${kernel} gave exactly the direct convolution's bits`,
      );
    }
  }
});

test('the rule: Winograd only for 3×3 stride-1 ungrouped convolutions with enough channels', () => {
  const p = params({ n: 128, cin: 32, h: 14, w: 14, cout: 64, pad: 1 });
  const pick = (q: Partial<Conv2dParams>, mode: ConvAlgorithm = 'auto') =>
    winogradTile({ ...p, ...q }, 'forward', mode);
  assert.is(pick({}), 4);
  assert.is(pick({}, 'direct'), 0);
  assert.is(pick({}, 'winograd2'), 2);
  assert.is(pick({ strideH: 2, strideW: 2, oh: 7, ow: 7 }, 'winograd4'), 0);
  assert.is(pick({ groups: 2 }, 'winograd4'), 0);
  assert.is(pick({ dilationH: 2, oh: 12 }), 0);
  assert.is(pick({ kh: 1, kw: 1, padH: 0, padW: 0 }), 0);
  assert.is(pick({ padH: 3, padW: 3, oh: 18, ow: 18 }, 'winograd4'), 0);
  assert.is(pick({ cin: 1 }), 0, 'one input channel: the transforms dominate');
  assert.is(pick({ cin: 3 }), 4, 'the stem 3→16 forward gains');
  assert.is(winogradTile({ ...p, cin: 3 }, 'weight', 'auto'), 0, 'its weight gradient does not');
  assert.is(pick({ cout: 4 }), 0);
  assert.is(pick({ cin: 64, cout: 64, h: 8, w: 8, oh: 8, ow: 8 }), 4);
  // 6×6 outputs: F(4, 3) computes 8×8 (e = 0.56: 4.0 multiplies per output), F(2, 3) exactly 6×6 (also 4.0).
  assert.is(pick({ h: 6, w: 6, oh: 6, ow: 6 }), 2);
  assert.is(pick({ h: 2, w: 2, oh: 2, ow: 2 }), 2);
  assert.is(pick({ cin: 16, cout: 16, h: 32, w: 32, oh: 32, ow: 32 }), 4);
  // The input gradient is the convolution of dY (cout channels) back to cin.
  assert.is(winogradTile({ ...p, cin: 1 }, 'input', 'auto'), 0);
});

test('createWasmBackend rejects an unknown conv option', async () => {
  try {
    await createWasmBackend({ threads: 1, conv: 'fft' as ConvAlgorithm });
    assert.unreachable('accepted');
  } catch (e) {
    assert.match((e as Error).message, /conv must be 'auto', 'direct', 'winograd2' or 'winograd4', got fft/);
  }
});

test('backends are released', () => {
  for (const be of backends.values()) {
    assert.is(be.liveBuffers(), 0);
    be.destroy();
  }
});

test.run();
