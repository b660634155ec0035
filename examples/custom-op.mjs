// A fused swish activation, x·sigmoid(beta·x), written as a WGSL kernel and a CPU kernel with `customOp`, checked with
// gradcheck and opcheck, trained inside a small CNN on the embedded Fashion-MNIST subset, and timed against the same
// function composed of built-in ops. Exits non-zero when a check fails. Usage (after `node build.mjs wasm lib`):
//   node examples/custom-op.mjs [--device wasm|webgpu] [--epochs 2]
import {
  setDevice,
  customOp,
  gradcheck,
  opcheck,
  benchKernel,
  tensor,
  randn,
  tidy,
  Module,
  Sequential,
  Conv2d,
  BatchNorm2d,
  MaxPool2d,
  Flatten,
  Linear,
  SGD,
  DataLoader,
  Generator,
  toTensors,
  trainStep,
  evaluate,
  loadFashionMnistMini,
  FASHION_MNIST_STATS,
} from '../dist/node/index.js';

const arg = (name, fallback) => {
  const i = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  return process.argv[i].includes('=') ? process.argv[i].split('=')[1] : process.argv[i + 1];
};
const report = await setDevice(arg('device', 'auto'));
console.log(`device: ${report.device} (${report.info})${report.fallbackReason ? `; ${report.fallbackReason}` : ''}`);

// ---- the kernels -------------------------------------------------------------------------------------------------
// Bindings: inputs at 0..n-1, out at n, params at n+1; struct Params is `size` (filled by the engine) then the op's
// params. One invocation per output element; the engine sets `wg` and dispatches ⌈size / wg⌉ workgroups in 2-D.
const wgsl = (body, inputs) => `struct Params {
  size: u32,
  beta: f32,
}
override wg: u32 = 256u;
${inputs.map((x, i) => `@group(0) @binding(${i}) var<storage, read> ${x}: array<f32>;`).join('\n')}
@group(0) @binding(${inputs.length}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${inputs.length + 1}) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * wg;
  if (i >= params.size) {
    return;
  }
  let v = x[i];
  let s = 1.0 / (1.0 + exp(-params.beta * v));
  ${body}
}
`;
const sigmoid = (v) => 1 / (1 + Math.exp(-v));
const mapNd = (x, f) => ({ shape: [...x.shape], data: x.data.map(f) });

/** d swish / dx · dy = dy · (s + beta·x·s·(1 − s)): the backward, itself a custom op. */
const swishGrad = customOp({
  name: 'swishGrad',
  inputs: ['x', 'dy'],
  params: { beta: 'f32' },
  shape: ([x, dy]) => {
    if (x.join() !== dy.join()) throw new Error(`swishGrad: x [${x}] and dy [${dy}] differ`);
    return x;
  },
  forward: {
    webgpu: wgsl('out[i] = dy[i] * (s + params.beta * v * s * (1.0 - s));', ['x', 'dy']),
    wasm: ([x, dy], out, { beta }) => {
      for (let i = 0; i < out.length; i++) {
        const s = 1 / (1 + Math.exp(-beta * x[i]));
        out[i] = dy[i] * (s + beta * x[i] * s * (1 - s));
      }
    },
  },
  reference: ([x, dy], { beta }) =>
    mapNd(x, (v, i) => dy.data[i] * (sigmoid(beta * v) + beta * v * sigmoid(beta * v) * (1 - sigmoid(beta * v)))),
});

/** swish(x) = x·sigmoid(beta·x) (Ramachandran, Zoph & Le, 2017, https://arxiv.org/abs/1710.05941). */
const swish = customOp({
  name: 'swish',
  inputs: ['x'],
  params: { beta: 'f32' },
  shape: ([x]) => x,
  forward: {
    webgpu: wgsl('out[i] = v * s;', ['x']),
    wasm: ([x], out, { beta }) => {
      for (let i = 0; i < out.length; i++) {
        const v = x[i];
        out[i] = v / (1 + Math.exp(-beta * v));
      }
    },
  },
  backward: (dy, [x], _out, p) => [swishGrad(x, dy, p)],
  reference: ([x], { beta }) => mapNd(x, (v) => v * sigmoid(beta * v)),
});
await swish.compile();
await swishGrad.compile();

let failed = false;
const check = async (what, fn) => {
  try {
    console.log(`${what}: ${await fn()}`);
  } catch (e) {
    failed = true;
    console.log(`${what}: FAILED\n${e.message}`);
  }
};

// ---- checks ------------------------------------------------------------------------------------------------------
const edges = [-2, -1, -0.5, 0, 0.5, 1, 2, 3, -3, 0.25, -0.25, 1.5];
await check('gradcheck swish', async () => {
  const x = tensor(edges, [3, 4], { requiresGrad: true });
  const ok = await gradcheck(swish, [x], { params: { beta: 1.5 } });
  x.dispose();
  return ok ? 'ok (float64 central differences of the reference, 12 elements)' : 'mismatch';
});
await check('opcheck swish', async () => {
  const cases = [
    { inputs: [{ shape: [4, 6] }], params: { beta: 1 } },
    { inputs: [{ shape: [2, 3, 5], kind: 'random' }], params: { beta: 1.7 } },
    { inputs: [{ shape: [] }], params: { beta: 0.5 } },
  ];
  return (await opcheck(swish, cases)).summary;
});
await check('opcheck swishGrad', async () => {
  const cases = [{ inputs: [{ shape: [3, 7] }, { shape: [3, 7], kind: 'random' }], params: { beta: 1 } }];
  return (await opcheck(swishGrad, cases)).summary;
});

// ---- training: the small CNN with swish in place of ReLU ----------------------------------------------------------
class Swish extends Module {
  forward(x) {
    return swish(x, { beta: 1 });
  }
}
const g = new Generator(1);
const model = new Sequential(
  new Conv2d(1, 8, 3, { padding: 1, generator: g }),
  new BatchNorm2d(8),
  new Swish(),
  new MaxPool2d(2),
  new Conv2d(8, 16, 3, { padding: 1, generator: g }),
  new BatchNorm2d(16),
  new Swish(),
  new MaxPool2d(2),
  new Flatten(),
  new Linear(16 * 7 * 7, 64, { generator: g }),
  new Swish(),
  new Linear(64, 10, { generator: g }),
);
const subset = (ds, n) => ({ ...ds, n, images: ds.images.subarray(0, n * 784), labels: ds.labels.subarray(0, n) });
const train = subset(loadFashionMnistMini({ split: 'train' }), 2000);
const test = subset(loadFashionMnistMini({ split: 'test' }), 500);
const loader = new DataLoader(train, { batchSize: 50, shuffle: true, normalize: FASHION_MNIST_STATS, generator: g });
const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
const epochs = Number(arg('epochs', 2));
const device = model.parameters()[0].backend;
let accuracy = 0;
for (let epoch = 1; epoch <= epochs; epoch++) {
  const t0 = performance.now();
  for (const b of loader) {
    const { x, y } = toTensors(b);
    trainStep(model, opt, x, y);
    x.dispose();
    y.dispose();
  }
  const r = await evaluate(model, test, device, { normalize: FASHION_MNIST_STATS });
  accuracy = r.accuracy;
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`epoch ${epoch}: test loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(1)}% (${s} s)`);
}
await check('training', async () => {
  if (!(accuracy > 0.5)) throw new Error(`test accuracy ${(100 * accuracy).toFixed(1)}% is not above 50%`);
  return `test accuracy ${(100 * accuracy).toFixed(1)}% on 500 held-out images after ${epochs} epochs of 2000`;
});

// ---- timing: the fused kernel against the same function of built-in ops -----------------------------------------
const x = randn([512, 1024], { generator: g });
const flops = ([s]) => 4 * s[0] * s[1];
const fused = await benchKernel(swish, [x], { params: { beta: 1 }, flops });
const composed = await benchKernel((t) => t.div(t.mul(-1).exp().add(1)), [x], { flops });
const line = (name, r) =>
  `${name.padEnd(30)} median ${r.medianMs.toFixed(3)} ms, ${r.gflops.toFixed(2)} GFLOP/s, ${r.gbps.toFixed(2)} GB/s`;
console.log(line('swish (customOp, one kernel)', fused));
console.log(line('x / (1 + exp(-x)) (4 built-ins)', composed));
const ratio = composed.medianMs / fused.medianMs;
const verdict = ratio >= 1 ? `${ratio.toFixed(2)}× faster` : `${(1 / ratio).toFixed(2)}× slower`;
console.log(`custom op against the composition: ${verdict} on ${x.size} elements`);
if (report.device === 'wasm') {
  console.log(
    '(the CPU kernel here is plain JavaScript on the calling thread, without SIMD, while the built-ins are\n' +
      ' SIMD wasm split over the worker threads; docs/custom-ops.md says what a CPU kernel can and cannot do)',
  );
}
x.dispose();
await check('same values as the built-in composition', async () => {
  const probe = tensor(edges, [12]);
  const [ya, yb] = tidy(() => [swish(probe, { beta: 1 }), probe.div(probe.mul(-1).exp().add(1))]);
  const [a, b] = [await ya.data(), await yb.data()];
  for (const t of [probe, ya, yb]) t.dispose();
  const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  if (worst > 1e-5) throw new Error(`largest difference ${worst}`);
  return `largest difference ${worst.toExponential(1)}`;
});

if (failed) {
  console.log('a check failed');
  process.exit(1);
}
console.log('all checks passed');
