// Browser side of the real-browser test: runs the shared op case table on a named device inside the page.

import { openBackend, type DeviceName } from '../../index.ts';
import { OP_CASES } from '../op-cases.ts';
import { checkCase } from '../util/check.ts';

export interface PageReport {
  device: DeviceName;
  info: string;
  passed: number;
  failures: string[];
  liveBuffers: number;
}

async function runCases(device: DeviceName): Promise<PageReport> {
  const be = await openBackend(device);
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
  return { device, info: be.info, passed, failures, liveBuffers: be.liveBuffers() };
}

(globalThis as unknown as { runCases: typeof runCases }).runCases = runCases;
(globalThis as unknown as { pageReady: boolean }).pageReady = true;
