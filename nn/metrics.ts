// Device-side running sums of loss and correct predictions, read back only when a report is due.

import {
  axpbyInPlace,
  eq,
  full,
  keep,
  max,
  mul,
  noGrad,
  oneHot,
  sum,
  tidy,
  type Backend,
  type Tensor,
} from '../engine/index.ts';

/** Number of rows whose label holds the row's maximum logit (a tie with another class counts as correct). */
export function countCorrect(logits: Tensor, labels: Tensor): Tensor {
  return noGrad(() =>
    tidy(() => {
      const isMax = eq(logits, max(logits, 1, true));
      return sum(mul(isMax, oneHot(labels, logits.shape[1])));
    }),
  );
}

/**
 * Sums of loss·batch and correct counts kept on the device (and, when asked, of every step's squared gradient norm);
 * `read` costs one read-back. A NaN or infinite batch loss makes the loss sum non-finite, so the read that is due
 * anyway shows a divergence without any extra sync.
 */
export class RunningMetrics {
  private readonly lossSum: Tensor;
  private readonly correct: Tensor;
  private readonly gradSq: Tensor | null;
  count = 0;
  /** Steps whose gradients were added. */
  gradSteps = 0;

  constructor(device: Backend, opts: { gradNorm?: boolean } = {}) {
    this.lossSum = keep(full([], 0, { device }));
    this.correct = keep(full([], 0, { device }));
    this.gradSq = opts.gradNorm ? keep(full([], 0, { device })) : null;
  }

  /** Whether `addGradients` should be called every step. */
  get tracksGradients(): boolean {
    return this.gradSq !== null;
  }

  /** Adds one step's squared gradient norm Σ‖g‖² over `params` (those with a gradient), on the device. */
  addGradients(params: readonly Tensor[]): void {
    const acc = this.gradSq;
    if (!acc) return;
    noGrad(() =>
      tidy(() => {
        for (const p of params) if (p.grad) axpbyInPlace(acc, sum(mul(p.grad, p.grad)), 1, 1);
      }),
    );
    this.gradSteps++;
  }

  /** Adds a batch: its mean loss (a scalar tensor), its logits and labels. */
  add(meanLoss: Tensor, logits: Tensor, labels: Tensor): void {
    const n = logits.shape[0];
    axpbyInPlace(this.lossSum, meanLoss, 1, n);
    const c = countCorrect(logits, labels);
    axpbyInPlace(this.correct, c, 1, 1);
    c.dispose();
    this.count += n;
  }

  /**
   * Mean loss and accuracy so far (reads two scalars back), and with gradient tracking the root mean square over
   * steps of the gradient norm, √(Σ‖g‖² / steps). Before any batch, loss and accuracy are NaN.
   */
  async read(): Promise<{ loss: number; accuracy: number; count: number; gradNorm?: number }> {
    const [l, c, g] = await Promise.all([this.lossSum.item(), this.correct.item(), this.gradSq?.item()]);
    const r = { loss: this.count ? l / this.count : NaN, accuracy: this.count ? c / this.count : NaN };
    if (g === undefined) return { ...r, count: this.count };
    return { ...r, count: this.count, gradNorm: this.gradSteps ? Math.sqrt(g / this.gradSteps) : NaN };
  }

  reset(): void {
    this.lossSum.zero_();
    this.correct.zero_();
    this.gradSq?.zero_();
    this.count = 0;
    this.gradSteps = 0;
  }

  dispose(): void {
    this.lossSum.dispose();
    this.correct.dispose();
    this.gradSq?.dispose();
  }
}
