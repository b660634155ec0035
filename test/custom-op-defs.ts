// Custom ops the custom-op tests define, each with a WGSL and a CPU kernel: swish (its backward another custom op),
// biasScale (three inputs, broadcast along the last dim), poly (every parameter type), rowSum (its own grid).
// NOTE: imports only the public index, so the browser test page runs these against the real browser bundle.

import { broadcastTo, customOp, mul, reshape, sumTo, type Nd, type Tensor } from '../index.ts';

const nd = (shape: readonly number[], data: Float64Array): Nd => ({ shape: [...shape], data });
const map = (x: Nd, f: (v: number, i: number) => number): Nd => nd(x.shape, Float64Array.from(x.data, f));
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** One invocation per output element, with the project's 2-D grid index. */
const HEAD = `override wg: u32 = 64u;
fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * wg;
}`;

export const SWISH_WGSL = `// swish: out = x · sigmoid(beta · x)
struct Params {
  size: u32,
  beta: f32,
}
${HEAD}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= params.size) {
    return;
  }
  let v = x[i];
  out[i] = v / (1.0 + exp(-params.beta * v));
}
`;

const SWISH_GRAD_WGSL = `// swishGrad: dx = dy · (s + beta·x·s·(1 − s)), s = sigmoid(beta · x)
struct Params {
  size: u32,
  beta: f32,
}
${HEAD}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= params.size) {
    return;
  }
  let v = x[i];
  let s = 1.0 / (1.0 + exp(-params.beta * v));
  out[i] = dy[i] * (s + params.beta * v * s * (1.0 - s));
}
`;

/** dx = dy · (s + beta·x·s·(1 − s)) with s = sigmoid(beta·x): swish's backward, as a custom op of its own. */
export const swishGrad = customOp({
  name: 'swishGrad',
  inputs: ['x', 'dy'],
  params: { beta: 'f32' },
  shape: ([x, dy]) => {
    if (x.join() !== dy.join()) throw new Error(`swishGrad: x [${x}] and dy [${dy}] differ`);
    return x;
  },
  forward: {
    webgpu: { code: SWISH_GRAD_WGSL, workgroupSize: 64 },
    wasm: ([x, dy], out, { beta }) => {
      for (let i = 0; i < out.length; i++) {
        const s = 1 / (1 + Math.exp(-beta * x[i]));
        out[i] = dy[i] * (s + beta * x[i] * s * (1 - s));
      }
    },
  },
  reference: ([x, dy], { beta }) =>
    map(x, (v, i) => dy.data[i] * (sigmoid(beta * v) + beta * v * sigmoid(beta * v) * (1 - sigmoid(beta * v)))),
});

const swishSpec = {
  name: 'swish',
  inputs: ['x'],
  params: { beta: 'f32' },
  shape: ([x]: readonly (readonly number[])[]) => x,
  forward: {
    webgpu: { code: SWISH_WGSL, workgroupSize: 64 },
    wasm: ([x]: readonly Float32Array[], out: Float32Array, { beta }: { beta: number }) => {
      for (let i = 0; i < out.length; i++) out[i] = x[i] / (1 + Math.exp(-beta * x[i]));
    },
  },
  backward: (dy: Tensor, [x]: readonly Tensor[], _out: Tensor, p: { beta: number }) => [swishGrad(x, dy, p)],
  reference: ([x]: readonly Nd[], { beta }: { beta: number }) => map(x, (v) => v * sigmoid(beta * v)),
} as const;

/** swish(x) = x · sigmoid(beta · x) (Ramachandran et al., 2017), backward through the swishGrad custom op. */
export const swish = customOp(swishSpec);

/** The same op with a backward that drops the beta·x·s·(1 − s) term: gradcheck must catch it. */
export const badSwish = customOp({
  ...swishSpec,
  name: 'badSwish',
  backward: (dy, [x], _out, { beta }) => [mul(dy, x.mul(-beta).exp().add(1).pow(-1))],
});

/** out = x · s + b with b and s of shape [c] broadcast along x's last dimension c (the caller passes c). */
export const biasScaleOp = customOp({
  name: 'biasScale',
  inputs: ['x', 'b', 's'],
  params: { c: 'u32' },
  shape: ([x, b, s], { c }) => {
    if (x.length === 0 || x[x.length - 1] !== c || b.join() !== `${c}` || s.join() !== `${c}`) {
      throw new Error(`biasScale: x [${x}] must end in c = ${c}; b [${b}] and s [${s}] must be [${c}]`);
    }
    return x;
  },
  forward: {
    webgpu: `struct Params {
  size: u32,
  c: u32,
}
${HEAD}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i < params.size) {
    out[i] = x[i] * s[i % params.c] + b[i % params.c];
  }
}
`,
    wasm: ([x, b, s], out, { c }) => {
      for (let i = 0; i < out.length; i++) out[i] = x[i] * s[i % c] + b[i % c];
    },
  },
  backward: (dy, [x, , s]) => [mul(dy, s), sumTo(dy, s.shape), sumTo(mul(dy, x), s.shape)],
  reference: ([x, b, s]) => {
    const c = b.data.length;
    return map(x, (v, i) => v * s.data[i % c] + b.data[i % c]);
  },
});
export const biasScale = (x: Tensor, b: Tensor, s: Tensor): Tensor => biasScaleOp(x, b, s, { c: b.size });

/** out = ±(a·x + b·x^power) + offset, negated when `negate`: one parameter of each type in the uniform struct. */
export const poly = customOp({
  name: 'poly',
  inputs: ['x'],
  params: { a: 'f32', b: 'f32', power: 'u32', offset: 'i32', negate: 'bool' },
  shape: ([x]) => x,
  forward: {
    webgpu: `struct Params {
  size: u32,
  a: f32,
  b: f32,
  power: u32,
  offset: i32,
  negate: u32,
}
${HEAD}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i >= params.size) {
    return;
  }
  var p = 1.0;
  for (var k = 0u; k < params.power; k++) {
    p *= x[i];
  }
  let v = params.a * x[i] + params.b * p;
  out[i] = select(v, -v, params.negate != 0u) + f32(params.offset);
}
`,
    wasm: ([x], out, { a, b, power, offset, negate }) => {
      for (let i = 0; i < out.length; i++) {
        const v = a * x[i] + b * x[i] ** power;
        out[i] = (negate ? -v : v) + offset;
      }
    },
  },
  backward: (dy, [x], _out, { a, b, power, negate }) => {
    const d =
      power === 0
        ? x.mul(0).add(a)
        : x
            .pow(power - 1)
            .mul(b * power)
            .add(a);
    return [mul(dy, negate ? d.neg() : d)];
  },
  reference: ([x], { a, b, power, offset, negate }) =>
    map(x, (v) => (negate ? -1 : 1) * (a * v + b * v ** power) + offset),
});

/** Sums of the rows of x [rows, cols]: one workgroup of 64 per row (its own grid) reducing in workgroup memory. */
export const rowSumOp = customOp({
  name: 'rowSum',
  inputs: ['x'],
  params: { cols: 'u32' },
  shape: ([x], { cols }) => {
    if (x.length !== 2 || x[1] !== cols) throw new Error(`rowSum: x [${x}] must be [rows, ${cols}]`);
    return [x[0]];
  },
  forward: {
    webgpu: {
      grid: (out) => out[0],
      code: `struct Params {
  size: u32,
  cols: u32,
}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wid.x;
  var acc = 0.0;
  for (var j = li; j < params.cols; j += 64u) {
    acc += x[row * params.cols + j];
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (li < s) {
      partial[li] += partial[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    out[row] = partial[0];
  }
}
`,
    },
    wasm: ([x], out, { cols }) => {
      for (let r = 0; r < out.length; r++) {
        let acc = 0;
        for (let j = 0; j < cols; j++) acc += x[r * cols + j];
        out[r] = acc;
      }
    },
  },
  backward: (dy, [x]) => [broadcastTo(reshape(dy, [x.shape[0], 1]), x.shape)],
  reference: ([x], { cols }) => {
    const rows = x.shape[0];
    const data = new Float64Array(rows);
    for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) data[r] += x.data[r * cols + j];
    return nd([rows], data);
  },
});
export const rowSum = (x: Tensor): Tensor => rowSumOp(x, { cols: x.shape[1] });

/** out = 2x, from a shader that declares an input b it never reads (valid: the pipeline layout is explicit). */
export const twiceIgnoringB = customOp({
  name: 'twiceIgnoringB',
  inputs: ['x', 'b'],
  shape: ([x]) => x,
  forward: {
    webgpu: `struct Params {
  size: u32,
}
${HEAD}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(wg)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = index(gid, nwg);
  if (i < params.size) {
    out[i] = 2.0 * x[i];
  }
}
`,
    wasm: ([x], out) => out.set(x.map((v) => 2 * v)),
  },
  reference: ([x]) => map(x, (v) => 2 * v),
});
