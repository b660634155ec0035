// The two ways an op runs a backend kernel: into a fresh output tensor, or as a strided copy between tensors.
// The output is made from an input (`like.newEmpty`), so op files never need the Tensor class itself.

import type { KernelName, KernelParams } from '../backend.ts';
import { coalesce, sizeOf, type Shape } from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';

/** Runs `kernel` writing a fresh tensor of `shape` on `like`'s device (skipped when it is empty). */
export function runKernel<K extends KernelName>(
  kernel: K,
  inputs: readonly Tensor[],
  shape: Shape,
  like: Tensor,
  p: KernelParams[K],
): Tensor {
  const out = like.newEmpty(shape);
  if (out.size > 0) {
    out.backend.run(
      kernel,
      inputs.map((t) => t.buf(kernel)),
      out.buf(kernel),
      p,
    );
  }
  return out;
}

/** A tensor of `shape` filled with `value` on `like`'s device, written on the device (no upload). */
export function fillLike(like: Tensor, shape: Shape, value: number): Tensor {
  return runKernel('fill', [], shape, like, { size: sizeOf(shape), value });
}

/** Runs one strided copy x → out over `shape`, coalescing dimensions first. */
export function copyInto(
  op: string,
  x: Tensor,
  out: Tensor,
  shape: Shape,
  inStrides: number[],
  inOffset: number,
  outStrides: number[],
  outOffset: number,
): void {
  if (sizeOf(shape) === 0) return;
  const c = coalesce(op, shape, [outStrides, inStrides]);
  const params = { shape: c.shape, inStrides: c.strides[1], inOffset, outStrides: c.strides[0], outOffset };
  x.backend.run('copy', [x.buf(op)], out.buf(op), params);
}
