// Runs every bundled test file (build/test/*.test.js) in its own Node process, sums uvu's totals and the per-backend
// case counts, and ends with the line CI reads: `N passed, N failed` (`, N skipped` when any were skipped).
import { spawn } from 'node:child_process';
import { readdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const dir = new URL('../build/test/', import.meta.url).pathname;
const filter = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'xdg-'));

let passed = 0,
  failed = 0,
  skipped = 0;
const cases = new Map();
for (const f of files) {
  const t0 = Date.now();
  const { code, out } = await run(join(dir, f));
  const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? NaN);
  const total = num('Total'),
    ok = num('Passed'),
    skip = num('Skipped');
  for (const m of out.matchAll(/^\[cases\] \S+: (.*)$/gm)) {
    for (const kv of m[1].split(' ').filter(Boolean)) {
      const [k, v] = kv.split('=');
      cases.set(k, (cases.get(k) ?? 0) + Number(v));
    }
  }
  if (Number.isNaN(total) || (code !== 0 && total === ok)) {
    failed += 1; // the file crashed before or after uvu could report
    console.log(`✘ ${f}: exited with code ${code} without a complete report`);
  } else {
    passed += ok;
    skipped += skip;
    failed += total - ok;
    console.log(
      `${total - ok ? '✘' : '✔'} ${f}: ${ok}/${total} passed${skip ? `, ${skip} skipped` : ''} ` +
        `(${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
  }
}
if (cases.size) console.log(`op cases run per backend: ${[...cases].map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);

function run(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--enable-source-maps', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d) => {
      out += d;
      process.stdout.write(d);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => {
      out += d;
      process.stderr.write(d);
    });
    child.on('close', (code) => resolve({ code, out }));
  });
}
