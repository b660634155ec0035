// Results tables shaped like Table 1 of the SWA paper: run records grouped by data set, model and (method, budget),
// written as markdown (mean ± std over seeds), as JSON, and every run as CSV.

import { formatSummary, meanStd, MISSING, type MeanStd } from './stats.ts';

/** Training methods a run record can describe. */
export type Method = 'SGD' | 'SWA' | 'FGE' | 'SWAG';

/** Every `Method`, in the order the paper's tables list them. */
export const METHODS: readonly Method[] = ['SGD', 'FGE', 'SWA', 'SWAG'];

/**
 * One finished training run. `accuracy` and `ece` are fractions in [0, 1] (tables show accuracy in %); `nll` is the
 * mean test negative log-likelihood; `budget` is in budgets (1.25 = 1.25 × the SGD epochs of the baseline), `epochs`
 * the epochs actually run, so `epochs / budget` is the budget in epochs that Table 1 prints beside the model.
 */
export interface RunRecord {
  model: string;
  dataset: string;
  method: Method;
  budget: number;
  seed: number;
  accuracy: number;
  nll: number;
  ece?: number;
  epochs: number;
  seconds: number;
}

/** A table column: the runs of one method at one budget. `label` overrides the generated header. */
export interface Column {
  method: Method;
  budget: number;
  label?: string;
}

/** The columns of Table 1 in Izmailov et al. 2018: SGD, FGE (1 budget) and SWA at 1, 1.25 and 1.5 budgets. */
export const TABLE1_COLUMNS: readonly Column[] = [
  { method: 'SGD', budget: 1 },
  { method: 'FGE', budget: 1 },
  { method: 'SWA', budget: 1 },
  { method: 'SWA', budget: 1.25 },
  { method: 'SWA', budget: 1.5 },
];

/** A SWAG column at one budget (Maddox et al. 2019), to append: `[...TABLE1_COLUMNS, SWAG_COLUMN]`. */
export const SWAG_COLUMN: Column = { method: 'SWAG', budget: 1 };

/** Header of a column: its `label`, else "SWA (1.25 Budgets)" style. */
export function columnLabel(c: Column): string {
  return c.label ?? `${c.method} (${trim(c.budget)} Budget${c.budget === 1 ? '' : 's'})`;
}

/** The runs of one row in one column, and their statistics (accuracy and ECE as fractions). */
export interface Cell {
  column: Column;
  runs: RunRecord[];
  accuracy: MeanStd;
  nll: MeanStd;
  /** Over the runs that report an ECE (n counts those). */
  ece: MeanStd;
}

/** One model on one data set. `budgetEpochs` lists the distinct `epochs / budget` of its runs (one when consistent). */
export interface Row {
  dataset: string;
  model: string;
  budgetEpochs: number[];
  cells: Cell[];
}

/**
 * Groups runs into rows (data sets in order of first appearance, models within a data set likewise) and cells (one per
 * column, runs sorted by seed). Runs matching no column are left out; rows without any matching run are not made.
 * Throws on an invalid record or on two runs with the same model, data set, method, budget and seed.
 */
export function tableRows(records: readonly RunRecord[], columns: readonly Column[] = TABLE1_COLUMNS): Row[] {
  checkRecords(records);
  const groups = new Map<string, { dataset: string; model: string; runs: RunRecord[] }>();
  const datasets: string[] = [];
  for (const r of records) {
    if (!columns.some((c) => matches(r, c))) continue;
    if (!datasets.includes(r.dataset)) datasets.push(r.dataset);
    const key = JSON.stringify([r.dataset, r.model]);
    const g = groups.get(key) ?? { dataset: r.dataset, model: r.model, runs: [] };
    g.runs.push(r);
    groups.set(key, g);
  }
  const rows: Row[] = [];
  for (const d of datasets) {
    for (const g of groups.values()) {
      if (g.dataset !== d) continue;
      const cells = columns.map((column) => {
        const runs = g.runs.filter((r) => matches(r, column)).sort((a, b) => a.seed - b.seed);
        const ece = runs.flatMap((r) => (r.ece === undefined ? [] : [r.ece]));
        return {
          column,
          runs,
          accuracy: meanStd(runs.map((r) => r.accuracy)),
          nll: meanStd(runs.map((r) => r.nll)),
          ece: meanStd(ece),
        };
      });
      const epochs = [...new Set(g.runs.map((r) => round(r.epochs / r.budget)))].sort((a, b) => a - b);
      rows.push({ dataset: g.dataset, model: g.model, budgetEpochs: epochs, cells });
    }
  }
  return rows;
}

/** Options of `markdownTable`. */
export interface MarkdownOptions {
  columns?: readonly Column[];
  /** Where test NLL goes: nowhere (default), in each cell after the accuracy ("acc / nll"), or in a second table. */
  nll?: 'none' | 'cell' | 'table';
  /** Digits after the point for accuracy in % (default 2) and NLL (default 3). */
  accuracyDigits?: number;
  nllDigits?: number;
}

/**
 * A markdown table in the shape of Table 1 (Izmailov et al. 2018): one row per data set and model, labelled
 * "Model (budget in epochs)", one column per (method, budget), each cell "mean ± sample std" of test accuracy in %
 * over seeds ("–" where there are no runs, no ± for a single run). A caption line precedes each table.
 *
 * @example
 * markdownTable(runs, { columns: [...TABLE1_COLUMNS, SWAG_COLUMN], nll: 'table' })
 */
export function markdownTable(records: readonly RunRecord[], options: MarkdownOptions = {}): string {
  const columns = options.columns ?? TABLE1_COLUMNS;
  const rows = tableRows(records, columns);
  const acc = (c: Cell): string => formatSummary(scaled(c.accuracy, 100), options.accuracyDigits ?? 2);
  const nll = (c: Cell): string => formatSummary(c.nll, options.nllDigits ?? 3);
  const seeds = seedsPhrase(rows);
  const mode = options.nll ?? 'none';
  if (mode === 'cell') {
    const both = (c: Cell): string => (c.runs.length ? `${acc(c)} / ${nll(c)}` : MISSING);
    return markdown(`Test accuracy (%) / test NLL, mean ± sample std over ${seeds}.`, rows, columns, both);
  }
  const accuracyTable = markdown(`Test accuracy (%), mean ± sample std over ${seeds}.`, rows, columns, acc);
  if (mode === 'none') return accuracyTable;
  return `${accuracyTable}\n${markdown(`Test NLL, mean ± sample std over ${seeds}.`, rows, columns, nll)}`;
}

/** Mean and std as JSON-safe numbers (null where undefined: no runs, or one run for std). */
export interface JsonStat {
  n: number;
  mean: number | null;
  std: number | null;
}

/** The JSON form of a results table; accuracy and ECE stay fractions, `runs` holds every record given. */
export interface ReportJson {
  columns: { method: Method; budget: number; label: string }[];
  rows: {
    dataset: string;
    model: string;
    budgetEpochs: number[];
    cells: { method: Method; budget: number; seeds: number[]; accuracy: JsonStat; nll: JsonStat; ece: JsonStat }[];
  }[];
  runs: RunRecord[];
}

/** The table of `tableRows` plus every run, as plain data for `JSON.stringify` (no NaN: undefined values are null). */
export function reportJson(records: readonly RunRecord[], columns: readonly Column[] = TABLE1_COLUMNS): ReportJson {
  const rows = tableRows(records, columns);
  return {
    columns: columns.map((c) => ({ method: c.method, budget: c.budget, label: columnLabel(c) })),
    rows: rows.map((r) => ({
      dataset: r.dataset,
      model: r.model,
      budgetEpochs: r.budgetEpochs,
      cells: r.cells.map((c) => ({
        method: c.column.method,
        budget: c.column.budget,
        seeds: c.runs.map((x) => x.seed),
        accuracy: jsonStat(c.accuracy),
        nll: jsonStat(c.nll),
        ece: jsonStat(c.ece),
      })),
    })),
    runs: records.map((r) => ({ ...r })),
  };
}

/** Header of `runsCsv`, in column order. */
export const CSV_FIELDS = [
  'model',
  'dataset',
  'method',
  'budget',
  'seed',
  'epochs',
  'accuracy',
  'nll',
  'ece',
  'seconds',
] as const;

/**
 * Every run as CSV (RFC 4180 quoting: a field holding a comma, quote, CR, LF or leading/trailing space is wrapped in
 * double quotes, with quotes doubled). Numbers are written in full (shortest round-trip form); a missing ECE is empty.
 * Rows end in "\n" rather than RFC 4180's "\r\n"; spreadsheets and CSV readers accept both.
 */
export function runsCsv(records: readonly RunRecord[]): string {
  checkRecords(records);
  const lines = [CSV_FIELDS.join(',')];
  for (const r of records) lines.push(CSV_FIELDS.map((f) => csvField(r[f])).join(','));
  return `${lines.join('\n')}\n`;
}

/** One CSV field, quoted when it must be. */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const s = String(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function markdown(
  caption: string,
  rows: readonly Row[],
  columns: readonly Column[],
  cell: (c: Cell) => string,
): string {
  const head = ['Dataset', 'DNN (Budget)', ...columns.map(columnLabel)];
  const lines = [caption, '', line(head), line(head.map((_, i) => (i < 2 ? '---' : '---:')))];
  for (const r of rows) {
    const name = r.budgetEpochs.length ? `${r.model} (${r.budgetEpochs.map(trim).join('/')})` : r.model;
    lines.push(line([r.dataset, name, ...r.cells.map(cell)]));
  }
  return `${lines.join('\n')}\n`;
}

function line(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|')).join(' | ')} |`;
}

/** "3 seeds", or "1–3 seeds" when cells hold different numbers of runs. */
function seedsPhrase(rows: readonly Row[]): string {
  const ns = rows.flatMap((r) => r.cells.map((c) => c.runs.length)).filter((n) => n > 0);
  if (ns.length === 0) return '0 seeds';
  const lo = Math.min(...ns);
  const hi = Math.max(...ns);
  return `${lo === hi ? lo : `${lo}–${hi}`} seed${hi === 1 ? '' : 's'}`;
}

function checkRecords(records: readonly RunRecord[]): void {
  const seen = new Set<string>();
  records.forEach((r, i) => {
    const bad = (what: string): never => {
      throw new RangeError(`run record ${i} (${r.model} on ${r.dataset}): ${what}`);
    };
    if (!METHODS.includes(r.method))
      bad(`unknown method ${JSON.stringify(r.method)}, expected one of ${METHODS.join(', ')}`);
    if (typeof r.budget !== 'number' || !(r.budget > 0) || !Number.isFinite(r.budget))
      bad(`budget must be a positive number of budgets, got ${r.budget}`);
    // NOTE: typeof checks first: null >= 0 is true in JavaScript, and a null metric must never show as 0.
    const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    if (!(num(r.accuracy) && r.accuracy >= 0 && r.accuracy <= 1))
      bad(`accuracy must be a fraction in [0, 1], got ${r.accuracy}`);
    if (!(num(r.nll) && r.nll >= 0)) bad(`nll must be a finite number ≥ 0, got ${r.nll}`);
    if (r.ece !== undefined && !(num(r.ece) && r.ece >= 0 && r.ece <= 1))
      bad(`ece must be a fraction in [0, 1], got ${r.ece}`);
    if (!num(r.seed)) bad(`seed must be a number, got ${r.seed}`);
    if (!(num(r.epochs) && r.epochs >= 0)) bad(`epochs must be ≥ 0, got ${r.epochs}`);
    if (!(num(r.seconds) && r.seconds >= 0)) bad(`seconds must be a finite number ≥ 0, got ${r.seconds}`);
    const key = JSON.stringify([r.model, r.dataset, r.method, round(r.budget), r.seed]);
    if (seen.has(key)) bad(`duplicate run (same model, data set, method, budget ${r.budget} and seed ${r.seed})`);
    seen.add(key);
  });
}

/** Budgets match to 1e-9 so 1.25 computed as 250 / 200 still finds its column. */
function matches(r: RunRecord, c: Column): boolean {
  return r.method === c.method && Math.abs(r.budget - c.budget) < 1e-9;
}

function scaled(s: MeanStd, k: number): MeanStd {
  return { n: s.n, mean: s.mean * k, std: s.std * k };
}

function jsonStat(s: MeanStd): JsonStat {
  const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return { n: s.n, mean: num(s.mean), std: num(s.std) };
}

/** Rounded to 6 decimals, so 1.25 and 250 / 200 or 200.0000001 compare equal. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** A number with at most 2 decimals and no trailing zeros: 1.25, 1.5, 200. */
function trim(x: number): string {
  return String(Math.round(x * 100) / 100);
}
