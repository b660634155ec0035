// swa-engine: float32 tensors with autograd on WebGPU and WebAssembly, for Node and browsers, and Stochastic Weight
// Averaging in PyTorch's shape. The public API, grouped; runner internals and file-format helpers stay in their files.

// ---- engine: tensors, ops, autograd, scopes, random numbers, devices (the engine's own public face) ----------------
export * from './engine/index.ts';

// ---- nn: modules and layers (PyTorch names and state_dict keys) --------------------------------------------------
export {
  Module,
  deepcopy,
  type StateDict,
  type StateValue,
  type HostValue,
  type LoadStateDictResult,
} from './nn/module.ts';
export {
  Linear,
  Conv2d,
  BatchNorm,
  BatchNorm1d,
  BatchNorm2d,
  ReLU,
  MaxPool2d,
  AvgPool2d,
  GlobalAvgPool2d,
  Dropout,
  Flatten,
  Sequential,
  type LayerOptions,
  type BatchNormLayerOptions,
} from './nn/layers.ts';
export { SmallCnn, Vgg, PreResNet, WideResNet, createModel, type ModelSpec } from './nn/models/index.ts';

// ---- nn: optimizer, schedules, training loop ------------------------------------------------------------------------
export { SGD, CosineAnnealingLR, type SgdOptions, type LrScheduler } from './nn/optim.ts';
export { sgdBaselineLr } from './nn/schedule.ts';
export { fit, evaluate, trainStep, type EpochMetrics, type FitOptions } from './nn/trainer.ts';
export { RunningMetrics, countCorrect } from './nn/metrics.ts';
export { DivergenceError, NonFiniteJsonError, checkFiniteMetrics, type DivergenceInfo } from './nn/finite.ts';
export { checkModelData } from './nn/data-check.ts';

// ---- nn: data (readers, loader, normalisation, augmentation) -------------------------------------------------------
export {
  Subset,
  DataError,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_MINI,
  CIFAR10_CLASSES,
  type Dataset,
  type ImageShape,
} from './nn/data/dataset.ts';
export { DataLoader, type Batch, type LoaderOptions, type LoaderState } from './nn/data/loader.ts';
export { toTensors } from './nn/data/to-tensors.ts';
export { channelStats, normalize, FASHION_MNIST_STATS, type ChannelStats } from './nn/data/normalize.ts';
export { CIFAR_AUGMENT, type AugmentOptions } from './nn/data/augment.ts';
export { parseIdx, idxDataset, type IdxArray, type IdxSource } from './nn/data/idx.ts';
export { parseCifar, type CifarKind, type CifarFile, type CifarOptions } from './nn/data/cifar.ts';
export {
  fetchFashionMnist,
  fetchCifar,
  type FetchFn,
  type FetchFashionMnistOptions,
  type FetchCifarOptions,
} from './nn/data/fetch.ts';

// ---- nn: checkpoints (safetensors, loadable by PyTorch) ------------------------------------------------------------
export {
  checkpointBytes,
  restoreCheckpoint,
  CheckpointError,
  type CheckpointContents,
  type Restored,
} from './nn/checkpoint.ts';
export {
  encodeSafetensors,
  decodeSafetensors,
  toFloat32,
  SafetensorsError,
  type Dtype,
  type SafeTensor,
  type SafeTensorEntry,
  type SafetensorsFile,
} from './nn/safetensors.ts';

// ---- swa: torch.optim.swa_utils (AveragedModel, SWALR, update_bn) and the paper's schedules -----------------------
export {
  AveragedModel,
  getSwaAvgFn,
  getEmaAvgFn,
  getSwaMultiAvgFn,
  getEmaMultiAvgFn,
  type AvgFn,
  type MultiAvgFn,
  type AveragedModelOptions,
} from './swa/averaged-model.ts';
export { updateBn, type UpdateBnOptions } from './swa/bn-update.ts';
export {
  SWALR,
  SwaCyclicalLR,
  FgeCyclicalLR,
  SwaReferenceLR,
  type SwalrOptions,
  type LrHolder,
} from './swa/schedulers.ts';
export type { AnnealStrategy } from './swa/schedules.ts';

// ---- swa: FGE and SWAG ensembles, calibration ---------------------------------------------------------------------
export { FgeEnsemble } from './swa/fge.ts';
export { Swag, type SwagOptions } from './swa/swag.ts';
export type { EnsembleResult, EnsembleOptions } from './swa/ensemble.ts';
export { calibration, ece, type CalibrationReport, type CalibrationBin } from './swa/report/calibration.ts';
