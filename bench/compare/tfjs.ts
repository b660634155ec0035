// TensorFlow.js 4.x's side of the comparison on one backend (cpu, wasm, or webgpu through Dawn): the same figures as
// ours.ts, channels-last (TF.js's native layout), with the wasm backend's thread count requested and reported.
// Usage (bundled by build-and-run.mjs): node build/compare/tfjs.js cpu|wasm|webgpu [--quick] [--only=…]

import * as tf from '@tensorflow/tfjs';
import {
  CONV_PASSES,
  CONV_SHAPES,
  INFER_BATCH,
  MATMUL_SIZES,
  MODEL_INPUT,
  MODELS,
  SGD_SETTINGS,
  TRAIN_BATCH,
  convFlop,
  emit,
  errorText,
  figure,
  FIGURES,
  loopPlan,
  parseFlags,
  rate,
  selected,
  speedOf,
  synthetic,
  syntheticLabels,
  timeLoop,
  type FigureResult,
  type LoopPlan,
  type ModelName,
  type Work,
} from './figures.ts';
import { makeTrainStep, preResNet20, smallCnn } from './tfjs-models.ts';

const { quick, only, rest } = parseFlags(process.argv.slice(2));
const backendName = rest[0];
if (backendName !== 'cpu' && backendName !== 'wasm' && backendName !== 'webgpu') {
  throw new Error(`tfjs: backend must be cpu, wasm or webgpu, got ${rest[0]}`);
}
const peer = `tfjs-${backendName}`;
const speed = speedOf(peer);
const plan = (w: Work): LoopPlan => loopPlan(w, speed, quick);
const WASM_THREADS = 2;

/** Messages that differ in more than their tail (e.g. the same error for two workers' blob: URLs) once each. */
const distinct = (msgs: readonly string[]): string[] =>
  msgs.filter((m, i) => msgs.findIndex((o) => o.slice(0, 80) === m.slice(0, 80)) === i);

/**
 * tf.setBackend resolves false and only logs (console.warn) when a backend fails to initialise; this returns the
 * logged text as an Error instead.
 */
async function useBackend(name: string): Promise<void> {
  const warned: string[] = [];
  const warn = console.warn;
  // The first line of each logged value: the message without the stack.
  const firstLine = (a: unknown): string => String(a instanceof Error ? `${a.name}: ${a.message}` : a).split('\n')[0];
  console.warn = (...args: unknown[]) => {
    warned.push(args.map(firstLine).join(' '));
  };
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    if (!ok || tf.getBackend() !== name)
      throw new Error(`tf.setBackend('${name}') failed: ${distinct(warned).join(' | ') || 'no reason given'}`);
  } finally {
    console.warn = warn;
  }
}

const info: Record<string, unknown> = { peer, tfjs: tf.version.tfjs };
/** WebGPU errors reported since the current figure began. */
const gpuErrors: string[] = [];
/** Keeps Dawn's GPU object referenced for the process's lifetime (it owns the Dawn instance). */
let dawnGpu: unknown = null;
try {
  if (backendName === 'webgpu') {
    // tfjs-backend-webgpu registers itself at import time only if navigator.gpu exists, so Dawn comes first.
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    dawnGpu = create([]);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawnGpu }, configurable: true, writable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    await useBackend('webgpu');
    const b = tf.backend() as unknown as { adapterInfo?: unknown; device: GPUDevice };
    info.adapter = b.adapterInfo;
    // Validation errors do not throw in WebGPU: a failing dispatch silently drops its command buffer, which would
    // make a figure look fast. Each one is recorded and turns the figure it happened in into an error.
    b.device.addEventListener('uncapturederror', (ev) =>
      gpuErrors.push((ev as GPUUncapturedErrorEvent).error.message.split('\n')[0]),
    );
  } else if (backendName === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setThreadsCount(WASM_THREADS);
    // NOTE: tfjs-backend-wasm reports no multithreading under Node (WASM_HAS_MULTITHREAD_SUPPORT is false when
    // IS_NODE), so it loads the single-threaded SIMD binary whatever was requested. Forcing the flag makes its
    // Emscripten loader start workers from blob: URLs, which Node refuses; that error is recorded, then the default
    // used.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    try {
      await useBackend('wasm');
    } catch (e) {
      info.forcedThreadsError = errorText(e);
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      await useBackend('wasm');
    }
    info.threadsRequested = WASM_THREADS;
    info.threads = wasm.getThreadsCount();
    info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  } else {
    await useBackend('cpu');
  }
} catch (e) {
  // No backend: every figure gets the error, and the orchestrator carries on with the next peer.
  const error = errorText(e);
  emit('INFO', { ...info, error });
  for (const f of FIGURES) if (!f.oursOnly && selected(f.id, only)) emit('FIGURE', { id: f.id, error });
  process.exit(0);
}
// Production mode, as a speed-minded TF.js user would run: no debug checks on every op (it also drops tfjs-node's ad).
// NOTE: it silences TF.js's warnings too, so it comes after initialisation, whose failures are only warnings.
tf.enableProdMode();
info.prodMode = true;
emit('INFO', info);
process.stderr.write(`${peer}: ${JSON.stringify(info)}\n`);

/** Wraps a figure's measurement so that a WebGPU error raised during it makes the figure an error. */
function checked(fn: () => Promise<FigureResult>): () => Promise<FigureResult> {
  return async () => {
    gpuErrors.length = 0;
    const r = await fn();
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (gpuErrors.length)
      throw new Error(`WebGPU error (that work was dropped, so the timing is void): ${gpuErrors[0]}`);
    return r;
  };
}

/** Waits until `t` has been computed, reading back one element of it. */
async function settle(t: tf.Tensor): Promise<void> {
  const one = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1));
  await one.data();
  one.dispose();
}

const nhwc = (name: ModelName, n: number): [number, number, number, number] => {
  const [c, h, w] = MODEL_INPUT[name];
  return [n, h, w, c];
};

for (const name of MODELS) {
  const build = name === 'small-cnn' ? smallCnn : preResNet20;
  if (selected(`train/${name}`, only)) {
    await figure(
      `train/${name}`,
      checked(async () => {
        const model = build();
        const step = makeTrainStep(model, SGD_SETTINGS);
        const shape = nhwc(name, TRAIN_BATCH);
        const x = synthetic(
          shape.reduce((a, b) => a * b, 1),
          1,
        );
        const y = tf.oneHot(tf.tensor1d(syntheticLabels(TRAIN_BATCH), 'int32'), 10);
        const lastVar = model.trainableWeights[model.trainableWeights.length - 1].read();
        try {
          // The batch is uploaded every step; the sync reads the last weight the optimizer updates.
          const t = await timeLoop(
            () => {
              const xt = tf.tensor4d(x, shape);
              step(xt, y).dispose();
              xt.dispose();
            },
            () => settle(lastVar),
            plan('train'),
          );
          return rate(`train/${name}`, TRAIN_BATCH, t, 'NHWC, tf.layers + tf.train.momentum');
        } finally {
          y.dispose();
          model.dispose();
        }
      }),
    );
  }
  if (selected(`infer/${name}`, only)) {
    await figure(
      `infer/${name}`,
      checked(async () => {
        const model = build();
        const shape = nhwc(name, INFER_BATCH);
        const x = synthetic(
          shape.reduce((a, b) => a * b, 1),
          2,
        );
        try {
          const t = await timeLoop(
            async () => {
              const logits = tf.tidy(() => model.apply(tf.tensor4d(x, shape), { training: false }) as tf.Tensor);
              await logits.data();
              logits.dispose();
            },
            async () => {},
            plan('infer'),
          );
          return rate(`infer/${name}`, INFER_BATCH, t, 'NHWC, eval mode, logits read back');
        } finally {
          model.dispose();
        }
      }),
    );
  }
}

/** Times `op` (which returns a fresh tensor) in a loop, disposing each result once the next exists. */
async function timeOp(op: () => tf.Tensor): Promise<{ iterations: number; ms: number }> {
  let last: tf.Tensor | null = null;
  const step = (): void => {
    const out = op();
    last?.dispose();
    last = out;
  };
  try {
    return await timeLoop(
      step,
      async () => {
        if (last) await settle(last);
      },
      plan('kernel'),
    );
  } finally {
    (last as tf.Tensor | null)?.dispose();
  }
}

for (const n of MATMUL_SIZES) {
  if (!selected(`matmul/${n}`, only)) continue;
  await figure(
    `matmul/${n}`,
    checked(async () => {
      const a = tf.tensor2d(synthetic(n * n, 1), [n, n]),
        b = tf.tensor2d(synthetic(n * n, 2), [n, n]);
      try {
        return rate(`matmul/${n}`, (2 * n ** 3) / 1e9, await timeOp(() => tf.matMul(a, b)), 'tf.matMul');
      } finally {
        a.dispose();
        b.dispose();
      }
    }),
  );
}

for (const s of CONV_SHAPES) {
  for (const pass of CONV_PASSES) {
    const id = `conv/${s.id}/${pass}`;
    if (!selected(id, only)) continue;
    await figure(
      id,
      checked(async () => {
        const xShape: [number, number, number, number] = [s.n, s.h, s.w, s.cin];
        const wShape: [number, number, number, number] = [s.k, s.k, s.cin, s.cout];
        const x = tf.tensor4d(synthetic(s.n * s.h * s.w * s.cin, 1), xShape);
        const w = tf.tensor4d(synthetic(s.k * s.k * s.cin * s.cout, 2), wShape);
        const dy = tf.tensor4d(synthetic(s.n * s.h * s.w * s.cout, 3), [s.n, s.h, s.w, s.cout]);
        // The two backward passes are the kernels tf.grad of tf.conv2d runs (Conv2DBackpropInput/Filter), called
        // directly.
        const attrs = {
          strides: [1, 1],
          pad: 'same',
          dataFormat: 'NHWC',
          dimRoundingMode: undefined,
        } as unknown as tf.NamedAttrMap;
        const run = (kernel: string, inputs: tf.NamedTensorMap, extra: tf.NamedAttrMap) => (): tf.Tensor =>
          tf.engine().runKernel(kernel, inputs, { ...attrs, ...extra }) as tf.Tensor;
        const op =
          pass === 'forward'
            ? () => tf.conv2d(x, w, 1, 'same')
            : pass === 'backward-input'
              ? run('Conv2DBackpropInput', { dy, filter: w }, { inputShape: xShape })
              : run('Conv2DBackpropFilter', { x, dy }, { filterShape: wShape });
        try {
          return rate(id, convFlop(s) / 1e9, await timeOp(op), 'NHWC, no bias');
        } finally {
          for (const t of [x, w, dy]) t.dispose();
        }
      }),
    );
  }
}

void dawnGpu;
process.exit(0);
