// Safetensors interop with PyTorch through test/fixtures/safetensors_io.py: PyTorch reads our files (and loads one as
// an nn.Linear state_dict), and we read, then re-encode byte for byte, a state_dict PyTorch wrote.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeSafetensors,
  encodeSafetensors,
  int64ToNumbers,
  toFloat32,
  type SafeTensor,
  type SafeTensorEntry,
} from '../nn/safetensors.ts';
import { readFileChecked, writeFileAtomic } from '../nn/atomic-file.ts';
import { f32, sameBytes } from './util/bytes.ts';

const dir = mkdtempSync(join(tmpdir(), 'swa-safetensors-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const python = ['python3', '/usr/bin/python3'].find(
  (exe) => spawnSync(exe, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
);
if (!python && process.env.CI !== 'true')
  console.warn('[tests] no python3 with torch found; the PyTorch interop tests are skipped');
const torchTest = python || process.env.CI === 'true' ? test : test.skip;
const fixture = new URL('../../test/fixtures/safetensors_io.py', import.meta.url).pathname;

interface PyTensor {
  dtype: string;
  shape: number[];
  values: string[];
}
interface PyReport {
  header_length?: number;
  order?: string[];
  metadata: Record<string, string>;
  tensors: Record<string, PyTensor>;
  linear?: string[];
}

function runPython(...args: string[]): PyReport {
  if (!python) throw new Error('CI=true requires python3 with torch (python3-torch) for the safetensors interop tests');
  const r = spawnSync(python, [fixture, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`safetensors_io.py ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout) as PyReport;
}

const pyNumber = (s: string): number =>
  (({ nan: NaN, inf: Infinity, '-inf': -Infinity, True: 1, False: 0 }) as Record<string, number>)[s] ?? Number(s);

/** Element-wise exact comparison of our tensor with Python's printout of the same tensor. */
function assertSameValues(name: string, ours: SafeTensor, py: PyTensor): void {
  assert.is(py.dtype, ours.dtype, name);
  assert.equal(py.shape, ours.shape, name);
  const wide = ours.dtype === 'I64' || ours.dtype === 'U64';
  const halves = ours.dtype === 'F16' || ours.dtype === 'BF16';
  const mine = wide
    ? Array.from(ours.data, String)
    : Array.from(halves ? toFloat32(ours) : (ours.data as ArrayLike<number>));
  const theirs = wide ? py.values : py.values.map(pyNumber);
  assert.is(mine.length, theirs.length, name);
  mine.forEach((v, i) =>
    assert.ok(Object.is(v, theirs[i]), `${name}[${i}]: ours ${String(v)}, torch ${String(theirs[i])}`),
  );
}

torchTest(
  'pytorch reads our file: names, shapes, exact values, metadata; loads it as an nn.Linear state_dict',
  async () => {
    const w = f32(0.5, -1.25, 2, 1 / 3, -0, 7),
      b = f32(0.1, -3);
    const entries: SafeTensorEntry[] = [
      { name: 'fc.weight', dtype: 'F32', shape: [2, 3], data: w },
      { name: 'fc.bias', dtype: 'F32', shape: [2], data: b },
      { name: 'edge', dtype: 'F32', shape: [7], data: f32(-2, -0.5, -0, 0, NaN, Infinity, 1e-45) },
      { name: 'step', dtype: 'I64', shape: [], data: new BigInt64Array([2n ** 62n + 3n]) },
      { name: 'swa.f64', dtype: 'F64', shape: [2, 1], data: new Float64Array([1 / 3, -1e300]) },
      { name: 'counts', dtype: 'I32', shape: [3], data: new Int32Array([-(2 ** 31), 0, 2 ** 31 - 1]) },
      { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
    ];
    const metadata = { format: 'pt', epoch: '12', note: 'swa ✓ "averaged"\n' };
    const path = join(dir, 'ours.safetensors');
    await writeFileAtomic(path, encodeSafetensors(entries, metadata));
    const py = runPython('read', path, '--linear', 'fc');
    assert.is(py.header_length! % 8, 0);
    assert.equal(py.metadata, metadata);
    assert.equal(Object.keys(py.tensors).sort(), entries.map((e) => e.name).sort());
    for (const e of entries) assertSameValues(e.name, e, py.tensors[e.name]);
    const x = [-1, 0, 1]; // the script's input: arange(in_features) - 1
    const expected = [0, 1].map((i) => b[i] + x.reduce((s, xj, j) => s + w[i * 3 + j] * xj, 0));
    py.linear!.map(Number).forEach((y, i) =>
      assert.ok(Math.abs(y - expected[i]) < 1e-6, `linear[${i}] ${y} vs ${expected[i]}`),
    );
  },
);

torchTest(
  'we read a state_dict PyTorch wrote (BatchNorm, I64 counter, F16/BF16, bool), and re-encode it byte for byte',
  async () => {
    const path = join(dir, 'torch.safetensors');
    const py = runPython('write', path);
    const original = await readFileChecked(path);
    const file = decodeSafetensors(original, path);
    assert.equal([...file.tensors.keys()], py.order);
    assert.equal(file.metadata, py.metadata);
    for (const [name, t] of file.tensors) assertSameValues(name, t, py.tensors[name]);
    const steps = file.tensors.get('1.num_batches_tracked')!;
    assert.equal(steps.dtype === 'I64' && int64ToNumbers(steps.data), [1]);
    const again = encodeSafetensors(
      [...file.tensors].map(([name, t]) => ({ name, ...t })),
      file.metadata,
    );
    assert.ok(sameBytes(again, original), 'same bytes as the Python writer');
  },
);

test.run();
