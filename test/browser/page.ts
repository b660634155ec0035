// Browser side of the real-browser test: runs the shared op case table on a named device inside the page.

import { createWasmBackend, createWebGPUBackend, openBackend, type Backend } from '../../index.ts';
import { OP_CASES } from '../op-cases.ts';
import { checkCase } from '../util/check.ts';
import { CUSTOM_OP_CHECKS } from '../custom-op-cases.ts';

/**
 * 'wasm-threads': a second wasm backend on 3 threads with every kernel split (the page is cross-origin isolated);
 * 'webgpu-gpu-kernels': a second WebGPU backend forced onto the kernels for GPUs (tiled, subgroups where present).
 */
export type PageDevice = 'webgpu' | 'webgpu-gpu-kernels' | 'wasm' | 'wasm-threads';

export interface PageReport {
  device: PageDevice;
  crossOriginIsolated: boolean;
  info: string;
  passed: number;
  failures: string[];
  liveBuffers: number;
}

async function runCases(device: PageDevice): Promise<PageReport> {
  const be: Backend =
    device === 'wasm-threads'
      ? await createWasmBackend({ threads: 3, grain: { compute: 1, memory: 1 } })
      : device === 'webgpu-gpu-kernels'
        ? await createWebGPUBackend({ kernels: 'gpu' })
        : await openBackend(device);
  const failures: string[] = [];
  let passed = 0;
  for (let i = 0; i < OP_CASES.length; i++) {
    const c = OP_CASES[i];
    try {
      const err = await checkCase(c, be, 1000 + i);
      if (err) failures.push(`${c.name}: ${err}`);
      else passed++;
    } catch (e) {
      failures.push(`${c.name}: threw ${(e as Error).message}`);
    }
  }
  const report = { device, crossOriginIsolated, info: be.info, passed, failures, liveBuffers: be.liveBuffers() };
  if (device === 'wasm-threads' || device === 'webgpu-gpu-kernels') be.destroy();
  return report;
}

(globalThis as unknown as { runCases: typeof runCases }).runCases = runCases;

// ---- custom ops: the checks of test/custom-op-cases.ts on a named device (run by test/browser.test.ts) ------------
async function runCustomOps(device: 'webgpu' | 'wasm'): Promise<PageReport> {
  const be = await openBackend(device);
  const failures: string[] = [];
  let passed = 0;
  for (const c of CUSTOM_OP_CHECKS) {
    try {
      await c.run(be);
      passed++;
    } catch (e) {
      failures.push(`${c.name}: ${(e as Error).message}`);
    }
  }
  return { device, crossOriginIsolated, info: be.info, passed, failures, liveBuffers: be.liveBuffers() };
}
(globalThis as unknown as { runCustomOps: typeof runCustomOps }).runCustomOps = runCustomOps;
(globalThis as unknown as { pageReady: boolean }).pageReady = true;
