// SWAG (Maddox et al., 2019): a Gaussian over the weights SGD visits, with the SWA mean, a diagonal variance and a
// low-rank part from the last K deviations; Bayesian model averaging over samples, each with a BN refresh.

import {
  add,
  Generator,
  keep,
  maximum,
  mul,
  noGrad,
  randn,
  scale,
  sqrt,
  sub,
  tidy,
  type Backend,
  type Tensor,
} from '../engine/index.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { deepcopy, type Module } from '../nn/module.ts';
import { ensemblePredict, type EnsembleOptions, type EnsembleResult } from './ensemble.ts';

/** SWAG's rank K (maxRank, 20 as the paper) and the floor ε on its diagonal variance. */
export interface SwagOptions {
  /** Number of deviation columns kept (K, 20 in the paper). */
  maxRank?: number;
  /** Floor on the diagonal variance (ε). */
  varianceFloor?: number;
}

/**
 * SWAG posterior over a model's parameters: running first and second moments θ̄, θ²̄ and the last K deviations
 * D = [θ_i − θ̄_i], all on the device.
 * Sample: θ = θ̄ + √scale·( √max(θ²̄ − θ̄², ε) ∘ z₁ + D·z₂/√(K − 1) ), z₁ ~ N(0, I_d), z₂ ~ N(0, I_K).
 * @see https://arxiv.org/abs/1902.02476
 * @example
 * const swag = new Swag(model, { maxRank: 20 });
 * // at each SWA capture: swag.collect(model);
 * const refreshBn = (m: Module) => updateBn(trainLoader, m);
 * const r = await swag.evaluate(model, test, device, { samples: 30, scale: 0.5, refreshBn });
 */
export class Swag {
  n = 0;
  readonly maxRank: number;
  readonly varianceFloor: number;
  readonly mean = new Map<string, Tensor>();
  readonly sqMean = new Map<string, Tensor>();
  /** Deviation columns per parameter, a ring of at most maxRank. */
  readonly deviations = new Map<string, Tensor[]>();

  constructor(model: Module, opts: SwagOptions = {}) {
    this.maxRank = opts.maxRank ?? 20;
    this.varianceFloor = opts.varianceFloor ?? 1e-30;
    if (!Number.isInteger(this.maxRank) || this.maxRank < 2)
      throw new Error(`Swag: maxRank must be an integer ≥ 2, got ${this.maxRank}`);
    for (const [name, p] of model.namedParameters()) {
      this.mean.set(name, keep(noGrad(() => scale(p.detach(), 0))));
      this.sqMean.set(name, keep(noGrad(() => scale(p.detach(), 0))));
      this.deviations.set(name, []);
    }
  }

  /** Number of deviation columns held. */
  get rank(): number {
    return Math.min(this.n, this.maxRank);
  }

  /** Adds the model's current weights: updates θ̄ and θ²̄ (equal averages) and stores θ − θ̄ as a deviation column. */
  collect(model: Module): void {
    const k = this.n;
    for (const [name, p] of model.namedParameters()) {
      const m = this.mean.get(name)!;
      const sq = this.sqMean.get(name)!;
      noGrad(() =>
        tidy(() => {
          m.lerp_(p, 1 / (k + 1));
          sq.lerp_(mul(p, p), 1 / (k + 1));
        }),
      );
      const cols = this.deviations.get(name)!;
      const dev = noGrad(() => sub(p.detach(), m));
      if (cols.length < this.maxRank) {
        cols.push(keep(dev));
      } else {
        const slot = cols[k % this.maxRank];
        slot.copy_(dev);
        dev.dispose();
      }
    }
    this.n++;
  }

  /** Draws θ into the model's parameters (BN statistics must then be recomputed, see updateBn). */
  sample(model: Module, opts: { scale?: number; generator?: Generator; diagonalOnly?: boolean } = {}): void {
    if (this.n < 2) throw new Error(`Swag.sample: needs at least 2 collected models, has ${this.n}`);
    const s = Math.sqrt(opts.scale ?? 0.5);
    const g = opts.generator ?? new Generator(0);
    const rank = this.rank;
    const z2 = Array.from({ length: rank }, () => g.normal());
    for (const [name, p] of model.namedParameters()) {
      const m = this.mean.get(name)!;
      const sq = this.sqMean.get(name)!;
      const theta = noGrad(() =>
        tidy(() => {
          const variance = maximum(sub(sq, mul(m, m)), this.varianceFloor);
          let dev = mul(sqrt(variance), randn(p.shape, { device: p.backend, generator: g }));
          if (!opts.diagonalOnly && rank > 1) {
            const cols = this.deviations.get(name)!;
            let low: Tensor = scale(cols[0], z2[0]);
            for (let j = 1; j < rank; j++) low = add(low, scale(cols[j], z2[j]));
            dev = add(dev, scale(low, 1 / Math.sqrt(rank - 1)));
          }
          return add(m, scale(dev, s));
        }),
      );
      noGrad(() => p.copy_(theta));
      theta.dispose();
    }
  }

  /**
   * Bayesian model averaging: the mean softmax over `samples` draws, each followed by `refreshBn(copy)` (one pass of
   * updateBn over training data). The draws go into a copy of `model`; the model itself is never changed.
   * @example await swag.evaluate(model, test, device, { samples: 30, refreshBn: (m) => updateBn(trainLoader, m) });
   */
  async evaluate(
    model: Module,
    data: Dataset,
    device: Backend,
    o: EnsembleOptions & {
      samples?: number;
      scale?: number;
      seed?: number;
      refreshBn: (model: Module) => void;
    },
  ): Promise<EnsembleResult> {
    const copy = deepcopy(model);
    const g = new Generator(o.seed ?? 0);
    try {
      return await ensemblePredict(
        copy,
        o.samples ?? 30,
        (m) => {
          this.sample(m, { scale: o.scale, generator: g });
          o.refreshBn(m);
        },
        data,
        device,
        o,
      );
    } finally {
      copy.dispose();
    }
  }

  dispose(): void {
    for (const t of [...this.mean.values(), ...this.sqMean.values(), ...[...this.deviations.values()].flat()])
      t.dispose();
  }
}
