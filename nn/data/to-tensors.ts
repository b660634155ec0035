// Uploads a mini-batch to the engine: images as an x tensor [B, C, H, W], labels as a float32 tensor [B].

import { tensor, type Backend, type DeviceName, type Tensor } from '../../engine/index.ts';
import type { Batch } from './loader.ts';

/**
 * Copies a batch into new tensors on `device` (the default device when omitted). The labels hold integer class
 * indices as float32, the form `crossEntropy` accepts. The caller owns both tensors (dispose them, or make them
 * inside `tidy`); the batch buffers can be reused as soon as this returns.
 * @example const { x, y } = toTensors(loader.next(), 'wasm');
 */
export function toTensors(batch: Batch, device?: Backend | DeviceName): { x: Tensor; y: Tensor } {
  const x = tensor(batch.x, [batch.size, ...batch.shape], { device });
  const y = tensor(Float32Array.from(batch.y), [batch.size], { device });
  return { x, y };
}
