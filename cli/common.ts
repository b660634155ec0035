// The options that `swa-engine train` and `swa-engine swa` share (model, data, device and wasm threads, SGD
// hyper-parameters), the model-name check, and opening the device those options name.

import { DEVICE_CHOICES, setDevice, type DeviceReport } from '../engine/index.ts';
import { DATA_SETS } from '../nn/data/node-files.ts';

/**
 * What is wrong with a model name, or null: the names `createModel` builds (nn/models/index.ts), with the depths
 * their constructors accept (PreResNet 6n+2, or 9n+2 from 44 on; WideResNet 6n+4 from 10 on, widen factor ≥ 1).
 */
export function modelNameProblem(name: string): string | null {
  const names = 'small-cnn, preresnet<depth>, vgg<11|13|16|19>[bn] or wrn<depth>-<k>';
  let m: RegExpMatchArray | null;
  if (name === 'small-cnn' || /^vgg(11|13|16|19)(bn)?$/.test(name)) return null;
  if ((m = name.match(/^preresnet(\d+)$/))) {
    const depth = Number(m[1]);
    const per = depth >= 44 ? 9 : 6;
    if ((depth - 2) % per === 0 && depth >= per + 2) return null;
    return `unknown model ${name}: a PreResNet's depth is 6n+2 below 44, 9n+2 from 44 on (preresnet20, preresnet164)`;
  }
  if ((m = name.match(/^wrn(\d+)-(\d+)$/))) {
    const [depth, k] = [Number(m[1]), Number(m[2])];
    if ((depth - 4) % 6 === 0 && depth >= 10 && k >= 1) return null;
    return `unknown model ${name}: a WideResNet is wrn<depth>-<k> with depth 6n+4 ≥ 10 and k ≥ 1 (wrn28-10)`;
  }
  return `unknown model ${name} (${names})`;
}

/** Model and data. */
export const DATA_OPTIONS = {
  model: {
    type: 'string',
    arg: 'NAME',
    default: 'small-cnn',
    help: 'small-cnn | preresnet<depth> | vgg<11|13|16|19>[bn] | wrn<depth>-<k>',
    check: modelNameProblem,
  },
  width: { type: 'number', arg: 'W', above: 0, help: 'width multiplier (VGG, PreResNet) or widen factor (WRN)' },
  data: {
    type: 'choice',
    arg: 'NAME',
    values: DATA_SETS,
    default: 'fashion-mnist',
    noun: 'data set',
    help: 'fashion-mnist | fashion-mnist-mini (the embedded 10000/2000 subset) | cifar10 | cifar100',
  },
  'data-dir': {
    type: 'string',
    arg: 'DIR',
    help: "folder of the data files (CIFAR: required; Fashion-MNIST: the Debian package's by default)",
  },
  limit: { type: 'number', arg: 'N', integer: true, min: 1, help: 'use the first N training images (quick runs)' },
} as const;

/** SGD hyper-parameters. */
export const SGD_OPTIONS = {
  batch: { type: 'number', arg: 'N', integer: true, min: 1, default: 128, help: 'batch size' },
  momentum: { type: 'number', arg: 'M', min: 0, below: 1, default: 0.9, help: 'SGD momentum' },
  wd: { type: 'number', arg: 'W', min: 0, default: 5e-4, help: 'weight decay' },
} as const;

/** Device and wasm threads. */
export const DEVICE_OPTIONS = {
  device: {
    type: 'choice',
    arg: 'D',
    values: DEVICE_CHOICES,
    default: 'auto',
    noun: 'device',
    help: 'auto (a hardware GPU, else wasm; software adapters skipped) | webgpu (any adapter) | wasm',
  },
  threads: {
    type: 'number',
    arg: 'N',
    integer: true,
    min: 1,
    max: 64,
    env: 'SWA_WASM_THREADS',
    defaultText: 'cores, at most 8',
    help: 'wasm kernel threads (1: no workers)',
  },
  'wasm-wait': {
    type: 'choice',
    arg: 'HOW',
    values: ['poll', 'block', 'spin'],
    env: 'SWA_WASM_WAIT',
    defaultText: 'poll',
    noun: 'wait policy',
    help: 'how idle wasm threads wait: poll | block | spin',
  },
} as const;

/** Opens the device the options name and prints which one it is (and why not WebGPU, when 'auto' fell back). */
export async function startDevice(v: {
  device: (typeof DEVICE_CHOICES)[number];
  threads?: number;
  'wasm-wait'?: 'poll' | 'block' | 'spin';
}): Promise<DeviceReport> {
  const report = await setDevice(v.device, { wasm: { threads: v.threads, wait: v['wasm-wait'] } });
  const why = report.fallbackReason ? `; WebGPU not used: ${report.fallbackReason}` : '';
  console.log(`device: ${report.device} (${report.info})${why}`);
  return report;
}
