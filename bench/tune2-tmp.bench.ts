import type { Buf, KernelName, KernelParams } from '../engine/backend.ts';
import { createWebGPUBackend } from '../engine/backends/webgpu.ts';
const be = await createWebGPUBackend();
const [n, c, s] = [128, 64, 196];
const size = n * c * s;
const f = (k: number) => { const b = be.alloc(k); be.write(b, Float32Array.from({ length: k }, (_, i) => ((i * 7919) % 1013) / 1013 - 0.5)); return b; };
const x = f(size), dy = f(size), gamma = f(c), beta = f(c), mean = f(c), v = f(c), sd = f(c), sdx = f(c), y = be.alloc(size);
const cases: [string, () => void][] = [
  ['channelSum', () => be.run('channelSum', [x], mean, { n, c, s, scale: 1 })],
  ['channelVar', () => be.run('channelVar', [x, mean], v, { n, c, s, scale: 1 })],
  ['channelDot', () => be.run('channelDot', [dy, x, mean], sdx, { n, c, s, scale: 1 })],
  ['bnApply', () => be.run('bnApply', [x, mean, v, gamma, beta], y, { n, c, s, eps: 1e-5 })],
  ['bnBackwardInput', () => be.run('bnBackwardInput', [dy, x, mean, v, gamma, sd, sdx], y, { n, c, s, eps: 1e-5, training: true })],
  ['axpby', () => be.run('axpby', [x], y, { size, alpha: 0.5, beta: 0.5 })],
];
for (const [name, body] of cases) {
  body(); await be.sync();
  const t: number[] = []; const cpu: number[] = [];
  for (let r = 0; r < 9; r++) { const c0 = process.cpuUsage(); const t0 = performance.now(); body(); await be.sync(); t.push(performance.now() - t0); const cc = process.cpuUsage(c0); cpu.push((cc.user + cc.system) / 1e3); }
  t.sort((a, b) => a - b); cpu.sort((a, b) => a - b);
  console.log(`${name}: best ${t[0].toFixed(2)} ms, cpu ${cpu[0].toFixed(1)} ms`);
}
be.destroy();
