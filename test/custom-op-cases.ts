// The custom-op checks, each run on one backend: values against hand-computed ones, opcheck and gradcheck over the
// ops in custom-op-defs.ts, tidy with a flat live-buffer count, and the errors (WGSL syntax, bindings, a wrong
// backward). Shared by the Node test (wasm, threaded wasm, WebGPU) and the browser page (SwiftShader, wasm).
// NOTE: imports only the public index, so the browser test page runs these against the real browser bundle.

import {
  customOp,
  gradcheck,
  GradcheckError,
  keep,
  mul,
  opcheck,
  OpcheckError,
  sum,
  tensor,
  tidy,
  benchKernel,
  type Backend,
  type Nd,
  type Tensor,
} from '../index.ts';
import {
  badSwish,
  biasScale,
  biasScaleOp,
  poly,
  rowSum,
  rowSumOp,
  swish,
  swishGrad,
  SWISH_WGSL,
  twiceIgnoringB,
} from './custom-op-defs.ts';

export interface CustomOpCheck {
  name: string;
  run(be: Backend): Promise<void>;
}

function expect(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

/** The error `fn` throws or rejects with; fails when it succeeds or the message lacks a part. */
async function failsWith(fn: () => unknown, ...parts: string[]): Promise<Error> {
  let err: Error | null = null;
  try {
    await fn();
  } catch (e) {
    err = e as Error;
  }
  if (!err) throw new Error(`expected an error mentioning ${parts.join(', ')}`);
  for (const p of parts) expect(err.message.includes(p), `error "${err.message}" should mention "${p}"`);
  return err;
}

const near = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void => {
  expect(got.length === want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const ok = Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i]));
    expect(ok, `${what}[${i}] = ${got[i]}, expected ${want[i]}`);
  }
};

const EDGES = [-2, -1, -0.5, 0, 0.5, 1, 2, 3.5];
const on = (be: Backend, values: number[], shape: number[], requiresGrad = false): Tensor =>
  tensor(values, shape, { device: be, requiresGrad });

export const CUSTOM_OP_CHECKS: CustomOpCheck[] = [
  {
    name: 'one input with a parameter: swish at edge values, against x·sigmoid(beta·x) by hand',
    async run(be) {
      await swish.compile(be);
      const x = on(be, EDGES, [2, 4]);
      const y = swish(x, { beta: 1.5 });
      near(
        await y.data(),
        EDGES.map((v) => v / (1 + Math.exp(-1.5 * v))),
        1e-5,
        'swish',
      );
      expect(y.shape.join() === '2,4', `swish shape [${y.shape}]`);
      x.dispose();
      y.dispose();
    },
  },
  {
    name: 'several inputs broadcast through shape: biasScale values, and a shape error naming the op',
    async run(be) {
      await biasScaleOp.compile(be);
      const x = on(be, [1, 2, 3, 4, 5, 6], [2, 3]);
      const b = on(be, [10, 20, 30], [3]);
      const s = on(be, [1, -1, 0.5], [3]);
      const y = biasScale(x, b, s);
      near(await y.data(), [11, 18, 31.5, 14, 15, 33], 1e-6, 'biasScale');
      await failsWith(() => biasScaleOp(x, b, x, { c: 3 }), 'biasScale', 'must be [3]');
      await failsWith(() => biasScaleOp(x, b, { c: 3 }), "customOp 'biasScale' takes 3 inputs (x, b, s), got 2");
      for (const t of [x, b, s, y]) t.dispose();
    },
  },
  {
    name: 'parameters of every type reach the uniform struct: poly with f32, u32, i32 and bool fields',
    async run(be) {
      await poly.compile(be);
      const x = on(be, EDGES, [8]);
      for (const p of [
        { a: 0.5, b: 2, power: 3, offset: -4, negate: false },
        { a: -1.25, b: 0.5, power: 2, offset: 7, negate: true },
        { a: 0, b: 1, power: 0, offset: 0, negate: false },
      ]) {
        const y = poly(x, p);
        const want = EDGES.map((v) => (p.negate ? -1 : 1) * (p.a * v + p.b * v ** p.power) + p.offset);
        near(await y.data(), want, 1e-6, `poly ${JSON.stringify(p)}`);
        y.dispose();
      }
      await failsWith(() => poly(x, { a: 1, b: 1, power: -1, offset: 0, negate: false }), "'power' = -1 is not a u32");
      await failsWith(() => poly(x, { a: 1, b: 1, power: 1, offset: 0 } as never), "missing parameter 'negate'");
      x.dispose();
    },
  },
  {
    name: 'its own grid and workgroup memory: rowSum of [5, 70] against the sums by hand',
    async run(be) {
      await rowSumOp.compile(be);
      const vals = Array.from({ length: 350 }, (_, i) => ((i * 37) % 11) - 5);
      const x = on(be, vals, [5, 70]);
      const y = rowSum(x);
      const want = [0, 1, 2, 3, 4].map((r) => vals.slice(r * 70, r * 70 + 70).reduce((s, v) => s + v, 0));
      near(await y.data(), want, 1e-6, 'rowSum');
      expect(y.shape.join() === '5', `rowSum shape [${y.shape}]`);
      x.dispose();
      y.dispose();
    },
  },
  {
    name: 'opcheck: every op against its reference, with edge values, broadcasting, transposed inputs, gradients',
    async run(be) {
      for (const op of [swish, swishGrad, biasScaleOp, poly, rowSumOp]) await op.compile(be);
      const reports = [
        await opcheck(
          swish,
          [
            { inputs: [{ shape: [3, 5] }], params: { beta: 1 } },
            { inputs: [{ shape: [] }], params: { beta: 0.5 } },
          ],
          { devices: [be] },
        ),
        await opcheck(
          swishGrad,
          [{ inputs: [{ shape: [4, 3] }, { shape: [4, 3], kind: 'random' }], params: { beta: 2 } }],
          { devices: [be] },
        ),
        await opcheck(
          biasScaleOp,
          [
            {
              inputs: [{ shape: [2, 3, 4] }, { shape: [4], kind: 'random' }, { shape: [4], kind: 'random' }],
              params: { c: 4 },
            },
            { inputs: [{ shape: [5] }, { shape: [5] }, { shape: [5], kind: 'nonzero' }], params: { c: 5 } },
          ],
          { devices: [be] },
        ),
        await opcheck(
          poly,
          [{ inputs: [{ shape: [2, 6] }], params: { a: 0.5, b: -1, power: 3, offset: 2, negate: true } }],
          { devices: [be] },
        ),
        await opcheck(rowSumOp, [{ inputs: [{ shape: [3, 67], kind: 'random' }], params: { cols: 67 } }], {
          devices: [be],
        }),
      ];
      for (const r of reports) {
        expect(r.failed === 0 && r.passed === r.results.length, r.summary);
        expect(
          r.results.some((x) => x.test === 'gradient') || r.summary.includes('swishGrad'),
          `${r.summary}: no gradient checked`,
        );
      }
      expect(
        reports[0].results.some((r) => r.case.includes('transpose')),
        'opcheck ran transposed inputs',
      );
    },
  },
  {
    name: 'opcheck catches a wrong CPU or WGSL kernel, a wrong backward and a backward that leaks a buffer',
    async run(be) {
      const leaked: Tensor[] = [];
      const wrong = customOp({
        name: 'offByOne',
        inputs: ['x'],
        shape: ([x]) => x,
        forward: {
          webgpu: SWISH_WGSL.replace('beta: f32,\n', '')
            .replace('-params.beta * v', '-v')
            .replace('v / (1.0', '1.0 + v / (1.0'),
          wasm: ([x], out) => out.set(x.map((v, i) => v / (1 + Math.exp(-v)) + (i === 3 ? 1e-3 : 0))),
        },
        backward: (dy) => {
          leaked.push(keep(mul(dy, 2)));
          return [mul(dy, 1)];
        },
        reference: ([x]) => ({ shape: [...x.shape], data: x.data.map((v) => v / (1 + Math.exp(-v))) }),
      });
      const run = () => opcheck(wrong, [{ inputs: [{ shape: [2, 4] }] }], { devices: [be] });
      const err = (await failsWith(run, 'opcheck offByOne', 'checks passed')) as OpcheckError;
      for (const t of leaked) t.dispose();
      const failed = new Set(err.report.results.filter((r) => !r.ok).map((r) => r.test));
      for (const t of ['forward', 'gradient', 'leak'] as const)
        expect(failed.has(t), `${t} failure reported: ${err.message}`);
    },
  },
  {
    name: 'gradcheck passes a right backward, catches a wrong one, and checks a function with its own reference',
    async run(be) {
      await swish.compile(be);
      await swishGrad.compile(be);
      await badSwish.compile(be);
      const x = on(be, EDGES, [2, 4], true);
      expect(await gradcheck(swish, [x], { params: { beta: 1.5 } }), 'gradcheck passes swish');
      const err = await failsWith(
        () => gradcheck(badSwish, [x], { params: { beta: 1.5 } }),
        'gradient mismatch for input 0',
      );
      expect(err instanceof GradcheckError, 'a GradcheckError');
      expect((await gradcheck(badSwish, [x], { params: { beta: 1.5 }, raiseException: false })) === false, 'false');
      const fn = (t: Tensor): Tensor => mul(swish(t, { beta: 1 }), t);
      const reference = ([t]: readonly Nd[]): Nd => ({
        shape: [...t.shape],
        data: t.data.map((v) => (v * v) / (1 + Math.exp(-v))),
      });
      expect(await gradcheck(fn, [x], { reference }), 'gradcheck of a composed function through its reference');
      expect(await gradcheck(fn, [x]), 'gradcheck of a composed function in float32 on the device');
      expect(x.grad === null, 'gradcheck leaves the inputs untouched');
      x.dispose();
    },
  },
  {
    name: 'inside tidy, forward and backward through custom ops keep the live-buffer count flat',
    async run(be) {
      for (const op of [swish, swishGrad, biasScaleOp, rowSumOp]) await op.compile(be);
      const x = on(be, EDGES.concat(EDGES), [4, 4], true);
      const b = on(be, [0.1, 0.2, 0.3, 0.4], [4], true);
      const start = be.liveBuffers();
      const counts: number[] = [];
      for (let step = 0; step < 4; step++) {
        const loss = tidy(() => {
          const l = sum(rowSum(swish(biasScale(x, b, b), { beta: 1 })));
          l.backward();
          return l;
        });
        expect(Number.isFinite(await loss.item()), 'finite loss');
        loss.dispose();
        x.zeroGrad();
        b.zeroGrad();
        counts.push(be.liveBuffers());
      }
      expect(
        counts.every((c) => c === start),
        `live buffers per step ${counts}, expected ${start} each`,
      );
      x.dispose();
      b.dispose();
    },
  },
  {
    name: 'a WGSL syntax error rejects compile with the line and message; the backend keeps working',
    async run(be) {
      const code = SWISH_WGSL.replace('let v = x[i];', 'let v = x[i]];');
      const broken = customOp({
        ...swish.spec,
        name: 'brokenSwish',
        forward: { webgpu: code, wasm: swish.spec.forward.wasm },
      });
      const line = code.split('\n').findIndex((l) => l.includes('let v = x[i]];')) + 1;
      const x = on(be, [0, 1], [2]);
      if (be.name === 'webgpu') {
        await failsWith(() => broken(x, { beta: 1 }), "customOp 'brokenSwish'", 'compile');
        const at = `customOp 'brokenSwish': WGSL error at line ${line}:`;
        await failsWith(() => broken.compile(be), at, `${line} |   let v = x[i]];`, '^');
      } else {
        await broken.compile(be); // the WGSL is not the CPU path's concern
      }
      await swish.compile(be);
      const y = swish(x, { beta: 1 });
      near(await y.data(), [0, 1 / (1 + Math.exp(-1))], 1e-6, 'swish after a failed compile');
      x.dispose();
      y.dispose();
    },
  },
  {
    name: 'wrong bindings, a wrong Params struct and a missing kernel are clear errors',
    async run(be) {
      const twoInputs = { ...biasScaleOp.spec, name: 'twoIn', inputs: ['x', 'b'], params: { c: 'u32' } } as const;
      await failsWith(
        () => customOp({ ...twoInputs, forward: { webgpu: SWISH_WGSL.replace('beta: f32', 'c: u32') } }),
        "customOp 'twoIn': WGSL declares 3 bindings (x at 0, out at 1, params at 2)",
        'x at 0, b at 1, out at 2, params at 3',
      );
      await failsWith(
        () => customOp({ ...swish.spec, name: 'noBeta', params: { gamma: 'f32' } as never }),
        'struct Params field 1 is beta: f32, expected gamma: f32',
      );
      await failsWith(
        () =>
          customOp({
            ...swish.spec,
            name: 'rw',
            forward: { webgpu: SWISH_WGSL.replace('<storage, read> x', '<storage, read_write> x') },
          }),
        'binding 0 (x)',
        'var<storage, read>',
      );
      await twiceIgnoringB.compile(be);
      const [u, v] = [on(be, [1, -2, 3], [3]), on(be, [7], [1])];
      const twice = twiceIgnoringB(u, v);
      near(await twice.data(), [2, -4, 6], 0, 'an input the shader never reads');
      for (const t of [u, v, twice]) t.dispose();
      const cpuOnly = customOp({ ...swish.spec, name: 'cpuOnly', forward: { wasm: swish.spec.forward.wasm } });
      const x = on(be, [1, 2], [2], true);
      if (be.name === 'webgpu')
        await failsWith(() => cpuOnly(x, { beta: 1 }), "customOp 'cpuOnly' has no webgpu kernel");
      const noBackward = customOp({ ...swish.spec, name: 'noBackward', backward: undefined });
      await noBackward.compile(be);
      const y = noBackward(x, { beta: 1 });
      await failsWith(() => tidy(() => sum(y).backward()), "customOp 'noBackward' has no backward");
      x.dispose();
      y.dispose();
    },
  },
  {
    name: 'benchKernel times the custom op and the same function of built-in ops',
    async run(be) {
      await swish.compile(be);
      const x = on(
        be,
        Array.from({ length: 4096 }, (_, i) => (i % 17) - 8),
        [64, 64],
      );
      const fused = await benchKernel(swish, [x], {
        params: { beta: 1 },
        warmup: 1,
        reps: 3,
        flops: ([s]) => 4 * s[0] * s[1],
      });
      const composed = await benchKernel((t: Tensor) => t.div(t.mul(-1).exp().add(1)), [x], { warmup: 1, reps: 3 });
      for (const r of [fused, composed]) {
        expect(r.reps === 3 && r.medianMs > 0 && r.minMs <= r.medianMs && r.gbps > 0, JSON.stringify(r));
        expect(r.device === be.name, `device ${r.device}`);
      }
      expect(fused.gflops !== undefined && composed.gflops === undefined, 'GFLOP/s only when flops is given');
      x.dispose();
    },
  },
];
