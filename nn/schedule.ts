// Learning-rate schedules as pure functions of training progress.

/**
 * The SWA paper's SGD baseline (Izmailov et al., 2018, §5): α1 for the first 50% of the budget, then linear decay
 * to 0.01·α1 at 90%, constant afterwards. `t` is the fraction of the budget done (epoch / budget), in [0, ∞).
 */
export function sgdBaselineLr(t: number, alpha1: number, finalRatio = 0.01): number {
  if (!(t >= 0)) throw new Error(`sgdBaselineLr: progress must be ≥ 0, got ${t}`);
  if (!(alpha1 >= 0)) throw new Error(`sgdBaselineLr: α1 must be ≥ 0, got ${alpha1}`);
  if (t <= 0.5) return alpha1;
  if (t <= 0.9) return alpha1 * (1 - ((1 - finalRatio) * (t - 0.5)) / 0.4);
  return alpha1 * finalRatio;
}
