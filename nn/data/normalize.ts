// Per-channel normalisation, x' = (x − mean_c) / std_c: statistics computed from a data set, applied in place or to a copy.

import { DataError, imageSize, type Dataset, type ImageShape } from './dataset.ts';

/** Mean and standard deviation of each channel (length C). */
export interface ChannelStats {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * Fashion-MNIST training-set statistics of pixels scaled to [0, 1] (checked against the real files in the tests).
 */
export const FASHION_MNIST_STATS: ChannelStats = { mean: [0.2860], std: [0.3530] };

/**
 * The mean and population standard deviation (divide by N·H·W) of every channel over all images, in float64 and two
 * passes (mean first, then squared deviations) so large data sets lose no precision.
 */
export function channelStats(ds: Dataset): ChannelStats {
  const [c, h, w] = ds.shape;
  const plane = h * w;
  const count = ds.n * plane;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let i = 0; i < ds.n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      let s = 0;
      for (let k = base; k < base + plane; k++) s += ds.images[k];
      sum[ch] += s;
    }
  }
  const mean = Array.from(sum, (s) => s / count);
  for (let i = 0; i < ds.n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const base = (i * c + ch) * plane;
      const m = mean[ch];
      let s = 0;
      for (let k = base; k < base + plane; k++) s += (ds.images[k] - m) ** 2;
      sq[ch] += s;
    }
  }
  const std = Array.from(sq, (s) => Math.sqrt(s / count));
  return { mean, std };
}

/** Throws unless `stats` has one positive, finite std and one finite mean per channel of `shape`. */
function checkStats(stats: ChannelStats, shape: ImageShape): void {
  const c = shape[0];
  if (stats.mean.length !== c || stats.std.length !== c) {
    throw new DataError('normalize', `stats have ${stats.mean.length} means and ${stats.std.length} stds for ${c} channels`);
  }
  stats.std.forEach((s, ch) => {
    if (!(s > 0) || !Number.isFinite(s)) throw new DataError('normalize', `std of channel ${ch} must be positive and finite, got ${s}`);
  });
  stats.mean.forEach((m, ch) => {
    if (!Number.isFinite(m)) throw new DataError('normalize', `mean of channel ${ch} must be finite, got ${m}`);
  });
}

/**
 * Normalises a block of whole images (N×C×H×W, N = length / (C·H·W)) in place: x ← (x − mean_c) / std_c.
 * This is what `DataLoader` applies to each batch after augmentation.
 */
export function normalizeImages(x: Float32Array, shape: ImageShape, stats: ChannelStats): void {
  checkStats(stats, shape);
  const [c, h, w] = shape;
  const plane = h * w;
  const n = x.length / imageSize(shape);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const m = stats.mean[ch];
      const inv = 1 / stats.std[ch];
      const base = (i * c + ch) * plane;
      for (let k = base; k < base + plane; k++) x[k] = (x[k] - m) * inv;
    }
  }
}

/**
 * Normalises every image of `ds` per channel, in place (`{ inPlace: true }`, the data set is returned) or into a copy
 * (the default; labels are shared, not copied).
 * @param stats given (e.g. `FASHION_MNIST_STATS`) or computed with `channelStats(trainSet)`.
 * NOTE: zero padding from a random crop pads with 0 in whatever space the images are in. PyTorch crops raw pixels and
 * normalises afterwards, so its padding is −mean/std; for that order pass `normalize` to `DataLoader` instead.
 */
export function normalize(ds: Dataset, stats: ChannelStats, opts?: { inPlace?: boolean }): Dataset {
  const out = opts?.inPlace ? ds : { ...ds, images: ds.images.slice() };
  normalizeImages(out.images, out.shape, stats);
  return out;
}
