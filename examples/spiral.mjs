// Trains a small network on a synthetic three-arm spiral with the engine's autograd and SGD, on WebGPU when an
// adapter exists, else on wasm (pass --device=webgpu|wasm to choose), and prints the loss, accuracy and device used.
import {
  setDevice,
  tensor,
  crossEntropy,
  tidy,
  noGrad,
  Generator,
  Sequential,
  Linear,
  ReLU,
  SGD,
} from '../dist/node/index.js';

const arg = process.argv.find((a) => a.startsWith('--device='));
const report = await setDevice(arg ? arg.split('=')[1] : 'auto');
console.log(
  `device: ${report.device} ` +
    `(${report.info})${report.fallbackReason ? `; WebGPU unavailable: ${report.fallbackReason}` : ''}`,
);

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
const y = tensor(Float32Array.from(labels), [n]);
const model = new Sequential(
  new Linear(2, 64, { generator: g }),
  new ReLU(),
  new Linear(64, 64, { generator: g }),
  new ReLU(),
  new Linear(64, 3, { generator: g }),
);
const opt = new SGD(model.parameters(), { lr: 0.2, momentum: 0.9 });

const t0 = performance.now();
for (let step = 0; step <= 1000; step++) {
  const loss = tidy(() => {
    const l = crossEntropy(model.forward(x), y);
    l.backward();
    opt.step();
    opt.zeroGrad();
    return l;
  });
  if (step % 200 === 0) console.log(`step ${String(step).padStart(4)}  loss ${(await loss.item()).toFixed(4)}`);
  loss.dispose();
}
const logits = await noGrad(() => model.forward(x)).data();
let correct = 0;
for (let i = 0; i < n; i++) {
  const row = logits.subarray(3 * i, 3 * i + 3);
  if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
}
console.log(
  `train accuracy ${((100 * correct) / n).toFixed(1)}% after 1000 steps in ` +
    `${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
