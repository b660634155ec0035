// Node-only loading from disk (node:fs, node:zlib): Fashion-MNIST from a folder or the Debian package's, IDX pairs,
// and CIFAR-10/100 batch folders. Kept apart so browser bundles never import Node modules.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseCifar, type CifarKind } from './cifar.ts';
import { CIFAR10_CLASSES, DataError, FASHION_MNIST_CLASSES, type Dataset } from './dataset.ts';
import { idxDataset, isGzip } from './idx.ts';

/** Where the Debian package `dataset-fashion-mnist` installs the four `.gz` files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * A file's bytes, gunzipped when they start with the gzip magic number 1f 8b (whatever the file is called).
 * @throws DataError naming the path when it is missing or its gzip data is corrupt.
 */
export function readDataFile(path: string): Uint8Array {
  if (!existsSync(path)) throw new DataError(path, 'file not found');
  const raw = readFileSync(path);
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (!isGzip(bytes)) return bytes;
  try {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw new DataError(path, `gzip data is corrupt: ${(e as Error).message}`);
  }
}

/** The first of `names` present in `dir`. */
function findFile(dir: string, names: readonly string[], what: string, hint = ''): string {
  for (const n of names) if (existsSync(join(dir, n))) return join(dir, n);
  throw new DataError(dir, `no ${what}: looked for ${names.join(', ')}${hint}`);
}

/** Reads a pair of IDX files (raw or gzip) into a 1-channel Dataset with pixels in [0, 1]. */
export function loadIdx(imagesPath: string, labelsPath: string, opts?: { classes?: number; classNames?: readonly string[] }): Dataset {
  return idxDataset({
    images: readDataFile(imagesPath), labels: readDataFile(labelsPath), imagesFile: imagesPath, labelsFile: labelsPath,
    classes: opts?.classes, classNames: opts?.classNames,
  });
}

export interface FashionMnistOptions {
  /** Folder holding the files; the Debian package's `/usr/share/datasets/fashion-mnist` by default. */
  dir?: string;
  split: 'train' | 'test';
}

/**
 * Loads Fashion-MNIST (Xiao et al., 2017, https://arxiv.org/abs/1708.07747): 60000 training or 10000 test images,
 * 1×28×28 in [0, 1], 10 classes. Finds `train-images-idx3-ubyte.gz` / `t10k-…` (or the raw names without `.gz`).
 * @throws DataError naming the folder and the names tried when a file is missing.
 */
export function loadFashionMnist(opts: FashionMnistOptions): Dataset {
  const dir = opts.dir ?? FASHION_MNIST_DIR;
  const prefix = opts.split === 'train' ? 'train' : 't10k';
  const hint = opts.dir ? '' : ' (install the Debian package dataset-fashion-mnist, or pass dir)';
  const find = (kind: string): string =>
    findFile(dir, [`${prefix}-${kind}-ubyte.gz`, `${prefix}-${kind}-ubyte`], `${opts.split} ${kind.split('-')[0]} file`, hint);
  return loadIdx(find('images-idx3'), find('labels-idx1'), { classes: 10, classNames: FASHION_MNIST_CLASSES });
}

export interface CifarLoadOptions {
  kind: CifarKind;
  /** The extracted binary folder (`cifar-10-batches-bin`, `cifar-100-binary`) or the folder that contains it. */
  dir: string;
  split: 'train' | 'test';
  /** CIFAR-100 only: fine (default, 100 classes) or coarse (20 superclasses). */
  labels?: 'fine' | 'coarse';
}

const CIFAR_LAYOUT: Readonly<Record<CifarKind, { sub: string; train: string[]; test: string[] }>> = {
  cifar10: { sub: 'cifar-10-batches-bin', train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] },
  cifar100: { sub: 'cifar-100-binary', train: ['train.bin'], test: ['test.bin'] },
};

/** Class names from a text file of one name per line, when the file exists. */
function readNames(path: string): string[] | undefined {
  if (!existsSync(path)) return undefined;
  return new TextDecoder().decode(readDataFile(path)).split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
}

/**
 * Loads CIFAR-10 (`data_batch_1.bin` … `data_batch_5.bin` or `test_batch.bin`) or CIFAR-100 (`train.bin` or
 * `test.bin`) from a folder, as a 3×32×32 Dataset in [0, 1]. Each file may also be gzipped (`name.gz`). Class names
 * come from `batches.meta.txt` / `fine_label_names.txt` / `coarse_label_names.txt` when present.
 * @throws DataError naming the folder and file when one is missing, or the file when it is malformed.
 */
export function loadCifar(opts: CifarLoadOptions): Dataset {
  const layout = CIFAR_LAYOUT[opts.kind];
  const names = layout[opts.split];
  const nested = join(opts.dir, layout.sub);
  const dir = !existsSync(join(opts.dir, names[0])) && !existsSync(join(opts.dir, `${names[0]}.gz`)) &&
    existsSync(nested) && statSync(nested).isDirectory() ? nested : opts.dir;
  const files = names.map((n) => {
    const path = findFile(dir, [n, `${n}.gz`], `${opts.kind} ${opts.split} batch ${n}`);
    return { name: path, bytes: readDataFile(path) };
  });
  const coarse = opts.kind === 'cifar100' && opts.labels === 'coarse';
  const classNames = opts.kind === 'cifar10'
    ? readNames(join(dir, 'batches.meta.txt')) ?? CIFAR10_CLASSES
    : readNames(join(dir, coarse ? 'coarse_label_names.txt' : 'fine_label_names.txt'));
  return parseCifar(files, { kind: opts.kind, labels: opts.labels, classNames });
}
