// swa-engine: float32 tensors with autograd on WebGPU and WebAssembly, for Node and browsers.

import './engine/tensor-methods.ts';

export { Tensor } from './engine/tensor.ts';
export type { Backend, DeviceName } from './engine/backend.ts';
export { setDevice, openBackend, defaultBackend, withBackend, type BackendOptions, type DeviceChoice, type DeviceReport } from './engine/device.ts';
export { tensor, zeros, ones, full, zerosLike, onesLike, arange, randn, rand, type CreateOptions } from './engine/creation.ts';
export { Generator, manualSeed, globalGenerator } from './engine/random.ts';
export { tidy, keep, noGrad, isGradEnabled } from './engine/scope.ts';
export { backward } from './engine/autograd.ts';
export { ShapeError } from './engine/shape.ts';
export * from './engine/ops/index.ts';
// For kernel-level work: the op table, running an op by name, the kernel contracts.
export { OPS } from './engine/ops/index.ts';
export { apply, opDef, type Nd, type OpName, type OpParams, type OpDef } from './engine/op.ts';
export type { KernelName, KernelParams, Buf } from './engine/backend.ts';
// The wasm backend with explicit options (threads, wait policy): a second instance beside the default one.
export { createWasmBackend, type WasmOptions } from './engine/backends/wasm.ts';

// nn: modules, layers, models, optimizer, schedules, data, checkpoints, training loop (browser-safe parts).
export { Module, type StateDict } from './nn/module.ts';
export * from './nn/layers.ts';
export * from './nn/models/index.ts';
export { SGD, type SgdOptions } from './nn/optim.ts';
export { sgdBaselineLr } from './nn/schedule.ts';
export * from './nn/data/index.ts';
export { checkpointBytes, restoreCheckpoint, OPTIMIZER_PREFIX, type CheckpointContents, type Restored } from './nn/checkpoint.ts';
export * from './nn/safetensors.ts';
export { fit, evaluate, trainStep, type EpochMetrics, type FitOptions } from './nn/trainer.ts';
export { RunningMetrics, countCorrect } from './nn/metrics.ts';

// swa: Stochastic Weight Averaging, FGE and SWAG, with the paper's schedules and reports.
export { AveragedModel, type AverageRule, type AveragedModelOptions } from './swa/averaged-model.ts';
export { updateBn, type BnUpdateOptions } from './swa/bn-update.ts';
export { FgeEnsemble, evaluateStateEnsemble } from './swa/fge.ts';
export { Swag, type SwagOptions } from './swa/swag.ts';
export { ensemblePredict, probabilityMetrics, takeSnapshot, loadSnapshot, disposeSnapshot, type EnsembleResult, type Snapshot } from './swa/ensemble.ts';
export * from './swa/schedules.ts';
export * from './swa/capture.ts';
export * from './swa/report/index.ts';
