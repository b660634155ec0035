// The consumer's Node program: trains on the device named on the command line and prints the result as JSON, with
// the Node-only part of the package (the embedded Fashion-MNIST subset) to show its types resolve under node16.

import { loadFashionMnistMini } from 'swa-engine';
import { train } from './train.js';

const device = process.argv[2] === 'webgpu' || process.argv[2] === 'wasm' ? process.argv[2] : 'auto';
const mini = loadFashionMnistMini({ split: 'test' });
const result = await train(device, 1);
console.log(JSON.stringify({ ...result, mini: mini.n }));
