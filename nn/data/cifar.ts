// CIFAR-10 / CIFAR-100 binary batches (https://www.cs.toronto.edu/~kriz/cifar.html): parse records from bytes into a
// Dataset, and encode records (so tests and tools can make small files in the same format).

import { bytesToUnit, CIFAR10_CLASSES, DataError, type Dataset } from './dataset.ts';

/** Which CIFAR variant: CIFAR-10 records carry 1 label byte, CIFAR-100 records 2 (coarse, then fine). */
export type CifarKind = 'cifar10' | 'cifar100';

/** Pixel bytes in one record: a 32×32 R plane, then G, then B (already C×H×W order). */
export const CIFAR_PIXELS = 3 * 32 * 32;

const LABEL_BYTES: Readonly<Record<CifarKind, number>> = { cifar10: 1, cifar100: 2 };

/** Bytes in one record of `kind`: 3073 for CIFAR-10, 3074 for CIFAR-100. */
export const cifarRecordSize = (kind: CifarKind): number => LABEL_BYTES[kind] + CIFAR_PIXELS;

/** One batch file's name (for error messages) and contents. */
export interface CifarFile {
  name: string;
  bytes: Uint8Array;
}

export interface CifarOptions {
  kind: CifarKind;
  /** CIFAR-100 only: the 100 fine labels (default) or the 20 coarse superclass labels. */
  labels?: 'fine' | 'coarse';
  /** Class names, when known (CIFAR-10's are filled in by default). */
  classNames?: readonly string[];
}

/** The label fields of a record of `kind`, in file order, with their ranges. */
const labelFields = (kind: CifarKind): { name: string; classes: number }[] =>
  kind === 'cifar10' ? [{ name: 'label', classes: 10 }] : [{ name: 'coarse label', classes: 20 }, { name: 'fine label', classes: 100 }];

/**
 * Reads the records of one or more batch files (concatenated in the given order) into a 3×32×32 Dataset with pixels
 * scaled to [0, 1] as value / 255.
 * @example parseCifar([{ name: 'data_batch_1.bin', bytes }], { kind: 'cifar10' })
 * @throws DataError naming the file when it is empty, its length is not a multiple of the record size, or a label is
 *   out of range.
 */
export function parseCifar(files: readonly CifarFile[], opts: CifarOptions): Dataset {
  const kind = opts.kind;
  const rec = cifarRecordSize(kind);
  const fields = labelFields(kind);
  const pick = kind === 'cifar100' && opts.labels === 'coarse' ? 0 : fields.length - 1;
  for (const f of files) {
    if (f.bytes.length === 0) throw new DataError(f.name, `is empty: a ${kind.toUpperCase()} batch holds at least one record`);
    if (f.bytes.length % rec !== 0) {
      throw new DataError(f.name, `length ${f.bytes.length} is not a multiple of the ${kind.toUpperCase()} record size ${rec} ` +
        `(${LABEL_BYTES[kind]} label byte${LABEL_BYTES[kind] > 1 ? 's' : ''} + ${CIFAR_PIXELS} pixel bytes); ` +
        `${f.bytes.length % rec} bytes left over`);
    }
  }
  const n = files.reduce((a, f) => a + f.bytes.length / rec, 0);
  const images = new Float32Array(n * CIFAR_PIXELS);
  const labels = new Int32Array(n);
  let i = 0;
  for (const f of files) {
    for (let r = 0; r < f.bytes.length / rec; r++, i++) {
      const at = r * rec;
      fields.forEach((field, k) => {
        const v = f.bytes[at + k];
        if (v >= field.classes) throw new DataError(f.name, `record ${r}: ${field.name} ${v} is out of range [0, ${field.classes})`);
      });
      labels[i] = f.bytes[at + pick];
      bytesToUnit(f.bytes.subarray(at + fields.length, at + rec), images.subarray(i * CIFAR_PIXELS, (i + 1) * CIFAR_PIXELS));
    }
  }
  return {
    images, labels, n,
    shape: [3, 32, 32],
    classes: fields[pick].classes,
    classNames: opts.classNames ?? (kind === 'cifar10' ? CIFAR10_CLASSES : undefined),
  };
}

/** Records to encode: N×3072 pixel bytes (R, G, B planes per image) and N labels. */
export interface CifarRecords {
  kind: CifarKind;
  pixels: Uint8Array;
  /** CIFAR-10 labels, or CIFAR-100 fine labels. */
  labels: ArrayLike<number>;
  /** CIFAR-100 coarse labels (zeros when omitted). */
  coarse?: ArrayLike<number>;
}

/**
 * Encodes records in the CIFAR binary format; the inverse of `parseCifar`.
 * @example encodeCifar({ kind: 'cifar10', pixels: new Uint8Array(2 * 3072), labels: [3, 9] })
 */
export function encodeCifar(r: CifarRecords): Uint8Array {
  const n = r.labels.length;
  if (r.pixels.length !== n * CIFAR_PIXELS) throw new RangeError(`encodeCifar: ${r.pixels.length} pixel bytes for ${n} records`);
  const rec = cifarRecordSize(r.kind);
  const lb = LABEL_BYTES[r.kind];
  const out = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    if (r.kind === 'cifar100') out[i * rec] = r.coarse?.[i] ?? 0;
    out[i * rec + lb - 1] = r.labels[i];
    out.set(r.pixels.subarray(i * CIFAR_PIXELS, (i + 1) * CIFAR_PIXELS), i * rec + lb);
  }
  return out;
}
