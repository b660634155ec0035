// Trains a two-layer network on a synthetic three-arm spiral with the engine's autograd, on WebGPU when an adapter
// exists, else on wasm (pass --device=webgpu|wasm to choose), and prints the loss, accuracy and device used.
import {
  setDevice, tensor, randn, matmul, relu, crossEntropy, tidy, keep, noGrad, Generator,
} from '../dist/node/index.js';

const arg = process.argv.find((a) => a.startsWith('--device='));
const report = await setDevice(arg ? arg.split('=')[1] : 'auto');
console.log(`device: ${report.device} (${report.info})${report.fallbackReason ? `; WebGPU unavailable: ${report.fallbackReason}` : ''}`);

// Three interleaved spiral arms of 100 points each.
const g = new Generator(1);
const n = 300;
const xs = new Float32Array(n * 2);
const labels = new Int32Array(n);
for (let i = 0; i < n; i++) {
  const c = i % 3;
  const r = (Math.floor(i / 3) + 1) / (n / 3);
  const t = c * 2.1 + r * 4 + 0.2 * g.normal();
  xs[2 * i] = r * Math.sin(t);
  xs[2 * i + 1] = r * Math.cos(t);
  labels[i] = c;
}
const x = tensor(xs, [n, 2]);
let w1 = randn([2, 64], { generator: g, std: 1, requiresGrad: true });
let w2 = randn([64, 3], { generator: g, std: 0.2, requiresGrad: true });

const sgd = (w, lr) => {
  const next = keep(noGrad(() => w.sub(w.grad.mul(lr))));
  next.requiresGrad = true;
  w.dispose();
  return next;
};

const t0 = performance.now();
for (let step = 0; step <= 500; step++) {
  const loss = tidy(() => {
    const l = crossEntropy(matmul(relu(matmul(x, w1)), w2), labels);
    l.backward();
    [w1, w2] = [sgd(w1, 0.5), sgd(w2, 0.5)];
    return l;
  });
  if (step % 100 === 0) console.log(`step ${String(step).padStart(3)}  loss ${(await loss.item()).toFixed(4)}`);
  loss.dispose();
}
const logits = await tidy(() => matmul(relu(matmul(x, w1)), w2)).data();
let correct = 0;
for (let i = 0; i < n; i++) {
  const row = logits.subarray(3 * i, 3 * i + 3);
  if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
}
console.log(`train accuracy ${(100 * correct / n).toFixed(1)}% in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
