// IDX files, the MNIST / Fashion-MNIST format (http://yann.lecun.com/exdb/mnist/): parse unsigned-byte arrays
// from raw bytes, encode them (for tests and tools), and pair an images file with a labels file into a Dataset.

import { bytesToUnit, checkDataset, DataError, type Dataset } from './dataset.ts';

/** Magic number of an IDX file of unsigned bytes with 3 dimensions (images: N×H×W). */
export const IDX_IMAGES_MAGIC = 0x00000803;
/** Magic number of an IDX file of unsigned bytes with 1 dimension (labels: N). */
export const IDX_LABELS_MAGIC = 0x00000801;

const UBYTE = 0x08;
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64',
};

/** The dimensions and the element bytes (a view into the file's bytes, not a copy) of one IDX array. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** True when `bytes` start with the gzip magic number 1f 8b. */
export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

const hex = (v: number, width: number): string => `0x${v.toString(16).padStart(width, '0')}`;
const describe = (magic: number): string => {
  const type = (magic >>> 8) & 0xff;
  return `${TYPE_NAMES[type] ?? `unknown type ${hex(type, 2)}`}, ${magic & 0xff} dims`;
};

/**
 * Parses an uncompressed IDX file of unsigned bytes.
 * Layout: big-endian u32 magic `0x0000TTDD` (TT element type, DD number of dimensions), DD big-endian u32 sizes,
 * then the elements in row-major order.
 * @param file names the file in error messages.
 * @param expectedMagic `IDX_IMAGES_MAGIC` or `IDX_LABELS_MAGIC`.
 * @throws DataError on gzip input, a wrong magic number, an element type other than unsigned byte, or a file
 *   shorter or longer than its header says.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectedMagic: number): IdxArray {
  if (isGzip(bytes)) throw new DataError(file, 'is gzip-compressed; decompress it first (readDataFile in Node, fetchBytes in browsers)');
  if (bytes.length < 4) throw new DataError(file, `truncated: expected at least 4 bytes (the magic number), found ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const wrongMagic = (): DataError => new DataError(file,
    `wrong magic number: expected ${hex(expectedMagic, 8)} (${describe(expectedMagic)}), found ${hex(magic, 8)}` +
    (bytes[0] === 0 && bytes[1] === 0 ? ` (${describe(magic)})` : ' (not an IDX file)'));
  if (bytes[0] !== 0 || bytes[1] !== 0) throw wrongMagic();
  if (bytes[2] !== UBYTE) {
    throw new DataError(file, `unsupported element type ${hex(bytes[2], 2)} (${TYPE_NAMES[bytes[2]] ?? 'unknown'}); ` +
      `only unsigned byte (0x08) is supported`);
  }
  if (magic !== expectedMagic) throw wrongMagic();
  const rank = bytes[3];
  const header = 4 + 4 * rank;
  if (bytes.length < header) {
    throw new DataError(file, `truncated: expected at least ${header} bytes for the header of ${rank} dims, found ${bytes.length}`);
  }
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const expected = header + dims.reduce((a, b) => a * b, 1);
  if (bytes.length < expected) {
    throw new DataError(file, `truncated: expected ${expected} bytes (${header} header + ${dims.join('×')}), found ${bytes.length}`);
  }
  if (bytes.length > expected) {
    throw new DataError(file, `expected ${expected} bytes (${header} header + ${dims.join('×')}), found ${bytes.length} (trailing data)`);
  }
  return { dims, data: bytes.subarray(header, expected) };
}

/**
 * Encodes an unsigned-byte IDX file (magic `0x000008DD`); the inverse of `parseIdx`.
 * @example encodeIdx([2], [3, 7]) // a labels file holding 3 and 7
 */
export function encodeIdx(dims: readonly number[], data: ArrayLike<number>): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new RangeError(`encodeIdx: ${data.length} values do not fill dims [${dims.join(', ')}]`);
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + size);
  const view = new DataView(out.buffer);
  view.setUint32(0, (UBYTE << 8) | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, header);
  return out;
}

/** Names and class count for `idxDataset`. */
export interface IdxSource {
  images: Uint8Array;
  labels: Uint8Array;
  imagesFile: string;
  labelsFile: string;
  /** Number of classes (labels must lie below it); 10 by default. */
  classes?: number;
  classNames?: readonly string[];
}

/**
 * A 1-channel Dataset from an uncompressed IDX images file (N×H×W bytes) and labels file (N bytes); pixels are
 * scaled to [0, 1] as value / 255.
 * @throws DataError from `parseIdx`, when the counts differ (naming both files) or a label is out of range.
 */
export function idxDataset(src: IdxSource): Dataset {
  const images = parseIdx(src.images, src.imagesFile, IDX_IMAGES_MAGIC);
  const labels = parseIdx(src.labels, src.labelsFile, IDX_LABELS_MAGIC);
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n) {
    throw new DataError(`${src.imagesFile} and ${src.labelsFile}`, `mismatched counts: ${n} images but ${labels.dims[0]} labels`);
  }
  const ds: Dataset = {
    images: bytesToUnit(images.data),
    labels: Int32Array.from(labels.data),
    n,
    shape: [1, h, w],
    classes: src.classes ?? 10,
    classNames: src.classNames,
  };
  return checkDataset(ds, src.labelsFile);
}
