// Where the model meets the data: checks, before any training, that a data set has images, that its images go
// through the model's forward pass and that its labels fit the model's outputs, with one clear error otherwise.

import { noGrad, tidy, zeros, type Backend } from '../engine/index.ts';
import { checkDataset, DataError, type Dataset } from './data/dataset.ts';
import type { Module } from './module.ts';

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * Throws a `DataError` naming `role` (e.g. 'training set') unless `data` can be fed to `model`: at least one image,
 * images and labels that agree with `n` and `shape`, one image of its shape passing through `model.forward` (in eval
 * mode, no gradients; the mode is restored and no state changes) to logits of shape [1, K], and `classes` ≤ K.
 * Costs one forward pass of a single image.
 * @example checkModelData(model, train, { device, role: 'training set' }); // before the first epoch
 */
export function checkModelData(model: Module, data: Dataset, opts: { device: Backend; role: string }): void {
  const { role } = opts;
  if (!data || typeof data.n !== 'number') throw new DataError(role, 'is not a data set (no image count n)');
  if (data.n === 0) throw new DataError(role, 'has no images (n = 0)');
  const shape = data.shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new DataError(role, `image shape must be [channels, height, width] of integers ≥ 1, got ${String(shape)}`);
  }
  checkDataset(data, role);
  const wasTraining = model.training;
  model.eval();
  let logits: number[];
  try {
    logits = noGrad(() => tidy(() => [...model.forward(zeros([1, ...shape], { device: opts.device })).shape]));
  } catch (e) {
    throw new DataError(role, `images of shape ${fmtShape(shape)} do not fit the model: ${(e as Error).message}`);
  } finally {
    model.train(wasTraining);
  }
  if (logits.length !== 2 || logits[0] !== 1) {
    throw new DataError(
      role,
      `the model maps one image of ${fmtShape(shape)} to ${fmtShape(logits)}, not [1, classes]`,
    );
  }
  if (data.classes > logits[1]) {
    throw new DataError(role, `has ${data.classes} classes but the model has ${logits[1]} outputs`);
  }
}
