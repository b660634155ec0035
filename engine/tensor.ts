// The Tensor class: a float32 buffer on one backend with a shape, the autograd record of the op that made it, and
// the ops as methods. Its type is declared in tensor-type.ts; op files use that type and make outputs with
// `newEmpty`, so no import runs back to this file.

import { backward } from './autograd.ts';
import type { Backend, Buf } from './backend.ts';
import * as ops from './ops/index.ts';
import { track } from './scope.ts';
import { fmt, sizeOf, type Shape } from './shape.ts';
import { Storage, TENSOR_BRAND, type GradNode, type Operand, type Tensor as TensorType } from './tensor-type.ts';

let nextId = 0;

class TensorImpl implements TensorType {
  readonly [TENSOR_BRAND] = true as const;
  /** Creation order; makes graph traversals deterministic. */
  readonly id = nextId++;
  readonly shape: Shape;
  readonly size: number;
  /** Whether gradients flow to this tensor. Leaves set it by hand; op outputs inherit it from their inputs. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after backward(). */
  grad: TensorType | null = null;
  /** The op that produced this tensor, when autograd recorded it. */
  node: GradNode | null = null;
  kept = false;
  private storageRef: Storage | null;

  constructor(shape: Shape, storage: Storage) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.storageRef = storage;
    track(this);
  }

  /** A new tensor of `shape` with uninitialised contents on `backend`. */
  static empty(shape: Shape, backend: Backend): TensorType {
    return new TensorImpl(shape, new Storage(backend, backend.alloc(sizeOf(shape))));
  }

  /** A new tensor of `shape` with uninitialised contents on this tensor's device, as torch.TensorType.new_empty. */
  newEmpty(shape: Shape): TensorType {
    return TensorImpl.empty(shape, this.backend);
  }

  /** A new tensor of `shape` filled with `value` on this tensor's device, as torch.TensorType.new_full. */
  newFull(shape: Shape, value: number): TensorType {
    const t = this.newEmpty(shape);
    ops.fillInPlace(t, value);
    return t;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.storageRef === null;
  }

  /** The backend holding this tensor. Throws if the tensor was disposed. */
  get backend(): Backend {
    return this.storage('backend').backend;
  }

  get device(): string {
    return this.backend.name;
  }

  /** The storage, or a clear error naming `op` when the tensor was disposed. */
  storage(op: string): Storage {
    if (!this.storageRef) throw new Error(`${op}: tensor of shape ${fmt(this.shape)} was disposed and cannot be used`);
    return this.storageRef;
  }

  /** The device buffer (for ops and backends). */
  buf(op: string): Buf {
    return this.storage(op).buf;
  }

  /** A tensor sharing this one's storage with another shape of the same size (used by reshape). */
  shareAs(shape: Shape): TensorType {
    const s = this.storage('reshape');
    s.refs++;
    return new TensorImpl(shape, s);
  }

  /**
   * Exchanges the device storage of two tensors of equal shape on one backend, without copying: each keeps its
   * identity (modules and optimizers holding it stay valid) but now reads the other's values.
   */
  swapStorage(other: TensorType): void {
    const a = this.storage('swapStorage');
    const b = other.storage('swapStorage');
    if (!(other instanceof TensorImpl)) throw new TypeError('swapStorage: the other tensor is not an engine tensor');
    if (
      this.shape.length !== other.shape.length ||
      this.shape.some((d, i) => d !== other.shape[i]) ||
      a.backend !== b.backend
    ) {
      throw new Error(
        `swapStorage: tensors ${fmt(this.shape)} on ${a.backend.name} and ${fmt(other.shape)} on ` +
          `${b.backend.name} differ`,
      );
    }
    this.storageRef = b;
    other.storageRef = a;
  }

  /** Reads the values back (submits pending device work first). */
  async data(): Promise<Float32Array> {
    const s = this.storage('data');
    return s.backend.read(s.buf, this.size);
  }

  /** Reads back the single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${fmt(this.shape)} has ${this.size} elements, not 1`);
    return (await this.data())[0];
  }

  /** Reads back the values as nested arrays of the tensor's shape. */
  async array(): Promise<unknown> {
    const flat = Array.from(await this.data());
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return flat[offset];
      const step = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * step));
    };
    return build(0, 0);
  }

  /** Frees the device memory (once no reshape view shares it). Disposing twice does nothing. */
  dispose(): void {
    if (!this.storageRef) return;
    this.storageRef.release();
    this.storageRef = null;
    for (const t of this.node?.saved ?? []) t.dispose();
    this.node = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  // ---- ops as methods (the functions of the same names in engine/ops) ----------------------------------------------

  add(other: Operand): TensorType {
    return ops.add(this, other);
  }
  sub(other: Operand): TensorType {
    return ops.sub(this, other);
  }
  mul(other: Operand): TensorType {
    return ops.mul(this, other);
  }
  div(other: Operand): TensorType {
    return ops.div(this, other);
  }
  maximum(other: Operand): TensorType {
    return ops.maximum(this, other);
  }
  minimum(other: Operand): TensorType {
    return ops.minimum(this, other);
  }
  eq(other: Operand): TensorType {
    return ops.eq(this, other);
  }
  ne(other: Operand): TensorType {
    return ops.ne(this, other);
  }
  lt(other: Operand): TensorType {
    return ops.lt(this, other);
  }
  le(other: Operand): TensorType {
    return ops.le(this, other);
  }
  gt(other: Operand): TensorType {
    return ops.gt(this, other);
  }
  ge(other: Operand): TensorType {
    return ops.ge(this, other);
  }
  neg(): TensorType {
    return ops.neg(this);
  }
  exp(): TensorType {
    return ops.exp(this);
  }
  log(): TensorType {
    return ops.log(this);
  }
  sqrt(): TensorType {
    return ops.sqrt(this);
  }
  relu(): TensorType {
    return ops.relu(this);
  }
  pow(exponent: number): TensorType {
    return ops.pow(this, exponent);
  }
  sum(axes?: number | number[], keepdim?: boolean): TensorType {
    return ops.sum(this, axes, keepdim);
  }
  mean(axes?: number | number[], keepdim?: boolean): TensorType {
    return ops.mean(this, axes, keepdim);
  }
  max(axes?: number | number[], keepdim?: boolean): TensorType {
    return ops.max(this, axes, keepdim);
  }
  min(axes?: number | number[], keepdim?: boolean): TensorType {
    return ops.min(this, axes, keepdim);
  }
  reshape(shape: readonly number[]): TensorType {
    return ops.reshape(this, shape);
  }
  permute(axes: number[]): TensorType {
    return ops.permute(this, axes);
  }
  transpose(dim0?: number, dim1?: number): TensorType {
    return ops.transpose(this, dim0, dim1);
  }
  broadcastTo(shape: readonly number[]): TensorType {
    return ops.broadcastTo(this, shape);
  }
  slice(begin: number[], end?: number[], step?: number[]): TensorType {
    return ops.slice(this, begin, end, step);
  }
  pad(widths: [number, number][], value?: number): TensorType {
    return ops.pad(this, widths, value);
  }
  matmul(other: TensorType): TensorType {
    return ops.matmul(this, other);
  }
  softmax(axis?: number): TensorType {
    return ops.softmax(this, axis);
  }
  logSoftmax(axis?: number): TensorType {
    return ops.logSoftmax(this, axis);
  }

  // ---- in place, outside autograd (PyTorch's trailing-underscore names) ---------------------------------------------

  /** Copies `src` (a tensor of the same shape and device, or host values) into this tensor; returns it. */
  copy_(src: TensorType | ArrayLike<number>): this {
    ops.copyInPlace(this, src);
    return this;
  }
  /** Sets every element to `value`; returns this tensor. */
  fill_(value: number): this {
    ops.fillInPlace(this, value);
    return this;
  }
  /** Sets every element to 0; returns this tensor. */
  zero_(): this {
    ops.fillInPlace(this, 0);
    return this;
  }
  /** this ← this + weight·(end − this), as torch.TensorType.lerp_ (a running mean or an EMA step); returns it. */
  lerp_(end: TensorType, weight: number): this {
    ops.lerpInPlace(this, end, weight);
    return this;
  }

  // ---- autograd ----------------------------------------------------------------------------------------------------

  /** Gradients of this scalar (or of `grad`·this) into the `.grad` of every leaf with requiresGrad. */
  backward(grad?: TensorType): void {
    backward(this, grad);
  }
  /** A tensor sharing this one's storage, cut from the autograd graph. */
  detach(): TensorType {
    return this.shareAs(this.shape);
  }
  /** Sets requiresGrad and returns this tensor. */
  requireGrad(flag = true): this {
    this.requiresGrad = flag;
    return this;
  }
  /** Frees and clears `.grad`. */
  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  toString(): string {
    return (
      `Tensor(${fmt(this.shape)}, ` +
      `${this.storageRef ? this.storageRef.backend.name : 'disposed'}${this.requiresGrad ? ', requiresGrad' : ''})`
    );
  }
}

/** The Tensor class (for `instanceof` and `Tensor.empty`); its type is the interface in tensor-type.ts. */
export const Tensor = TensorImpl;
export type Tensor = TensorType;
export { Storage, type GradNode };
