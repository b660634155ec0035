// Reproduces Table 1 of the SWA paper (Izmailov et al., 2018) at any scale: per seed an SGD baseline, SWA branched
// off it at 0.75·B and evaluated at 1, 1.25 and 1.5 budgets, FGE within one budget and SWAG; resumable; reports.

import { mkdir } from 'node:fs/promises';
import type { RunRecord } from './report/table.ts';
import type { Table1Options, Table1Plan } from './runner-config.ts';
import { runFge, runSgd, runSwa } from './runner-phases.ts';
import { planFingerprint, planTable1 } from './runner-plan.ts';
import { writeTable1Report, type SeedResults } from './runner-report.ts';
import { withFolderLock, withPhaseLock } from './runner-lock.ts';
import { checkRunFolder } from './runner-state.ts';

export { planTable1, expectedCaptures } from './runner-plan.ts';
export {
  RunnerConfigError,
  TABLE1_BUDGETS,
  type Table1Options,
  type Table1Plan,
  type BudgetPoint,
  type EpochEvent,
  type PhaseName,
  type SwaScheduleKind,
} from './runner-config.ts';
export { RunInterrupted } from './runner-workbench.ts';
export { type SgdResult, type SwaResult, type FgeResult, type SwaPoint, type SwaEvaluation } from './runner-phases.ts';
export { runRecords, reportColumns, type SeedResults } from './runner-report.ts';
export type { EpochRecord, TestMetrics } from './runner-train.ts';
export { RunFolderError } from './runner-state.ts';
export { RunLockedError, RunLockLostError, type LockHolder } from './runner-lock.ts';

/** What `runTable1` returns: every run record, the markdown tables, the files written and each seed's results. */
export interface Table1Result {
  plan: Table1Plan;
  records: RunRecord[];
  markdown: string;
  files: string[];
  seeds: SeedResults[];
}

/**
 * Runs the Table 1 experiment for one model and data set (Izmailov et al., 2018, §4.1,
 * https://arxiv.org/abs/1803.05407). For each seed:
 * 1. SGD for B epochs with the paper's baseline rate (α1 for 0.5B, linear decay to 0.01·α1 at 0.9B, then constant;
 *    per step), test-evaluated every epoch; it saves the branch checkpoint after epoch swaStart = ⌊0.75·B⌋.
 * 2. SWA continues from that checkpoint (weights, momentum, data order) with the constant rate swa_lr (captures once
 *    per epoch, ŵ first) or the cyclical rate α1 = swa_lr → α2 over c iterations (captures at cycle ends), to 1.5B in
 *    one run; w_SWA is evaluated with recomputed BN statistics at 1, 1.25 and 1.5 budgets (and every epoch, for the
 *    figures). SWAG collects at the same captures and is evaluated by Bayesian model averaging over S samples.
 * 3. FGE also starts from the branch checkpoint and runs FGE's triangular cyclic rate to B, a snapshot per cycle
 *    minimum; its ensemble is evaluated at 1 budget.
 * Every phase checkpoints atomically at every epoch end into `out`; rerunning skips finished phases and resumes an
 * unfinished one from its last epoch, with the same numbers as an uninterrupted run. All settings are checked first,
 * and the data against the model. Each seed's phase runs under a lock file naming its holder, so processes (or
 * machines sharing the folder) given different seeds of one table work side by side, and one given a seed that is
 * being run refuses (`RunLockedError`) or waits (`waitForLock`); stale temporary files are removed under the lock.
 * A NaN or infinite loss or metric stops the run with a `DivergenceError`, keeping the last good checkpoint.
 * @example
 * const r = await runTable1({ model: 'small-cnn', dataset: 'fashion-mnist', train, test,
 *   normalize: FASHION_MNIST_STATS, budget: 4, seeds: [0, 1, 2], lr: 0.05, device, out: 'runs/table1' });
 * console.log(r.markdown);
 */
export async function runTable1(options: Table1Options): Promise<Table1Result> {
  const plan = planTable1(options);
  await mkdir(options.out, { recursive: true });
  await withFolderLock(plan, () => checkRunFolder(options.out, planFingerprint(plan)));
  const log = options.log ?? console.log;
  log(
    `Table 1 run: ${options.model} on ${options.dataset}, budget ${plan.budget} epochs, ` +
      `seeds ${plan.seeds.join(', ')}; ` +
      `SWA/FGE branch at epoch ${plan.swaStart}, ` +
      `SWA points ${plan.points.map((p) => `${p.budget}B=${p.epochs}`).join(' ')}; ` +
      `${plan.itersPerEpoch} iterations per epoch; output in ${options.out}`,
  );
  const seeds: SeedResults[] = [];
  for (const seed of plan.seeds) {
    const sgd = await withPhaseLock(plan, seed, 'sgd', (beat) => runSgd(plan, seed, beat));
    const swa = await withPhaseLock(plan, seed, 'swa', (beat) => runSwa(plan, seed, sgd, beat));
    const fge = await withPhaseLock(plan, seed, 'fge', (beat) => runFge(plan, seed, sgd, beat));
    seeds.push({ seed, sgd, swa, fge });
  }
  const { records, markdown, files } = await withFolderLock(plan, () => writeTable1Report(plan, seeds));
  return { plan, records, markdown, files, seeds };
}
