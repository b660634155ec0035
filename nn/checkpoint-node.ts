// Node file helpers for checkpoints: atomic save (temporary file, fsync, rename) and load with clear errors.

import { writeFileAtomic, readFileChecked } from './atomic-file.ts';
import { checkpointBytes, restoreCheckpoint, type CheckpointContents, type Restored } from './checkpoint.ts';
import type { Module } from './module.ts';
import type { SGD } from './optim.ts';

/** Writes a checkpoint to `path` atomically: readers see the old file or the new one, never a partial one. */
export async function saveCheckpoint(path: string, c: CheckpointContents): Promise<void> {
  await writeFileAtomic(path, await checkpointBytes(c));
}

/** Loads a checkpoint file into `model` (and `optimizer`) in place. */
export async function loadCheckpoint(path: string, target: { model: Module; optimizer?: SGD }): Promise<Restored> {
  return restoreCheckpoint(await readFileChecked(path), target, path);
}
