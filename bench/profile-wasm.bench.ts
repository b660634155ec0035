// Where a wasm training step spends its time: runs SGD steps of the small CNN and PreResNet-20 (batch 128) and
// times every kernel call (kernels are synchronous on wasm, so a call's time is the kernel's), per kernel, beside
// the step's total; the rest is JS (autograd, allocation, dispatch). On 1 thread the times are the process's CPU
// time, which other processes on a shared machine barely move; on several, wall time.
// Usage: node build/bench/profile-wasm.bench.js [steps=10] [threads…]   e.g. `… 10 1 2` compares 1 and 2 threads.

import { createWasmBackend, Generator, tensor, tidy, type Backend, type KernelName } from '../engine/index.ts';
import { PreResNet } from '../nn/models/preresnet.ts';
import { SmallCnn } from '../nn/models/small-cnn.ts';
import type { Module } from '../nn/module.ts';
import { SGD } from '../nn/optim.ts';
import { trainStep } from '../nn/trainer.ts';

const steps = Number(process.argv[2] ?? 10);
const threadCounts = process.argv.slice(3).map(Number);
if (!threadCounts.length) threadCounts.push(1);
const BATCH = 128;

function modelOf(name: string, be: Backend): { model: Module; shape: number[] } {
  const generator = new Generator(0);
  return name === 'small-cnn'
    ? { model: new SmallCnn({ device: be, generator }), shape: [BATCH, 1, 28, 28] }
    : { model: new PreResNet({ depth: 20, device: be, generator }), shape: [BATCH, 3, 32, 32] };
}

/** Milliseconds: CPU time of this process on 1 thread, else wall time. */
const clock = (threads: number): (() => number) =>
  threads === 1
    ? () => {
        const c = process.cpuUsage();
        return (c.user + c.system) / 1000;
      }
    : () => performance.now();

for (const threads of threadCounts) {
  const now = clock(threads);
  const be = await createWasmBackend({ threads });
  console.log(`\n${be.info}`);
  for (const name of ['small-cnn', 'preresnet20']) {
    const { model, shape } = modelOf(name, be);
    const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
    const g = new Generator(1);
    const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => g.normal());
    const y = Float32Array.from({ length: BATCH }, () => g.int(10));
    const step = (): void =>
      tidy(() => trainStep(model, opt, tensor(x, shape, { device: be }), tensor(y, [BATCH], { device: be })));
    for (let i = 0; i < 3; i++) step();
    const times = new Map<string, { ms: number; calls: number }>();
    const run = be.run.bind(be);
    be.run = ((kernel: KernelName, inputs, out, params) => {
      const t0 = now();
      run(kernel, inputs, out, params);
      const key = kernel === 'unary' || kernel === 'binary' ? `${kernel}:${(params as { op: string }).op}` : kernel;
      const e = times.get(key) ?? { ms: 0, calls: 0 };
      e.ms += now() - t0;
      e.calls++;
      times.set(key, e);
    }) as Backend['run'];
    const t0 = now();
    for (let i = 0; i < steps; i++) step();
    const total = now() - t0;
    be.run = run;
    const kernels = [...times.values()].reduce((a, e) => a + e.ms, 0);
    console.log(
      `${name}: ${(total / steps).toFixed(1)} ms/step, ${((BATCH * steps) / (total / 1000)).toFixed(0)} img/s; ` +
        `kernels ${((100 * kernels) / total).toFixed(1)}%, rest (JS, autograd, dispatch) ` +
        `${((100 * (total - kernels)) / total).toFixed(1)}%`,
    );
    for (const [k, e] of [...times].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14)) {
      console.log(
        `  ${k.padEnd(30)} ${(e.ms / steps).toFixed(2).padStart(8)} ms/step ` +
          `${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${(e.calls / steps).toFixed(0)} calls/step`,
      );
    }
    opt.dispose();
    model.dispose();
  }
  be.destroy();
}
