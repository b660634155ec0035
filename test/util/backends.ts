// The backends every table-driven test runs on. Under CI=true a missing backend is a failure, never a skip.

import type { Backend, DeviceName } from '../../engine/backend.ts';
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

/** Backends to test, opened once per test process. */
export async function testBackends(): Promise<Backend[]> {
  const out: Backend[] = [];
  for (const n of ['wasm', 'webgpu'] as const) {
    const b = await open(n);
    if (b) out.push(b);
  }
  return out;
}
