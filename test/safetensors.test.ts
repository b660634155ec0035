// Safetensors files: the reference library's golden bytes, round trips, every decode error, fuzzing, PyTorch interop
// through test/fixtures/safetensors_io.py, and atomic checkpoint writes (failures midway, concurrent rewrites).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeSafetensors,
  encodeSafetensors,
  int64ToNumbers,
  swapByteOrder,
  toFloat32,
  SafetensorsError,
  type SafeTensor,
  type SafeTensorEntry,
} from '../nn/safetensors.ts';
import { readFileChecked, writeFileAtomic } from '../nn/atomic-file.ts';
import { throwsWith } from './util/throws.ts';

// The EFBIG test re-runs this file as a child that only performs one write under `ulimit -f`.
if (process.argv[2] === '--atomic-write-child') {
  await writeFileAtomic(process.argv[3], new Uint8Array(Number(process.argv[4])).fill(7)).then(
    () => process.exit(0),
    (e: Error) => {
      console.log(e.message);
      process.exit(3);
    },
  );
}

const dir = mkdtempSync(join(tmpdir(), 'swa-safetensors-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const f32 = (...v: number[]): Float32Array => new Float32Array(v);

/** A file with this header text (or object) and `data` bytes; `n` overrides the length field. */
function rawFile(header: string | object, data = 0, n?: number | bigint): Uint8Array {
  const text = utf8(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data);
  new DataView(out.buffer).setBigUint64(0, BigInt(n ?? text.length), true);
  out.set(text, 8);
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const bytesOf = (t: SafeTensor): Uint8Array => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

test('golden bytes: matches the reference serializer byte for byte, and reads its output back', () => {
  const golden = (n: number, json: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(8 + n + data.length).fill(0x20);
    new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
    out.set(utf8(json), 8);
    out.set(data, 8 + n);
    return out;
  };
  const six = f32(0, 1, 2, 3, 4, 5);
  const cases: [Uint8Array, Uint8Array][] = [
    [encodeSafetensors([]), golden(8, '{}', new Uint8Array())],
    [encodeSafetensors([], { framework: 'pt' }), golden(40, '{"__metadata__":{"framework":"pt"}}', new Uint8Array())],
    [
      encodeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: six }]),
      golden(64, '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', new Uint8Array(six.buffer)),
    ],
    [
      encodeSafetensors([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], data: six }]),
      golden(72, '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}', new Uint8Array(six.buffer)),
    ],
  ];
  for (const [ours, reference] of cases) {
    assert.ok(sameBytes(ours, reference), `${new TextDecoder().decode(ours.subarray(8, 80))}`);
    decodeSafetensors(reference, 'reference.safetensors');
  }
  const t = decodeSafetensors(cases[3][1]).tensors.get('attn0')!;
  assert.equal(
    { dtype: t.dtype, shape: t.shape, data: Array.from(toFloat32(t)) },
    { dtype: 'F32', shape: [1, 1, 2, 3], data: [0, 1, 2, 3, 4, 5] },
  );
});

test('header is padded with spaces so data starts on an 8-byte boundary, for every name length', () => {
  for (let len = 0; len <= 17; len++) {
    const bytes = encodeSafetensors([{ name: 'w'.repeat(len), dtype: 'F64', shape: [1], data: new Float64Array([1]) }]);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.is(n % 8, 0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.ok(/^\{.*\} *$/.test(text) && text.trimEnd().length > n - 8, text);
  }
});

test('round trip: every dtype, edge values, views with offsets, Node Buffer input; order and alignment kept', () => {
  const base = new Float32Array([9, -2, -1, -0.5, -0, 0, 0.5, 1, 2, NaN, Infinity, -Infinity, 1e-45, 3.4e38]);
  const entries: SafeTensorEntry[] = [
    { name: 'u8', dtype: 'U8', shape: [3], data: new Uint8Array([0, 255, 128]) }, // misaligns what follows
    { name: 'edge', dtype: 'F32', shape: [13], data: base.subarray(1) },
    { name: 'step', dtype: 'I64', shape: [], data: new BigInt64Array([2n ** 62n + 5n]) },
    { name: 'f64', dtype: 'F64', shape: [2, 2], data: new Float64Array([1 / 3, -1e300, 5e-324, -0]) },
    { name: 'i32', dtype: 'I32', shape: [3, 1], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0]) },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    { name: 'half', dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xfbff]) },
    { name: 'bf16', dtype: 'BF16', shape: [1], data: new Uint16Array([0xc000]) },
    { name: 'u64', dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    { name: 'mask', dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
    { name: 'cplx', dtype: 'C64', shape: [1], data: f32(1, -1) },
    { name: 'fp4', dtype: 'F4', shape: [2, 3], data: new Uint8Array([0x12, 0x34, 0x56]) },
    { name: '0', dtype: 'I8', shape: [1], data: new Int8Array([-128]) }, // integer-like key: JSON objects reorder those
  ];
  const meta = { epoch: '3', ключ: 'значение ✓', quote: 'a"b\\c\n', __proto__: 'x' };
  const bytes = encodeSafetensors(entries, JSON.parse(JSON.stringify(meta)) as Record<string, string>);
  const padded = new Uint8Array(bytes.length + 5);
  padded.set(bytes, 5);
  for (const input of [bytes, Buffer.from(padded.buffer, 5, bytes.length)]) {
    const file = decodeSafetensors(input);
    assert.equal(JSON.stringify(file.metadata), JSON.stringify(JSON.parse(JSON.stringify(meta))));
    assert.equal(
      [...file.tensors.keys()],
      entries.map((e) => e.name),
    );
    for (const e of entries) {
      const t = file.tensors.get(e.name)!;
      assert.is(t.dtype, e.dtype);
      assert.equal(t.shape, e.shape);
      assert.ok(sameBytes(bytesOf(t), bytesOf(e)), e.name);
      assert.is(t.data.constructor, e.data.constructor);
      assert.is(t.data.byteOffset % t.data.BYTES_PER_ELEMENT, 0);
      assert.ok(t.data.buffer !== input.buffer, 'decoded data is a copy');
    }
  }
});

test('encode errors name the tensor and the problem', () => {
  const w = (over: Partial<SafeTensorEntry>): SafeTensorEntry =>
    ({ name: 'w', dtype: 'F32', shape: [2], data: f32(1, 2), ...over }) as SafeTensorEntry;
  throwsWith(() => encodeSafetensors([w({}), w({})]), '"w"', 'twice');
  throwsWith(() => encodeSafetensors([w({ name: '__metadata__' })]), 'reserved');
  throwsWith(
    () => encodeSafetensors([w({ data: new Float64Array(2) } as Partial<SafeTensorEntry>)]),
    '"w"',
    'F32',
    'Float32Array',
  );
  throwsWith(() => encodeSafetensors([w({ shape: [3] })]), '"w"', 'needs 12 bytes, data has 8');
  throwsWith(() => encodeSafetensors([w({ shape: [-2] })]), 'non-negative integers');
  throwsWith(() => encodeSafetensors([w({ shape: [1.5] })]), 'non-negative integers');
  throwsWith(
    () => encodeSafetensors([w({ dtype: 'F17' } as unknown as Partial<SafeTensorEntry>)]),
    'unknown dtype "F17"',
  );
  throwsWith(() => encodeSafetensors([w({ dtype: 'F4', shape: [3], data: new Uint8Array(1) })]), 'whole bytes');
  throwsWith(() => encodeSafetensors([w({ name: 'bad\uD800' })]), 'Unicode');
  throwsWith(
    () => encodeSafetensors([], { epoch: 3 } as unknown as Record<string, string>),
    'metadata',
    '"epoch"',
    'number',
  );
});

test('decode errors name the file and what is wrong', () => {
  const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [Uint8Array, ...string[]][] = [
    [new Uint8Array(5), '5 bytes, shorter than the 8-byte'],
    [rawFile('{}', 0, 50), 'header length 50 is larger than the 2 bytes'],
    [rawFile('{}', 0, 2n ** 63n), 'exceeds', '100000000'],
    [rawFile('{"a":"x"}').map((b, i, a) => (i === a.length - 3 ? 0xff : b)), 'not valid UTF-8'],
    [rawFile('{"w": '), 'not valid JSON'],
    [rawFile('[1, 2]'), 'must be a JSON object, got an array'],
    [rawFile('null'), 'must be a JSON object, got null'],
    [rawFile({ w: { dtype: 'F17', shape: [2], data_offsets: [0, 8] } }, 8), '"w"', 'unknown dtype "F17"'],
    [
      rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8),
      '"w"',
      'needs 12 bytes but data_offsets [0, 8] span 8',
    ],
    [rawFile({ w: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, 8), 'non-negative integers'],
    [rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8.5] } }, 8), 'data_offsets must be'],
    [rawFile({ w: { dtype: 'F32', shape: [2] } }, 8), 'data_offsets must be'],
    [rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, 8), 'end before they begin'],
    [
      rawFile({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, 8),
      'too many elements',
    ],
    [rawFile({ w: 5 }, 8), '"w"', 'expected an object'],
    [rawFile({ w: { shape: [2], data_offsets: [0, 8] } }, 8), '"w" has no dtype'],
    [
      rawFile(`{"w":{"dtype":"F32","shape":${'['.repeat(1e6)}${']'.repeat(1e6)},"data_offsets":[0,0]}}`),
      'got an array',
    ], // no recursion
    [rawFile(ok, 4), 'run past the 4-byte data section'],
    [rawFile({ ...ok, v: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), 'overlap tensor "w"'],
    [
      rawFile({ ...ok, v: { dtype: 'F32', shape: [1], data_offsets: [12, 16] } }, 16),
      '"v"',
      'leave bytes 8..12 unused',
    ],
    [rawFile(ok, 12), 'cover 8 bytes of the 12-byte data section'],
    [rawFile({ __metadata__: { epoch: 3 } }), '__metadata__ value for key "epoch" is a number'],
    [rawFile({ __metadata__: ['x'] }), '__metadata__ must be an object'],
  ];
  for (const [bytes, ...parts] of cases) {
    throwsWith(() => decodeSafetensors(bytes, 'ckpt/epoch-3.safetensors'), 'ckpt/epoch-3.safetensors: ', ...parts);
    try {
      decodeSafetensors(bytes);
    } catch (e) {
      assert.instance(e, SafetensorsError);
    }
  }
});

test('decode accepts what the reference reader accepts: unpadded or spaced headers, any order, extra fields', () => {
  const file = decodeSafetensors(
    rawFile(
      ` {"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3],"note":1},
    "z":{"dtype":"F64","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"I8","shape":[],"data_offsets":[0,1]},
    "__metadata__":null}\t`,
      3,
    ),
  );
  assert.equal([...file.tensors.keys()], ['z', 'a', 'b'], 'file order: by begin, then end');
  assert.equal(file.metadata, {});
});

test('fuzz: random bytes and corrupted files either decode consistently or throw a SafetensorsError', () => {
  let seed = 0x5eed;
  const rand = (): number => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number): number => Math.floor(rand() * n);
  const valid = encodeSafetensors(
    [
      { name: 'conv.weight', dtype: 'F32', shape: [2, 3], data: f32(1, 2, 3, 4, 5, 6) },
      { name: 'bn.num_batches_tracked', dtype: 'I64', shape: [], data: new BigInt64Array([7n]) },
      { name: 'x', dtype: 'BF16', shape: [1, 2], data: new Uint16Array([1, 2]) },
    ],
    { epoch: '1' },
  );
  const n = Number(new DataView(valid.buffer).getBigUint64(0, true));
  const text = new TextDecoder().decode(valid.subarray(8, 8 + n));
  const numbers = [0, 1, 2, 4, 7, 8, 9, 24, 32, 40, -1, 1.5, 1e300, 2 ** 53, 2 ** 64];
  const dtypes = ['F32', 'I64', 'U8', 'BF16', 'F4', 'C64', 'f32', ''];
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const noise = (length: number): Uint8Array => Uint8Array.from({ length }, () => int(256));
  const join2 = (a: Uint8Array, b: Uint8Array): Uint8Array => {
    const o = new Uint8Array(a.length + b.length);
    o.set(a);
    o.set(b, a.length);
    return o;
  };
  const withHeader = (h: string): Uint8Array => rawFile(h, valid.length - 8 - n);
  const flip = (b: Uint8Array, at: () => number, times: number): Uint8Array => {
    for (; times > 0; times--) b[at()] = int(256);
    return b;
  };
  const mutants: (() => Uint8Array)[] = [
    () => noise(int(64)),
    () => join2(rawFile('{}', 0, int(70)), noise(int(70))), // a plausible header length over garbage
    () => flip(valid.slice(), () => int(valid.length), 1 + int(4)),
    () => flip(valid.slice(), () => 8 + int(n), 1),
    () => valid.slice(0, int(valid.length + 1)), // truncated
    () => join2(valid, new Uint8Array(1 + int(8))), // trailing bytes
    () => {
      let i = 0;
      const k = int(40);
      return withHeader(text.replace(/-?\d+(\.\d+)?/g, (m) => (i++ === k ? String(pick(numbers)) : m)));
    },
    () => withHeader(text.replace(/"(F32|I64|BF16)"/, `"${pick(dtypes)}"`)),
    () => {
      const t = text.split('');
      t.splice(int(t.length), int(3), pick([...'{}[],:"1 ']));
      return withHeader(t.join(''));
    },
  ];
  let decoded = 0,
    rejected = 0;
  for (let i = 0; i < 20000; i++) {
    const bytes = mutants[i % mutants.length]();
    try {
      const file = decodeSafetensors(bytes, 'fuzz.safetensors');
      let total = 0;
      for (const t of file.tensors.values()) total += t.data.byteLength;
      const header = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      assert.is(total, bytes.length - 8 - header, 'tensors cover the data section exactly');
      for (const v of Object.values(file.metadata)) assert.type(v, 'string');
      decoded++;
    } catch (e) {
      if (!(e instanceof SafetensorsError) || !e.message.startsWith('fuzz.safetensors: ')) throw e;
      rejected++;
    }
  }
  assert.ok(decoded > 500 && rejected > 5000, `decoded ${decoded}, rejected ${rejected}`);
});

test('helpers: int64 to numbers, float32 widening of F16/BF16/ints, byte swapping for big-endian hosts', () => {
  assert.equal(int64ToNumbers(new BigInt64Array([0n, -5n, 2n ** 53n - 1n])), [0, -5, 2 ** 53 - 1]);
  throwsWith(() => int64ToNumbers(new BigInt64Array([1n, 2n ** 53n + 1n])), 'index 1');
  const half = new Uint16Array([0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00]);
  const widened = Array.from(toFloat32({ dtype: 'F16', shape: [10], data: half }));
  assert.equal(widened.slice(0, 9), [0, -0, 1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity]);
  assert.ok(Number.isNaN(widened[9]) && Object.is(widened[1], -0));
  assert.equal(
    Array.from(toFloat32({ dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xc000, 0x3eab]) })),
    [1, -2, 0.333984375],
  );
  assert.equal(Array.from(toFloat32({ dtype: 'I64', shape: [2], data: new BigInt64Array([-3n, 2n ** 40n]) })), [
    -3,
    2 ** 40,
  ]);
  assert.equal(Array.from(toFloat32({ dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) })), [1, 0]);
  throwsWith(() => toFloat32({ dtype: 'F8_E4M3', shape: [1], data: new Uint8Array(1) }), 'F8_E4M3');
  const le = new Uint8Array(f32(1.5, -2).buffer).slice();
  const be = new Uint8Array(8);
  new DataView(be.buffer).setFloat32(0, 1.5, false);
  new DataView(be.buffer).setFloat32(4, -2, false);
  swapByteOrder(le, 4);
  assert.equal(Array.from(le), Array.from(be));
});

// ---- PyTorch interop ----

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

// ---- atomic writes ----

const leftovers = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith('.tmp'));

test('writeFileAtomic replaces the file; readFileChecked names a missing file', async () => {
  const d = mkdtempSync(join(dir, 'plain-'));
  const path = join(d, 'model.safetensors');
  await writeFileAtomic(path, utf8('first version, longer'));
  await writeFileAtomic(path, utf8('second'));
  assert.is(new TextDecoder().decode(await readFileChecked(path)), 'second');
  assert.equal(readdirSync(d), ['model.safetensors']);
  try {
    await readFileChecked(join(d, 'nope.safetensors'));
    assert.unreachable('missing file must throw');
  } catch (e) {
    assert.is((e as Error).message, `no such file: ${join(d, 'nope.safetensors')}`);
    assert.is((e as { code?: string }).code, 'ENOENT');
  }
  try {
    await readFileChecked(d);
    assert.unreachable();
  } catch (e) {
    assert.ok((e as Error).message.includes(`${d} is a directory`));
  }
});

test('a failed write names the path, leaves the previous file intact and no temporary file', async () => {
  const d = mkdtempSync(join(dir, 'fail-'));
  const missing = join(d, 'gone', 'model.safetensors');
  try {
    await writeFileAtomic(missing, utf8('x'));
    assert.unreachable();
  } catch (e) {
    assert.ok((e as Error).message.startsWith(`could not write ${missing}: `), (e as Error).message);
  }
  // Fails at the rename, after the temp file was written and fsynced: the target is a non-empty directory.
  const target = join(d, 'taken');
  mkdirSync(target);
  writeFileSync(join(target, 'keep'), 'kept');
  try {
    await writeFileAtomic(target, utf8('new'));
    assert.unreachable();
  } catch (e) {
    assert.ok((e as Error).message.includes(target));
  }
  assert.equal(readdirSync(d).sort(), ['taken']);
  assert.is(readFileSync(join(target, 'keep'), 'utf8'), 'kept');
  // Fails midway through writing the data (EFBIG under `ulimit -f`), over an existing checkpoint.
  if (process.platform === 'linux' && existsSync('/bin/bash')) {
    const path = join(d, 'model.safetensors');
    const before = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: f32(1, 2) }]);
    await writeFileAtomic(path, before);
    const r = spawnSync(
      '/bin/bash',
      [
        '-c',
        'ulimit -f 16; exec "$0" "$@"',
        process.execPath,
        process.argv[1],
        '--atomic-write-child',
        path,
        String(1 << 20),
      ],
      { encoding: 'utf8' },
    );
    assert.is(r.status, 3, `child should fail: ${r.stdout}${r.stderr}`);
    assert.ok(r.stdout.includes(`could not write ${path}`) && r.stdout.includes('EFBIG'), r.stdout);
    assert.ok(sameBytes(await readFileChecked(path), before), 'previous checkpoint intact');
    assert.equal(leftovers(d), []);
  }
});

test('concurrent rewrites: every read sees one complete version, never a partial file', async () => {
  const d = mkdtempSync(join(dir, 'race-'));
  const path = join(d, 'ckpt.safetensors');
  const versions = [1, 200_000, 30].map((size, v) =>
    encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [size], data: new Float32Array(size).fill(v) }], {
      v: String(v),
    }),
  );
  await writeFileAtomic(path, versions[0]);
  let writing = 2,
    reads = 0;
  const writer = async (k: number): Promise<void> => {
    for (let i = 0; i < 40; i++) await writeFileAtomic(path, versions[(i + k) % versions.length]);
    writing--;
  };
  const reader = async (): Promise<void> => {
    while (writing > 0) {
      const bytes = await readFileChecked(path);
      const v = Number(decodeSafetensors(bytes, path).metadata.v);
      assert.ok(sameBytes(bytes, versions[v]), `read a torn version ${v}`);
      reads++;
    }
  };
  await Promise.all([writer(0), writer(1), reader(), reader()]);
  assert.ok(reads > 0);
  assert.equal(leftovers(d), []);
});

test.run();
