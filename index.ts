// swa-engine: float32 tensors with autograd on WebGPU and WebAssembly, for Node and browsers.

export * from './engine/index.ts';

// nn: modules, layers, models, optimizer, schedules, data, checkpoints, training loop (browser-safe parts).
export { Module, type StateDict } from './nn/module.ts';
export * from './nn/layers.ts';
export * from './nn/models/index.ts';
export { SGD, type SgdOptions } from './nn/optim.ts';
export { sgdBaselineLr } from './nn/schedule.ts';
export * from './nn/data/index.ts';
export {
  checkpointBytes,
  restoreCheckpoint,
  OPTIMIZER_PREFIX,
  type CheckpointContents,
  type Restored,
} from './nn/checkpoint.ts';
export * from './nn/safetensors.ts';
export { fit, evaluate, trainStep, type EpochMetrics, type FitOptions } from './nn/trainer.ts';
export { RunningMetrics, countCorrect } from './nn/metrics.ts';

// swa: Stochastic Weight Averaging, FGE and SWAG, with the paper's schedules and reports.
export { AveragedModel, type AverageRule, type AveragedModelOptions } from './swa/averaged-model.ts';
export { updateBn, type BnUpdateOptions } from './swa/bn-update.ts';
export { FgeEnsemble, evaluateStateEnsemble } from './swa/fge.ts';
export { Swag, type SwagOptions } from './swa/swag.ts';
export {
  ensemblePredict,
  probabilityMetrics,
  takeSnapshot,
  loadSnapshot,
  disposeSnapshot,
  type EnsembleResult,
  type Snapshot,
} from './swa/ensemble.ts';
export * from './swa/schedules.ts';
export * from './swa/capture.ts';
export * from './swa/report/index.ts';
