// The op registry: each op is defined once (shape check, forward, backward, float64 reference) in engine/ops/,
// and `apply` runs it on tensors and records it for autograd. The table type makes a missing definition a compile error.

import type { BinaryOp, UnaryOp } from './backend.ts';
import { isGradEnabled } from './scope.ts';
import { fmt, type Shape } from './shape.ts';
import { Tensor } from './tensor.ts';

/** A float64 array with a shape: the inputs and outputs of reference implementations. */
export interface Nd {
  shape: number[];
  data: Float64Array;
}

type None = Record<never, never>;
export interface AxesParams { axes: number[]; keepdim: boolean }

/** Parameters of every op, by name. */
export interface OpParams extends Record<BinaryOp, None>, Record<Exclude<UnaryOp, 'pow' | 'scale' | 'shift'>, None> {
  pow: { exponent: number };
  scale: { factor: number };
  shift: { offset: number };
  where: None;
  sum: AxesParams;
  max: AxesParams;
  mean: AxesParams;
  sumTo: { shape: number[] };
  reshape: { shape: number[] };
  permute: { axes: number[] };
  transpose: { dim0: number; dim1: number };
  broadcastTo: { shape: number[] };
  slice: { begin: number[]; end: number[]; step: number[] };
  embed: { shape: number[]; begin: number[]; step: number[]; value: number };
  pad: { widths: [number, number][]; value: number };
  concat: { axis: number };
  matmul: { transA: boolean; transB: boolean };
  softmax: { axis: number };
  logSoftmax: { axis: number };
  oneHot: { classes: number };
  crossEntropy: { reduction: 'mean' | 'sum' | 'none' };
  conv2d: { stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number };
  pool2d: { mode: 'max' | 'avg'; kernel: [number, number]; stride: [number, number]; padding: [number, number]; countIncludePad: boolean };
  batchNorm: { training: boolean; momentum: number; eps: number };
  dropout: { p: number; seed: number };
}

export type OpName = keyof OpParams;

/** An op with its own kernel(s). */
export interface PrimitiveDef<P> {
  /** Validates the input shapes and parameters; returns the output shape. */
  shape(shapes: Shape[], p: P): Shape;
  /**
   * Produces the output from the inputs by running backend kernels. Intermediates that backward needs (batch
   * statistics, say) are handed to `save`; they live as long as the output's graph node.
   */
  forward(inputs: Tensor[], shape: Shape, p: P, save: (...t: Tensor[]) => void): Tensor;
  /** Input gradients from the output gradient `dy`, written with other ops; absent when not differentiable. */
  backward?(dy: Tensor, inputs: Tensor[], out: Tensor, p: P, saved: readonly Tensor[]): (Tensor | null)[];
  /** Float64 reference used by the tests. */
  reference(inputs: Nd[], p: P): Nd;
}

/** An op written in terms of other ops: autograd flows through them. */
export interface CompositeDef<P> {
  compose(inputs: Tensor[], p: P): Tensor;
  reference(inputs: Nd[], p: P): Nd;
}

export type OpDef<P> = PrimitiveDef<P> | CompositeDef<P>;
export type OpTable = { [N in OpName]: OpDef<OpParams[N]> };

let registry: OpTable | null = null;

/** Installs the op table (engine/ops/index.ts does this once). */
export function setRegistry(table: OpTable): void {
  registry = table;
}

export function opDef<N extends OpName>(name: N): OpDef<OpParams[N]> {
  if (!registry) throw new Error('op registry not installed: import the engine through its index');
  return registry[name] as OpDef<OpParams[N]>;
}

/** Checks inputs are live tensors on one backend, naming the op and shapes otherwise. */
export function checkInputs(op: string, inputs: readonly Tensor[]): void {
  for (const t of inputs) {
    if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected tensors, got ${typeof t}`);
    t.storage(op);
  }
  const b = inputs[0]?.backend;
  for (const t of inputs) {
    if (t.backend !== b) {
      throw new Error(`${op}: tensors on different devices (${inputs.map((x) => `${fmt(x.shape)} on ${x.device}`).join(', ')})`);
    }
  }
}

/** Runs op `name` on `inputs`, recording it for autograd when gradients are enabled and needed. */
export function apply<N extends OpName>(name: N, inputs: Tensor[], p: OpParams[N]): Tensor {
  const def = opDef(name);
  checkInputs(name, inputs);
  if ('compose' in def) return def.compose(inputs, p);
  const shape = def.shape(inputs.map((t) => t.shape), p);
  const saved: Tensor[] = [];
  const out = def.forward(inputs, shape, p, (...t) => saved.push(...t));
  if (def.backward && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op: name, inputs, params: p, saved };
  } else {
    for (const t of saved) t.dispose();
  }
  return out;
}
