// The Tensor: a float32 buffer on one backend with a shape, plus the autograd record of the op that made it.
// Op methods (t.add, t.sum, …) and backward() are attached in tensor-methods.ts to keep this core free of cycles.

import type { Backend, Buf } from './backend.ts';
import { fmt, sizeOf, type Shape } from './shape.ts';
import { track, type Tracked } from './scope.ts';

/** A device buffer shared by tensors that view it whole (a reshape shares its input's storage). */
export class Storage {
  refs = 1;
  constructor(readonly backend: Backend, readonly buf: Buf) {}

  release(): void {
    if (--this.refs === 0) this.backend.free(this.buf);
  }
}

/** How a tensor was made, kept when it takes part in autograd. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly params: unknown;
  /** Intermediates the op's backward needs, beyond its inputs and output. */
  readonly saved: readonly Tensor[];
}

let nextId = 0;

export class Tensor implements Tracked {
  /** Creation order; makes graph traversals deterministic. */
  readonly id = nextId++;
  readonly shape: Shape;
  readonly size: number;
  /** Whether gradients flow to this tensor. Leaves set it by hand; op outputs inherit it from their inputs. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after backward(). */
  grad: Tensor | null = null;
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
  static empty(shape: Shape, backend: Backend): Tensor {
    return new Tensor(shape, new Storage(backend, backend.alloc(sizeOf(shape))));
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
  shareAs(shape: Shape): Tensor {
    const s = this.storage('reshape');
    s.refs++;
    return new Tensor(shape, s);
  }

  /**
   * Exchanges the device storage of two tensors of equal shape on one backend, without copying: each keeps its
   * identity (modules and optimizers holding it stay valid) but now reads the other's values.
   */
  swapStorage(other: Tensor): void {
    const a = this.storage('swapStorage');
    const b = other.storage('swapStorage');
    if (this.shape.length !== other.shape.length || this.shape.some((d, i) => d !== other.shape[i]) || a.backend !== b.backend) {
      throw new Error(`swapStorage: tensors ${fmt(this.shape)} on ${a.backend.name} and ${fmt(other.shape)} on ${b.backend.name} differ`);
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

  toString(): string {
    return `Tensor(${fmt(this.shape)}, ${this.storageRef ? this.storageRef.backend.name : 'disposed'}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}
