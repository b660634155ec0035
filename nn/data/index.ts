// The data layer for Node and browsers: IDX and CIFAR readers, normalisation, augmentation, batching, HTTP loading.
// Node's file loaders live in './node-files.ts' (not re-exported here, so browser bundles never import node:fs).

export {
  DataError, checkDataset, bytesToUnit, imageSize, FASHION_MNIST_CLASSES, FASHION_MNIST_MINI, CIFAR10_CLASSES,
  type Dataset, type ImageShape,
} from './dataset.ts';
export { parseIdx, encodeIdx, idxDataset, isGzip, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxArray, type IdxSource } from './idx.ts';
export {
  parseCifar, encodeCifar, cifarRecordSize, CIFAR_PIXELS, type CifarKind, type CifarFile, type CifarOptions, type CifarRecords,
} from './cifar.ts';
export { channelStats, normalize, normalizeImages, FASHION_MNIST_STATS, type ChannelStats } from './normalize.ts';
export { augmentImage, drawAugment, checkAugment, CIFAR_AUGMENT, type AugmentOptions, type AugmentParams } from './augment.ts';
export { DataLoader, type Batch, type LoaderOptions, type LoaderState } from './loader.ts';
export { toTensors } from './to-tensors.ts';
export {
  gunzip, fetchBytes, fetchFashionMnist, fetchCifar, type FetchFn, type FetchFashionMnistOptions, type FetchCifarOptions,
} from './fetch.ts';
