// setDevice's choice: which adapters count as software (table of what real adapters report), unknown names
// rejected, and in fresh processes (this file run with `--child <mode>`): 'auto' skips a software adapter for wasm
// without loading Dawn or printing anything, `allowSoftware` takes it, 'webgpu' takes it with only Dawn's own lines.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DeviceError, openBackend, setDevice } from '../engine/device.ts';
import { isSoftwareAdapter, type AdapterSummary } from '../engine/backends/webgpu-device.ts';
import type { DeviceName } from '../engine/backend.ts';

const CI = process.env.CI === 'true';
const DAWN_LINES = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced/;

/** Child modes: 'auto', 'auto-allow' (allowSoftware), 'webgpu'; each prints its report and whether Dawn loaded. */
async function child(mode: string): Promise<void> {
  const choice = mode === 'webgpu' ? 'webgpu' : 'auto';
  const report = await setDevice(choice, { wasm: { threads: 1 }, webgpu: { allowSoftware: mode === 'auto-allow' } });
  // Dawn's globals (GPUBufferUsage …) appear in this process only once the package `webgpu` is loaded here.
  const dawnLoaded = typeof (globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage !== 'undefined';
  console.log(JSON.stringify({ ...report, dawnLoaded }));
}

interface ChildReport {
  device: DeviceName;
  info: string;
  fallbackReason?: string;
  dawnLoaded: boolean;
}

function runChild(args: string[]): { stdout: string; stderr: string[] } {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => l.trim() !== '') };
}

const self = fileURLToPath(import.meta.url);
const childReport = (mode: string): { report: ChildReport; stderr: string[] } => {
  const { stdout, stderr } = runChild([self, '--child', mode]);
  return { report: JSON.parse(stdout.trim().split('\n').pop() ?? '') as ChildReport, stderr };
};

const adapter = (vendor: string, architecture: string, description: string, isFallbackAdapter = false) => ({
  vendor,
  architecture,
  description,
  isFallbackAdapter,
});

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
} else {
  test('software adapters: lavapipe, SwiftShader, WARP and any fallback adapter; GPUs are not', () => {
    const cases: [AdapterSummary, boolean][] = [
      [adapter('mesa', 'software', 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)', true), true],
      [adapter('mesa', 'software', 'llvmpipe (LLVM 15.0.6, 256 bits)'), true],
      [adapter('', '', 'lavapipe'), true],
      [adapter('google', 'swiftshader', ''), true],
      [adapter('google', 'swiftshader', 'SwiftShader Device (Subzero)'), true],
      [adapter('microsoft', '', 'Microsoft Basic Render Driver'), true],
      [adapter('nvidia', 'ampere', 'NVIDIA GeForce RTX 3080', true), true],
      [adapter('nvidia', 'hopper', 'NVIDIA H200'), false],
      [adapter('amd', 'rdna-3', 'AMD Radeon RX 7900 XTX'), false],
      [adapter('apple', 'metal-3', ''), false],
      [adapter('intel', 'gen-12lp', 'Intel(R) UHD Graphics 770'), false],
      [adapter('qualcomm', 'adreno-7xx', ''), false],
      [adapter('', '', ''), false],
    ];
    for (const [a, software] of cases) assert.is(isSoftwareAdapter(a), software, JSON.stringify(a));
  });

  test('setDevice and openBackend reject an unknown device with one DeviceError line', async () => {
    for (const call of [
      () => setDevice('nonsense' as DeviceName),
      () => setDevice('WASM' as DeviceName),
      () => openBackend('cuda' as DeviceName),
    ]) {
      const e = await call().then(
        () => null,
        (err: unknown) => err,
      );
      assert.instance(e, DeviceError);
      assert.match((e as Error).message, /^unknown device "\w+": use 'auto', 'webgpu' or 'wasm'$/);
    }
  });

  // What the WebGPU adapter of this machine is, from the probe beside this bundle (as setDevice sees it).
  const probe = runChild([fileURLToPath(new URL('./webgpu-probe.js', import.meta.url))]);
  const found = JSON.parse(probe.stdout) as { adapter: AdapterSummary | null } | { error: string };
  const summary = 'adapter' in found ? found.adapter : null;
  if (!summary && CI) throw new Error(`CI=true requires a WebGPU adapter (lavapipe): ${JSON.stringify(found)}`);

  if (summary) {
    const software = isSoftwareAdapter(summary);
    console.log(`[device] adapter: ${JSON.stringify(summary)} (${software ? 'software' : 'hardware'})`);
    if (CI) assert.ok(software, "CI's adapter is lavapipe");

    test('auto: wasm on a software adapter, with the reason, without loading Dawn or a line on stderr', () => {
      const { report, stderr } = childReport('auto');
      assert.equal(stderr, [], "nothing on stderr, none of Dawn's lines included");
      if (software) {
        assert.is(report.device, 'wasm');
        assert.is(
          report.fallbackReason,
          `skipped the software adapter ${[summary.vendor, summary.architecture, summary.description]
            .filter(Boolean)
            .join(' / ')} (the wasm backend is faster there; setDevice('webgpu') uses it)`,
        );
        assert.not.ok(report.dawnLoaded, 'Dawn was not loaded in the process that chose wasm');
      } else {
        assert.is(report.device, 'webgpu');
        assert.is(report.fallbackReason, undefined);
      }
    });

    test("auto with allowSoftware, and webgpu: take the adapter; stderr has at most Dawn's own two lines", () => {
      for (const mode of ['auto-allow', 'webgpu']) {
        const { report, stderr } = childReport(mode);
        assert.is(report.device, 'webgpu', mode);
        assert.ok(report.dawnLoaded, mode);
        assert.ok(report.info.startsWith('WebGPU: '), report.info);
        assert.is(report.info.includes(' (software adapter)'), software, report.info);
        for (const line of stderr) assert.match(line, DAWN_LINES, `${mode}: unexpected stderr`);
        // NOTE: Dawn prints its two lines when a driver reports more dynamic buffers than it supports (lavapipe:
        // 1000000); GPUs report at most 16, so on a hardware adapter nothing may reach stderr.
        if (!software) assert.equal(stderr, [], mode);
      }
    });
  }
  test.run();
}
