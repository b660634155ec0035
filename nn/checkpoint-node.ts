// Node file helpers for checkpoints: atomic save (temporary file, fsync, rename; never a diverged state) and load
// with clear errors.

import { writeFileAtomic, readFileChecked } from './atomic-file.ts';
import {
  checkpointBytes,
  CheckpointError,
  restoreCheckpoint,
  type CheckpointContents,
  type Restored,
} from './checkpoint.ts';
import type { Module } from './module.ts';
import type { SGD } from './optim.ts';

/**
 * Writes a checkpoint to `path` atomically: readers see the old file or the new one, never a partial one. A state
 * holding NaN or ±Infinity is refused (see `checkpointBytes`) and the old file stays as it was.
 * @throws CheckpointError naming `path` and the tensor.
 */
export async function saveCheckpoint(path: string, c: CheckpointContents): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await checkpointBytes(c);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    throw new CheckpointError(`${path}: ${e.message}`, { cause: e, nonFinite: e.nonFinite });
  }
  await writeFileAtomic(path, bytes);
}

/** Loads a checkpoint file into `model` (and `optimizer`) in place. */
export async function loadCheckpoint(path: string, target: { model: Module; optimizer?: SGD }): Promise<Restored> {
  return restoreCheckpoint(await readFileChecked(path), target, path);
}
