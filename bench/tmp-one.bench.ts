import { createWasmBackend, type Conv2dParams } from '../engine/index.ts';
import type { ConvAlgorithm } from '../engine/backends/wasm-conv-rule.ts';
const [algo, cin, hw, cout, reps, kind] = [process.argv[2], ...process.argv.slice(3, 7).map(Number), process.argv[7] ?? 'f'];
const be = await createWasmBackend({ threads: 1, conv: algo as ConvAlgorithm });
const n = 128;
const p: Conv2dParams = { n, cin, h: hw, w: hw, cout, kh: 3, kw: 3, oh: hw, ow: hw, strideH: 1, strideW: 1, padH: 1, padW: 1,
  dilationH: 1, dilationW: 1, groups: 1, hasBias: false };
const x = be.alloc(n * cin * hw * hw), w = be.alloc(cout * cin * 9), y = be.alloc(n * cout * hw * hw);
be.write(x, Float32Array.from({ length: n * cin * hw * hw }, (_, i) => Math.sin(i)));
be.write(w, Float32Array.from({ length: cout * cin * 9 }, (_, i) => Math.cos(i)));
const body = () => kind === 'f' ? be.run('conv2d', [x, w], y, p) : kind === 'w' ? be.run('conv2dBackwardWeight', [x, y], w, p) : be.run('conv2dBackwardInput', [y, w], x, p);
body();
const ts: number[] = [];
for (let r = 0; r < reps; r++) { const c0 = process.cpuUsage(); body(); const c = process.cpuUsage(c0); ts.push((c.user + c.system) / 1000); }
ts.sort((a, b) => a - b);
const gf = 2 * n * cout * cin * 9 * hw * hw / 1e9;
console.log(`${algo} ${cin}->${cout} ${hw}x${hw} ${kind}: best ${ts[0].toFixed(2)} ms (${(gf / ts[0] * 1e3).toFixed(1)} GFLOP/s), median ${ts[reps >> 1].toFixed(2)}`);
