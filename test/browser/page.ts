// Browser side of the real-browser test: runs the shared op case table on a named device inside the page.

import { createWasmBackend, createWebGPUBackend, openBackend, type Backend } from '../../index.ts';
import { OP_CASES } from '../op-cases.ts';
import { checkCase } from '../util/check.ts';

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
(globalThis as unknown as { pageReady: boolean }).pageReady = true;
