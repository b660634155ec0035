// Opens a WebGPU device: `navigator.gpu` in browsers, Dawn (npm `webgpu`) in Node, with the storage and
// workgroup limits raised to what the adapter supports.

/** An open device together with the objects that must stay alive as long as it does. */
export interface GpuContext {
  /**
   * NOTE: in Node the GPU object from `create()` owns Dawn's instance. It must stay referenced while the device is in
   * use: once V8 collects it, Dawn's event processing touches the freed instance and the process aborts
   * ("The futex facility returned an unexpected error code", mutex assertions or SIGSEGV in ProcessEvents).
   */
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  /** One line naming the adapter: vendor, architecture, description. */
  readonly info: string;
}

/** Limits whose defaults are below what kernels need on large tensors; they are raised to the adapter's values. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
] as const;

async function getGpu(): Promise<GPU> {
  if (typeof navigator !== 'undefined' && navigator.gpu) return navigator.gpu;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  return create([]);
}

/** Requests an adapter and a device; throws when no WebGPU adapter exists. */
export async function openDevice(): Promise<GpuContext> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter was found');
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredLimits });
  const { vendor, architecture, description } = adapter.info;
  const parts = [vendor, architecture, description].filter((s) => s.length > 0);
  const info = `WebGPU: ${parts.length ? parts.join(' / ') : 'unnamed adapter'}`;
  return { gpu, adapter, device, info };
}
