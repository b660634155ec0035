// Node-only loading from disk (node:fs, node:zlib): Fashion-MNIST from a folder, the Debian package's or the subset
// embedded in this package, IDX pairs, CIFAR-10/100 batch folders, and data sets by name for the CLIs.
// Kept apart so browser bundles never import Node modules.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseCifar, type CifarKind } from './cifar.ts';
import { CIFAR10_CLASSES, DataError, FASHION_MNIST_CLASSES, FASHION_MNIST_MINI, type Dataset } from './dataset.ts';
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

/**
 * The folder of the embedded Fashion-MNIST subset (`FASHION_MNIST_MINI.folder` in the package root). Walks up from
 * the directory of the running module (`from`; this module by default, which is the bundle `dist/node/index.js` or
 * `dist/cli/*.js` once built, `build/test/*.js` in the tests, `nn/data/` in the sources) to the first folder holding
 * a `package.json` (the package root, also under `node_modules/swa-engine` when installed from npm, since the folder
 * is in the package's `files`) and returns the first `data/fashion-mnist-mini` holding the training images.
 * NOTE: a bundler that copies this code into another package moves `import.meta.url`; pass the folder as `dir` then.
 * @throws DataError naming the folder looked for when it is not there.
 */
export function fashionMnistMiniDir(from: string | URL = import.meta.url): string {
  let start: string;
  try {
    start = dirname(fileURLToPath(from));
  } catch {
    throw new DataError(String(from), `not a file: URL, cannot find ${FASHION_MNIST_MINI.folder} from it; pass dir`);
  }
  for (let d = start; ; d = dirname(d)) {
    const dir = join(d, FASHION_MNIST_MINI.folder);
    if (existsSync(join(dir, 'train-images-idx3-ubyte.gz'))) return dir;
    if (existsSync(join(d, 'package.json')) || dirname(d) === d) {
      throw new DataError(dir, `the embedded Fashion-MNIST subset is missing (looked from ${start} up to the ` +
        'package root); reinstall swa-engine, pass dir, or use --data fashion-mnist');
    }
  }
}

export interface FashionMnistMiniOptions {
  /** Folder holding the subset's files; `fashionMnistMiniDir()` by default. */
  dir?: string;
  split: 'train' | 'test';
}

/**
 * Loads the embedded stratified Fashion-MNIST subset (`FASHION_MNIST_MINI`): 10000 training images (1000 per class)
 * or 2000 test images (200 per class), 1×28×28 in [0, 1], in source order. Normalise with `FASHION_MNIST_STATS` (the
 * subset's own mean and std differ from the full set's by under 0.001).
 * @throws DataError when the folder is missing or holds another number of images.
 */
export function loadFashionMnistMini(opts: FashionMnistMiniOptions): Dataset {
  const dir = opts.dir ?? fashionMnistMiniDir();
  const ds = loadFashionMnist({ dir, split: opts.split });
  const want = FASHION_MNIST_MINI[opts.split];
  if (ds.n !== want) {
    throw new DataError(dir, `expected ${want} ${opts.split} images of fashion-mnist-mini, found ${ds.n}`);
  }
  return ds;
}

/** The data sets the CLIs know by name (`--data`). */
export const DATA_SETS = ['fashion-mnist-mini', 'fashion-mnist', 'cifar10', 'cifar100'] as const;
export type DataSetName = (typeof DATA_SETS)[number];

/** True when `name` is one of `DATA_SETS`. */
export const isDataSetName = (name: string | undefined): name is DataSetName =>
  (DATA_SETS as readonly (string | undefined)[]).includes(name);

/**
 * The folder a named data set is read from: `dir` when given; otherwise the embedded subset's
 * (`fashionMnistMiniDir()`) or the Debian package's (`FASHION_MNIST_DIR`).
 * @throws DataError for CIFAR without `dir` (there is no default folder), or when the embedded subset is missing.
 */
export function dataFolder(name: DataSetName, dir?: string): string {
  if (dir !== undefined) return dir;
  if (name === 'fashion-mnist-mini') return fashionMnistMiniDir();
  if (name === 'fashion-mnist') return FASHION_MNIST_DIR;
  throw new DataError(name, 'needs a folder (--data-dir): the one holding the binary batches');
}

/** Loads one split of a named data set from `dataFolder(name, dir)`. */
export function loadDataSet(name: DataSetName, opts: { dir?: string; split: 'train' | 'test' }): Dataset {
  const dir = dataFolder(name, opts.dir);
  if (name === 'fashion-mnist-mini') return loadFashionMnistMini({ dir, split: opts.split });
  if (name === 'fashion-mnist') return loadFashionMnist({ dir: opts.dir, split: opts.split });
  return loadCifar({ kind: name, dir, split: opts.split });
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
