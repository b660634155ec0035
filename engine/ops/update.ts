// In-place operations outside autograd: copy (from a tensor or host data), fill, linear interpolation (the one
// running-mean path of SWA, SWAG and EMA), out ← α·out + β·x, and PyTorch's SGD step. All run on the device.

import { isGradEnabled } from '../scope.ts';
import { fmt, sameShape } from '../shape.ts';
import type { Tensor } from '../tensor-type.ts';

/** Checks `out` may be written in place and that `others` match it in shape and device. */
function check(op: string, out: Tensor, ...others: Tensor[]): void {
  out.storage(op);
  if (out.requiresGrad && isGradEnabled()) {
    throw new Error(
      `${op}: tensor of shape ${fmt(out.shape)} requires grad and cannot be changed in place while gradients are ` +
        'recorded; wrap the update in noGrad(() => …)',
    );
  }
  for (const t of others) {
    t.storage(op);
    if (!sameShape(t.shape, out.shape)) throw new Error(`${op}: shapes ${fmt(out.shape)} and ${fmt(t.shape)} differ`);
    if (t.backend !== out.backend)
      throw new Error(`${op}: tensors on different devices (${out.device} and ${t.device})`);
  }
}

/** out ← alpha·out + beta·x, in place on out's buffer. */
export function axpbyInPlace(out: Tensor, x: Tensor, alpha: number, beta: number): void {
  check('axpby', out, x);
  if (out.size) out.backend.run('axpby', [x.buf('axpby')], out.buf('axpby'), { size: out.size, alpha, beta });
}

/**
 * out ← out + weight·(end − out), in place, as torch.Tensor.lerp_. With weight 1/(n + 1) this is the running mean of
 * SWA (Izmailov et al., 2018, Algorithm 1: w_SWA ← (w_SWA·n + w)/(n + 1)); with weight 1 − decay, an EMA step.
 */
export function lerpInPlace(out: Tensor, end: Tensor, weight: number): void {
  if (!Number.isFinite(weight)) throw new Error(`lerp: weight must be a finite number, got ${weight}`);
  check('lerp', out, end);
  if (out.size)
    out.backend.run('axpby', [end.buf('lerp')], out.buf('lerp'), { size: out.size, alpha: 1 - weight, beta: weight });
}

/** out ← value everywhere, on the device. */
export function fillInPlace(out: Tensor, value: number): void {
  if (typeof value !== 'number') throw new TypeError(`fill: value must be a number, got ${typeof value}`);
  check('fill', out);
  if (out.size) out.backend.run('fill', [], out.buf('fill'), { size: out.size, value });
}

/**
 * out ← src: another tensor of the same shape on the same device (a device copy), or host values (an upload) whose
 * length must equal out's size.
 */
export function copyInPlace(out: Tensor, src: Tensor | ArrayLike<number>): void {
  if (isHostData(src)) {
    check('copy', out);
    if (src.length !== out.size) {
      throw new Error(
        `copy: ${src.length} values do not fill a tensor of shape ${fmt(out.shape)} (${out.size} elements)`,
      );
    }
    if (out.size) out.backend.write(out.buf('copy'), src instanceof Float32Array ? src : Float32Array.from(src));
    return;
  }
  check('copy', out, src);
  const params = { shape: [out.size], inStrides: [1], inOffset: 0, outStrides: [1], outOffset: 0 };
  if (out.size) out.backend.run('copy', [src.buf('copy')], out.buf('copy'), params);
}

function isHostData(v: Tensor | ArrayLike<number>): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
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
 * w ← w − lr·d. `v` (the momentum buffer) is updated in place; pass null when momentum is 0. Runs outside autograd.
 */
export function sgdStepInPlace(w: Tensor, g: Tensor, v: Tensor | null, o: SgdStepOptions): void {
  for (const t of [g, ...(v ? [v] : [])]) {
    t.storage('sgd');
    if (!sameShape(t.shape, w.shape)) throw new Error(`sgd: shapes ${fmt(w.shape)} and ${fmt(t.shape)} differ`);
    if (t.backend !== w.backend) throw new Error(`sgd: tensors on different devices (${w.device} and ${t.device})`);
  }
  if (!w.size) return;
  const be = w.backend;
  if (o.momentum !== 0) {
    if (!v) throw new Error('sgd: momentum needs a momentum buffer');
    const { momentum, dampening, weightDecay, first } = o;
    be.run('sgdMomentum', [g.buf('sgd'), w.buf('sgd')], v.buf('sgd'), {
      size: w.size,
      momentum,
      dampening,
      weightDecay,
      first,
    });
  }
  const { lr, momentum, weightDecay, nesterov } = o;
  be.run('sgdApply', [g.buf('sgd'), (v ?? g).buf('sgd')], w.buf('sgd'), {
    size: w.size,
    lr,
    momentum,
    weightDecay,
    nesterov,
  });
}
