// `npm run bench:compare`: builds the wasm kernels and bundles the comparison's runners (esbuild, the same loaders as
// build.mjs) into build/compare/, then runs the orchestrator with the given flags (--quick, --only=…, --peers=…);
// --build-only stops after building.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const out = join(root, 'build/compare');

execFileSync(process.execPath, [join(root, 'build.mjs'), 'wasm'], { cwd: root, stdio: 'inherit' });
await build({
  entryPoints: ['main.ts', 'ours.ts', 'tfjs.ts'].map((f) => join(root, 'bench/compare', f)),
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'node',
  sourcemap: true,
  logLevel: 'warning',
  loader: { '.wgsl': 'text', '.wasm': 'binary' },
  // Peers stay in node_modules: tfjs-backend-wasm loads its .wasm files relative to its own folder.
  external: ['webgpu', '@tensorflow/*'],
});
// --build-only: the bundles alone (bench/gpu/run-nvidia.sh runs build/compare/ours.js itself).
if (process.argv.includes('--build-only')) process.exit(0);
const args = [join(out, 'main.js'), ...process.argv.slice(2)];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
