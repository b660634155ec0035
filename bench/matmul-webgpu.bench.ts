// Matmul throughput of the WebGPU backend at n×n×n (GFLOP/s = 2·n³ / time), best and median of timed runs after a
// warm-up, on the kernels `--kernels=` picks (auto, gpu or software: the backend's option).
// Usage: node build/bench/matmul-webgpu.bench.js [sizes...] [--kernels=auto] (default sizes 256 512 1024).

import { createWebGPUBackend, type WebGPUOptions } from '../engine/index.ts';

const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const kernels = process.argv.find((a) => a.startsWith('--kernels='))?.slice(10) ?? 'auto';
const be = await createWebGPUBackend({ kernels: kernels as WebGPUOptions['kernels'] });
console.log(be.info);
for (const n of sizes.length ? sizes : [256, 512, 1024]) {
  const a = be.alloc(n * n);
  const b = be.alloc(n * n);
  const out = be.alloc(n * n);
  be.write(
    a,
    Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 13) / 13 - 0.5),
  );
  be.write(
    b,
    Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 17) / 17 - 0.5),
  );
  const params = { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 };
  be.run('matmul', [a, b], out, params);
  await be.sync();
  const reps = n >= 1024 ? 5 : 10;
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    be.run('matmul', [a, b], out, params);
    await be.sync();
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const gflops = (ms: number): string => ((2 * n ** 3) / (ms * 1e6)).toFixed(2);
  console.log(
    `matmul ${n}³: best ${times[0].toFixed(1)} ms (${gflops(times[0])} GFLOP/s), ` +
      `median ${times[reps >> 1].toFixed(1)} ms (${gflops(times[reps >> 1])} GFLOP/s)`,
  );
  be.free(a);
  be.free(b);
  be.free(out);
}
be.destroy();
