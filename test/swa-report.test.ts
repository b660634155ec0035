// swa/report: calibration metrics against hand-computed values, mean ± std cells, the Table 1-shaped markdown, CSV
// quoting, JSON, and the atomic report writer. Ticks and SVG figures are in swa-report-svg.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  accuracy,
  brier,
  calibration,
  ece,
  nll,
  reliabilityBins,
  softmaxRows,
  formatMeanStd,
  meanStd,
  markdownTable,
  reportJson,
  runsCsv,
  csvField,
  tableRows,
  TABLE1_COLUMNS,
  SWAG_COLUMN,
  type RunRecord,
  type Method,
  escapeXml,
  lineChart,
} from '../swa/report/index.ts';
import { writeReport } from '../swa/report/files.ts';

const tmp = mkdtempSync(join(tmpdir(), 'swa-report-'));
const close = (a: number, b: number, tol = 1e-6): boolean => Math.abs(a - b) <= tol;
const near = (got: number, want: number, what: string, tol = 1e-6): void =>
  assert.ok(close(got, want, tol), `${what}: ${got} vs ${want}`);

// ---------- calibration ----------

// Rows [0.75, 0.25] ×4 (3 right) and a tie [0.5, 0.5] ×2 (argmax 0; 1 right): each bin's accuracy equals its
// confidence.
const calibrated = {
  probs: new Float32Array([0.75, 0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 0.25, 0.5, 0.5, 0.5, 0.5]),
  labels: [0, 0, 0, 1, 0, 1],
};
// Confidence 0.9 but half right, plus one wrong row at 0.62: ECE = (4·0.4 + 1·0.62) / 5.
const overconfident = {
  probs: new Float32Array([0.9, 0.05, 0.05, 0.9, 0.05, 0.05, 0.9, 0.05, 0.05, 0.9, 0.05, 0.05, 0.3, 0.62, 0.08]),
  labels: [0, 1, 0, 2, 0],
};

test('calibration: a perfectly calibrated set (with a tie) has ECE 0; accuracy, NLL and Brier by hand', () => {
  const { probs, labels } = calibrated;
  const r = calibration(probs, labels, 2);
  assert.is(r.n, 6);
  near(r.accuracy, 4 / 6, 'accuracy');
  near(r.ece, 0, 'ece');
  near(r.nll, (3 * Math.log(4 / 3) + Math.log(4) + 2 * Math.log(2)) / 6, 'nll');
  near(r.brier, (3 * 0.125 + 1.125 + 2 * 0.5) / 6, 'brier');
  assert.is(r.bins.length, 15);
  const used = r.bins.flatMap((b, i) => (b.count ? [[i, b.count, b.confidence, b.accuracy]] : []));
  assert.equal(
    used,
    [
      [7, 2, 0.5, 0.5],
      [11, 4, 0.75, 0.75],
    ],
    '0.5 in (7/15, 8/15], 0.75 in (11/15, 12/15]',
  );
  assert.ok(Number.isNaN(r.bins[0].confidence) && Number.isNaN(r.bins[0].accuracy), 'empty bins hold NaN');
  near(r.bins[3].lower, 3 / 15, 'bin edges', 1e-15);
});

test('calibration: an over-confident model', () => {
  const { probs, labels } = overconfident;
  near(accuracy(probs, labels, 3), 0.4, 'accuracy');
  near(ece(probs, labels, 3), (4 * 0.4 + 0.62) / 5, 'ece');
  near(nll(probs, labels, 3), (-2 * Math.log(0.9) - 2 * Math.log(0.05) - Math.log(0.3)) / 5, 'nll');
  const rowBrier = [
    0.01 + 0.0025 + 0.0025,
    0.81 + 0.9025 + 0.0025,
    0.015,
    0.81 + 0.0025 + 0.9025,
    0.49 + 0.3844 + 0.0064,
  ];
  near(brier(probs, labels, 3), rowBrier.reduce((a, b) => a + b) / 5, 'brier');
  const bins = reliabilityBins(probs, labels, 3);
  assert.is(bins[13].count, 4);
  near(bins[13].accuracy, 0.5, 'acc(B_14)');
  near(bins[13].confidence, 0.9, 'conf(B_14)');
  assert.is(bins[9].count, 1, '0.62 in (9/15, 10/15]');
  near(ece(probs, labels, 3, 1), Math.abs(0.4 - (4 * 0.9 + 0.62) / 5), 'one bin: |accuracy − mean confidence|');
});

test('calibration: edges (zero probability, confidence 1, softmax, bad input)', () => {
  const sure = new Float32Array([1, 0, 0, 1]);
  near(nll(sure, [1, 1], 2), -Math.log(1e-12) / 2, 'log clamped at 1e-12');
  near(brier(sure, [1, 1], 2), 1, 'brier of a certain miss is 2');
  const b = reliabilityBins(sure, [1, 1], 2);
  assert.is(b[14].count, 2, 'confidence 1 in the last bin');
  near(ece(sure, [1, 1], 2), 0.5, 'ece');
  const p = softmaxRows(new Float64Array([0, Math.log(3), 1000, 1000]), 2);
  assert.equal(
    [...p].map((x) => Math.round(x * 1e12) / 1e12),
    [0.25, 0.75, 0.5, 0.5],
  );
  assert.throws(() => accuracy(new Float32Array(5), [0, 0], 2), /multiple of 2/);
  assert.throws(() => accuracy(new Float32Array(4), [0], 2), /2 rows .* 1 labels/);
  assert.throws(() => nll(new Float32Array(4), [0, 2], 2), /label 1 is 2/);
  assert.throws(() => ece(new Float32Array(0), [], 2), /no examples/);
  assert.throws(() => ece(sure, [0, 0], 2, 0), /bins/);
});

// ---------- mean ± std ----------

test('meanStd and formatMeanStd: sample std, n = 1, empty, large offsets', () => {
  assert.is(formatMeanStd([0.9346, 0.9382, 0.9364], { scale: 100 }), '93.64 ± 0.18');
  assert.is(formatMeanStd([0.9364], { scale: 100 }), '93.64');
  assert.is(formatMeanStd([]), '–');
  assert.is(formatMeanStd([0.21, 0.23], { digits: 3 }), '0.220 ± 0.014');
  assert.is(formatMeanStd([-0.0001, 0.0001]), '0.00 ± 0.00', 'no "-0.00"');
  const s = meanStd([1, 2, 3, 4]);
  near(s.mean, 2.5, 'mean', 1e-15);
  near(s.std, Math.sqrt(5 / 3), 'std uses n − 1', 1e-15);
  near(meanStd([1e9 + 1, 1e9 + 2, 1e9 + 3]).std, 1, 'two-pass std survives a large mean', 1e-12);
  assert.ok(Number.isNaN(meanStd([7]).std) && Number.isNaN(meanStd([]).mean));
  assert.throws(() => formatMeanStd([1], { digits: -1 }), /digits/);
});

// ---------- tables ----------

function runs(
  model: string,
  epochs: number,
  method: Method,
  budget: number,
  acc: number[],
  nlls: number[],
): RunRecord[] {
  return acc.map((a, seed) => ({
    model,
    dataset: 'CIFAR-100',
    method,
    budget,
    seed,
    accuracy: a,
    nll: nlls[seed],
    epochs: epochs * budget,
    seconds: 10 + seed,
  }));
}

const records: RunRecord[] = [
  ...runs('VGG-16', 200, 'SGD', 1, [0.7245, 0.7255, 0.7265], [0.3, 0.31, 0.32]),
  ...runs('VGG-16', 200, 'SWA', 1, [0.7379, 0.7391, 0.7403], [0.28, 0.29, 0.3]),
  ...runs('PreResNet-110', 150, 'SGD', 1, [0.7813, 0.7849, 0.7885], [0.9, 0.91, 0.92]),
  ...runs('VGG-16', 200, 'SWA', 1.25, [0.7402, 0.7417, 0.7432], [0.27, 0.28, 0.29]),
  ...runs('VGG-16', 200, 'SWA', 1.5, [0.7402, 0.7427, 0.7452], [0.26, 0.27, 0.28]),
  ...runs('PreResNet-110', 150, 'SWA', 1, [0.796, 0.7977, 0.7994], [0.8, 0.81, 0.82]),
  ...runs('PreResNet-110', 150, 'SWA', 1.25, [0.7995, 0.8018, 0.8041], [0.78, 0.79, 0.8]),
  ...runs('PreResNet-110', 150, 'SWA', 1.5, [0.8035], [0.77]),
  ...runs('PreResNet-110', 150, 'SWA', 2, [0.81], [0.76]), // no column: CSV and JSON only
];

test('markdownTable: Table 1 shape for 2 models × 3 seeds', () => {
  assert.fixture(
    markdownTable(records),
    [
      'Test accuracy (%), mean ± sample std over 1–3 seeds.',
      '',
      '| Dataset | DNN (Budget) | SGD (1 Budget) | FGE (1 Budget) | SWA (1 Budget) | ' +
        'SWA (1.25 Budgets) | SWA (1.5 Budgets) |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
      '| CIFAR-100 | VGG-16 (200) | 72.55 ± 0.10 | – | 73.91 ± 0.12 | 74.17 ± 0.15 | 74.27 ± 0.25 |',
      '| CIFAR-100 | PreResNet-110 (150) | 78.49 ± 0.36 | – | 79.77 ± 0.17 | 80.18 ± 0.23 | 80.35 |',
      '',
    ].join('\n'),
  );
});

test('markdownTable: NLL in the cell or in a second table; SWAG column; custom columns', () => {
  const cols = [
    { method: 'SGD', budget: 1, label: 'SGD' },
    { method: 'SWA', budget: 1.25 },
  ] as const;
  const cell = markdownTable(records, { columns: cols, nll: 'cell' });
  assert.ok(cell.startsWith('Test accuracy (%) / test NLL, mean ± sample std over 3 seeds.\n'), cell);
  assert.ok(
    cell.includes('| CIFAR-100 | VGG-16 (200) | 72.55 ± 0.10 / 0.310 ± 0.010 | 74.17 ± 0.15 / 0.280 ± 0.010 |'),
    cell,
  );
  const two = markdownTable(records, { columns: cols, nll: 'table', nllDigits: 2 });
  const [accPart, nllPart] = two.split('\nTest NLL');
  assert.ok(
    accPart.includes('| --- | --- | ---: | ---: |') && accPart.includes('| 78.49 ± 0.36 | 80.18 ± 0.23 |'),
    two,
  );
  assert.ok(nllPart.includes('| CIFAR-100 | PreResNet-110 (150) | 0.91 ± 0.01 | 0.79 ± 0.01 |'), two);
  const swag = markdownTable(records, { columns: [...TABLE1_COLUMNS, SWAG_COLUMN] });
  assert.ok(swag.includes('| SWA (1.5 Budgets) | SWAG (1 Budget) |') && swag.includes('| 80.35 | – |'), swag);
});

test('tableRows: data sets grouped in order of first appearance; bad records are refused', () => {
  const r = (dataset: string, model: string, seed: number): RunRecord => ({
    model,
    dataset,
    method: 'SGD',
    budget: 1,
    seed,
    accuracy: 0.5,
    nll: 1,
    epochs: 10,
    seconds: 1,
  });
  const rows = tableRows([r('C10', 'A', 0), r('C100', 'B', 0), r('C10', 'B', 0), r('C100', 'B', 1), r('C10', 'A', 1)]);
  assert.equal(
    rows.map((x) => `${x.dataset}/${x.model}/${x.cells[0].runs.length}`),
    ['C10/A/2', 'C10/B/1', 'C100/B/2'],
  );
  assert.throws(() => tableRows([{ ...r('C10', 'A', 0), accuracy: 93.6 }]), /fraction in \[0, 1\]/);
  assert.throws(() => tableRows([r('C10', 'A', 0), r('C10', 'A', 0)]), /duplicate run/);
  assert.throws(() => tableRows([{ ...r('C10', 'A', 0), budget: 0 }]), /budget/);
  const odd = markdownTable([{ ...r('C|10', 'A\nB', 0), epochs: 12.5 }]);
  assert.ok(odd.includes('| C\\|10 | A B (12.5) | 50.00 |'), 'pipes escaped, newlines flattened');
});

test('runsCsv: every run, RFC 4180 quoting, empty ECE', () => {
  const odd: RunRecord[] = [
    {
      model: 'WRN-28-10, "wide"',
      dataset: 'CIFAR-10\nsubset',
      method: 'SWA',
      budget: 1.25,
      seed: 3,
      accuracy: 0.9664,
      nll: 0.1234,
      ece: 0.012,
      epochs: 250,
      seconds: 3600.5,
    },
    {
      model: ' padded',
      dataset: 'CIFAR-10',
      method: 'SGD',
      budget: 1,
      seed: 0,
      accuracy: 0.9618,
      nll: 0.15,
      epochs: 200,
      seconds: 2880,
    },
  ];
  assert.fixture(
    runsCsv(odd),
    [
      'model,dataset,method,budget,seed,epochs,accuracy,nll,ece,seconds',
      '"WRN-28-10, ""wide""","CIFAR-10\nsubset",SWA,1.25,3,250,0.9664,0.1234,0.012,3600.5',
      '" padded",CIFAR-10,SGD,1,0,200,0.9618,0.15,,2880',
      '',
    ].join('\n'),
  );
  assert.is(
    runsCsv(records).trim().split('\n').length,
    1 + 3 * 7 + 2,
    'header + every record, including the no-column one',
  );
  assert.is(csvField('a"b'), '"a""b"');
  assert.is(csvField('plain'), 'plain');
});

test('reportJson: cells with seeds and JSON-safe statistics, all runs kept', () => {
  const j = reportJson(records);
  assert.equal(
    j.columns.map((c) => c.label),
    ['SGD (1 Budget)', 'FGE (1 Budget)', 'SWA (1 Budget)', 'SWA (1.25 Budgets)', 'SWA (1.5 Budgets)'],
  );
  assert.equal(
    j.rows.map((r) => [r.model, r.budgetEpochs]),
    [
      ['VGG-16', [200]],
      ['PreResNet-110', [150]],
    ],
  );
  const single = j.rows[1].cells[4];
  assert.equal(
    [single.seeds, single.accuracy.n, single.accuracy.std, single.ece.n, single.ece.mean],
    [[0], 1, null, 0, null],
  );
  near(j.rows[0].cells[0].accuracy.mean ?? NaN, 0.7255, 'fractions kept', 1e-12);
  assert.equal(j.rows[0].cells[1], {
    method: 'FGE',
    budget: 1,
    seeds: [],
    accuracy: { n: 0, mean: null, std: null },
    nll: { n: 0, mean: null, std: null },
    ece: { n: 0, mean: null, std: null },
  });
  assert.is(j.runs.length, records.length);
  assert.equal(JSON.parse(JSON.stringify(j)), j, 'round-trips through JSON');
});

// ---------- files ----------

test('writeReport: writes each part atomically and refuses path-like figure names', async () => {
  const dir = join(tmp, 'out', 'nested');
  const svg = lineChart([]);
  const parts = {
    markdown: markdownTable(records),
    csv: runsCsv(records),
    json: reportJson(records),
    svgs: { 'test-error': svg },
  };
  const paths = await writeReport(dir, parts);
  assert.equal(
    paths.map((p) => p.slice(dir.length + 1)),
    ['table.md', 'runs.csv', 'report.json', 'test-error.svg'],
  );
  assert.is(readFileSync(join(dir, 'table.md'), 'utf8'), markdownTable(records));
  assert.equal(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')), reportJson(records));
  assert.is(readFileSync(join(dir, 'test-error.svg'), 'utf8'), svg);
  assert.equal(
    readdirSync(dir).sort(),
    ['report.json', 'runs.csv', 'table.md', 'test-error.svg'],
    'no temporary files left',
  );
  await writeReport(dir, { json: '{"x":1}' });
  assert.is(readFileSync(join(dir, 'report.json'), 'utf8'), '{"x":1}');
  for (const name of ['../evil', 'a/b', '.hidden', '']) {
    try {
      await writeReport(dir, { svgs: { [name]: svg } });
      assert.unreachable(`accepted ${JSON.stringify(name)}`);
    } catch (e) {
      assert.match(String(e), /bad figure name/);
    }
  }
  assert.is(escapeXml(`<&>"'`), '&lt;&amp;&gt;&quot;&apos;');
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
