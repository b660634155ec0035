// Encodes and decodes the safetensors checkpoint format (https://github.com/huggingface/safetensors) with the same
// layout and validation rules as the reference library. Pure TypeScript with no Node imports, so it runs in browsers.

/**
 * The typed array each safetensors dtype decodes into. Formats JavaScript has no array for keep their raw bits:
 * F16 and BF16 as Uint16Array, the 8-bit floats as Uint8Array, F4/F6 as packed bytes; C64 is interleaved (re, im)
 * float32 pairs. {@link toFloat32} widens the numeric ones.
 */
export interface DtypeArrays {
  BOOL: Uint8Array;
  F4: Uint8Array;
  F6_E2M3: Uint8Array;
  F6_E3M2: Uint8Array;
  U8: Uint8Array;
  I8: Int8Array;
  F8_E5M2: Uint8Array;
  F8_E4M3: Uint8Array;
  F8_E8M0: Uint8Array;
  I16: Int16Array;
  U16: Uint16Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I32: Int32Array;
  U32: Uint32Array;
  F32: Float32Array;
  C64: Float32Array;
  F64: Float64Array;
  I64: BigInt64Array;
  U64: BigUint64Array;
}

/** A dtype name as it appears in a safetensors header. */
export type Dtype = keyof DtypeArrays;

/** One tensor of a safetensors file: dtype, C-order shape and little-endian-decoded data. */
export type SafeTensor = { [D in Dtype]: { dtype: D; shape: number[]; data: DtypeArrays[D] } }[Dtype];

/** A tensor to write, with its name in the file. */
export type SafeTensorEntry = SafeTensor & { name: string };

/** A decoded safetensors file. `tensors` is in file (data offset) order; `metadata` is `{}` when the file has none. */
export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Map<string, SafeTensor>;
}

/** A malformed safetensors file or an entry that cannot be written; the message names the file and the problem. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

type ArrayCtor<A> = { new (buffer: ArrayBuffer): A; readonly BYTES_PER_ELEMENT: number; readonly name: string };
type DtypeInfo<D extends Dtype> = { bits: number; array: ArrayCtor<DtypeArrays[D]> };

/** Bits per element and the decoding array, for every dtype of the reference library (safetensors 0.6). */
const DTYPES: { [D in Dtype]: DtypeInfo<D> } = {
  BOOL: { bits: 8, array: Uint8Array },
  F4: { bits: 4, array: Uint8Array },
  F6_E2M3: { bits: 6, array: Uint8Array },
  F6_E3M2: { bits: 6, array: Uint8Array },
  U8: { bits: 8, array: Uint8Array },
  I8: { bits: 8, array: Int8Array },
  F8_E5M2: { bits: 8, array: Uint8Array },
  F8_E4M3: { bits: 8, array: Uint8Array },
  F8_E8M0: { bits: 8, array: Uint8Array },
  I16: { bits: 16, array: Int16Array },
  U16: { bits: 16, array: Uint16Array },
  F16: { bits: 16, array: Uint16Array },
  BF16: { bits: 16, array: Uint16Array },
  I32: { bits: 32, array: Int32Array },
  U32: { bits: 32, array: Uint32Array },
  F32: { bits: 32, array: Float32Array },
  C64: { bits: 64, array: Float32Array },
  F64: { bits: 64, array: Float64Array },
  I64: { bits: 64, array: BigInt64Array },
  U64: { bits: 64, array: BigUint64Array },
};

/** The reference reader refuses headers above 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** With the `u` flag a surrogate range matches only unpaired halves, which JSON.stringify escapes and Rust rejects. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const isDtype = (s: unknown): s is Dtype => typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, s);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);
const fmtShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** A header value for an error message. NOTE: never recurses (a header can nest a million levels deep). */
function preview(v: unknown): string {
  const scalar = (x: unknown): string => {
    const s = String(JSON.stringify(x));
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  };
  if (v === undefined) return 'nothing';
  if (v === null || typeof v !== 'object') return scalar(v);
  if (Array.isArray(v) && v.length <= 8 && v.every((x) => x === null || typeof x !== 'object'))
    return `[${v.map(scalar).join(',')}]`;
  return describe(v);
}

/** Element count of a shape, or null when it is not a safe integer. */
function numel(shape: readonly number[]): number | null {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return null;
  }
  return n;
}

/** Bytes a tensor of `dtype` and `shape` occupies, or a reason it has no valid size. */
function byteSize(dtype: Dtype, shape: readonly number[]): number | string {
  const n = numel(shape);
  if (n === null) return `shape ${fmtShape(shape)} has too many elements`;
  const bits = n * DTYPES[dtype].bits;
  if (!Number.isSafeInteger(bits)) return `shape ${fmtShape(shape)} has too many elements`;
  if (bits % 8 !== 0) return `shape ${fmtShape(shape)} of ${dtype} does not fill whole bytes`;
  return bits / 8;
}

/**
 * Reverses the byte order of each `width`-byte group of `bytes` in place. Safetensors data is little-endian; this is
 * applied only on big-endian hosts (and by the tests, to exercise that path).
 */
export function swapByteOrder(bytes: Uint8Array, width: number): void {
  if (width <= 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) bytes.subarray(i, i + width).reverse();
}

/**
 * Serialises tensors and string metadata to safetensors bytes: an 8-byte little-endian header length N, N bytes of
 * compact JSON `{"__metadata__": {...}, "<name>": {"dtype", "shape", "data_offsets": [begin, end]}, ...}` padded with
 * spaces to a multiple of 8, then the tensors' little-endian bytes back to back in the order given.
 *
 * NOTE: the reference writer sorts tensors by dtype alignment, then name; readers (including it) sort by offset and
 * accept any order, so this keeps the caller's. Because the header is padded to 8 bytes and tensors are laid out
 * in the given order, put 8-byte dtypes first when the file will be memory-mapped by an aligning reader.
 * `__metadata__` is written whenever `metadata` is given, as the Python library does.
 *
 * @example
 * const bytes = encodeSafetensors([{ name: 'fc.weight', dtype: 'F32', shape: [2, 3], data: w }], { epoch: '3' });
 */
export function encodeSafetensors(entries: readonly SafeTensorEntry[], metadata?: Record<string, string>): Uint8Array {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`encodeSafetensors: ${msg}`);
  };
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (!isRecord(metadata)) fail(`metadata must be an object of strings, got ${describe(metadata)}`);
    const fields = Object.entries(metadata).map(([k, v]) => {
      if (typeof v !== 'string')
        fail(`metadata value for key ${JSON.stringify(k)} is ${describe(v)}, expected a string`);
      if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v))
        fail(`metadata key ${JSON.stringify(k)} has invalid Unicode`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  const seen = new Set<string>();
  let offset = 0;
  for (const e of entries) {
    const what = `tensor ${preview(e.name)}`;
    if (typeof e.name !== 'string') fail(`tensor names must be strings, got ${describe(e.name)}`);
    if (e.name === METADATA_KEY) fail(`${what} uses the reserved name of the metadata entry`);
    if (seen.has(e.name)) fail(`${what} appears twice`);
    if (LONE_SURROGATE.test(e.name)) fail(`${what} has invalid Unicode in its name`);
    seen.add(e.name);
    if (!isDtype(e.dtype)) fail(`${what} has unknown dtype ${preview(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every(isSize))
      fail(`${what} has shape ${preview(e.shape)}, expected non-negative integers`);
    const info: DtypeInfo<Dtype> = DTYPES[e.dtype];
    if (!(e.data instanceof info.array)) fail(`${what} of dtype ${e.dtype} needs a ${info.array.name}`);
    const size = byteSize(e.dtype, e.shape);
    if (typeof size === 'string') return fail(`${what}: ${size}`);
    if (e.data.byteLength !== size) {
      fail(`${what}: shape ${fmtShape(e.shape)} of ${e.dtype} needs ${size} bytes, data has ${e.data.byteLength}`);
    }
    const shape = `"shape":[${e.shape.join(',')}]`;
    const fields = `"dtype":${JSON.stringify(e.dtype)},${shape},"data_offsets":[${offset},${offset + size}]`;
    parts.push(`${JSON.stringify(e.name)}:{${fields}}`);
    offset += size;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerBytes = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerBytes + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerBytes); // spaces, as the reference pads
  let at = 8 + headerBytes;
  for (const e of entries) {
    const bytes = new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    out.set(bytes, at);
    if (!HOST_LITTLE_ENDIAN)
      swapByteOrder(out.subarray(at, at + bytes.length), DTYPES[e.dtype].array.BYTES_PER_ELEMENT);
    at += bytes.length;
  }
  return out;
}

interface HeaderEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Checks one tensor's header entry: field types, dtype and that shape × dtype size matches its offsets. */
function parseEntry(name: string, info: unknown, fail: (msg: string) => never): HeaderEntry {
  const what = `tensor ${preview(name)}`;
  if (LONE_SURROGATE.test(name)) fail(`${what} has invalid Unicode in its name`);
  if (!isRecord(info))
    return fail(`${what}: expected an object with dtype, shape and data_offsets, got ${describe(info)}`);
  const { dtype, shape, data_offsets: offsets } = info;
  if (dtype === undefined) return fail(`${what} has no dtype`);
  if (!isDtype(dtype)) return fail(`${what} has unknown dtype ${preview(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isSize)) {
    return fail(`${what}: shape must be an array of non-negative integers, got ${preview(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
    return fail(`${what}: data_offsets must be [begin, end] byte offsets, got ${preview(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`${what}: data_offsets [${begin}, ${end}] end before they begin`);
  const size = byteSize(dtype, shape);
  if (typeof size === 'string') return fail(`${what}: ${size}`);
  if (end - begin !== size) {
    fail(
      `${what}: shape ${fmtShape(shape)} of ${dtype} needs ${size} bytes but data_offsets [${begin}, ${end}] ` +
        `span ${end - begin}`,
    );
  }
  return { name, dtype, shape, begin, end };
}

/**
 * Parses safetensors bytes, applying the reference reader's checks: a header length within the file (and at most
 * 100 MB), a UTF-8 JSON object header, known dtypes, `shape × dtype size = end − begin` for each tensor, and offsets
 * that, sorted, tile the data section exactly from 0 to its end (no gaps, overlaps or trailing bytes). Data is copied
 * out, so the result does not alias `bytes` and every array is aligned.
 *
 * @param source names the file in error messages.
 * @throws SafetensorsError naming `source` and what is wrong; never anything else, whatever the input.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${source}: ${msg}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length field`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the format's ${MAX_HEADER_BYTES}-byte limit`);
  const headerLength = Number(n);
  if (headerLength > bytes.length - 8) {
    fail(`header length ${headerLength} is larger than the ${bytes.length - 8} bytes after the length field`);
  }
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(header)) return fail(`header must be a JSON object, got ${describe(header)}`);

  const metadata = parseMetadata(header[METADATA_KEY], fail);
  const entries = Object.entries(header)
    .filter(([k]) => k !== METADATA_KEY)
    .map(([k, v]) => parseEntry(k, v, fail));
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let covered = 0;
  let previous: HeaderEntry | null = null;
  for (const e of entries) {
    const what = `tensor ${preview(e.name)}`;
    if (e.end > dataLength)
      fail(`${what}: data_offsets [${e.begin}, ${e.end}] run past the ${dataLength}-byte data section`);
    if (e.begin < covered)
      fail(`${what}: data_offsets [${e.begin}, ${e.end}] overlap tensor ${preview(previous?.name)}`);
    if (e.begin > covered)
      fail(`${what}: data_offsets [${e.begin}, ${e.end}] leave bytes ${covered}..${e.begin} unused`);
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength)
    fail(`tensors cover ${covered} bytes of the ${dataLength}-byte data section; the rest is unused`);

  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    const copy = new Uint8Array(e.end - e.begin); // NOTE: not bytes.slice, which on a Node Buffer is a view
    copy.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    const info: DtypeInfo<Dtype> = DTYPES[e.dtype];
    if (!HOST_LITTLE_ENDIAN) swapByteOrder(copy, info.array.BYTES_PER_ELEMENT);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: new info.array(copy.buffer) } as SafeTensor);
  }
  return { metadata, tensors };
}

function parseMetadata(value: unknown, fail: (msg: string) => never): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) return fail(`__metadata__ must be an object of strings, got ${describe(value)}`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(`__metadata__ value for key ${preview(k)} is ${describe(v)}, expected a string`);
    if (LONE_SURROGATE.test(k) || LONE_SURROGATE.test(v as string))
      fail(`__metadata__ key ${preview(k)} has invalid Unicode`);
  }
  return value as Record<string, string>;
}

/**
 * I64/U64 data as plain numbers (step counters, `num_batches_tracked`).
 * @throws RangeError when a value is beyond ±(2^53 − 1), where numbers would silently round.
 */
export function int64ToNumbers(data: BigInt64Array | BigUint64Array): number[] {
  const out = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new RangeError(`int64 value ${v} at index ${i} is not exactly representable as a number`);
    }
    out[i] = Number(v);
  }
  return out;
}

/** IEEE 754 binary16 bits to a number (exact). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/**
 * A tensor's values as float32, for loading into engine tensors: F16 and BF16 are widened exactly, F64 and integers
 * round to nearest float32, BOOL gives 0/1. F32 data is returned as is (not copied).
 * @throws SafetensorsError for dtypes with no scalar float meaning here (8/6/4-bit floats, C64).
 */
export function toFloat32(t: SafeTensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return t.data;
    case 'F16':
      return Float32Array.from(t.data, halfToNumber);
    case 'BF16': {
      const out = new Float32Array(t.data.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < t.data.length; i++) bits[i] = t.data[i] << 16;
      return out;
    }
    case 'I64':
    case 'U64':
      return Float32Array.from(t.data, Number);
    case 'F64':
    case 'I32':
    case 'U32':
    case 'I16':
    case 'U16':
    case 'I8':
    case 'U8':
    case 'BOOL':
      return Float32Array.from(t.data);
    default:
      throw new SafetensorsError(`toFloat32: dtype ${t.dtype} has no float32 conversion`);
  }
}
