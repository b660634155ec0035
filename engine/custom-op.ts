// Custom ops: a user's own WGSL and CPU kernels under the engine's autograd. `customOp` checks the definition once
// (bindings, the params struct, the entry point) and returns a function that runs like a built-in op: shape check,
// a kernel on the inputs' backend batched with the others, the autograd record, `tidy` tracking, clear errors.

import type { Backend, DeviceName } from './backend.ts';
import { uniformLayout, type FieldType, type Fields, type Layout, type Values } from './backends/layout.ts';
import type { CpuKernel, CustomKernel, CustomLaunch, WgslProgram } from './custom-kernel.ts';
import { checkWgsl } from './custom-wgsl.ts';
import { backendNamed, defaultBackend } from './device.ts';
import { checkInputs, type Nd } from './op.ts';
import { isGradEnabled } from './scope.ts';
import { checkShape, fmt, sameShape, type Shape } from './shape.ts';
import { isTensor, type Tensor } from './tensor-type.ts';

/** Invocations per workgroup when forward.webgpu gives none (the project's element-wise kernels use the same). */
const DEFAULT_WORKGROUP = 256;
/** WebGPU's default limits: 8 storage buffers per stage (the inputs and out), 256 invocations per workgroup. */
const MAX_WEBGPU_INPUTS = 7;
const MAX_WORKGROUP = 256;
/** Bytes of one uniform slot (engine/backends/webgpu-pipelines.ts): the whole Params struct must fit. */
const MAX_PARAM_BYTES = 256;

/** A WGSL kernel: the shader (valid on its own, see docs/custom-ops.md for its bindings) and how it is launched. */
export interface WgslKernelSpec<F extends Fields> {
  /**
   * The shader. Bindings in group 0: the inputs at 0..n−1 (`var<storage, read> x: array<f32>`, in the op's input
   * order), `out` at n (`var<storage, read_write>`), `params` at n+1 (`var<uniform> params: Params`, where
   * `struct Params { size: u32, <the op's params in declaration order> }` and size is the output's element count).
   */
  code: string;
  /** The entry point ['main']. */
  entry?: string;
  /** Invocations per workgroup, set as `override wg: u32` when the shader declares it [256]. */
  workgroupSize?: number;
  /**
   * Workgroups to dispatch (x, or [x, y, z]); by default ⌈size / workgroupSize⌉, split as [x, y, 1] past 65535, so
   * the shader's element index is `gid.x + gid.y * nwg.x * wg`.
   */
  grid?(outShape: Shape, shapes: readonly Shape[], p: Values<F>): number | readonly [number, number, number];
}

/** The definition of a custom op; `F` declares its parameters (names and WGSL types, in the struct's order). */
export interface CustomOpSpec<F extends Fields = Record<never, never>> {
  /** The op's name: in errors, in the autograd record and in reports. */
  name: string;
  /** The inputs' names, in order: the count every call must pass and the WGSL input bindings 0..n−1. */
  inputs: readonly string[];
  /** Parameters by name and type ('f32', 'u32', 'i32', 'bool', 'u32[4]', …), filled into the uniform struct. */
  params?: F;
  /** Checks the input shapes (and parameters) and returns the output's shape; throw to reject. */
  shape(shapes: readonly Shape[], p: Values<F>): Shape;
  /** The kernels: WGSL for WebGPU (or just its code), a function over Float32Array views for wasm. */
  forward: { webgpu?: string | WgslKernelSpec<F>; wasm?: CpuKernel<Values<F>> };
  /**
   * The input gradients from the output gradient `dy`, written with engine ops or other custom ops (null where no
   * gradient flows). Without it, a backward through the op throws.
   */
  backward?(dy: Tensor, inputs: readonly Tensor[], out: Tensor, p: Values<F>): readonly (Tensor | null)[];
  /** The op in float64, for `opcheck` and the finite differences of `gradcheck`. */
  reference(inputs: readonly Nd[], p: Values<F>): Nd;
}

/** A call's arguments: the input tensors, then the parameters when the op declares any. */
export type CustomOpArgs<F extends Fields> = [...Tensor[]] | [...Tensor[], Values<F>];

/** A custom op: call it with its input tensors (and parameters) like a built-in op function. */
export interface CustomOp<F extends Fields = Record<never, never>> {
  (...args: CustomOpArgs<F>): Tensor;
  /** The op's name (spec.name). */
  readonly name: string;
  readonly spec: Readonly<CustomOpSpec<F>>;
  /** The devices the op has kernels for. */
  readonly devices: readonly DeviceName[];
  /** Runs the op on `inputs` with parameters `p`: the same as calling it. */
  run(inputs: readonly Tensor[], p?: Values<F>): Tensor;
  /**
   * Gets the op ready on `device` (the default device when omitted): on WebGPU compiles its shader and pipeline once,
   * rejecting with the WGSL compiler's error at the user's line. Needed once per WebGPU device before the first call.
   */
  compile(device?: Backend | DeviceName): Promise<void>;
  /** The float64 reference with the parameters checked. */
  reference(inputs: readonly Nd[], p?: Values<F>): Nd;
}

const resolve = (device?: Backend | DeviceName): Backend =>
  device === undefined ? defaultBackend() : typeof device === 'string' ? backendNamed(device) : device;

/** Checks every declared parameter is given with a value of its type, and nothing else. */
function checkParams(op: string, spec: Fields, p: unknown): void {
  if (p === null || typeof p !== 'object') throw new TypeError(`customOp '${op}': parameters must be an object`);
  const given = p as Record<string, unknown>;
  for (const k of Object.keys(given)) {
    if (!(k in spec)) {
      const names = Object.keys(spec).join(', ') || 'none';
      throw new TypeError(`customOp '${op}': unknown parameter '${k}' (declared: ${names})`);
    }
  }
  for (const [k, type] of Object.entries(spec)) {
    const v = given[k];
    if (v === undefined) throw new TypeError(`customOp '${op}': missing parameter '${k}' (${type})`);
    if (!valueFits(type, v)) throw new TypeError(`customOp '${op}': parameter '${k}' = ${String(v)} is not a ${type}`);
  }
}

function valueFits(type: FieldType, v: unknown): boolean {
  const int = (x: unknown, lo: number, hi: number): boolean =>
    typeof x === 'number' && Number.isInteger(x) && x >= lo && x < hi;
  if (type === 'bool') return typeof v === 'boolean';
  if (type === 'f32') return typeof v === 'number';
  if (type === 'u32') return int(v, 0, 2 ** 32);
  if (type === 'i32') return int(v, -(2 ** 31), 2 ** 31);
  const m = /^(u32|i32)\[(\d+)\]$/.exec(type);
  if (!m || !Array.isArray(v) || v.length > Number(m[2])) return false;
  return v.every((x) => valueFits(m[1] as FieldType, x));
}

/** The WGSL program of a spec, checked against the op's inputs and parameters. */
function wgslProgram<F extends Fields>(spec: CustomOpSpec<F>, layout: Layout<Fields>): WgslProgram | undefined {
  const w = spec.forward.webgpu;
  if (w === undefined) return undefined;
  const k: WgslKernelSpec<F> = typeof w === 'string' ? { code: w } : w;
  const where = `customOp '${spec.name}'`;
  if (typeof k.code !== 'string') throw new TypeError(`${where}: forward.webgpu.code must be the WGSL source`);
  const workgroupSize = k.workgroupSize ?? DEFAULT_WORKGROUP;
  if (!Number.isInteger(workgroupSize) || workgroupSize < 1 || workgroupSize > MAX_WORKGROUP) {
    throw new RangeError(`${where}: workgroupSize ${workgroupSize} must be an integer in [1, ${MAX_WORKGROUP}]`);
  }
  if (spec.inputs.length > MAX_WEBGPU_INPUTS) {
    throw new RangeError(`${where}: a WebGPU kernel takes at most ${MAX_WEBGPU_INPUTS} inputs (8 storage buffers)`);
  }
  if (layout.words * 4 > MAX_PARAM_BYTES) {
    throw new RangeError(
      `${where}: struct Params takes ${layout.words * 4} bytes, over the ${MAX_PARAM_BYTES} allowed`,
    );
  }
  const entry = k.entry ?? 'main';
  const { hasWg } = checkWgsl(spec.name, k.code, spec.inputs, layout, entry);
  return { code: k.code, entry, workgroupSize, hasWg };
}

/** Checks the definition itself: name, inputs, parameters, functions, kernels. */
function checkSpec<F extends Fields>(spec: CustomOpSpec<F>): void {
  if (typeof spec?.name !== 'string' || !/^[A-Za-z_][\w.-]*$/.test(spec.name)) {
    throw new TypeError(`customOp: name must be an identifier-like string, got ${String(spec?.name)}`);
  }
  const where = `customOp '${spec.name}'`;
  if (!Array.isArray(spec.inputs) || spec.inputs.length === 0 || spec.inputs.some((x) => typeof x !== 'string')) {
    throw new TypeError(`${where}: inputs must list the names of its inputs (at least one)`);
  }
  for (const f of ['shape', 'reference'] as const) {
    if (typeof spec[f] !== 'function') throw new TypeError(`${where}: ${f} must be a function`);
  }
  if (spec.backward !== undefined && typeof spec.backward !== 'function') {
    throw new TypeError(`${where}: backward must be a function`);
  }
  if (spec.params && 'size' in spec.params) {
    throw new TypeError(`${where}: 'size' is reserved (the first field of struct Params, filled by the engine)`);
  }
  const { webgpu, wasm } = spec.forward ?? {};
  if (webgpu === undefined && wasm === undefined) {
    throw new TypeError(`${where}: forward needs a kernel: forward.webgpu (WGSL) and/or forward.wasm (a function)`);
  }
  if (wasm !== undefined && typeof wasm !== 'function')
    throw new TypeError(`${where}: forward.wasm must be a function`);
}

/** The input gradients a backward returned, checked against the inputs' count and shapes. */
function checkGrads(op: CustomOpSpec<Fields>, inputs: readonly Tensor[], grads: unknown): (Tensor | null)[] {
  if (!Array.isArray(grads) || grads.length !== inputs.length) {
    throw new Error(`customOp '${op.name}': backward must return ${inputs.length} gradients (tensor or null)`);
  }
  return grads.map((g, i) => {
    if (g === null || g === undefined) return null;
    if (!isTensor(g)) throw new TypeError(`customOp '${op.name}': backward returned a non-tensor for input ${i}`);
    if (!sameShape(g.shape, inputs[i].shape)) {
      throw new Error(
        `customOp '${op.name}': backward returned a gradient of shape ${fmt(g.shape)} for input ${i} ` +
          `(${op.inputs[i]}) of shape ${fmt(inputs[i].shape)}`,
      );
    }
    return g;
  });
}

/**
 * Defines a custom op from the user's kernels, as `torch.library.custom_op` with `register_autograd` does for PyTorch.
 * The returned function checks shapes with `spec.shape`, runs `forward.webgpu` or `forward.wasm` on the inputs'
 * backend (recorded into the same batch as built-in kernels), and records `spec.backward` for autograd.
 * @throws Error at definition when the WGSL's bindings, `struct Params` or entry point do not match the op.
 * @example
 * const swish = customOp({ name: 'swish', inputs: ['x'], params: { beta: 'f32' }, shape: ([x]) => x,
 *   forward: { webgpu: SWISH_WGSL, wasm: ([x], out, { beta }) => { ... } }, backward, reference });
 * await swish.compile('webgpu');
 * const y = swish(x, { beta: 1 });
 */
export function customOp<F extends Fields = Record<never, never>>(spec: CustomOpSpec<F>): CustomOp<F> {
  checkSpec(spec);
  const fields: Fields = spec.params ?? {};
  const layout = uniformLayout({ size: 'u32', ...fields } as Fields);
  const kernel: CustomKernel = {
    name: spec.name,
    inputs: [...spec.inputs],
    webgpu: wgslProgram(spec, layout),
    wasm: spec.forward.wasm as CustomKernel['wasm'],
  };
  const devices = (['webgpu', 'wasm'] as const).filter((d) => kernel[d] !== undefined);
  const where = `customOp '${spec.name}'`;
  const params = (p: Values<F> | undefined): Values<F> => {
    const v = p ?? ({} as Values<F>);
    checkParams(spec.name, fields, v);
    return v;
  };

  const run = (inputs: readonly Tensor[], given?: Values<F>): Tensor => {
    checkInputs(spec.name, inputs);
    const n = spec.inputs.length;
    if (inputs.length !== n) {
      throw new TypeError(
        `${where} takes ${n} input${n === 1 ? '' : 's'} (${spec.inputs.join(', ')}), got ${inputs.length}`,
      );
    }
    const p = params(given);
    const shapes = inputs.map((t) => t.shape);
    const shape = spec.shape(shapes, p);
    if (!Array.isArray(shape)) throw new TypeError(`${where}: shape must return the output's shape (an array)`);
    checkShape(spec.name, shape);
    const be = inputs[0].backend;
    if (!be.runCustom) throw new Error(`${where}: the ${be.name} backend (${be.info}) runs no custom kernels`);
    if (!devices.includes(be.name)) {
      throw new Error(`${where} has no ${be.name} kernel (it has ${devices.join(', ')}): give it forward.${be.name}`);
    }
    const out = inputs[0].newEmpty(shape);
    if (out.size > 0) {
      const g = be.name === 'webgpu' && typeof spec.forward.webgpu === 'object' ? spec.forward.webgpu.grid : undefined;
      const groups = g?.(shape, shapes, p);
      const launch: CustomLaunch = {
        uniforms: layout.pack({ size: out.size, ...p } as Values<Fields>),
        params: p,
        groups: typeof groups === 'number' ? [groups, 1, 1] : groups,
        shapes,
        outShape: shape,
      };
      try {
        be.runCustom(
          kernel,
          inputs.map((t) => t.buf(spec.name)),
          out.buf(spec.name),
          launch,
        );
      } catch (e) {
        out.dispose();
        throw e;
      }
    }
    if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
      const ins = [...inputs];
      const backward = spec.backward;
      out.requiresGrad = true;
      out.node = {
        op: spec.name,
        inputs: ins,
        saved: [],
        backward: (dy) => {
          if (!backward) {
            throw new Error(
              `${where} has no backward, so no gradient flows through it: define spec.backward, or call it under ` +
                'noGrad or on inputs that do not require grad',
            );
          }
          return checkGrads(spec as CustomOpSpec<Fields>, ins, backward.call(spec, dy, ins, out, p));
        },
      };
    }
    return out;
  };

  const call = (...args: CustomOpArgs<F>): Tensor => {
    const last = args[args.length - 1];
    if (Array.isArray(last)) {
      throw new TypeError(
        `${where}: pass the inputs as arguments, ${spec.name}(x, …), or use ${spec.name}.run([x, …])`,
      );
    }
    const hasParams = args.length > 0 && !isTensor(last) && typeof last === 'object' && last !== null;
    const inputs = (hasParams ? args.slice(0, -1) : args) as Tensor[];
    return run(inputs, hasParams ? (last as Values<F>) : undefined);
  };
  const op = Object.assign(call, {
    spec,
    devices,
    run,
    compile: async (device?: Backend | DeviceName): Promise<void> => {
      const be = resolve(device);
      if (!be.prepareCustom) throw new Error(`${where}: the ${be.name} backend (${be.info}) runs no custom kernels`);
      await be.prepareCustom(kernel);
    },
    reference: (inputs: readonly Nd[], p?: Values<F>): Nd => spec.reference(inputs, params(p)),
  });
  Object.defineProperty(op, 'name', { value: spec.name });
  return op;
}
