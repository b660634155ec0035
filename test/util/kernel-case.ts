// Runs kernel cases on every backend against the plain reference kernels (shared by the kernel test files).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, KernelName, KernelParams } from '../../engine/backend.ts';
import { referenceKernels } from '../../engine/kernel-reference.ts';
import { backendLabel, testBackends } from './backends.ts';
import { countCase } from './count.ts';

export interface KernelCase<K extends KernelName> {
  name: string;
  kernel: K;
  inputs: Float32Array[];
  outSize: number;
  params: KernelParams[K];
  /** Initial output contents (for kernels that leave part of the output untouched). */
  init?: Float32Array;
  tol?: number;
}

export const EDGES = [-2, -1, -0.5, 0, 0.5, 1, 2];

export function rand(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = i < EDGES.length && lo < 0 ? EDGES[i] : lo + ((s >>> 0) / 4294967296) * (hi - lo);
  }
  return out;
}

export { sizeOf, stridesOf } from '../../engine/shape.ts';

/** Registers one uvu test per case × backend; `init` seeds outputs that kernels read or keep (in-place kernels). */
export async function registerKernelCases(cases: KernelCase<KernelName>[]): Promise<void> {
  const backends = await testBackends({ threaded: true });
  for (const be of backends) {
    const label = backendLabel(be);
    for (const c of cases) {
      test(`${label}: ${c.name}`, async () => {
        const got = await runOn(be, c);
        const want = new Float64Array(c.outSize);
        if (c.init) want.set(c.init);
        const reference = referenceKernels[c.kernel] as (i: Float32Array[], o: Float64Array, p: unknown) => void;
        reference(c.inputs, want, c.params);
        const tol = c.tol ?? 1e-5;
        for (let i = 0; i < c.outSize; i++) {
          const w = Number.isFinite(Math.fround(want[i])) ? want[i] : Math.fround(want[i]); // ±inf beyond float32
          const g = got[i];
          // NaN and ±inf exactly (|g − inf| <= tol·inf would pass any g).
          const ok = Number.isFinite(w) ? Math.abs(g - w) <= tol * (1 + Math.abs(w)) : g === w || (w !== w && g !== g);
          if (!ok) assert.unreachable(`${c.name} on ${label}: element ${i} is ${g}, expected ${w}`);
        }
        countCase(`node-${label}-kernels`);
      });
    }
    test(`${label}: buffers are released`, () => {
      assert.is(be.liveBuffers(), 0, `${label} live buffers after kernel tests`);
    });
  }
}

async function runOn(be: Backend, c: KernelCase<KernelName>): Promise<Float32Array> {
  const ins = c.inputs.map((x) => {
    const b = be.alloc(x.length);
    be.write(b, x);
    return b;
  });
  const out = be.alloc(c.outSize);
  if (c.init) be.write(out, c.init);
  be.run(c.kernel, ins, out, c.params);
  const got = await be.read(out, c.outSize);
  for (const b of ins) be.free(b);
  be.free(out);
  return got;
}
