// Safetensors files: the reference library's golden bytes, round trips, every encode and decode error, fuzzing, and
// the dtype helpers. PyTorch interop is in safetensors-torch.test.ts, atomic checkpoint writes in atomic-file.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
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
import { f32, sameBytes, utf8 } from './util/bytes.ts';
import { throwsWith } from './util/throws.ts';

/** A file with this header text (or object) and `data` bytes; `n` overrides the length field. */
function rawFile(header: string | object, data = 0, n?: number | bigint): Uint8Array {
  const text = utf8(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data);
  new DataView(out.buffer).setBigUint64(0, BigInt(n ?? text.length), true);
  out.set(text, 8);
  return out;
}

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

test.run();
