// Method-style access to the ops (x.add(y).relu().sum()) and autograd entry points, attached to Tensor's prototype.

import { backward } from './autograd.ts';
import * as ops from './ops/index.ts';
import { Tensor } from './tensor.ts';

type Operand = Tensor | number;

declare module './tensor.ts' {
  interface Tensor {
    add(other: Operand): Tensor;
    sub(other: Operand): Tensor;
    mul(other: Operand): Tensor;
    div(other: Operand): Tensor;
    maximum(other: Operand): Tensor;
    eq(other: Operand): Tensor;
    ne(other: Operand): Tensor;
    lt(other: Operand): Tensor;
    le(other: Operand): Tensor;
    gt(other: Operand): Tensor;
    ge(other: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    relu(): Tensor;
    pow(exponent: number): Tensor;
    sum(axes?: number | number[], keepdim?: boolean): Tensor;
    mean(axes?: number | number[], keepdim?: boolean): Tensor;
    max(axes?: number | number[], keepdim?: boolean): Tensor;
    reshape(shape: readonly number[]): Tensor;
    permute(axes: number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    broadcastTo(shape: readonly number[]): Tensor;
    slice(begin: number[], end?: number[], step?: number[]): Tensor;
    pad(widths: [number, number][], value?: number): Tensor;
    matmul(other: Tensor): Tensor;
    softmax(axis?: number): Tensor;
    logSoftmax(axis?: number): Tensor;
    /** Gradients of this scalar (or of `grad`·this) into the `.grad` of every leaf with requiresGrad. */
    backward(grad?: Tensor): void;
    /** A tensor sharing this one's storage, cut from the autograd graph. */
    detach(): Tensor;
    /** Sets requiresGrad and returns this tensor. */
    requireGrad(flag?: boolean): Tensor;
    /** Frees and clears `.grad`. */
    zeroGrad(): void;
  }
}

const p = Tensor.prototype;
p.add = function (o) { return ops.add(this, o); };
p.sub = function (o) { return ops.sub(this, o); };
p.mul = function (o) { return ops.mul(this, o); };
p.div = function (o) { return ops.div(this, o); };
p.maximum = function (o) { return ops.maximum(this, o); };
p.eq = function (o) { return ops.eq(this, o); };
p.ne = function (o) { return ops.ne(this, o); };
p.lt = function (o) { return ops.lt(this, o); };
p.le = function (o) { return ops.le(this, o); };
p.gt = function (o) { return ops.gt(this, o); };
p.ge = function (o) { return ops.ge(this, o); };
p.neg = function () { return ops.neg(this); };
p.exp = function () { return ops.exp(this); };
p.log = function () { return ops.log(this); };
p.sqrt = function () { return ops.sqrt(this); };
p.relu = function () { return ops.relu(this); };
p.pow = function (e) { return ops.pow(this, e); };
p.sum = function (a, k) { return ops.sum(this, a, k); };
p.mean = function (a, k) { return ops.mean(this, a, k); };
p.max = function (a, k) { return ops.max(this, a, k); };
p.reshape = function (s) { return ops.reshape(this, s); };
p.permute = function (a) { return ops.permute(this, a); };
p.transpose = function (a, b) { return ops.transpose(this, a, b); };
p.broadcastTo = function (s) { return ops.broadcastTo(this, s); };
p.slice = function (b, e, s) { return ops.slice(this, b, e, s); };
p.pad = function (w, v) { return ops.pad(this, w, v); };
p.matmul = function (o) { return ops.matmul(this, o); };
p.softmax = function (a) { return ops.softmax(this, a); };
p.logSoftmax = function (a) { return ops.logSoftmax(this, a); };
p.backward = function (g) { backward(this, g); };
p.detach = function () { return this.shareAs(this.shape); };
p.requireGrad = function (flag = true) { this.requiresGrad = flag; return this; };
p.zeroGrad = function () { this.grad?.dispose(); this.grad = null; };
