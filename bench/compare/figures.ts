// What the comparison measures, shared by every peer's runner: figure ids and shapes, iteration plans, the loop timer
// and the line protocol (`@@FIGURE {json}` on stdout) by which a child process reports each figure as it finishes.

/** Training and inference figures per model; the batch sizes are fixed by the comparison. */
export const TRAIN_BATCH = 128;
export const INFER_BATCH = 1000;
export const MODELS = ['small-cnn', 'preresnet20'] as const;
export type ModelName = (typeof MODELS)[number];

/** Input image shape [C, H, W] of each model. */
export const MODEL_INPUT: Record<ModelName, [number, number, number]> = {
  'small-cnn': [1, 28, 28],
  preresnet20: [3, 32, 32],
};

/** SGD settings of the training figures (PyTorch semantics: coupled weight decay). */
export const SGD_SETTINGS = { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } as const;

export const MATMUL_SIZES = [256, 512, 1024] as const;

/** A 3×3, stride 1, pad 1 convolution at the small CNN's layer shapes, batch 128. */
export interface ConvShape {
  id: 'l1' | 'l2';
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  pad: number;
}
export const CONV_SHAPES: readonly ConvShape[] = [
  { id: 'l1', n: 128, cin: 1, h: 28, w: 28, cout: 32, k: 3, pad: 1 },
  { id: 'l2', n: 128, cin: 32, h: 14, w: 14, cout: 64, k: 3, pad: 1 },
];
export const CONV_PASSES = ['forward', 'backward-input', 'backward-weight'] as const;
export type ConvPass = (typeof CONV_PASSES)[number];

/** 2·N·Cout·OH·OW·Cin·kH·kW: the multiply-adds of each of the three passes (they are the same count). */
export const convFlop = (s: ConvShape): number => 2 * s.n * s.cout * s.h * s.w * s.cin * s.k * s.k;

/** Fashion-MNIST's training split: the epoch that SWA's costs are measured against. */
export const EPOCH_IMAGES = 60000;

export type Unit = 'img/s' | 'GFLOP/s' | '% of epoch';

/** One row of the comparison table. Throughputs are higher-is-better; '% of epoch' rows are ours only. */
export interface FigureSpec {
  id: string;
  label: string;
  unit: Unit;
  oursOnly?: boolean;
}

export const FIGURES: readonly FigureSpec[] = [
  ...MODELS.map((m) => ({ id: `train/${m}`, label: `${m} training, batch ${TRAIN_BATCH}`, unit: 'img/s' as const })),
  ...MODELS.map((m) => ({ id: `infer/${m}`, label: `${m} inference, batch ${INFER_BATCH}`, unit: 'img/s' as const })),
  ...MATMUL_SIZES.map((n) => ({ id: `matmul/${n}`, label: `matmul ${n}³`, unit: 'GFLOP/s' as const })),
  ...CONV_SHAPES.flatMap((s) =>
    CONV_PASSES.map((p) => ({
      id: `conv/${s.id}/${p}`,
      label: `conv ${s.cin}→${s.cout} ${s.h}×${s.w} ${p}`,
      unit: 'GFLOP/s' as const,
    })),
  ),
  { id: 'swa/update', label: 'SWA AveragedModel.update (small CNN)', unit: '% of epoch', oursOnly: true },
  { id: 'swa/update-bn', label: 'SWA updateBn pass (small CNN, 60000 images)', unit: '% of epoch', oursOnly: true },
];

/** A measured figure, or the exact error that stopped it. */
export interface FigureResult {
  id: string;
  value?: number;
  error?: string;
  /** What was timed: iterations, seconds, extrapolation, layout… */
  detail?: string;
  /** Extra numbers kept in the JSON (e.g. milliseconds per call). */
  extra?: Record<string, number | string>;
  /** '<': `value` is only an upper bound (the figure ran out of its time budget). */
  bound?: '<';
}

/**
 * The columns of the comparison. `ours` marks the engine's own backends; the others are peers. `sweepThreads`: the
 * peer runs at several thread counts and each figure reports the count whose median was best.
 */
export interface PeerSpec {
  id: string;
  label: string;
  speed: Speed;
  ours?: boolean;
  sweepThreads?: boolean;
}
export const PEERS: readonly PeerSpec[] = [
  { id: 'ours-wasm', label: 'ours wasm', speed: 'fast', ours: true },
  { id: 'ours-wasm1', label: 'ours wasm 1 thread', speed: 'fast', ours: true },
  { id: 'ours-webgpu', label: 'ours WebGPU', speed: 'slow', ours: true },
  { id: 'tfjs-cpu', label: 'TF.js cpu', speed: 'crawl' },
  { id: 'tfjs-wasm', label: 'TF.js wasm', speed: 'fast' },
  { id: 'tfjs-webgpu', label: 'TF.js WebGPU', speed: 'slow' },
  { id: 'torch', label: 'PyTorch (Debian)', speed: 'fast' },
  { id: 'torch-tuned', label: 'PyTorch + OpenBLAS + jemalloc, default decay', speed: 'fast' },
  { id: 'torch-best', label: 'PyTorch best (OpenBLAS + jemalloc, no decay)', speed: 'fast', sweepThreads: true },
];

/** A peer's speed class by id. */
export function speedOf(peer: string): Speed {
  const p = PEERS.find((x) => x.id === peer);
  if (!p) throw new Error(`unknown peer ${peer}`);
  return p.speed;
}

/**
 * Warm-up count, timed count, and a cap on the timed loop's seconds (at least one timed iteration runs). `minSeconds`
 * keeps a synchronous (CPU) peer's loop going past `reps` until that much time has passed, so short kernels are timed
 * over a stretch long enough to be stable; it is never set for devices whose steps return before the work is done.
 */
export interface LoopPlan {
  warmup: number;
  reps: number;
  capSeconds: number;
  minSeconds?: number;
  /**
   * Wait for the device every this many timed steps, so an asynchronous device (WebGPU) never queues more than that
   * ahead of the host clock: without it a fast host enqueues thousands of steps before the time cap is seen.
   */
  syncEvery?: number;
}

export type Work = 'train' | 'infer' | 'kernel';

/**
 * How fast a peer is, which sets its iteration counts and per-figure time budget: 'fast' (wasm, PyTorch), 'slow'
 * (WebGPU on a CPU rasteriser), 'crawl' (TF.js's plain-JS cpu backend, whose conv weight gradient runs at
 * ~0.02 GFLOP/s).
 */
export type Speed = 'fast' | 'slow' | 'crawl';

/**
 * How many iterations to run. Slow peers get fewer, crawling ones a single cold step; `--quick` gets a smoke run.
 * Together with `figureBudget` this keeps the default run near ten minutes on a 2-core machine.
 */
export function loopPlan(work: Work, speed: Speed, quick: boolean): LoopPlan {
  if (speed === 'crawl') {
    return work === 'kernel' ? { warmup: 1, reps: 3, capSeconds: 1 } : { warmup: 0, reps: 1, capSeconds: 0 };
  }
  const slow = speed === 'slow';
  if (work === 'train') {
    if (quick) return { warmup: 1, reps: slow ? 1 : 2, capSeconds: 2 };
    // At least 2 s (1 s for inference) of timed steps: five 60 ms steps were too short a window on these VMs.
    return slow ? { warmup: 1, reps: 2, capSeconds: 12 } : { warmup: 3, reps: 5, capSeconds: 15, minSeconds: 2 };
  }
  if (work === 'infer') {
    if (quick) return { warmup: slow ? 0 : 1, reps: 1, capSeconds: 1 };
    return slow ? { warmup: 1, reps: 2, capSeconds: 10 } : { warmup: 1, reps: 3, capSeconds: 10, minSeconds: 1 };
  }
  if (quick) return { warmup: 1, reps: 2, capSeconds: 0.5, minSeconds: slow ? 0 : 0.05 };
  return slow ? { warmup: 1, reps: 3, capSeconds: 3 } : { warmup: 2, reps: 10, capSeconds: 3, minSeconds: 0.25 };
}

/**
 * Seconds one figure may take before the orchestrator stops its runner and reports an upper bound instead
 * (a safety net for fast and slow peers; the usual outcome for a crawling peer's training).
 */
export function figureBudget(speed: Speed, quick: boolean): number {
  if (quick) return { fast: 15, slow: 6, crawl: 3 }[speed];
  return { fast: 150, slow: 150, crawl: 30 }[speed];
}

/** The figure being measured in this process (set by `figure`, reported with each step). */
let current = '';

/**
 * Runs `step` plan.warmup times, waits for `sync`, then times a loop of up to plan.reps steps (stopping early once
 * plan.capSeconds have passed on the host clock) that ends with `sync`, so the work is finished before the clock stops.
 * Steps are not synchronised one by one: a device may overlap them as it would in training. Each step's end is
 * reported (`@@STEP`) so that a runner stopped for its time budget still tells how far it got.
 * @returns the number of timed steps and the milliseconds they took.
 */
export async function timeLoop(
  step: () => void | Promise<void>,
  sync: () => Promise<void>,
  plan: LoopPlan,
): Promise<{ iterations: number; ms: number }> {
  let steps = 0;
  const done = (): void => emit('STEP', { id: current, steps: ++steps });
  for (let i = 0; i < plan.warmup; i++) {
    await step();
    done();
  }
  await sync();
  const t0 = performance.now();
  let iterations = 0;
  const minMs = (plan.minSeconds ?? 0) * 1e3;
  for (;;) {
    await step();
    done();
    iterations++;
    if (plan.syncEvery && iterations % plan.syncEvery === 0) await sync();
    const elapsed = performance.now() - t0;
    if (elapsed > plan.capSeconds * 1e3 || (iterations >= plan.reps && elapsed >= minMs)) break;
  }
  await sync();
  return { iterations, ms: performance.now() - t0 };
}

/** A throughput figure from a timed loop: `perStep` units (images or FLOP/1e9) per step. */
export function rate(id: string, perStep: number, t: { iterations: number; ms: number }, note = ''): FigureResult {
  const value = (perStep * t.iterations) / (t.ms / 1e3);
  const detail = `${t.iterations} timed × ${(t.ms / t.iterations).toFixed(1)} ms${note ? `; ${note}` : ''}`;
  return { id, value, detail, extra: { msPerStep: t.ms / t.iterations, iterations: t.iterations } };
}

/** The message of anything thrown, with the first stack frame when there is one. */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const frame = e.stack
      ?.split('\n')
      .find((l) => l.trim().startsWith('at '))
      ?.trim();
    return `${e.name}: ${e.message}${frame ? ` (${frame})` : ''}`;
  }
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

/** Writes one protocol line to stdout; the orchestrator collects them (and survives a child that dies midway). */
export function emit(kind: 'FIGURE' | 'INFO' | 'START' | 'STEP', payload: object): void {
  process.stdout.write(`@@${kind} ${JSON.stringify(payload)}\n`);
}

/**
 * Measures one figure and reports it; an exception becomes that figure's error and the run goes on.
 * Progress goes to stderr.
 */
export async function figure(id: string, fn: () => Promise<FigureResult>): Promise<void> {
  const t0 = performance.now();
  current = id;
  emit('START', { id });
  let r: FigureResult;
  try {
    r = await fn();
  } catch (e) {
    r = { id, error: errorText(e) };
  }
  const took = ((performance.now() - t0) / 1e3).toFixed(1);
  const shown = r.error ? `ERROR ${r.error}` : `${r.value?.toPrecision(4)} (${r.detail})`;
  process.stderr.write(`  ${id}: ${shown} [${took} s]\n`);
  emit('FIGURE', r);
}

/** Deterministic values in [-0.5, 0.5), the same in every runner (a hash of the index). */
export function synthetic(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (((i + seed) * 7919) % 1013) / 1013 - 0.5;
  return out;
}

/** Labels 0..9 for a batch. */
export function syntheticLabels(size: number): Int32Array {
  return Int32Array.from({ length: size }, (_, i) => (i * 7) % 10);
}

/** Parses `--quick` and `--only=a,b` (figure ids or their leading parts, e.g. `train`, `conv/l1`) from argv. */
export function parseFlags(argv: readonly string[]): { quick: boolean; only: string[]; rest: string[] } {
  const quick = argv.includes('--quick');
  const onlyArg = argv.find((a) => a.startsWith('--only='));
  const only = onlyArg ? onlyArg.slice('--only='.length).split(',').filter(Boolean) : [];
  const rest = argv.filter((a) => a !== '--quick' && !a.startsWith('--only='));
  return { quick, only, rest };
}

/** True when `--only` selects a figure id: an entry names it or a leading part of it (all are, without the flag). */
export const selected = (id: string, only: readonly string[]): boolean =>
  only.length === 0 || only.some((o) => id === o || id.startsWith(`${o}/`));
