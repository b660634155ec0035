// The engine's public face: the one module that nn/, swa/, cli/ and users import from the engine. Layers below it:
// shape and scope helpers → op definitions (engine/ops) → Tensor (with the ops as methods) → creation and devices.

export { Tensor, type GradNode } from './tensor.ts';
export { isTensor, type Operand } from './tensor-type.ts';
export type { Backend, Buf, DeviceName, KernelName, KernelParams, Conv2dParams, Pool2dParams } from './backend.ts';
export {
  setDevice,
  openBackend,
  defaultBackend,
  withBackend,
  synchronize,
  DeviceError,
  DEVICE_CHOICES,
  type BackendOptions,
  type WebGPUChoiceOptions,
  type DeviceChoice,
  type DeviceReport,
} from './device.ts';
export {
  tensor,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  arange,
  randn,
  rand,
  type CreateOptions,
  type RandomOptions,
} from './creation.ts';
export { Generator, manualSeed, globalGenerator } from './random.ts';
export { tidy, keep, noGrad, isGradEnabled } from './scope.ts';
export { backward } from './autograd.ts';
export { ShapeError, fmt, sameShape, sizeOf } from './shape.ts';
export * from './ops/index.ts';
export { type Nd, type OpName, type OpParams, type OpDef, type PrimitiveDef, type CompositeDef } from './op.ts';
// The backends with explicit options, beside the default ones that setDevice opens.
export { createWasmBackend, type WasmOptions } from './backends/wasm.ts';
export { createWebGPUBackend, type WebGPUOptions } from './backends/webgpu.ts';
// Custom ops: the user's own WGSL and CPU kernels under autograd, and the checks and timing that go with them.
export { customOp, type CustomOp, type CustomOpArgs, type CustomOpSpec, type WgslKernelSpec } from './custom-op.ts';
export type { CpuKernel, CpuKernelInfo } from './custom-kernel.ts';
export type { FieldType as ParamType, Fields as ParamFields, Values as ParamValues } from './backends/layout.ts';
export { gradcheck, GradcheckError, type GradcheckOptions, type TensorFn } from './gradcheck.ts';
export {
  opcheck,
  OpcheckError,
  EDGE_VALUES,
  type OpcheckCase,
  type OpcheckInput,
  type OpcheckOptions,
  type OpcheckReport,
  type OpcheckResult,
} from './opcheck.ts';
export { benchKernel, type BenchOptions, type BenchResult } from './bench-kernel.ts';
