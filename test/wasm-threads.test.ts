// The wasm backend on worker threads: splitting a kernel between threads changes no result (bit for bit where each
// part computes its own outputs; conv2d's weight gradient, summed over images per part, within float32 rounding and
// the same on every run), training on threads matches training on one, the options (threads, wait, workerUrl) are
// honoured or fail clearly, and no environment variable changes what the library does.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, KernelName, KernelParams } from '../engine/backend.ts';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createWasmBackend } from '../engine/backends/wasm.ts';
import { defaultThreadCount } from '../engine/backends/wasm-threads.ts';
import { defaultBackend, setDevice } from '../engine/device.ts';
import { tensor } from '../engine/creation.ts';
import { Generator } from '../engine/random.ts';
import { tidy } from '../engine/scope.ts';
import { SmallCnn } from '../nn/models/small-cnn.ts';
import { SGD } from '../nn/optim.ts';
import { crossEntropy } from '../engine/ops/softmax.ts';
import { rand } from './util/kernel-case.ts';

const one = await createWasmBackend({ threads: 1 });
const every = { compute: 1, memory: 1 };
const three = await createWasmBackend({ threads: 3, grain: every });
if (!three.info.includes('3 threads')) {
  throw new Error(`the wasm backend did not get its worker threads: ${three.info}`);
}

/** Runs a kernel on a backend over host inputs and returns its output. */
async function runKernel<K extends KernelName>(
  be: Backend,
  kernel: K,
  inputs: Float32Array[],
  outSize: number,
  params: KernelParams[K],
  init?: Float32Array,
): Promise<Float32Array> {
  const bufs = inputs.map((x) => {
    const b = be.alloc(x.length);
    be.write(b, x);
    return b;
  });
  const out = be.alloc(outSize);
  be.write(out, init ?? new Float32Array(outSize).fill(7));
  be.run(kernel, bufs, out, params);
  const got = await be.read(out, outSize);
  for (const b of bufs) be.free(b);
  be.free(out);
  return got;
}

const conv = {
  n: 7,
  cin: 5,
  h: 9,
  w: 8,
  cout: 6,
  kh: 3,
  kw: 3,
  oh: 9,
  ow: 8,
  strideH: 1,
  strideW: 1,
  padH: 1,
  padW: 1,
  dilationH: 1,
  dilationW: 1,
  groups: 1,
  hasBias: true,
};
const strided = { ...conv, strideH: 2, strideW: 2, oh: 5, ow: 4, hasBias: false };
const xs = conv.n * conv.cin * conv.h * conv.w,
  ws = conv.cout * conv.cin * 9;
const ys = conv.n * conv.cout * conv.oh * conv.ow;
const sys = strided.n * strided.cout * strided.oh * strided.ow;

type Case = [string, () => Promise<Float32Array>, () => Promise<Float32Array>];
const same = <K extends KernelName>(
  name: string,
  kernel: K,
  inputs: Float32Array[],
  outSize: number,
  params: KernelParams[K],
  init?: Float32Array,
): Case => [
  name,
  () => runKernel(one, kernel, inputs, outSize, params, init),
  () => runKernel(three, kernel, inputs, outSize, params, init),
];

const bitIdentical: Case[] = [
  same('matmul, one product split by rows', 'matmul', [rand(37 * 29, 1), rand(29 * 23, 2)], 37 * 23, {
    batch: 1,
    m: 37,
    n: 23,
    k: 29,
    transA: true,
    transB: false,
    aBatchStride: 0,
    bBatchStride: 0,
  }),
  same('matmul, batched, split by batch', 'matmul', [rand(5 * 6 * 7, 3), rand(7 * 4, 4)], 5 * 6 * 4, {
    batch: 5,
    m: 6,
    n: 4,
    k: 7,
    transA: false,
    transB: false,
    aBatchStride: 42,
    bBatchStride: 0,
  }),
  same('conv2d forward, split by images', 'conv2d', [rand(xs, 5), rand(ws, 6), rand(6, 7)], ys, conv),
  same('conv2d backward input, stride 1', 'conv2dBackwardInput', [rand(ys, 8), rand(ws, 9)], xs, conv),
  same('conv2d backward input, stride 2', 'conv2dBackwardInput', [rand(sys, 10), rand(ws, 11)], xs, strided),
  same('max pool 2×2 backward, split by planes', 'pool2dBackward', [rand(35 * 8 * 8, 12), rand(35 * 16, 13)], 35 * 64, {
    mode: 'max',
    nc: 35,
    h: 8,
    w: 8,
    kh: 2,
    kw: 2,
    oh: 4,
    ow: 4,
    strideH: 2,
    strideW: 2,
    padH: 0,
    padW: 0,
    countIncludePad: true,
  }),
  same(
    'batch norm input gradient, split by channels',
    'bnBackwardInput',
    [rand(4 * 7 * 10, 14), rand(4 * 7 * 10, 15), rand(7, 16), rand(7, 17, 0.5, 2), rand(7, 18), rand(14, 19)],
    4 * 7 * 10,
    { n: 4, c: 7, s: 10, eps: 1e-5, training: true },
  ),
  same('channel sums', 'channelSum', [rand(4 * 7 * 10, 21)], 7, { n: 4, c: 7, s: 10, scale: 0.5 }),
  same('strided binary add with broadcasting', 'binary', [rand(9 * 13, 22), rand(13, 23)], 9 * 13, {
    op: 'add',
    shape: [9, 13],
    aStrides: [13, 1],
    bStrides: [0, 1],
  }),
  same('transposing copy', 'copy', [rand(11 * 17, 24)], 11 * 17, {
    shape: [17, 11],
    inStrides: [1, 17],
    inOffset: 0,
    outStrides: [11, 1],
    outOffset: 0,
  }),
  same('relu over 1000 floats', 'unary', [rand(1000, 25)], 1000, { op: 'relu', size: 1000, alpha: 0 }),
  same(
    'SGD momentum step',
    'sgdMomentum',
    [rand(999, 26), rand(999, 27)],
    999,
    { size: 999, momentum: 0.9, dampening: 0, weightDecay: 5e-4, first: false },
    rand(999, 28),
  ),
];

for (const [name, a, b] of bitIdentical) {
  test(`3 threads give bit-identical results: ${name}`, async () => {
    const [want, got] = [await a(), await b()];
    assert.is(got.length, want.length);
    for (let i = 0; i < want.length; i++) {
      if (!Object.is(got[i], want[i])) {
        assert.unreachable(`${name}: element ${i} is ${got[i]} on 3 threads, ${want[i]} on 1`);
      }
    }
  });
}

test('conv2d weight gradient on 3 threads: within float32 rounding of 1 thread, the same bits every run', async () => {
  const inputs = [rand(xs, 30), rand(ys, 31)];
  const want = await runKernel(one, 'conv2dBackwardWeight', inputs, ws, conv);
  const first = await runKernel(three, 'conv2dBackwardWeight', inputs, ws, conv);
  const again = await runKernel(three, 'conv2dBackwardWeight', inputs, ws, conv);
  const scale = Math.max(...want.map(Math.abs));
  for (let i = 0; i < ws; i++) {
    assert.ok(Math.abs(first[i] - want[i]) <= 1e-6 * scale * 10, `element ${i}: ${first[i]} vs ${want[i]}`);
    assert.ok(Object.is(first[i], again[i]), `element ${i} differs between two threaded runs`);
  }
});

test('training the small CNN on 3 threads follows training on 1', async () => {
  const losses = async (be: Backend): Promise<number[]> => {
    const model = new SmallCnn({ device: be, generator: new Generator(3), widths: [4, 8, 16] });
    const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const g = new Generator(4);
    const x = Float32Array.from({ length: 16 * 28 * 28 }, () => g.normal());
    const y = Float32Array.from({ length: 16 }, () => g.int(10));
    const out: number[] = [];
    for (let s = 0; s < 4; s++) {
      const loss = tidy(() => {
        const logits = model.forward(tensor(x, [16, 1, 28, 28], { device: be }));
        const l = crossEntropy(logits, tensor(y, [16], { device: be }));
        l.backward();
        opt.step();
        opt.zeroGrad();
        return l.detach();
      });
      out.push(await loss.item());
      loss.dispose();
    }
    opt.dispose();
    model.dispose();
    return out;
  };
  const [a, b] = [await losses(one), await losses(three)];
  a.forEach((l, i) => {
    assert.ok(Math.abs(l - b[i]) <= 1e-5 * Math.abs(l), `step ${i}: loss ${b[i]} on 3 threads, ${l} on 1`);
  });
  assert.ok(a[3] < a[0], 'the loss falls');
  assert.is(three.liveBuffers(), 0);
});

/** The wait policy a threaded backend's workers were given (internal state, read for the test only). */
const policyOf = (be: Backend): string | undefined =>
  (be as unknown as { threads: { policy: string } | null }).threads?.policy;

test('options: thread counts are checked, threads and wait come from the options, 1 thread: no workers', async () => {
  for (const bad of [0, -1, 1.5, 65, Number.NaN]) {
    await createWasmBackend({ threads: bad }).then(
      () => assert.unreachable(`threads ${bad} accepted`),
      (e: Error) => assert.match(e.message, /wasm backend: threads must be an integer in \[1, 64\]/),
    );
  }
  const be = await createWasmBackend({ threads: 2, wait: 'block' });
  assert.is(be.info, 'WebAssembly SIMD, 2 threads');
  assert.is(policyOf(be), 'block');
  be.destroy();
  assert.is(one.info, 'WebAssembly SIMD, 1 thread');
  assert.is(policyOf(one), undefined);
  assert.is(policyOf(three), 'poll', "the default wait policy is 'poll'");
});

test('setDevice passes its wasm options to the backend it opens', async () => {
  const report = await setDevice('wasm', { wasm: { threads: 2, wait: 'spin' } });
  assert.is(report.info, 'WebAssembly SIMD, 2 threads');
  assert.is(policyOf(defaultBackend()), 'spin');
});

test('the library reads no environment variables: SWA_WASM_THREADS and SWA_WASM_WAIT are ignored', async () => {
  const cores = await defaultThreadCount();
  const saved = [process.env.SWA_WASM_THREADS, process.env.SWA_WASM_WAIT];
  try {
    process.env.SWA_WASM_THREADS = String(cores === 3 ? 4 : 3);
    process.env.SWA_WASM_WAIT = 'block';
    const be = await createWasmBackend();
    const want = cores === 1 ? /1 thread$/ : new RegExp(`${cores} threads`);
    assert.match(be.info, want, 'the default thread count, not the variable');
    if (cores > 1) assert.is(policyOf(be), 'poll');
    be.destroy();
    process.env.SWA_WASM_THREADS = 'many';
    const again = await createWasmBackend({ threads: 1 });
    assert.is(again.info, 'WebAssembly SIMD, 1 thread', 'an invalid variable is not even looked at');
    again.destroy();
  } finally {
    if (saved[0] === undefined) delete process.env.SWA_WASM_THREADS;
    else process.env.SWA_WASM_THREADS = saved[0];
    if (saved[1] === undefined) delete process.env.SWA_WASM_WAIT;
    else process.env.SWA_WASM_WAIT = saved[1];
  }
});

test('workerUrl: the worker is found beside the bundle or at a given URL; a missing one falls back to 1', async () => {
  const beside = new URL('./wasm-worker.js', import.meta.url);
  assert.ok(existsSync(fileURLToPath(beside)), 'build.mjs put wasm-worker.js beside the test bundle');
  for (const workerUrl of [beside, beside.href, fileURLToPath(beside)]) {
    const be = await createWasmBackend({ threads: 2, workerUrl });
    assert.is(be.info, 'WebAssembly SIMD, 2 threads', `worker at ${String(workerUrl)}`);
    be.destroy();
  }
  const missing = new URL('./no-such-worker.js', import.meta.url);
  const be = await createWasmBackend({ threads: 2, workerUrl: missing });
  assert.match(be.info, /^WebAssembly SIMD, 1 thread \(2 asked: wasm threads: worker 1 failed to start: .+\)$/);
  const b = be.alloc(3);
  be.write(b, new Float32Array([-1, 0, 2]));
  be.run('unary', [b], b, { op: 'relu', size: 3, alpha: 0 });
  assert.equal([...(await be.read(b, 3))], [0, 0, 2], 'the fallback backend works');
  be.free(b);
  be.destroy();
});

test('a destroyed threaded backend refuses work (its workers are gone)', async () => {
  const be = await createWasmBackend({ threads: 2, grain: every });
  const b = be.alloc(4);
  be.destroy();
  assert.throws(() => be.run('unary', [b], b, { op: 'relu', size: 4, alpha: 0 }), /used after destroy/);
});

test.run();
