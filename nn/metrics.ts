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

/** Sums of loss·batch and correct counts kept on the device; `read` costs one read-back. */
export class RunningMetrics {
  private readonly lossSum: Tensor;
  private readonly correct: Tensor;
  count = 0;

  constructor(device: Backend) {
    this.lossSum = keep(full([], 0, { device }));
    this.correct = keep(full([], 0, { device }));
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

  /** Mean loss and accuracy so far (reads two scalars back). */
  async read(): Promise<{ loss: number; accuracy: number; count: number }> {
    const [l, c] = await Promise.all([this.lossSum.item(), this.correct.item()]);
    return { loss: this.count ? l / this.count : NaN, accuracy: this.count ? c / this.count : NaN, count: this.count };
  }

  reset(): void {
    this.lossSum.zero_();
    this.correct.zero_();
    this.count = 0;
  }

  dispose(): void {
    this.lossSum.dispose();
    this.correct.dispose();
  }
}
