// Mini-batches over an in-memory Dataset: seeded per-epoch shuffling, augmentation, normalisation, reused buffers,
// and a saveable state so a training run can resume mid-epoch with exactly the same batches.

import { Generator } from '../../engine/index.ts';
import { augmentImage, checkAugment, drawAugment, type AugmentOptions } from './augment.ts';
import { imageSize, type Dataset, type ImageShape } from './dataset.ts';
import { normalizeImages, type ChannelStats } from './normalize.ts';

/**
 * One mini-batch. `x` is size×C×H×W and `y` holds `size` labels.
 * NOTE: both are views of buffers the loader reuses: a batch stays valid until the next-but-one batch is made
 * (two buffers alternate). Copy them to keep them longer.
 */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  size: number;
  /** Shape of one image, [C, H, W]. */
  shape: ImageShape;
}

export interface LoaderOptions {
  batchSize: number;
  /** Visit the examples in a new seeded random order every epoch (Fisher–Yates); in index order otherwise. */
  shuffle?: boolean;
  /** Drop the last batch of an epoch when it is smaller than `batchSize`. */
  dropLast?: boolean;
  /** Random crop / flip drawn per image as the batch is assembled (see `CIFAR_AUGMENT`). */
  augment?: AugmentOptions;
  /** Per-channel normalisation applied to each batch after augmentation (PyTorch's order). */
  normalize?: ChannelStats;
  /** Last step, in place on each batch; draw any randomness from `generator` to keep runs resumable. */
  transform?: (batch: Batch, generator: Generator) => void;
  /** The loader's random stream (shuffling, augmentation, transform); `new Generator(0)` by default. */
  generator?: Generator;
}

/**
 * Where a loader stands, to save with a checkpoint and hand to `setState`. Plain numbers, so it survives JSON.
 * `epochRng` is the generator state when the current epoch's order was drawn (it is redrawn on restore), `rng` the
 * state now.
 */
export interface LoaderState {
  epoch: number;
  /** Examples of the current epoch already delivered. */
  position: number;
  epochRng: number[];
  rng: number[];
}

/** Generator states equal element by element, NaN (no spare normal) matching NaN or null (NaN after JSON). */
const sameState = (a: readonly (number | null)[], b: readonly (number | null)[]): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i] || (v == null || Number.isNaN(v)) && (b[i] == null || Number.isNaN(b[i])));

/**
 * Iterates a Dataset in mini-batches.
 * `for (const b of loader)` runs to the end of the current epoch (resuming where the loader stands), `next()` returns
 * one batch and rolls into the next epoch when needed. Only one iteration should be in progress at a time.
 * @example
 * const loader = new DataLoader(train, { batchSize: 128, shuffle: true, augment: CIFAR_AUGMENT, generator: new Generator(1) });
 * for (let epoch = 0; epoch < 10; epoch++) for (const b of loader) step(toTensors(b));
 */
export class DataLoader implements Iterable<Batch> {
  readonly batchSize: number;
  private readonly opts: LoaderOptions;
  private readonly g: Generator;
  private readonly xs: [Float32Array, Float32Array];
  private readonly ys: [Int32Array, Int32Array];
  private flip = 0;
  private epochNo = 0;
  private pos = 0;
  /** This epoch's visiting order, or null before it is drawn. */
  private order: Int32Array | null = null;
  private epochStart: number[] = [];

  constructor(readonly dataset: Dataset, opts: LoaderOptions) {
    const b = opts.batchSize;
    if (!Number.isInteger(b) || b < 1) throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${b}`);
    if (opts.augment) checkAugment(opts.augment);
    this.batchSize = b;
    this.opts = opts;
    this.g = opts.generator ?? new Generator(0);
    const size = Math.min(b, dataset.n);
    const len = size * imageSize(dataset.shape);
    this.xs = [new Float32Array(len), new Float32Array(len)];
    this.ys = [new Int32Array(size), new Int32Array(size)];
  }

  /** Epochs completed. */
  get epoch(): number {
    return this.order && this.pos >= this.limit ? this.epochNo + 1 : this.epochNo;
  }

  /** Examples of the current epoch already delivered. */
  get position(): number {
    return this.order && this.pos >= this.limit ? 0 : this.pos;
  }

  /** Batches per epoch. */
  get length(): number {
    return Math.ceil(this.limit / this.batchSize);
  }

  /** Examples delivered per epoch. */
  private get limit(): number {
    const n = this.dataset.n;
    return this.opts.dropLast ? n - (n % this.batchSize) : n;
  }

  /** The loader's position and random state; `setState` on a loader over the same data and options resumes exactly. */
  state(): LoaderState {
    const done = this.order !== null && this.pos >= this.limit;
    const rng = this.g.getState();
    return {
      epoch: this.epoch,
      position: this.position,
      epochRng: this.order && !done ? [...this.epochStart] : rng,
      rng,
    };
  }

  /** Restores a state from `state()`; the current epoch's order is redrawn from `epochRng`. */
  setState(s: LoaderState): void {
    if (!Number.isInteger(s.epoch) || s.epoch < 0 || !Number.isInteger(s.position) || s.position < 0 || s.position > this.limit) {
      throw new RangeError(`DataLoader.setState: invalid epoch ${s.epoch} or position ${s.position} (epoch size ${this.limit})`);
    }
    this.epochNo = s.epoch;
    this.pos = s.position;
    this.order = null;
    if (!sameState(s.epochRng, s.rng)) {
      this.g.setState(s.epochRng);
      this.epochStart = this.g.getState();
      this.order = this.drawOrder();
    }
    this.g.setState(s.rng);
  }

  /** The next batch, starting a new epoch (and a new order) when the current one is used up. */
  next(): Batch {
    this.beginEpoch();
    if (this.limit === 0) throw new RangeError(`DataLoader: no full batch of ${this.batchSize} in ${this.dataset.n} examples (dropLast)`);
    return this.take();
  }

  /** The batches left in the current epoch. */
  *[Symbol.iterator](): IterableIterator<Batch> {
    this.beginEpoch();
    while (this.pos < this.limit) yield this.take();
    this.rollOver();
  }

  private rollOver(): void {
    if (this.order && this.pos >= this.limit) {
      this.epochNo++;
      this.pos = 0;
      this.order = null;
    }
  }

  private beginEpoch(): void {
    this.rollOver();
    if (!this.order) {
      this.epochStart = this.g.getState();
      this.order = this.drawOrder();
    }
  }

  /** 0…n−1, shuffled by Fisher–Yates (Knuth's Algorithm P) when `shuffle` is set. */
  private drawOrder(): Int32Array {
    const n = this.dataset.n;
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.opts.shuffle) {
      for (let i = n - 1; i > 0; i--) {
        const j = this.g.int(i + 1);
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
    }
    return order;
  }

  /** Assembles the batch at the current position into the next of the two buffers. */
  private take(): Batch {
    const order = this.order as Int32Array;
    const { images, labels, shape } = this.dataset;
    const s = imageSize(shape);
    const size = Math.min(this.batchSize, this.limit - this.pos);
    const k = this.flip;
    this.flip ^= 1;
    const x = size * s === this.xs[k].length ? this.xs[k] : this.xs[k].subarray(0, size * s);
    const y = size === this.ys[k].length ? this.ys[k] : this.ys[k].subarray(0, size);
    const aug = this.opts.augment;
    for (let i = 0; i < size; i++) {
      const idx = order[this.pos + i];
      const src = images.subarray(idx * s, idx * s + s);
      const dst = x.subarray(i * s, i * s + s);
      if (aug) augmentImage(src, dst, shape, aug.padding ?? 0, drawAugment(this.g, aug));
      else dst.set(src);
      y[i] = labels[idx];
    }
    if (this.opts.normalize) normalizeImages(x, shape, this.opts.normalize);
    this.pos += size;
    const batch: Batch = { x, y, size, shape };
    this.opts.transform?.(batch, this.g);
    return batch;
  }
}
