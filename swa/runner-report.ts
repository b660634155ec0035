// Turns the phase results of every seed into Table 1's run records, the markdown tables (accuracy, NLL, ECE), the
// CSV/JSON of all runs and one test-error-vs-epoch figure per seed, and writes them with writeReport.

import { writeReport } from './report/files.ts';
import { formatSummary } from './report/stats.ts';
import {
  TABLE1_COLUMNS,
  markdownTable,
  reportJson,
  runsCsv,
  tableRows,
  columnLabel,
  type Column,
  type Method,
  type RunRecord,
} from './report/table.ts';
import { testErrorFigure, type EpochPoint } from './report/svg.ts';
import type { Table1Plan } from './runner-config.ts';
import type { FgeResult, SgdResult, SwaResult } from './runner-phases.ts';
import { planFingerprint } from './runner-plan.ts';
import type { TestMetrics } from './runner-train.ts';

/** Everything one seed produced. */
export interface SeedResults {
  seed: number;
  sgd: SgdResult;
  swa: SwaResult;
  fge: FgeResult;
}

/** The columns of this run's tables: Table 1's, then SWAG at each budget it was evaluated at. */
export function reportColumns(plan: Table1Plan): Column[] {
  const swag = plan.swagSamples > 0 ? plan.swagBudgets.map((b) => ({ method: 'SWAG' as const, budget: b })) : [];
  return [...TABLE1_COLUMNS, ...swag];
}

/** One RunRecord per method, budget and seed (SWA at each budget point; SWAG where evaluated). */
export function runRecords(plan: Table1Plan, results: readonly SeedResults[]): RunRecord[] {
  const o = plan.options;
  const base = { model: o.model, dataset: o.dataset };
  const records: RunRecord[] = [];
  for (const r of results) {
    const add = (method: Method, budget: number, t: TestMetrics, epochs: number, seconds: number): void => {
      records.push({
        ...base,
        method,
        budget,
        seed: r.seed,
        accuracy: t.accuracy,
        nll: t.nll,
        ece: t.ece,
        epochs,
        seconds,
      });
    };
    add('SGD', 1, r.sgd.final, plan.budget, r.sgd.seconds);
    add('FGE', 1, r.fge.test, plan.budget, r.fge.seconds);
    for (const p of r.swa.points) {
      add('SWA', p.budget, p.test, p.epochs, p.seconds);
      if (p.swag) add('SWAG', p.budget, p.swag.test, p.epochs, p.seconds + p.swag.seconds);
    }
  }
  return records;
}

/** Expected calibration error (%) per cell, mean ± sample std over seeds, in the layout of `markdownTable`. */
export function eceTable(records: readonly RunRecord[], columns: readonly Column[]): string {
  const rows = tableRows(records, columns);
  const head = ['Dataset', 'DNN (Budget)', ...columns.map(columnLabel)];
  const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const lines = [
    'Test ECE (%, 15 bins), mean ± sample std over seeds.',
    '',
    row(head),
    row(head.map((_, i) => (i < 2 ? '---' : '---:'))),
  ];
  for (const r of rows) {
    const cells = r.cells.map((c) => formatSummary({ n: c.ece.n, mean: 100 * c.ece.mean, std: 100 * c.ece.std }, 2));
    lines.push(row([r.dataset, `${r.model} (${r.budgetEpochs.join('/')})`, ...cells]));
  }
  return `${lines.join('\n')}\n`;
}

/** Test-error figure of one seed: SGD per epoch, the SWA run's iterates (captured ones as circles), w_SWA. */
export function seedFigure(plan: Table1Plan, r: SeedResults): string {
  const point = (epoch: number, accuracy: number | undefined): EpochPoint => ({ epoch, testAccuracy: accuracy });
  return testErrorFigure(
    {
      sgd: r.sgd.history.map((h) => point(h.epoch, h.test?.accuracy)),
      trajectory: r.swa.history.map((h) => point(h.epoch, h.test?.accuracy)),
      iterates: r.swa.history.filter((h) => h.captured).map((h) => point(h.epoch, h.test?.accuracy)),
      swa: r.swa.evaluations.map((e) => point(e.epoch, e.test.accuracy)),
      swaStart: plan.swaStart,
    },
    { title: `${plan.options.model} on ${plan.options.dataset}, seed ${r.seed}: test error vs epoch` },
  );
}

/**
 * Writes table.md (accuracy, NLL and ECE tables), runs.csv, report.json (the table, every run, the settings and each
 * seed's per-epoch histories) and test-error-seed-<seed>.svg into the output folder.
 * @returns the markdown and the paths written.
 */
export async function writeTable1Report(
  plan: Table1Plan,
  results: readonly SeedResults[],
): Promise<{ records: RunRecord[]; markdown: string; files: string[] }> {
  const columns = reportColumns(plan);
  const records = runRecords(plan, results);
  const budgets = plan.points.map((p) => `${p.budget}B = ${p.epochs} epochs`).join(', ');
  const cyclical = plan.schedule === 'cyclical' ? `, α2 ${plan.alpha2}, c ${plan.cycle} iterations` : '';
  const note =
    `SWA ${plan.schedule} (swa lr ${plan.swaLr}${cyclical}) ` +
    `from epoch ${plan.swaStart} of the SGD run; ${budgets}. ` +
    `FGE: cycle ${plan.fgeCycle} epochs, α1 ${plan.fgeAlpha1}, α2 ${plan.fgeAlpha2}. ` +
    (plan.swagSamples > 0
      ? `SWAG: ${plan.swagSamples} samples, scale ${plan.swagScale}, rank ${plan.swagRank}.`
      : 'SWAG: off.');
  const markdown = `${markdownTable(records, { columns, nll: 'table' })}\n${eceTable(records, columns)}\n${note}\n`;
  const svgs: Record<string, string> = {};
  for (const r of results) svgs[`test-error-seed-${r.seed}`] = seedFigure(plan, r);
  const json = {
    ...reportJson(records, columns),
    settings: planFingerprint(plan),
    seeds: results.map((r) => ({
      seed: r.seed,
      sgd: r.sgd.history,
      swa: { history: r.swa.history, evaluations: r.swa.evaluations, points: r.swa.points },
      fge: { history: r.fge.history, snapshots: r.fge.snapshots },
    })),
  };
  const files = await writeReport(plan.options.out, { markdown, csv: runsCsv(records), json, svgs });
  return { records, markdown, files };
}
