// Opens a WebGPU device: `navigator.gpu` in browsers, Dawn (npm `webgpu`) in Node, with the buffer size limits
// raised to what the adapter supports and every other limit at WebGPU's default.

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

/**
 * The only limits requested above WebGPU's defaults, each at the adapter's value: tensors as large as the adapter
 * allows. Every kernel fits the default workgroup, workgroup-memory and binding limits (at most 8 storage buffers,
 * 256 invocations, 16 KiB; see convTile in webgpu-programs-nn.ts), so nothing else is raised.
 */
export const REQUESTED_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize'] as const;

async function getGpu(): Promise<GPU> {
  if (typeof navigator !== 'undefined' && navigator.gpu) return navigator.gpu;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  return create([]);
}

/**
 * Requests an adapter and a device; throws when no WebGPU adapter exists. NOTE: in Node, Dawn prints two lines
 * ("Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced …", and the same for storage buffers)
 * from native code straight to stderr while requestAdapter enumerates a Vulkan adapter whose driver reports more
 * dynamic buffers than Dawn supports (lavapipe reports 1000000). That happens before any limit is
 * requested, and Dawn offers no switch or callback for it, so this code cannot keep those two lines off stderr.
 */
export async function openDevice(): Promise<GpuContext> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter was found');
  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  // Subgroup operations where the adapter has them (the GPU kernels' reductions use them); never required.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const { vendor, architecture, description } = adapter.info;
  const parts = [vendor, architecture, description].filter((s) => s.length > 0);
  const info = `WebGPU: ${parts.length ? parts.join(' / ') : 'unnamed adapter'}`;
  return { gpu, adapter, device, info };
}
