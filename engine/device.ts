// Chooses and opens backends: explicitly ('webgpu' | 'wasm') or automatically ('auto': WebGPU on a hardware adapter,
// else wasm; a software adapter only when asked for). Each backend is opened once per process and the choice reported.

import type { Backend, DeviceName } from './backend.ts';
import { createWebGPUBackend } from './backends/webgpu.ts';
import { describeAdapter, isSoftwareAdapter, type AdapterSummary } from './backends/webgpu-device.ts';
import { findAdapter } from './backends/webgpu-adapter.ts';
import { createWasmBackend, type WasmOptions } from './backends/wasm.ts';

/** What `setDevice` accepts: a backend by name, or 'auto'. */
export type DeviceChoice = DeviceName | 'auto';

/** Every name `setDevice` accepts, in the order the CLIs list them. */
export const DEVICE_CHOICES: readonly DeviceChoice[] = ['auto', 'webgpu', 'wasm'];

/** A device that was asked for and cannot be had (unknown name, no adapter, Node without `webgpu`); one sentence. */
export class DeviceError extends Error {
  override name = 'DeviceError';
}

const opened = new Map<DeviceName, Promise<Backend>>();
const ready = new Map<DeviceName, Backend>();
let current: Backend | null = null;

/** Options of 'auto''s WebGPU choice. */
export interface WebGPUChoiceOptions {
  /**
   * Let 'auto' pick a software adapter (Mesa llvmpipe/lavapipe, SwiftShader, WARP) [false]: on those the wasm
   * backend is several times faster (README: 213 against 1354 img/s), so 'auto' skips them and says so.
   * `setDevice('webgpu')` takes whatever adapter there is.
   */
  allowSoftware?: boolean;
}

/** Options for opening backends: `wasm` (threads, wait policy) applies when the wasm backend is first opened. */
export interface BackendOptions {
  wasm?: WasmOptions;
  webgpu?: WebGPUChoiceOptions;
}

/**
 * Opens (once) the named backend. Rejects with a DeviceError naming the reason when it cannot be created. Options
 * only apply to the first open of a backend; later calls return the backend already opened.
 */
export function openBackend(name: DeviceName, opts: BackendOptions = {}): Promise<Backend> {
  const known = opened.get(name);
  if (known) return known;
  if (name !== 'webgpu' && name !== 'wasm') return Promise.reject(unknownDevice(name));
  const p = (name === 'webgpu' ? createWebGPUBackend() : createWasmBackend(opts.wasm)).catch((e: unknown) => {
    throw e instanceof DeviceError || !(e instanceof Error) ? e : new DeviceError(e.message, { cause: e });
  });
  p.then(
    (b) => ready.set(name, b),
    () => opened.delete(name),
  );
  opened.set(name, p);
  return p;
}

function unknownDevice(name: unknown): DeviceError {
  return new DeviceError(`unknown device ${JSON.stringify(name)}: use 'auto', 'webgpu' or 'wasm'`);
}

/** Which device `setDevice` chose. */
export interface DeviceReport {
  device: DeviceName;
  info: string;
  /** Why not WebGPU, when 'auto' chose wasm: WebGPU unavailable, no adapter, or the software adapter it skipped. */
  fallbackReason?: string;
}

/** Why 'auto' should not use WebGPU here, or null when there is a hardware adapter (or software is allowed). */
async function webgpuUnsuitable(opts: WebGPUChoiceOptions): Promise<string | null> {
  let adapter: AdapterSummary | null;
  try {
    adapter = await findAdapter();
  } catch (e) {
    return (e as Error).message;
  }
  if (!adapter) return 'no WebGPU adapter was found';
  if (isSoftwareAdapter(adapter) && !opts.allowSoftware) {
    return (
      `skipped the software adapter ${describeAdapter(adapter)} (the wasm backend is faster there; ` +
      `setDevice('webgpu') uses it)`
    );
  }
  return null;
}

/**
 * Sets the default device for new tensors. 'auto' picks WebGPU on a hardware adapter, else wasm: a software adapter
 * (a CPU rasteriser such as llvmpipe or SwiftShader) is skipped unless `opts.webgpu.allowSoftware`, and in Node the
 * adapter is examined in a child process, so that choosing wasm never loads Dawn here. 'webgpu' and 'wasm' open that
 * backend or reject with a DeviceError saying why.
 * @returns which device was chosen, and why not WebGPU if it fell back.
 */
export async function setDevice(choice: DeviceChoice = 'auto', opts: BackendOptions = {}): Promise<DeviceReport> {
  if (!DEVICE_CHOICES.includes(choice)) throw unknownDevice(choice);
  if (choice !== 'auto') {
    current = await openBackend(choice, opts);
    return { device: current.name, info: current.info };
  }
  let reason = await webgpuUnsuitable(opts.webgpu ?? {});
  if (reason === null) {
    try {
      current = await openBackend('webgpu');
      return { device: 'webgpu', info: current.info };
    } catch (e) {
      reason = (e as Error).message;
    }
  }
  current = await openBackend('wasm', opts);
  return { device: 'wasm', info: current.info, fallbackReason: reason };
}

/** The default backend; throws if `setDevice` has not been awaited. */
export function defaultBackend(): Backend {
  if (!current) throw new Error('no device selected: call `await setDevice("auto" | "webgpu" | "wasm")` first');
  return current;
}

/** An opened backend by name, synchronously; throws if it has not been opened yet. */
export function backendNamed(name: DeviceName): Backend {
  const b = ready.get(name);
  if (!b) throw new Error(`device '${name}' is not open: await setDevice('${name}') or openBackend('${name}') first`);
  return b;
}

/** Uses `backend` as the default for tensors created inside `fn`. */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const prev = current;
  current = backend;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/**
 * Waits until all work submitted to `device` (the default device when omitted) has finished, as
 * torch.cuda.synchronize: for timing, and before reading a clock after a step.
 */
export async function synchronize(device?: Backend | DeviceName): Promise<void> {
  const be = device === undefined ? defaultBackend() : typeof device === 'string' ? backendNamed(device) : device;
  await be.sync();
}
