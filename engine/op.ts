// What an op is: its parameters by name, and a definition that holds its shape check, forward kernels, backward
// (written with other ops) and float64 reference. `runOp` runs a definition and records it for autograd.

import type { BinaryOp, UnaryOp } from './backend.ts';
import { isGradEnabled } from './scope.ts';
import { fmt, type Shape } from './shape.ts';
import { isTensor, type GradNode, type Tensor } from './tensor-type.ts';

/** A float64 array with a shape: the inputs and outputs of reference implementations. */
export interface Nd {
  shape: number[];
  data: Float64Array;
}

type None = Record<never, never>;
export interface AxesParams {
  axes: number[];
  keepdim: boolean;
}

/** Parameters of every op, by name. */
export interface OpParams extends Record<BinaryOp, None>, Record<Exclude<UnaryOp, 'pow' | 'scale' | 'shift'>, None> {
  pow: { exponent: number };
  scale: { factor: number };
  shift: { offset: number };
  where: None;
  sum: AxesParams;
  max: AxesParams;
  min: AxesParams;
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
  pool2d: {
    mode: 'max' | 'avg';
    kernel: [number, number];
    stride: [number, number];
    padding: [number, number];
    countIncludePad: boolean;
  };
  batchNorm: { training: boolean; momentum: number; eps: number };
  batchNormRelu: { training: boolean; momentum: number; eps: number };
  dropout: { p: number; seed: number };
}

export type OpName = keyof OpParams;

interface OpBase<N extends OpName> {
  /** The op's name: its key in the op table, in error messages and in the autograd record. */
  readonly name: N;
  /** Float64 reference used by the tests. */
  reference(inputs: Nd[], p: OpParams[N]): Nd;
}

/** An op with its own kernel(s). */
export interface PrimitiveDef<N extends OpName> extends OpBase<N> {
  /** Validates the input shapes and parameters; returns the output shape. */
  shape(shapes: Shape[], p: OpParams[N]): Shape;
  /**
   * Produces the output from the inputs by running backend kernels. Intermediates that backward needs (batch
   * statistics, say) are handed to `save`; they live as long as the output's graph node.
   */
  forward(inputs: Tensor[], shape: Shape, p: OpParams[N], save: (...t: Tensor[]) => void): Tensor;
  /** Input gradients from the output gradient `dy`, written with other ops; absent when not differentiable. */
  backward?(dy: Tensor, inputs: Tensor[], out: Tensor, p: OpParams[N], saved: readonly Tensor[]): (Tensor | null)[];
}

/** An op written in terms of other ops: autograd flows through them. */
export interface CompositeDef<N extends OpName> extends OpBase<N> {
  compose(inputs: Tensor[], p: OpParams[N]): Tensor;
}

export type OpDef<N extends OpName> = PrimitiveDef<N> | CompositeDef<N>;
/** One definition per op name; a missing or misnamed entry fails `tsc`. */
export type OpTable = { [N in OpName]: OpDef<N> };

/** Checks inputs are live tensors on one backend, naming the op and shapes otherwise. */
export function checkInputs(op: string, inputs: readonly unknown[]): asserts inputs is readonly Tensor[] {
  for (const t of inputs) {
    if (!isTensor(t)) throw new TypeError(`${op}: expected tensors, got ${t === null ? 'null' : typeof t}`);
    t.storage(op);
  }
  const ts = inputs as readonly Tensor[];
  const b = ts[0]?.backend;
  for (const t of ts) {
    if (t.backend !== b) {
      const where = ts.map((x) => `${fmt(x.shape)} on ${x.device}`).join(', ');
      throw new Error(`${op}: tensors on different devices (${where})`);
    }
  }
}

/** Runs `def` on `inputs`, recording it for autograd when gradients are enabled and needed. */
export function runOp<N extends OpName>(def: OpDef<N>, inputs: Tensor[], p: OpParams[N]): Tensor {
  checkInputs(def.name, inputs);
  if ('compose' in def) return def.compose(inputs, p);
  const shape = def.shape(
    inputs.map((t) => t.shape),
    p,
  );
  const saved: Tensor[] = [];
  const out = def.forward(inputs, shape, p, (...t) => saved.push(...t));
  const backward = def.backward;
  if (backward && isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    const node: GradNode = {
      op: def.name,
      inputs,
      saved,
      backward: (dy) => backward.call(def, dy, [...inputs], out, p, saved),
    };
    out.node = node;
  } else {
    for (const t of saved) t.dispose();
  }
  return out;
}
