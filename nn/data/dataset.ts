// The in-memory image data set every reader produces, the error type of the data layer, and known class names.

/** Shape of one image: channels, height, width. */
export type ImageShape = readonly [c: number, h: number, w: number];

/**
 * Images and integer labels held in memory.
 * `images` is N×C×H×W float32 (row-major, channel planes), usually in [0, 1]; `labels[i]` is in [0, classes).
 */
export interface Dataset {
  images: Float32Array;
  labels: Int32Array;
  /** Number of examples. */
  n: number;
  shape: ImageShape;
  /** Number of classes. */
  classes: number;
  /** Names of the classes, when known (index = label). */
  classNames?: readonly string[];
}

/**
 * The examples of `dataset` at `indices`, in that order, as torch.utils.data.Subset(dataset, indices). Unlike
 * PyTorch's lazy view, the images and labels are copied into arrays of their own (a DataLoader reads them directly).
 * @example const small = new Subset(train, Array.from({ length: 1000 }, (_, i) => i)); // the first 1000 examples
 */
export class Subset implements Dataset {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly n: number;
  readonly shape: ImageShape;
  readonly classes: number;
  readonly classNames?: readonly string[];
  /** The chosen indices into `dataset`. */
  readonly indices: Int32Array;

  constructor(readonly dataset: Dataset, indices: ArrayLike<number>) {
    if (!indices || typeof indices.length !== 'number') {
      throw new TypeError('Subset: indices must be an array of example indices');
    }
    const size = imageSize(dataset.shape);
    this.indices = Int32Array.from(indices as ArrayLike<number>);
    this.n = this.indices.length;
    this.images = new Float32Array(this.n * size);
    this.labels = new Int32Array(this.n);
    for (let k = 0; k < this.n; k++) {
      const i = indices[k];
      if (!Number.isInteger(i) || i < 0 || i >= dataset.n) {
        throw new RangeError(`Subset: index ${i} (position ${k}) is not an example of a data set of ${dataset.n}`);
      }
      this.images.set(dataset.images.subarray(i * size, (i + 1) * size), k * size);
      this.labels[k] = dataset.labels[i];
    }
    this.shape = dataset.shape;
    this.classes = dataset.classes;
    if (dataset.classNames) this.classNames = dataset.classNames;
  }
}

/**
 * A malformed or missing data file. The message names the file (`file`) and what is wrong with it.
 * @example new DataError('train-labels-idx1-ubyte', 'truncated: expected 60008 bytes, found 100')
 */
export class DataError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'DataError';
  }
}

/** Fashion-MNIST class names (Xiao, Rasul & Vollgraf, 2017, https://arxiv.org/abs/1708.07747). */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/**
 * The embedded stratified Fashion-MNIST subset shipped in the package folder `folder` (a package-relative path; see
 * its README for how it was drawn): the four files under the full set's names, so `loadFashionMnist` /
 * `fetchFashionMnist` read it unchanged, with `train` / `test` images in all and `perClass` of each class per split.
 */
export const FASHION_MNIST_MINI = {
  folder: 'data/fashion-mnist-mini', train: 10000, test: 2000, perClass: { train: 1000, test: 200 },
} as const;

/** CIFAR-10 class names, as in `batches.meta.txt` (Krizhevsky, 2009). */
export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

/** Number of values in one image of `shape`. */
export const imageSize = (shape: ImageShape): number => shape[0] * shape[1] * shape[2];

/**
 * Checks that every label lies in [0, classes) and that the arrays agree with `n` and `shape`.
 * @throws DataError naming `file`, the first offending example and its label.
 */
export function checkDataset(ds: Dataset, file: string): Dataset {
  if (ds.images.length !== ds.n * imageSize(ds.shape)) {
    throw new DataError(file, `${ds.images.length} image values do not fill ${ds.n} images of shape [${ds.shape.join(', ')}]`);
  }
  if (ds.labels.length !== ds.n) throw new DataError(file, `${ds.labels.length} labels for ${ds.n} images`);
  for (let i = 0; i < ds.n; i++) {
    const l = ds.labels[i];
    if (l < 0 || l >= ds.classes) throw new DataError(file, `label ${l} of example ${i} is out of range [0, ${ds.classes})`);
  }
  return ds;
}

/** byte → byte / 255 in float32, as PyTorch's ToTensor computes it. */
const UNIT = Float32Array.from({ length: 256 }, (_, b) => b / 255);

/** Pixel bytes scaled to [0, 1] (value / 255), into `out` when given. */
export function bytesToUnit(bytes: Uint8Array, out = new Float32Array(bytes.length)): Float32Array {
  for (let i = 0; i < bytes.length; i++) out[i] = UNIT[bytes[i]];
  return out;
}
