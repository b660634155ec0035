// benchKernel: the median time of one op (a custom op or any function of tensors) on its inputs' device, measured as
// the project's bench does: warm-up runs first, then each timed run ends only once the device has finished.

import type { DeviceName } from './backend.ts';
import type { Fields, Values } from './backends/layout.ts';
import type { CustomOp } from './custom-op.ts';
import { synchronize } from './device.ts';
import { isCustomOp, type TensorFn } from './gradcheck.ts';
import { noGrad, tidy } from './scope.ts';
import type { Shape } from './shape.ts';
import type { Tensor } from './tensor-type.ts';

export interface BenchOptions<F extends Fields> {
  /** Untimed runs first (pipeline compilation, pool warm-up) [3]. */
  warmup?: number;
  /** Timed runs; the median is reported [10]. */
  reps?: number;
  /** The custom op's parameters. */
  params?: Values<F>;
  /** Floating-point operations of one run (or a function of the input shapes), for GFLOP/s. */
  flops?: number | ((shapes: readonly Shape[]) => number);
  /** Bytes one run must move [4·(elements of the inputs + of the output): the op's minimum traffic], for GB/s. */
  bytes?: number;
}

export interface BenchResult {
  device: DeviceName;
  reps: number;
  medianMs: number;
  minMs: number;
  /** flops / median time, when `flops` was given. */
  gflops?: number;
  /** bytes / median time: the effective bandwidth (the same byte count for a fused and an unfused version). */
  gbps: number;
}

/**
 * Times `op` on `inputs` (on their device): `warmup` untimed runs, then `reps` runs each timed from the call until
 * `synchronize` reports the device idle, outside autograd, freeing every output and intermediate after each run.
 * @example const r = await benchKernel(swish, [x], { params: { beta: 1 }, flops: ([s]) => 4 * s[0] * s[1] });
 */
export async function benchKernel<F extends Fields>(
  op: CustomOp<F> | TensorFn,
  inputs: readonly Tensor[],
  opts: BenchOptions<F> = {},
): Promise<BenchResult> {
  if (inputs.length === 0) throw new TypeError('benchKernel: pass the input tensors as an array');
  const warmup = opts.warmup ?? 3;
  const reps = opts.reps ?? 10;
  if (!Number.isInteger(reps) || reps < 1) throw new RangeError(`benchKernel: reps ${reps} must be an integer ≥ 1`);
  const be = inputs[0].backend;
  const custom = isCustomOp(op) ? (op as unknown as CustomOp<F>) : null;
  if (custom) await custom.compile(be);
  const run = (): Tensor =>
    noGrad(() => tidy(() => (custom ? custom.run(inputs, opts.params) : (op as TensorFn)(...inputs))));
  let outSize = 0;
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const y = run();
    await synchronize(be);
    const ms = performance.now() - t0;
    outSize = y.size;
    y.dispose();
    return ms;
  };
  await synchronize(be);
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) times.push(await once());
  times.sort((a, b) => a - b);
  const medianMs = reps % 2 ? times[reps >> 1] : (times[reps / 2 - 1] + times[reps / 2]) / 2;
  const bytes = opts.bytes ?? 4 * (inputs.reduce((s, t) => s + t.size, 0) + outSize);
  const flops = typeof opts.flops === 'function' ? opts.flops(inputs.map((t) => t.shape)) : opts.flops;
  const result: BenchResult = { device: be.name, reps, medianMs, minMs: times[0], gbps: bytes / (medianMs * 1e6) };
  if (flops !== undefined) result.gflops = flops / (medianMs * 1e6);
  return result;
}
