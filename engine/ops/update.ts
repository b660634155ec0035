// In-place updates outside autograd: out ← α·out + β·x, and PyTorch's SGD step (momentum, dampening, Nesterov,
// weight decay). They run on the device and never read weights back to the host.

import { fmt, sameShape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';

function check(op: string, out: Tensor, ...others: Tensor[]): void {
  out.storage(op);
  for (const t of others) {
    t.storage(op);
    if (!sameShape(t.shape, out.shape)) throw new Error(`${op}: shapes ${fmt(out.shape)} and ${fmt(t.shape)} differ`);
    if (t.backend !== out.backend) throw new Error(`${op}: tensors on different devices (${out.device} and ${t.device})`);
  }
}

/** out ← alpha·out + beta·x, in place on out's buffer. */
export function axpbyInPlace(out: Tensor, x: Tensor, alpha: number, beta: number): void {
  check('axpby', out, x);
  if (out.size) out.backend.run('axpby', [x.buf('axpby')], out.buf('axpby'), { size: out.size, alpha, beta });
}

/** out ← x on the device (same shape and backend), without a new tensor. */
export function copyInPlace(out: Tensor, x: Tensor): void {
  check('copy', out, x);
  if (out.size) out.backend.run('copy', [x.buf('copy')], out.buf('copy'), { shape: [out.size], inStrides: [1], inOffset: 0, outStrides: [1], outOffset: 0 });
}

export interface SgdStepOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** True on the first step of a momentum buffer (PyTorch then sets it to the gradient). */
  first: boolean;
}

/**
 * One SGD step on w in place, as torch.optim.SGD: d = g + λw; v = first ? d : μv + (1 − τ)d; d = nesterov ? d + μv : v;
 * w ← w − lr·d. `v` (the momentum buffer) is updated in place; pass null when momentum is 0.
 */
export function sgdStepInPlace(w: Tensor, g: Tensor, v: Tensor | null, o: SgdStepOptions): void {
  check('sgd', w, g, ...(v ? [v] : []));
  if (!w.size) return;
  const be = w.backend;
  if (o.momentum !== 0) {
    if (!v) throw new Error('sgd: momentum needs a momentum buffer');
    be.run('sgdMomentum', [g.buf('sgd'), w.buf('sgd')], v.buf('sgd'),
      { size: w.size, momentum: o.momentum, dampening: o.dampening, weightDecay: o.weightDecay, first: o.first });
  }
  be.run('sgdApply', [g.buf('sgd'), (v ?? g).buf('sgd')], w.buf('sgd'),
    { size: w.size, lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov });
}
