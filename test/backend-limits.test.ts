// Device limits: WebGPU requests the adapter's buffer size limits and nothing else, a tensor over a backend's limit
// fails at allocation at once with the size and the limit in the message, and opening and using WebGPU in a fresh
// process writes nothing to stderr beyond what Dawn itself prints when it enumerates adapters, while a real device
// error still is reported there. The child processes run this same file with `--child <mode>`.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../engine/backend.ts';
import { createWasmBackend } from '../engine/backends/wasm.ts';
import { openDevice, REQUESTED_LIMITS } from '../engine/backends/webgpu-device.ts';
import { zeros } from '../engine/creation.ts';
import { openBackend } from '../engine/device.ts';

/** Child modes: 'adapter' only enumerates adapters (Dawn's own output), 'use' opens and uses the backend, 'error'
 *  provokes a device error outside any error scope. */
async function child(mode: string): Promise<void> {
  if (mode === 'adapter') {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    console.log(adapter ? 'adapter ok' : 'no adapter');
    return;
  }
  const be = await openBackend('webgpu');
  if (mode === 'use') {
    const x = be.alloc(64),
      w = be.alloc(9),
      y = be.alloc(64);
    be.write(
      x,
      Float32Array.from({ length: 64 }, (_, i) => i - 32),
    );
    be.run('fill', [], w, { size: 9, value: 0.5 });
    be.run('unary', [x], y, { op: 'relu', size: 64, alpha: 0 });
    be.run('conv2d', [y, w], x, {
      n: 1,
      cin: 1,
      h: 8,
      w: 8,
      cout: 1,
      kh: 3,
      kw: 3,
      oh: 8,
      ow: 8,
      strideH: 1,
      strideW: 1,
      padH: 1,
      padW: 1,
      dilationH: 1,
      dilationW: 1,
      groups: 1,
      hasBias: false,
    });
    const out = await be.read(x, 64);
    for (const b of [x, w, y]) be.free(b);
    console.log(`use ok ${out[63]}`);
  } else {
    // A validation error outside any error scope reaches the device's uncapturederror handler.
    (be as unknown as { device: GPUDevice }).device.createBuffer({ size: 4, usage: 0 });
    await be.sync().then(
      () => console.log('error not reported'),
      (e: Error) => console.log(`threw: ${e.message}`),
    );
  }
  be.destroy();
}

function runChild(mode: string): { stdout: string; stderr: string[] } {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child '${mode}' exited with ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => l.trim() !== '') };
}

/** Runs `fn`, expecting it to throw; returns the message and the milliseconds it took. */
function timedThrow(fn: () => unknown): { message: string; ms: number } {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    return { message: (e as Error).message, ms: performance.now() - t0 };
  }
  throw new Error('expected an error');
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
} else {
  test('wasm: a buffer over the 4 GiB memory limit fails at allocation, at once, naming size and limit', async () => {
    const be = await createWasmBackend({ threads: 1 });
    for (const size of [2 ** 30, 2 ** 31]) {
      const { message, ms } = timedThrow(() => be.alloc(size));
      assert.match(
        message,
        new RegExp(
          `^wasm backend: cannot allocate ${size} elements \\(${4 * size} bytes\\): ` +
            "over the memory limit of 4294967296 bytes \\(\\d+ after the kernels' static data\\)$",
        ),
      );
      assert.ok(ms < 1000, `refused in ${ms.toFixed(1)} ms, before any memory is touched`);
    }
    const viaTensor = timedThrow(() => zeros([2 ** 15, 2 ** 15 + 1], { device: be }));
    assert.match(viaTensor.message, /cannot allocate 1073774592 elements .* over the memory limit of 4294967296 bytes/);
    assert.ok(viaTensor.ms < 1000);
    assert.is(be.liveBuffers(), 0, 'a refused allocation leaves nothing live');
    const ok = be.alloc(1 << 20);
    be.free(ok);
    be.destroy();
  });

  let gpu: Backend | null = null;
  try {
    gpu = await openBackend('webgpu');
  } catch (e) {
    if (process.env.CI === 'true') throw new Error(`CI=true requires the webgpu backend: ${(e as Error).message}`);
    console.warn(`[tests] webgpu backend unavailable, its limit tests are skipped: ${(e as Error).message}`);
  }

  if (gpu) {
    const be = gpu;
    test("webgpu: the device gets the adapter's buffer size limits", async () => {
      const ctx = await openDevice();
      for (const name of REQUESTED_LIMITS) assert.is(ctx.device.limits[name], ctx.adapter.limits[name], name);
      ctx.device.destroy();
    });

    test('webgpu: a buffer over the binding limit fails at allocation, at once, naming size and limit', async () => {
      const ctx = await openDevice();
      const limit = Math.min(ctx.adapter.limits.maxStorageBufferBindingSize, ctx.adapter.limits.maxBufferSize);
      ctx.device.destroy();
      const size = Math.floor(limit / 4) + 1;
      const { message, ms } = timedThrow(() => be.alloc(size));
      assert.match(
        message,
        new RegExp(
          `^webgpu: cannot allocate ${size} elements \\(${4 * size} bytes\\): over the ` +
            `device's limit of ${limit} bytes per storage buffer \\((maxStorageBufferBindingSize|maxBufferSize)\\)$`,
        ),
      );
      assert.ok(ms < 1000, `refused in ${ms.toFixed(1)} ms`);
      assert.match(
        timedThrow(() => zeros([size], { device: be })).message,
        new RegExp(`cannot allocate ${size} elements`),
      );
      const largest = be.alloc(Math.floor(limit / 4));
      be.free(largest);
      assert.is(be.liveBuffers(), 0);
    });

    test('webgpu in a fresh process: opening and using it adds nothing to stderr; a device error is reported', () => {
      const dawn = runChild('adapter');
      assert.match(dawn.stdout, /adapter ok/);
      const use = runChild('use');
      assert.match(use.stdout, /use ok \d/);
      assert.equal(use.stderr, dawn.stderr, 'stderr holds only what Dawn prints when it enumerates adapters');
      const error = runChild('error');
      assert.match(error.stdout, /threw: WebGPU error: /);
      assert.ok(
        error.stderr.some((l) => l.startsWith('[webgpu] WebGPU error: ')),
        error.stderr.join('\n'),
      );
    });
  }

  test.run();
}
