// swa/analysis on the engine: points are evaluated with BN recomputed (checked against an independent pass), equal
// weights give identical metrics, the line's ends and the rays' starts reproduce the solutions' metrics exactly, on
// every backend; then end to end on the mini set: a runner folder analysed by the CLI with --quick settings (figures,
// JSON, CSV), a library run interrupted and resumed without recomputing, a killed CLI resumed, and bad options.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { crossEntropy, keep, mean, noGrad, tensor, tidy } from '../engine/index.ts';
import { Generator } from '../engine/random.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { DataLoader } from '../nn/data/loader.ts';
import { loadFashionMnistMini } from '../nn/data/node-files.ts';
import { FASHION_MNIST_STATS } from '../nn/data/normalize.ts';
import { SmallCnn } from '../nn/models/small-cnn.ts';
import {
  AnalysisInterrupted,
  analyzeRun,
  flatFromModel,
  line,
  paramLayout,
  PointEvaluator,
  PointStore,
  rays,
  type AnalysisContext,
  type PointMetrics,
} from '../swa/analysis/index.ts';
import { acquireLock } from '../swa/runner-lock.ts';
import { runTable1, RunLockedError } from '../swa/runner.ts';
import { testBackends } from './util/backends.ts';

const backends: Backend[] = await testBackends();
const root = mkdtempSync(join(tmpdir(), 'swa-analysis-run-'));
const repo = new URL('../..', import.meta.url).pathname;

/** n images 1×8×8 of 3 classes (a bright bar in rows 2k + 1, 2k + 2 on noise). */
function tinyData(n: number, seed: number): Dataset {
  const g = new Generator(seed);
  const images = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = g.int(3);
    labels[i] = k;
    for (let p = 0; p < 64; p++) images[i * 64 + p] = 0.3 * g.uniform();
    for (let y = 0; y < 2; y++) for (let x = 2; x < 6; x++) images[i * 64 + (1 + 2 * k + y) * 8 + x] += 1;
  }
  return { images, labels, n, shape: [1, 8, 8], classes: 3 };
}

const sets = { bn: tinyData(24, 1), train: tinyData(20, 2), test: tinyData(18, 3) };
const norm = { mean: [0.2], std: [0.4] };
const sameMetrics = (a: PointMetrics, b: PointMetrics, what: string): void => assert.equal(a, b, what);

function bench(be: Backend): { evaluator: PointEvaluator; model: SmallCnn; w: Float32Array[] } {
  const model = new SmallCnn({
    inChannels: 1,
    size: 8,
    classes: 3,
    widths: [4, 4, 8],
    device: be,
    generator: new Generator(1),
  });
  const layout = paramLayout(model);
  const evaluator = new PointEvaluator(model, layout, sets, {
    device: be,
    normalize: norm,
    bnBatchSize: 8,
    evalBatchSize: 7,
    weightDecay: 5e-4,
  });
  // Three weight vectors: the initial ones and two random perturbations of them.
  const g = new Generator(5);
  const w0 = new Float32Array(layout.size);
  model.namedParameters().forEach(([, t], i) =>
    w0.set(
      new Float32Array(t.size).map(() => 0.3 * g.normal()),
      layout.offsets[i],
    ),
  );
  const w = [0, 1, 2].map((k) => w0.map((v) => v + 0.05 * k * g.normal()));
  return { evaluator, model, w };
}

function context(evaluator: PointEvaluator, store: PointStore): AnalysisContext {
  return {
    evaluator,
    store,
    predictionsDir: join(root, 'pred'),
    progress: false,
    stats: { computed: 0, reused: 0, seconds: 0 },
  };
}

for (const be of backends) {
  test(`${be.name}: BN recomputed, metrics as an independent forward, equal weights equal metrics`, async () => {
    const { evaluator, model, w } = bench(be);
    const first = await evaluator.evaluate(w[0]);
    // The first BN layer's running mean is the exact mean of the first conv's output over all BN images.
    const bnX = new DataLoader(sets.bn, { batchSize: sets.bn.n, normalize: norm }).next();
    const conv = model.features.modules()[0][1];
    const want = await noGrad(() =>
      tidy(() => keep(mean(conv.forward(tensor(bnX.x, [sets.bn.n, 1, 8, 8], { device: be })), [0, 2, 3]))),
    ).data();
    const got = await model.stateDict().get('features.1.running_mean')!.data();
    want.forEach((v, k) => assert.ok(Math.abs(got[k] - v) < 1e-5, `channel ${k}: running mean ${got[k]} vs ${v}`));
    // The test loss by one eval-mode forward over the whole test set and the engine's crossEntropy.
    model.eval();
    const testX = new DataLoader(sets.test, { batchSize: sets.test.n, normalize: norm }).next();
    const loss = noGrad(() =>
      tidy(() =>
        keep(
          crossEntropy(
            model.forward(tensor(testX.x, [sets.test.n, 1, 8, 8], { device: be })),
            Array.from(sets.test.labels),
          ),
        ),
      ),
    );
    const ce = await loss.item();
    loss.dispose();
    model.train();
    assert.ok(
      Math.abs(first.metrics.testLoss - ce) < 2e-5 * Math.max(1, ce),
      `test loss ${first.metrics.testLoss} vs ${ce}`,
    );
    const l2 = (5e-4 / 2) * w[0].reduce((s, v) => s + v * v, 0);
    assert.ok(Math.abs(first.metrics.trainLossL2 - first.metrics.trainLoss - l2) < 1e-9, 'L2 term is (λ/2)·‖w‖²');
    assert.equal([...(await flatFromModel(model, evaluator.layout))], [...w[0]], "the model holds the point's weights");
    await evaluator.evaluate(w[1]);
    sameMetrics(
      (await evaluator.evaluate(w[0])).metrics,
      first.metrics,
      'recomputed from scratch, whatever came before',
    );
    evaluator.dispose();
    model.dispose();
  });

  test(`${be.name}: the line at t = 0 and 1 and the rays at t = 0 give the solutions' metrics exactly`, async () => {
    const { evaluator, model, w } = bench(be);
    const [sgd, swa] = [w[1], w[2]];
    const store = await PointStore.open(join(root, `${be.name}-line.json`), {});
    const ctx = context(evaluator, store);
    const l = await line(ctx, sgd, swa, { steps: 3, margin: 0.5 });
    const r = await rays(
      ctx,
      [
        { name: 'SGD', weights: sgd },
        { name: 'SWA', weights: swa },
      ],
      {
        directions: 2,
        distance: 3,
        steps: 3,
        seed: 4,
        errorMargin: 0.05,
        lossMargin: 0.1,
      },
    );
    // The solutions evaluated afresh, outside the store.
    const own = { sgd: (await evaluator.evaluate(sgd)).metrics, swa: (await evaluator.evaluate(swa)).metrics };
    sameMetrics(l.metrics[l.t.indexOf(0)], own.swa, 'line t = 0 is w_SWA');
    sameMetrics(l.metrics[l.t.indexOf(1)], own.sgd, 'line t = 1 is w_SGD');
    assert.equal(
      l.marks.map((mk) => mk.distance),
      [0, l.length],
    );
    for (const s of r.solutions) {
      for (const c of s.curves)
        sameMetrics(c.metrics[0], s.name === 'SGD' ? own.sgd : own.swa, `${s.name} ray ${c.direction} at t = 0`);
      assert.ok(
        s.curves[0].metrics[2].testLoss !== s.curves[1].metrics[2].testLoss,
        'different directions lead elsewhere',
      );
    }
    // t = 0 of all four rays and both line ends are two points: 5 line + 2·2·2 ray points evaluated, 6 reused.
    assert.is(ctx.stats.computed, 5 + 8);
    assert.is(ctx.stats.reused, 4);
    evaluator.dispose();
    model.dispose();
  });
}

// ---------- end to end on the mini set ----------

const dataDir = join(repo, 'data/fashion-mnist-mini');
const fullTrain = loadFashionMnistMini({ split: 'train', dir: dataDir });
const fullTest = loadFashionMnistMini({ split: 'test', dir: dataDir });
const head = (ds: Dataset, n: number): Dataset => ({
  ...ds,
  n,
  images: ds.images.subarray(0, n * 784),
  labels: ds.labels.subarray(0, n),
});
const run = join(root, 'run');
const wasm = backends.find((b) => b.name === 'wasm')!;
const QUICK_FLAGS = [
  '--quick',
  '--bn-images',
  '64',
  '--train-images',
  '64',
  '--test-images',
  '64',
  '--device',
  'wasm',
  '--no-progress',
];

/** Runs the analyze CLI; `killWhen` is polled every 20 ms and a true answer kills the process (SIGKILL). */
function cli(args: string[], killWhen?: () => boolean): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'dist/cli/analyze.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const poll = killWhen && setInterval(() => killWhen() && child.kill('SIGKILL'), 20);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      resolve({ code, out, err });
    });
  });
}
const storeSize = (dir: string): number =>
  Object.keys(JSON.parse(readFileSync(join(dir, 'points.json'), 'utf8')).points).length;
const doneLine = (out: string): { computed: number; reused: number } => {
  const m = /analysis done: (\d+) points evaluated .*?, (\d+) from the store/.exec(out);
  assert.ok(m, `summary line in:\n${out}`);
  return { computed: Number(m![1]), reused: Number(m![2]) };
};

test('end to end: the runner on the mini set, then the CLI with --quick writes all figures, JSON and CSV', async () => {
  await runTable1({
    model: 'small-cnn',
    dataset: 'fashion-mnist-mini',
    train: head(fullTrain, 256),
    test: head(fullTest, 200),
    normalize: FASHION_MNIST_STATS,
    budget: 2,
    seeds: [0],
    lr: 0.05,
    batchSize: 32,
    fgeCycle: 0.25,
    swagSamples: 0,
    swaEval: 'budget',
    device: wasm,
    out: run,
    progress: false,
    log: () => undefined,
  });
  const r = await cli([run, ...QUICK_FLAGS]);
  assert.is(r.code, 0, r.err);
  const out = join(run, 'analysis', 'seed-0-quick');
  for (const f of ['line', 'rays', 'plane-fge', 'plane-sgd-swa']) {
    const svg = readFileSync(join(out, `${f}.svg`), 'utf8');
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.trim().endsWith('</svg>'), `${f}.svg`);
    assert.ok(existsSync(join(out, `${f}.json`)) && existsSync(join(out, `${f}.csv`)), `${f} JSON and CSV`);
  }
  for (const f of ['fge-vs-swa.json', 'fge-vs-swa.csv', 'rays-widths.csv', 'summary.md', 'summary.json', 'points.json'])
    assert.ok(existsSync(join(out, f)), f);
  assert.ok(readFileSync(join(out, 'plane-fge.svg'), 'utf8').includes('FGE avg'), 'the FGE average is marked');
  assert.ok(readFileSync(join(out, 'plane-sgd-swa.svg'), 'utf8').includes('>start</text>'), 'the SWA start is marked');
  // rays.csv: header + 2 solutions × 2 directions × 4 distances; plane CSVs: 4×4 grid + marked points.
  assert.is(readFileSync(join(out, 'rays.csv'), 'utf8').trim().split('\n').length, 1 + 2 * 2 * 4);
  assert.is(readFileSync(join(out, 'plane-sgd-swa.csv'), 'utf8').trim().split('\n').length, 1 + 16 + 3);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.is(summary.fgeSnapshots, 4);
  assert.ok(summary.stats.pointsPerSecond > 0, 'points per second reported');
  const line = JSON.parse(readFileSync(join(out, 'line.json'), 'utf8'));
  const sol = Object.fromEntries(
    summary.solutions.map((s: { name: string; metrics: PointMetrics }) => [s.name, s.metrics]),
  );
  assert.equal(line.metrics[line.t.indexOf(0)], sol.SWA);
  assert.equal(line.metrics[line.t.indexOf(1)], sol.SGD);
  const fge = JSON.parse(readFileSync(join(out, 'fge-vs-swa.json'), 'utf8'));
  assert.ok(fge.ensemble.testError >= 0 && fge.ensemble.testError <= 1 && fge.pairs.length === 3);
  const again = await cli([run, ...QUICK_FLAGS]);
  assert.is(again.code, 0, again.err);
  const d = doneLine(again.out);
  assert.is(d.computed, 0, 'a rerun evaluates nothing');
  assert.ok(d.reused >= storeSize(out), 'and reuses every stored point');
  assert.equal(JSON.parse(readFileSync(join(out, 'line.json'), 'utf8')).metrics, line.metrics);
});

test('a second analysis of the same output folder refuses while the first holds it, naming the holder', async () => {
  const out = join(root, 'locked');
  mkdirSync(out, { recursive: true });
  const held = await acquireLock(join(out, 'lock.json'), { what: 'another analysis' });
  try {
    await analyzeRun({
      run,
      out,
      train: head(fullTrain, 256),
      test: head(fullTest, 200),
      device: wasm,
      quick: true,
      progress: false,
      log: () => undefined,
    });
    assert.unreachable('the held lock stops the analysis');
  } catch (e) {
    assert.instance(e, RunLockedError);
    assert.match((e as Error).message, new RegExp(`pid ${process.pid} .*give another --out`));
  } finally {
    await held.release();
  }
  assert.not.ok(existsSync(join(out, 'points.json')), 'nothing was evaluated or written');
});

test('end to end: a library run interrupted after 7 points resumes without evaluating any point twice', async () => {
  const out = join(root, 'interrupted');
  const opts = {
    run,
    out,
    train: head(fullTrain, 256),
    test: head(fullTest, 200),
    device: wasm,
    quick: true,
    bnImages: 64,
    trainImages: 64,
    testImages: 64,
    progress: false,
    log: () => undefined,
  };
  const ac = new AbortController();
  const seen: string[] = [];
  const onPoint = (p: { key: string; computed: boolean }): void => {
    if (!p.computed) return;
    seen.push(p.key);
    if (seen.length === 7) ac.abort();
  };
  try {
    await analyzeRun({ ...opts, signal: ac.signal, onPoint });
    assert.unreachable('the signal stops the analysis');
  } catch (e) {
    assert.instance(e, AnalysisInterrupted);
  }
  assert.is(storeSize(out), 7, 'every point evaluated before the stop is stored');
  const r = await analyzeRun({ ...opts, onPoint });
  assert.is(new Set(seen).size, seen.length, 'no point evaluated twice');
  assert.is(storeSize(out), seen.length);
  assert.is(r.stats.computed, seen.length - 7);
  // The same numbers as the uninterrupted CLI run.
  const cliLine = JSON.parse(readFileSync(join(run, 'analysis', 'seed-0-quick', 'line.json'), 'utf8'));
  r.line!.metrics.forEach((m, i) => {
    for (const k of Object.keys(m) as (keyof PointMetrics)[])
      assert.ok(Math.abs(m[k] - cliLine.metrics[i][k]) < 1e-9, `line point ${i} ${k}`);
  });
});

test('end to end: a CLI run killed mid-way continues from the stored points', async () => {
  const out = join(root, 'killed');
  const storedNow = (): number => {
    try {
      return storeSize(out);
    } catch {
      return 0; // not written yet
    }
  };
  const first = await cli([run, ...QUICK_FLAGS, '--out', out], () => storedNow() >= 6);
  assert.is(first.code, null, 'killed');
  const stored = storeSize(out);
  const second = await cli([run, ...QUICK_FLAGS, '--out', out]);
  assert.is(second.code, 0, second.err);
  const d = doneLine(second.out);
  assert.ok(stored >= 6, 'points were stored before the kill');
  assert.is(d.computed, storeSize(out) - stored, `only the ${storeSize(out) - stored} missing points are evaluated`);
});

test('CLI: bad options end in one line and exit code 2, a bad folder in one line and 1, no stack trace', async () => {
  for (const [args, code, want] of [
    [[run, '--directions', '0'], 2, /^swa-engine analyze: --directions must be an integer ≥ 1, got 0$/],
    [[run, '--plane-margin', 'x'], 2, /^swa-engine analyze: --plane-margin must be a number, got 'x'$/],
    [[run, '--analyses', 'rays,waves'], 2, /--analyses has unknown analysis 'waves'/],
    [[run, '--bogus'], 2, /^swa-engine analyze: unknown option --bogus \(the closest is --\S+\)$/],
    [['--quick'], 2, /^swa-engine analyze: RUN_DIR is required \(the folder `swa --out` wrote\)$/],
    [[join(root, 'nowhere')], 1, /nowhere: no settings\.json/],
  ] as [string[], number, RegExp][]) {
    const r = await cli(args);
    assert.is(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err.trim(), want);
    assert.is(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    assert.not.match(r.err, /\n\s+at /);
  }
});

test.run();
