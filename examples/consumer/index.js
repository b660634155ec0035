// The consumer's browser page: what the test bundles with esbuild, Vite and webpack (each with no configuration)
// and runs in Chromium. It imports the consumer's compiled train.js and exposes it to the test.

import { train } from './out/train.js';

globalThis.consumerTrain = (device, threads) =>
  train(device, threads).catch((e) => ({ error: `${e.name}: ${e.message}` }));
globalThis.consumerReady = true;
