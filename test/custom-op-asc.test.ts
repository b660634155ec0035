// A custom op whose CPU kernel is an AssemblyScript module the user compiles (here with asc's API at test time),
// instantiated over the wasm backend's own memory and given byte offsets: on one thread and over shared memory.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { customOp, tensor, type CpuKernelInfo } from '../index.ts';
import { backendLabel, testBackends } from './util/backends.ts';
import { countCase } from './util/count.ts';

const SOURCE = `export function poly(x: usize, out: usize, n: i32, a: f32): void {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    store<f32>(out + (<usize>i << 2), a * v * v + v);
  }
}`;

interface Asc {
  compileString(src: string, opts: Record<string, unknown>): Promise<{ binary?: Uint8Array; text?: string }>;
}
// NOTE: a computed specifier keeps esbuild from bundling the compiler into the test.
const ascUrl = new URL('../../node_modules/assemblyscript/dist/asc.js', import.meta.url).href;
const asc = ((await import(ascUrl)) as { default: Asc }).default;

/** The kernel for a plain and for a shared memory (an imported memory's type must match the one it gets). */
async function compile(shared: boolean): Promise<WebAssembly.Module> {
  const threads = { sharedMemory: true, enable: ['threads'], initialMemory: 256, maximumMemory: 65536 };
  const opts = { optimizeLevel: 3, runtime: 'stub', noAssert: true, importMemory: true, ...(shared ? threads : {}) };
  const { binary, text } = await asc.compileString(SOURCE, opts);
  if (!binary) throw new Error('asc failed to compile the test kernel');
  // NOTE: a data segment would be written over the engine's memory at instantiation; this kernel must have none.
  assert.not.match(text ?? '', /\(data/, 'the kernel has no data segment');
  return new WebAssembly.Module(new Uint8Array(binary));
}
const modules = { plain: await compile(false), shared: await compile(true) };

type Poly = (x: number, out: number, n: number, a: number) => void;
const instances = new WeakMap<WebAssembly.Memory, Poly>();
/** The kernel instantiated once per backend memory. */
function kernelFor(info: CpuKernelInfo): Poly {
  let f = instances.get(info.memory);
  if (!f) {
    const shared = typeof SharedArrayBuffer !== 'undefined' && info.memory.buffer instanceof SharedArrayBuffer;
    const inst = new WebAssembly.Instance(shared ? modules.shared : modules.plain, { env: { memory: info.memory } });
    f = inst.exports.poly as Poly;
    instances.set(info.memory, f);
  }
  return f;
}

const ascPoly = customOp({
  name: 'ascPoly',
  inputs: ['x'],
  params: { a: 'f32' },
  shape: ([x]) => x,
  forward: { wasm: (_ins, out, { a }, info) => kernelFor(info)(info.ptrs.inputs[0], info.ptrs.out, out.length, a) },
  reference: ([x], { a }) => ({ shape: [...x.shape], data: x.data.map((v) => a * v * v + v) }),
});

for (const be of (await testBackends({ threaded: true })).filter((b) => b.name === 'wasm')) {
  const label = backendLabel(be);
  test(`${label}: an AssemblyScript kernel runs over the backend's memory at the tensors' offsets`, async () => {
    const values = [-2, -1, -0.5, 0, 0.5, 1, 2, 3];
    const x = tensor(values, [2, 4], { device: be });
    const keepOut = tensor([9, 9, 9], [3], { device: be }); // a neighbour the kernel must not touch
    const y = ascPoly(x, { a: 1.5 });
    assert.equal(
      Array.from(await y.data()),
      values.map((v) => Math.fround(1.5 * v * v + v)),
    );
    assert.equal(Array.from(await keepOut.data()), [9, 9, 9]);
    for (const t of [x, keepOut, y]) t.dispose();
    assert.is(be.liveBuffers(), 0);
    countCase(`node-${label}`);
  });
}

test.run();
