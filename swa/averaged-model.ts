// PyTorch's torch.optim.swa_utils.AveragedModel: a module holding its own copy of a network whose weights are the
// running average of the network's (SWA, Izmailov et al., 2018, Algorithm 1) or an EMA, updated on the device.

import { defaultBackend, full, noGrad, tidy, type Tensor } from '../engine/index.ts';
import { counterOf, deepcopy, Module, type Counter } from '../nn/module.ts';

/**
 * An averaging rule for one tensor, as PyTorch's `avg_fn(averaged_param, model_param, num_averaged)`: returns the new
 * average (a new tensor, or `averaged` itself after an in-place update). `nAveraged` ≥ 1 is the number of models
 * averaged so far.
 */
export type AvgFn = (averaged: Tensor, current: Tensor, nAveraged: number) => Tensor;

/** An averaging rule over every tensor at once, as PyTorch's `multi_avg_fn`: updates `averaged[i]` in place. */
export type MultiAvgFn = (averaged: Tensor[], current: Tensor[], nAveraged: number) => void;

/** PyTorch's AveragedModel arguments: avg_fn or multi_avg_fn, and use_buffers. */
export interface AveragedModelOptions {
  /** Per-tensor rule (PyTorch's avg_fn); default: the equal average of SWA. */
  avgFn?: AvgFn;
  /** Rule over all tensors at once (PyTorch's multi_avg_fn), e.g. `getEmaMultiAvgFn(0.999)`; not with avgFn. */
  multiAvgFn?: MultiAvgFn;
  /**
   * Average the buffers too (BN running statistics), as PyTorch's use_buffers; then no `updateBn` is needed. Without
   * it the copy's buffers follow the model's at every update (PyTorch ≥ 2.1) until `updateBn` recomputes them.
   */
  useBuffers?: boolean;
}

const checkDecay = (name: string, decay: number): void => {
  if (!(decay >= 0 && decay <= 1)) throw new Error(`${name}: decay must be in [0, 1], got ${decay}`);
};

/**
 * SWA's rule for one tensor, as PyTorch's `get_swa_avg_fn()`: `avg + (w − avg)/(n + 1)`, the equal average of all
 * n + 1 models (Izmailov et al., 2018, Algorithm 1, https://arxiv.org/abs/1803.05407).
 * @example new AveragedModel(model, { avgFn: getSwaAvgFn() }) // the same as the default, one op chain per tensor
 */
export function getSwaAvgFn(): AvgFn {
  return (avg, w, n) => avg.add(w.sub(avg).div(n + 1));
}

/**
 * An exponential moving average for one tensor, as PyTorch's `get_ema_avg_fn(decay)`: `decay·avg + (1 − decay)·w`.
 * @example new AveragedModel(model, { avgFn: getEmaAvgFn(0.999) })
 */
export function getEmaAvgFn(decay = 0.999): AvgFn {
  checkDecay('getEmaAvgFn', decay);
  return (avg, w) => avg.mul(decay).add(w.mul(1 - decay));
}

/**
 * SWA's rule over all tensors, as PyTorch's `get_swa_multi_avg_fn()`: one in-place lerp kernel per tensor,
 * `avg ← avg + (w − avg)/(n + 1)` (Izmailov et al., 2018, Algorithm 1). This is what the default does.
 * @example new AveragedModel(model, { multiAvgFn: getSwaMultiAvgFn() })
 */
export function getSwaMultiAvgFn(): MultiAvgFn {
  return (avgs, ws, n) => avgs.forEach((a, i) => a.lerp_(ws[i], 1 / (n + 1)));
}

/**
 * An exponential moving average over all tensors, as PyTorch's `get_ema_multi_avg_fn(decay)`: one in-place lerp
 * kernel per tensor, `avg ← avg + (1 − decay)·(w − avg)` = `decay·avg + (1 − decay)·w`.
 * @example const ema = new AveragedModel(model, { multiAvgFn: getEmaMultiAvgFn(0.999), useBuffers: true });
 */
export function getEmaMultiAvgFn(decay = 0.999): MultiAvgFn {
  checkDecay('getEmaMultiAvgFn', decay);
  return (avgs, ws) => avgs.forEach((a, i) => a.lerp_(ws[i], 1 - decay));
}

/**
 * The averaged model of Stochastic Weight Averaging (Izmailov et al., 2018, https://arxiv.org/abs/1803.05407), as
 * PyTorch's `torch.optim.swa_utils.AveragedModel`: a Module holding a deep copy of `model` (`.module`, on the model's
 * device), so `call`/`forward`, `train()`/`eval()`, `updateBn` and `stateDict()` work on the average and never touch
 * the training model. `updateParameters(model)` adds the model's current weights: the first call copies them
 * (w_SWA ← w), later ones apply the rule with n = `nAveraged`, by default the equal average
 * `w_SWA ← w_SWA + (w − w_SWA)/(n + 1)` (Algorithm 1's `(w_SWA·n + w)/(n + 1)`), one lerp kernel per tensor.
 *
 * Its state dict is PyTorch's: `n_averaged` (int64 in checkpoints), then the copy's entries under `module.`.
 *
 * NOTE: with `useBuffers`, BatchNorm's num_batches_tracked follows the model's instead of being averaged: an average
 * of batch counts counts nothing (PyTorch averages it and truncates the result to an integer).
 * NOTE: random generators (Dropout's) are shared with the model, as PyTorch's layers share its global generator, so a
 * training-mode pass of the average (updateBn) draws from the same stream as training.
 * @example
 * const swaModel = new AveragedModel(model);
 * const swaScheduler = new SWALR(opt, { swaLr: 0.05 });
 * for (let epoch = 0; epoch < 100; epoch++) {
 *   trainOneEpoch(model, opt);
 *   if (epoch > swaStart) { swaModel.updateParameters(model); swaScheduler.step(); }
 * }
 * updateBn(loader, swaModel);
 * const preds = swaModel.eval().call(testInput);
 */
export class AveragedModel<M extends Module = Module> extends Module {
  /** The averaged copy of the model (PyTorch's `swa_model.module`). */
  readonly module: M;
  readonly avgFn: AvgFn | null;
  readonly multiAvgFn: MultiAvgFn | null;
  readonly useBuffers: boolean;
  private readonly count: Counter;

  constructor(model: M, opts: AveragedModelOptions = {}) {
    super();
    if (!(model instanceof Module)) throw new TypeError('AveragedModel: model must be a Module');
    if (opts.avgFn && opts.multiAvgFn) throw new Error('AveragedModel: give avgFn or multiAvgFn, not both');
    for (const k of ['avgFn', 'multiAvgFn'] as const) {
      if (opts[k] !== undefined && typeof opts[k] !== 'function') {
        throw new TypeError(`AveragedModel: ${k} must be a function`);
      }
    }
    this.avgFn = opts.avgFn ?? null;
    this.multiAvgFn = opts.multiAvgFn ?? null;
    this.useBuffers = opts.useBuffers ?? false;
    const first = model.stateDict().values().next().value;
    const device = first ? first.backend : defaultBackend();
    this.count = this.counter('n_averaged', full([], 0, { device }));
    this.module = this.child('module', deepcopy(model));
  }

  /** Number of models averaged so far (PyTorch's `n_averaged`, saved in the state dict). */
  get nAveraged(): number {
    return this.count.value;
  }

  /** Runs the averaged copy. */
  forward(x: Tensor): Tensor {
    return this.module.forward(x);
  }

  /**
   * Adds `model`'s current weights to the average (Algorithm 1's capture step): the first call copies them, later calls
   * apply the rule; the buffers are averaged too with `useBuffers`, else copied. Runs on the device, without gradients.
   */
  updateParameters(model: Module): void {
    const name = 'AveragedModel.updateParameters';
    const params = pairs(name, this.module.namedParameters(), model.namedParameters(), 'parameters');
    const bufs = pairs(name, this.module.namedBuffers(), model.namedBuffers(), 'buffers');
    const averaged = this.useBuffers ? [...params, ...bufs.filter(([a]) => !counterOf(a))] : params;
    const copied = this.useBuffers ? bufs.filter(([a]) => counterOf(a)) : bufs;
    const n = this.nAveraged;
    noGrad(() =>
      tidy(() => {
        if (n === 0) {
          for (const [a, w] of averaged) a.copy_(w);
        } else if (this.multiAvgFn) {
          this.multiAvgFn(
            averaged.map(([a]) => a),
            averaged.map(([, w]) => w.detach()),
            n,
          );
        } else if (this.avgFn) {
          for (const [a, w] of averaged) {
            const next = this.avgFn(a, w.detach(), n);
            if (next !== a) a.copy_(next);
          }
        } else {
          for (const [a, w] of averaged) a.lerp_(w, 1 / (n + 1));
        }
        for (const [a, w] of copied) {
          const c = counterOf(a);
          if (c) c.set(counterOf(w)?.value ?? 0);
          else a.copy_(w);
        }
      }),
    );
    this.count.set(n + 1);
  }
}

const SAME = 'pass the model it was made from';

/** The (average, model) tensor pairs by name; throws naming the first difference. */
function pairs(name: string, mine: [string, Tensor][], theirs: [string, Tensor][], what: string): [Tensor, Tensor][] {
  const other = new Map(theirs);
  if (other.size !== mine.length) {
    throw new Error(`${name}: the model has ${other.size} ${what}, the averaged copy ${mine.length}; ${SAME}`);
  }
  return mine.map(([k, a]) => {
    const w = other.get(k);
    if (!w) throw new Error(`${name}: the model has no ${k}, which the averaged copy has; ${SAME}`);
    if (w.shape.length !== a.shape.length || w.shape.some((d, i) => d !== a.shape[i])) {
      const [m, v] = [w.shape.join(', '), a.shape.join(', ')];
      throw new Error(`${name}: ${k} is [${m}] in the model but [${v}] in the average; ${SAME}`);
    }
    return [a, w];
  });
}
