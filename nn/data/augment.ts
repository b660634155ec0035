// Seeded image augmentation: random crop with zero padding and random horizontal flip, fused into one copy per image.

import type { Generator } from '../../engine/index.ts';
import type { ImageShape } from './dataset.ts';

/** Which augmentations to draw for each image. */
export interface AugmentOptions {
  /** Zero padding on every side before a random crop back to H×W; 0 (default) crops nothing. */
  padding?: number;
  /** Probability of a horizontal flip; 0 (default) never flips. */
  flipProb?: number;
}

/**
 * The standard CIFAR recipe (He et al., 2016, https://arxiv.org/abs/1512.03385): PyTorch's
 * `RandomCrop(32, padding=4)` followed by `RandomHorizontalFlip(p=0.5)`.
 */
export const CIFAR_AUGMENT: AugmentOptions = { padding: 4, flipProb: 0.5 };

/** One image's draw: the crop's top-left corner in the padded image (0…2·padding) and whether to flip. */
export interface AugmentParams {
  dy: number;
  dx: number;
  flip: boolean;
}

/** Throws a RangeError unless padding is a non-negative integer and flipProb lies in [0, 1]. */
export function checkAugment(opts: AugmentOptions): void {
  const p = opts.padding ?? 0;
  const f = opts.flipProb ?? 0;
  if (!Number.isInteger(p) || p < 0) throw new RangeError(`augment: padding must be a non-negative integer, got ${p}`);
  if (!(f >= 0 && f <= 1)) throw new RangeError(`augment: flipProb must lie in [0, 1], got ${f}`);
}

/**
 * Draws one image's augmentation in PyTorch's order: crop row offset, crop column offset (each uniform over
 * 0…2·padding, only when padding > 0), then flip when `uniform() < flipProb` (only when flipProb > 0).
 * The number of draws per image is fixed by the options, so a saved generator state resumes exactly.
 */
export function drawAugment(g: Generator, opts: AugmentOptions): AugmentParams {
  const p = opts.padding ?? 0;
  const f = opts.flipProb ?? 0;
  const dy = p > 0 ? g.int(2 * p + 1) : 0;
  const dx = p > 0 ? g.int(2 * p + 1) : 0;
  const flip = f > 0 && g.uniform() < f;
  return { dy, dx, flip };
}

/**
 * Writes crop-then-flip of one C×H×W image `src` into `dst` (same shape, a different buffer):
 * padded = src with `padding` zeros on every side; cropped[y][x] = padded[y + dy][x + dx];
 * dst[y][x] = flip ? cropped[y][W − 1 − x] : cropped[y][x]. Pixels that come from the padding are 0.
 */
export function augmentImage(src: Float32Array, dst: Float32Array, shape: ImageShape, padding: number, a: AugmentParams): void {
  const [c, h, w] = shape;
  const plane = h * w;
  const oy = a.dy - padding;
  const ox = a.dx - padding;
  // Destination columns whose source column lies inside the image: sx = (flip ? w − 1 − x : x) + ox ∈ [0, w).
  const lo = a.flip ? Math.max(0, ox) : Math.max(0, -ox);
  const hi = a.flip ? Math.min(w, w + ox) : Math.min(w, w - ox);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) {
      const row = ch * plane + y * w;
      const sy = y + oy;
      if (sy < 0 || sy >= h || lo >= hi) {
        dst.fill(0, row, row + w);
        continue;
      }
      const srow = ch * plane + sy * w;
      dst.fill(0, row, row + lo);
      if (a.flip) {
        for (let x = lo; x < hi; x++) dst[row + x] = src[srow + w - 1 - x + ox];
      } else {
        dst.set(src.subarray(srow + lo + ox, srow + hi + ox), row + lo);
      }
      dst.fill(0, row + hi, row + w);
    }
  }
}
