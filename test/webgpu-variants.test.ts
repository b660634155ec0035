// The WebGPU kernels for GPUs (workgroup-tiled matmul and implicit-GEMM convolutions, subgroup reductions), forced
// with the backend's `kernels: 'gpu'` option so they run on the software adapter here (lavapipe; SwiftShader in the
// browser test), against the plain reference kernels: shapes that are not multiples of the tiles, transposes and
// batches, groups, strides, dilation, bias, and a weight gradient split over slices of pixels. Under CI=true the
// adapter must exist. Sizes stay small: lavapipe is a CPU rasteriser.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, Conv2dParams, KernelName, KernelParams } from '../engine/backend.ts';
import { createWebGPUBackend } from '../engine/backends/webgpu.ts';
import { weightSlices } from '../engine/backends/webgpu-programs-tiled.ts';
import { kernelVariant } from '../engine/backends/webgpu-variant.ts';
import { isSoftwareAdapter } from '../engine/backends/webgpu-device.ts';
import { referenceKernels } from '../engine/kernel-reference.ts';
import { outLen } from '../engine/shape.ts';
import { rand } from './util/kernel-case.ts';

let be: Backend | null = null;
try {
  be = await createWebGPUBackend({ kernels: 'gpu' });
} catch (e) {
  if (process.env.CI === 'true') throw new Error(`CI=true requires the webgpu backend: ${(e as Error).message}`);
  console.warn(`[tests] webgpu unavailable, the GPU-kernel cases are skipped: ${(e as Error).message}`);
}

async function run<K extends KernelName>(kernel: K, inputs: Float32Array[], size: number, p: KernelParams[K]) {
  const b = be!;
  const bufs = inputs.map((x) => {
    const buf = b.alloc(x.length);
    b.write(buf, x);
    return buf;
  });
  const out = b.alloc(size);
  b.write(out, rand(size, 3)); // dirty: the kernel must overwrite every element
  b.run(kernel, bufs, out, p);
  const got = await b.read(out, size);
  for (const buf of [...bufs, out]) b.free(buf);
  return got;
}

function check<K extends KernelName>(
  name: string,
  kernel: K,
  inputs: Float32Array[],
  size: number,
  p: KernelParams[K],
  tol = 1e-5,
): void {
  if (!be) return;
  test(`webgpu GPU kernels: ${name}`, async () => {
    const got = await run(kernel, inputs, size, p);
    const want = new Float64Array(size);
    (referenceKernels[kernel] as (i: Float32Array[], o: Float64Array, p: KernelParams[K]) => void)(inputs, want, p);
    for (let i = 0; i < size; i++) {
      if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) {
        assert.unreachable(`${name}: element ${i} is ${got[i]}, expected ${want[i]}`);
      }
    }
  });
}

test('the option picks the variant: GPU kernels on hardware or when forced, subgroups only with the feature', () => {
  const withSubgroups = new Set(['subgroups']) as unknown as GPUSupportedFeatures;
  const none = new Set<string>() as unknown as GPUSupportedFeatures;
  assert.equal(kernelVariant('auto', false, withSubgroups), { tiled: true, subgroups: true });
  assert.equal(kernelVariant('auto', true, withSubgroups), { tiled: false, subgroups: false });
  assert.equal(kernelVariant('gpu', true, none), { tiled: true, subgroups: false });
  assert.equal(kernelVariant('software', false, withSubgroups), { tiled: false, subgroups: false });
  assert.throws(() => kernelVariant('fast' as 'gpu', false, none), /kernels must be 'auto', 'gpu' or 'software'/);
  const info = (vendor: string, architecture: string, description: string) => ({
    vendor,
    architecture,
    description,
    isFallbackAdapter: false,
  });
  assert.ok(isSoftwareAdapter(info('mesa', 'software', 'llvmpipe (LLVM 15)')));
  assert.ok(isSoftwareAdapter(info('google', 'swiftshader', '')));
  assert.not.ok(isSoftwareAdapter(info('nvidia', 'hopper', 'NVIDIA H200')));
});

if (be) {
  test('the backend runs the GPU kernels (and subgroups where the adapter has them)', () => {
    assert.match(be!.info, /tiled GPU kernels/);
  });
}

for (const [m, n, k, transA, transB, batch] of [
  [64, 64, 16, false, false, 1],
  [37, 29, 23, false, false, 1],
  [70, 65, 33, true, false, 1],
  [17, 130, 40, false, true, 1],
  [33, 5, 70, true, true, 1],
  [9, 11, 13, false, false, 3],
] as const) {
  const a = rand(batch * m * k, m + k),
    b = rand(k * n, n + k);
  const p = { batch, m, n, k, transA, transB, aBatchStride: m * k, bBatchStride: 0 };
  check(
    `matmul ${m}×${k}·${k}×${n} transA=${transA} transB=${transB} batch ${batch}`,
    'matmul',
    [a, b],
    batch * m * n,
    p,
  );
}

interface Spec {
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

function conv(name: string, c: Spec): void {
  const [kh, kw] = c.k;
  const [s, pd, d, g] = [c.stride ?? 1, c.pad ?? 0, c.dil ?? 1, c.groups ?? 1];
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
  const xs = p.n * p.cin * p.h * p.w,
    ws = p.cout * (p.cin / g) * kh * kw,
    ys = p.n * p.cout * p.oh * p.ow;
  const x = rand(xs, xs + 1),
    w = rand(ws, ws + 2, -0.5, 0.5),
    dy = rand(ys, ys + 3);
  const depth = (p.cin / g) * kh * kw;
  const tol = 2e-5 * Math.sqrt(depth * Math.max(1, (p.n * p.oh * p.ow) / 64));
  check(`conv2d ${name}`, 'conv2d', p.hasBias ? [x, w, rand(p.cout, 4)] : [x, w], ys, p, tol);
  check(`conv2dBackwardInput ${name}`, 'conv2dBackwardInput', [dy, w], xs, p, tol);
  const { slices } = weightSlices(p);
  check(
    `conv2dBackwardWeight ${name} (${slices} slice${slices > 1 ? 's' : ''})`,
    'conv2dBackwardWeight',
    [x, dy],
    ws,
    p,
    tol * 4,
  );
}

conv('3x3 pad 1 bias', { n: 2, cin: 3, h: 7, w: 7, cout: 4, k: [3, 3], pad: 1, bias: true });
conv('3x3 stride 2', { n: 2, cin: 3, h: 9, w: 8, cout: 5, k: [3, 3], stride: 2, pad: 1 });
conv('3x3 dilation 2', { n: 1, cin: 2, h: 9, w: 9, cout: 3, k: [3, 3], dil: 2, pad: 2 });
conv('groups 2 bias', { n: 2, cin: 4, h: 6, w: 6, cout: 6, k: [3, 3], pad: 1, groups: 2, bias: true });
conv('depthwise', { n: 2, cin: 5, h: 6, w: 7, cout: 5, k: [3, 3], pad: 1, groups: 5 });
conv('1x1 stride 2', { n: 2, cin: 6, h: 8, w: 8, cout: 4, k: [1, 1], stride: 2 });
conv('3x1 no pad', { n: 2, cin: 3, h: 6, w: 5, cout: 2, k: [3, 1] });
// 40 channels and 40·9 = 360 taps: more than one tile of channels (32) and of taps per step (16).
conv('40→36 channels, several tiles', { n: 1, cin: 40, h: 5, w: 5, cout: 36, k: [3, 3], pad: 1, bias: true });
// 2·32·32 = 2048 pixels over one tile: the weight gradient splits them into slices and sums them.
conv('32×32 pixels, weight gradient in slices', { n: 2, cin: 3, h: 32, w: 32, cout: 4, k: [3, 3], pad: 1 });

// Batch-norm reductions with subgroups (where the adapter has them; otherwise the same cases check the plain ones).
for (const [n, c, s] of [
  [8, 3, 49],
  [3, 7, 5],
  [2, 5, 1000],
]) {
  const x = rand(n * c * s, n + c + s, -1, 3);
  const tol = 2e-5 * Math.sqrt(n * s);
  check(`bnStats [${n},${c},${s}]`, 'bnStats', [x], 2 * c, { n, c, s }, tol);
  const y = rand(n * c * s, 9).map((v, i) => (i % 5 === 0 ? 0 : v));
  for (const relu of [false, true]) {
    const inputs = [rand(n * c * s, 5), x, rand(c, 6, 0.5, 1.5), ...(relu ? [y] : [])];
    check(`bnBackwardStats [${n},${c},${s}] relu=${relu}`, 'bnBackwardStats', inputs, 2 * c, { n, c, s, relu }, tol);
  }
}

if (be) {
  test('webgpu GPU kernels: buffers are released', () => {
    assert.is(be!.liveBuffers(), 0);
    be!.destroy();
  });
}

test.run();
