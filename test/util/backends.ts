// The backends every table-driven test runs on. Under CI=true a missing backend is a failure, never a skip.

import type { Backend, DeviceName } from '../../engine/backend.ts';
import { createWasmBackend } from '../../engine/backends/wasm.ts';
import { openBackend } from '../../engine/device.ts';

async function open(name: DeviceName): Promise<Backend | null> {
  try {
    return await openBackend(name);
  } catch (e) {
    if (process.env.CI === 'true') throw new Error(`CI=true requires the ${name} backend: ${(e as Error).message}`);
    console.warn(`[tests] ${name} backend unavailable, its cases are skipped: ${(e as Error).message}`);
    return null;
  }
}

const labels = new WeakMap<Backend, string>();

/** The name tests report a backend under: its device name, or e.g. 'wasm-3threads' for the split-everything one. */
export function backendLabel(be: Backend): string {
  return labels.get(be) ?? be.name;
}

/**
 * Backends to test, opened once per test process: wasm (as `openBackend` opens it: the machine's threads, kernels
 * split above the default grain) and WebGPU. With `threaded`, also wasm on 3 threads with every kernel split (grain
 * 1), so the thread split is tested at the small sizes the cases use; under CI=true it must really get its threads.
 */
export async function testBackends(opts: { threaded?: boolean } = {}): Promise<Backend[]> {
  const out: Backend[] = [];
  for (const n of ['wasm', 'webgpu'] as const) {
    const b = await open(n);
    if (b) out.push(b);
    if (n === 'wasm' && opts.threaded) {
      const t = await createWasmBackend({ threads: 3, grain: { compute: 1, memory: 1 } });
      if (!t.info.includes('3 threads')) {
        const why = `wasm on 3 threads is unavailable: ${t.info}`;
        if (process.env.CI === 'true') throw new Error(`CI=true requires ${why}`);
        console.warn(`[tests] ${why}; its cases are skipped`);
        t.destroy();
        continue;
      }
      labels.set(t, 'wasm-3threads');
      out.push(t);
    }
  }
  return out;
}
