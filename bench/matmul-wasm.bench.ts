// Single-threaded wasm SIMD matmul throughput at n = 256, 512, 1024 (and any sizes given on the command line).
// Run: node build.mjs wasm bench && node build/bench/matmul-wasm.bench.js [n ...]

import { createWasmBackend } from '../engine/index.ts';

const backend = await createWasmBackend();
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);

/** Median and best GFLOP/s (2·m·n·k / time) of `runs` timed products after warm-up. */
function measure(n: number, transA = false, transB = false): { median: number; best: number } {
  const a = backend.alloc(n * n),
    b = backend.alloc(n * n),
    out = backend.alloc(n * n);
  const data = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  backend.write(a, data);
  backend.write(b, data);
  const params = { batch: 1, m: n, n, k: n, transA, transB, aBatchStride: 0, bBatchStride: 0 };
  const flop = 2 * n * n * n;
  // Enough repetitions that each timed run lasts ~50 ms, plus warm-up runs that tier up the kernel.
  const reps = Math.max(1, Math.round(2.5e9 / flop));
  for (let i = 0; i < 3 * reps; i++) backend.run('matmul', [a, b], out, params);
  const rates: number[] = [];
  for (let t = 0; t < 7; t++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) backend.run('matmul', [a, b], out, params);
    rates.push((flop * reps) / ((performance.now() - t0) * 1e6));
  }
  for (const buf of [a, b, out]) backend.free(buf);
  rates.sort((x, y) => x - y);
  return { median: rates[rates.length >> 1], best: rates[rates.length - 1] };
}

console.log(`matmul on ${backend.info}`);
for (const n of sizes.length ? sizes : [256, 512, 1024]) {
  const r = measure(n);
  const t = measure(n, true, true);
  console.log(
    `${n}x${n}x${n}: ${r.median.toFixed(1)} GFLOP/s median, ${r.best.toFixed(1)} best` +
      ` | transA+transB ${t.median.toFixed(1)} median`,
  );
}
backend.destroy();
