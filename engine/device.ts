// Chooses and opens backends: explicitly ('webgpu' | 'wasm') or automatically (WebGPU when an adapter exists,
// else wasm). Each backend is opened once per process and the choice is reported.

import type { Backend, DeviceName } from './backend.ts';
import { createWebGPUBackend } from './backends/webgpu.ts';
import { createWasmBackend, type WasmOptions } from './backends/wasm.ts';

export type DeviceChoice = DeviceName | 'auto';

const opened = new Map<DeviceName, Promise<Backend>>();
const ready = new Map<DeviceName, Backend>();
let current: Backend | null = null;

/** Options for opening backends: `wasm` (threads, wait policy) applies when the wasm backend is first opened. */
export interface BackendOptions {
  wasm?: WasmOptions;
}

/**
 * Opens (once) the named backend. Rejects with the reason when it cannot be created. Options only apply to the first
 * open of a backend; later calls return the backend already opened.
 */
export function openBackend(name: DeviceName, opts: BackendOptions = {}): Promise<Backend> {
  const known = opened.get(name);
  if (known) return known;
  const p = name === 'webgpu' ? createWebGPUBackend() : createWasmBackend(opts.wasm);
  p.then(
    (b) => ready.set(name, b),
    () => opened.delete(name),
  );
  opened.set(name, p);
  return p;
}

export interface DeviceReport {
  device: DeviceName;
  info: string;
  /** Why WebGPU was not chosen, when 'auto' fell back to wasm. */
  fallbackReason?: string;
}

/**
 * Sets the default device for new tensors. 'auto' picks WebGPU when an adapter exists, else wasm.
 * @returns which device was chosen, and why not WebGPU if it fell back.
 */
export async function setDevice(choice: DeviceChoice = 'auto', opts: BackendOptions = {}): Promise<DeviceReport> {
  if (choice !== 'auto') {
    current = await openBackend(choice, opts);
    return { device: current.name, info: current.info };
  }
  try {
    current = await openBackend('webgpu');
    return { device: 'webgpu', info: current.info };
  } catch (e) {
    current = await openBackend('wasm', opts);
    return { device: 'wasm', info: current.info, fallbackReason: (e as Error).message };
  }
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
