// Opens a WebGPU device: `navigator.gpu` in browsers, Dawn (the optional npm package `webgpu`) in Node, with the
// buffer size limits raised to what the adapter supports and every other limit at WebGPU's default.

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

/** What an adapter says about itself (GPUAdapterInfo), as plain data that can cross a process boundary. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  description: string;
  /** True for an adapter the browser or Dawn marks as a fallback (software) one. */
  isFallbackAdapter: boolean;
}

/** True in Node (and runtimes that present themselves as Node), where WebGPU comes from the `webgpu` package. */
export const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** The adapter request of both the adapter probe and `openDevice`, so that both see the same adapter. */
export const ADAPTER_REQUEST: GPURequestAdapterOptions = { powerPreference: 'high-performance' };

/** Why WebGPU is unavailable in Node without Dawn: the one sentence `setDevice('webgpu')` rejects with. */
export const DAWN_MISSING =
  "WebGPU in Node needs the optional package 'webgpu' (Dawn), which is not installed: run `npm install webgpu`";

/**
 * The only limits requested above WebGPU's defaults, each at the adapter's value: tensors as large as the adapter
 * allows. Every kernel fits the default workgroup, workgroup-memory and binding limits (at most 8 storage buffers,
 * 256 invocations, 16 KiB; see convTile in webgpu-programs-nn.ts), so nothing else is raised.
 */
export const REQUESTED_LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize'] as const;

/** True when `e` says that the package `webgpu` itself cannot be found (not that something inside it failed). */
function isDawnMissing(e: unknown): boolean {
  const { code, message } = e as { code?: string; message?: string };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /['"]webgpu['"]/.test(message ?? '');
}

/**
 * The GPU object: `navigator.gpu` where the runtime has one, else (Node) Dawn's. Throws one sentence when there is
 * none: a browser without WebGPU, or Node without the optional package `webgpu`.
 */
export async function getGpu(): Promise<GPU> {
  const nav = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
  if (nav) return nav;
  if (!isNode) throw new Error('this browser has no WebGPU (navigator.gpu is undefined; it needs a secure context)');
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (e) {
    if (isDawnMissing(e)) throw new Error(DAWN_MISSING);
    throw new Error(`the package 'webgpu' (Dawn) failed to load: ${(e as Error).message}`);
  }
  Object.assign(globalThis, dawn.globals);
  return dawn.create([]);
}

/** The adapter's self-description. Older implementations have `isFallbackAdapter` on the adapter, not its info. */
export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const { vendor, architecture, description } = adapter.info;
  const old = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const isFallbackAdapter = (adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? old ?? false;
  return { vendor, architecture, description, isFallbackAdapter };
}

/** One line naming an adapter: vendor / architecture / description. */
export function describeAdapter(a: AdapterSummary): string {
  const parts = [a.vendor, a.architecture, a.description].filter((s) => s.length > 0);
  return parts.length ? parts.join(' / ') : 'unnamed adapter';
}

/**
 * True for a software (CPU) adapter: marked as a fallback adapter, or named as one of the known rasterisers (Mesa
 * llvmpipe/lavapipe report vendor 'mesa', architecture 'software'; Chromium's SwiftShader 'google', 'swiftshader';
 * Windows' WARP 'Microsoft Basic Render Driver').
 */
export function isSoftwareAdapter(a: AdapterSummary): boolean {
  if (a.isFallbackAdapter || a.architecture.toLowerCase() === 'software') return true;
  const text = `${a.vendor} ${a.architecture} ${a.description}`.toLowerCase();
  return /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/.test(text);
}

/**
 * Requests an adapter and a device; throws when no WebGPU adapter exists. NOTE: in Node, Dawn prints two lines
 * ("Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced …", and the same for storage buffers)
 * from native code straight to stderr while requestAdapter enumerates a Vulkan adapter whose driver reports more
 * dynamic buffers than Dawn supports (lavapipe reports 1000000). That happens before any limit is requested, and Dawn
 * offers no switch or callback for it, so opening such an adapter in this process cannot keep those two lines off
 * stderr; `setDevice('auto')` looks at the adapter from a child process first (webgpu-adapter.ts) and opens it here
 * only when it is a hardware one.
 */
export async function openDevice(): Promise<GpuContext> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter(ADAPTER_REQUEST);
  if (!adapter) throw new Error('no WebGPU adapter was found');
  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  // Subgroup operations where the adapter has them (the GPU kernels' reductions use them); never required.
  const requiredFeatures: GPUFeatureName[] = adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const summary = summarizeAdapter(adapter);
  const software = isSoftwareAdapter(summary) ? ' (software adapter)' : '';
  return { gpu, adapter, device, info: `WebGPU: ${describeAdapter(summary)}${software}` };
}
