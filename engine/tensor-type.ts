// The Tensor type as op files and users see it: shape, device storage, the autograd record, and the ops as methods.
// It is declared apart from its class (tensor.ts) because the class calls the ops, and the op files name this type:
// declaring it here keeps every import pointing one way.

import type { Backend, Buf } from './backend.ts';
import type { Shape } from './shape.ts';

/** The mark every engine tensor carries, so checks need no import of the Tensor class. */
export const TENSOR_BRAND: unique symbol = Symbol.for('swa-engine.tensor');

/** Whether `v` is a tensor of this engine. */
export function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && (v as { [TENSOR_BRAND]?: boolean })[TENSOR_BRAND] === true;
}

/** A device buffer shared by tensors that view it whole (a reshape shares its input's storage). */
export class Storage {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly buf: Buf,
  ) {}

  release(): void {
    if (--this.refs === 0) this.backend.free(this.buf);
  }
}

/** How a tensor was made, kept when it takes part in autograd. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Intermediates the op's backward needs, beyond its inputs and output. */
  readonly saved: readonly Tensor[];
  /** The gradients of the inputs (null where none flows) from the gradient of this tensor. */
  backward(dy: Tensor): (Tensor | null)[];
}

/** A tensor, or a number that an op applies as a scalar. */
export type Operand = Tensor | number;

/** A float32 tensor on one device, with autograd. Made by `tensor`, `zeros`, `randn`, … and by every op. */
export interface Tensor {
  readonly [TENSOR_BRAND]: true;
  /** Creation order; makes graph traversals deterministic. */
  readonly id: number;
  readonly shape: Shape;
  /** Number of elements. */
  readonly size: number;
  readonly rank: number;
  /** Whether gradients flow to this tensor. Leaves set it by hand; op outputs inherit it from their inputs. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after backward(). */
  grad: Tensor | null;
  /** The op that produced this tensor, when autograd recorded it. */
  node: GradNode | null;
  /** Set by `keep`: no enclosing `tidy` frees this tensor. */
  kept: boolean;
  readonly isDisposed: boolean;
  /** The backend holding this tensor. Throws if the tensor was disposed. */
  readonly backend: Backend;
  /** The backend's name ('webgpu' or 'wasm'). */
  readonly device: string;

  /** The storage, or a clear error naming `op` when the tensor was disposed. */
  storage(op: string): Storage;
  /** The device buffer (for ops and backends). */
  buf(op: string): Buf;
  /** A tensor sharing this one's storage with another shape of the same size (used by reshape). */
  shareAs(shape: Shape): Tensor;
  /**
   * Exchanges the device storage of two tensors of equal shape on one backend, without copying: each keeps its
   * identity (modules and optimizers holding it stay valid) but now reads the other's values.
   */
  swapStorage(other: Tensor): void;
  /** A new tensor of `shape` with uninitialised contents on this tensor's device, as torch.Tensor.new_empty. */
  newEmpty(shape: Shape): Tensor;
  /** A new tensor of `shape` filled with `value` on this tensor's device, as torch.Tensor.new_full. */
  newFull(shape: Shape, value: number): Tensor;

  /** Reads the values back (submits pending device work first). */
  data(): Promise<Float32Array>;
  /** Reads back the single value of a one-element tensor. */
  item(): Promise<number>;
  /** Reads back the values as nested arrays of the tensor's shape. */
  array(): Promise<unknown>;
  /** Frees the device memory (once no reshape view shares it). Disposing twice does nothing. */
  dispose(): void;
  toString(): string;

  // The ops as methods: each is the function of the same name in engine/ops with this tensor first.
  add(other: Operand): Tensor;
  sub(other: Operand): Tensor;
  mul(other: Operand): Tensor;
  div(other: Operand): Tensor;
  maximum(other: Operand): Tensor;
  minimum(other: Operand): Tensor;
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
  min(axes?: number | number[], keepdim?: boolean): Tensor;
  reshape(shape: readonly number[]): Tensor;
  permute(axes: number[]): Tensor;
  transpose(dim0?: number, dim1?: number): Tensor;
  broadcastTo(shape: readonly number[]): Tensor;
  slice(begin: number[], end?: number[], step?: number[]): Tensor;
  pad(widths: [number, number][], value?: number): Tensor;
  matmul(other: Tensor): Tensor;
  softmax(axis?: number): Tensor;
  logSoftmax(axis?: number): Tensor;

  // In place, outside autograd (PyTorch's names). A tensor that requires grad needs `noGrad` around them.
  /** Copies `src` (a tensor of the same shape and device, or host values of its size) into this tensor; returns it. */
  copy_(src: Tensor | ArrayLike<number>): this;
  /** Sets every element to `value`; returns this tensor. */
  fill_(value: number): this;
  /** Sets every element to 0; returns this tensor. */
  zero_(): this;
  /** this ← this + weight·(end − this), as torch.Tensor.lerp_ (a running mean or an EMA step); returns it. */
  lerp_(end: Tensor, weight: number): this;

  /** Gradients of this scalar (or of `grad`·this) into the `.grad` of every leaf with requiresGrad. */
  backward(grad?: Tensor): void;
  /** A tensor sharing this one's storage, cut from the autograd graph. */
  detach(): Tensor;
  /** Sets requiresGrad and returns this tensor. */
  requireGrad(flag?: boolean): this;
  /** Frees and clears `.grad`. */
  zeroGrad(): void;
}
