// The Table 1 runner end to end on a tiny generated data set, on every backend: report files with every method and
// seed, SWA capture counts against the schedule, bit-identical resumption after an interruption at every epoch, and
// hyperparameter checks that fail before anything is trained or written.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../engine/backend.ts';
import { Generator } from '../engine/random.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { SmallCnn } from '../nn/models/small-cnn.ts';
import { decodeSafetensors, toFloat32 } from '../nn/safetensors.ts';
import {
  expectedCaptures,
  RunInterrupted,
  RunnerConfigError,
  runTable1,
  type Table1Options,
  type Table1Result,
} from '../swa/runner.ts';
import { testBackends } from './util/backends.ts';

const backends: Backend[] = await testBackends();
const root = mkdtempSync(join(tmpdir(), 'swa-runner-'));

/**
 * n images 1×8×8 of 3 classes: class k lights a 2×4 bar (symmetric, so flips keep it) in rows 2k + 1, 2k + 2, on
 * noise.
 */
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

const train = tinyData(64, 1);
const testSet = tinyData(32, 2);

function options(be: Backend, out: string, extra: Partial<Table1Options> = {}): Table1Options {
  return {
    model: 'tiny-cnn',
    dataset: 'tiny',
    train,
    test: testSet,
    device: be,
    out,
    modelFactory: (spec) => new SmallCnn({ ...spec, widths: [4, 4, 8] }),
    normalize: { mean: [0.2], std: [0.4] },
    augment: { flipProb: 0.5 },
    budget: 2,
    seeds: [0, 1],
    lr: 0.1,
    batchSize: 16,
    swagSamples: 3,
    swagBnBatches: 2,
    swagBudgets: [1, 1.5],
    progress: false,
    log: () => undefined,
    ...extra,
  };
}

/** Metrics of every run and evaluation, without wall-clock times. */
function numbers(r: Table1Result): unknown {
  const noTime = <T extends object>(x: T): Omit<T, 'seconds'> => {
    const { seconds: _, ...rest } = x as T & { seconds?: number };
    return rest;
  };
  return {
    records: r.records.map(noTime),
    seeds: r.seeds.map((s) => ({
      sgd: s.sgd.history.map(noTime),
      swa: s.swa.history.map(noTime),
      evaluations: s.swa.evaluations,
      points: s.swa.points.map((p) => ({ ...noTime(p), swag: p.swag && noTime(p.swag) })),
      fge: s.fge.history.map(noTime),
      fgeTest: s.fge.test,
    })),
  };
}

/** Every tensor of a checkpoint file, by name. */
function tensors(path: string): Map<string, Float32Array> {
  const file = decodeSafetensors(readFileSync(path), path);
  return new Map([...file.tensors].map(([name, t]) => [name, toFloat32(t)]));
}

for (const be of backends) {
  test(`${be.name}: whole pipeline writes the table, CSV, JSON and figures with every method and seed`, async () => {
    const out = join(root, `${be.name}-full`);
    const r = await runTable1(options(be, out));
    for (const f of [
      'table.md',
      'runs.csv',
      'report.json',
      'test-error-seed-0.svg',
      'test-error-seed-1.svg',
      'settings.json',
    ]) {
      assert.ok(existsSync(join(out, f)), `${f} written`);
    }
    const md = readFileSync(join(out, 'table.md'), 'utf8');
    for (const label of [
      'SGD (1 Budget)',
      'FGE (1 Budget)',
      'SWA (1 Budget)',
      'SWA (1.25 Budgets)',
      'SWA (1.5 Budgets)',
      'SWAG (1 Budget)',
      'SWAG (1.5 Budgets)',
    ]) {
      assert.ok(md.includes(label), `table has ${label}`);
    }
    assert.ok(md.includes('Test NLL') && md.includes('Test ECE'), 'NLL and ECE tables');
    const csv = readFileSync(join(out, 'runs.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      runs: { method: string; seed: number; budget: number }[];
    };
    for (const seed of [0, 1]) {
      for (const [method, budget] of [
        ['SGD', 1],
        ['FGE', 1],
        ['SWA', 1],
        ['SWA', 1.25],
        ['SWA', 1.5],
        ['SWAG', 1],
        ['SWAG', 1.5],
      ] as const) {
        assert.ok(
          csv.some((c) => c[2] === method && Number(c[3]) === budget && Number(c[4]) === seed),
          `CSV has ${method} ${budget} seed ${seed}`,
        );
        assert.ok(
          json.runs.some((x) => x.method === method && x.budget === budget && x.seed === seed),
          `JSON has ${method} ${budget} seed ${seed}`,
        );
      }
      const svg = readFileSync(join(out, `test-error-seed-${seed}.svg`), 'utf8');
      assert.ok(svg.startsWith('<svg') && svg.includes('SWA iterates') && svg.includes('SGD'), 'figure has its series');
    }
    assert.is(r.records.length, 2 * 7);
    for (const rec of r.records)
      assert.ok(
        rec.accuracy >= 0 && rec.accuracy <= 1 && Number.isFinite(rec.nll) && rec.ece! >= 0,
        `${rec.method} metrics`,
      );
    // The planted patches are easy: the models must have learnt something.
    assert.ok(
      r.records.filter((x) => x.method === 'SWA').every((x) => x.accuracy > 0.5),
      'SWA learns the tiny task',
    );
    // Capture counts: ŵ (end of epoch 0), then once per epoch: n = 2 at 1B (epoch 2), 3 at 1.25B and 1.5B (epoch 3).
    for (const s of r.seeds) {
      assert.equal(
        s.swa.points.map((p) => [p.budget, p.epochs, p.n]),
        [
          [1, 2, 2],
          [1.25, 3, 3],
          [1.5, 3, 3],
        ],
      );
      for (const p of s.swa.points)
        assert.is(p.n, expectedCaptures(r.plan.swaCapture, r.plan.swaStart, p.epochs, r.plan.itersPerEpoch));
      assert.equal(
        s.swa.evaluations.map((e) => [e.epoch, e.n]),
        [
          [2, 2],
          [3, 3],
        ],
        'w_SWA evaluated after every SWA epoch',
      );
      assert.is(s.fge.snapshots, 1, 'FGE: one cycle minimum within the budget');
      assert.equal(
        s.swa.history.map((h) => [h.epoch, h.captured]),
        [
          [1, true],
          [2, true],
          [3, true],
        ],
      );
    }
    // A rerun skips every finished phase and gives the same numbers.
    const lines: string[] = [];
    const again = await runTable1({ ...options(be, out), log: (l) => lines.push(l) });
    assert.is(lines.filter((l) => l.includes('skipped')).length, 6);
    assert.equal(numbers(again), numbers(r));
  });

  test(
    `${be.name}: interrupted after every epoch, ` + 'the reruns reproduce the uninterrupted run bit for bit',
    async () => {
      const full = join(root, `${be.name}-full`);
      const reference = await runTable1(options(be, full, { log: () => undefined }));
      const out = join(root, `${be.name}-resumed`);
      let stops = 0;
      let result: Table1Result | undefined;
      while (!result) {
        const ac = new AbortController();
        try {
          result = await runTable1(options(be, out, { signal: ac.signal, onEpoch: () => ac.abort() }));
        } catch (e) {
          if (!(e instanceof RunInterrupted)) throw e;
          stops++;
        }
        assert.ok(stops < 20, 'terminates');
      }
      assert.is(stops, 2 * (2 + 2 + 1), 'one stop after each epoch of SGD (2), SWA (2) and FGE (1), per seed');
      assert.equal(numbers(result), numbers(reference));
      for (const seed of [0, 1]) {
        for (const phase of ['sgd', 'swa', 'fge']) {
          const a = tensors(join(full, `seed-${seed}`, phase, 'state.safetensors'));
          const b = tensors(join(out, `seed-${seed}`, phase, 'state.safetensors'));
          assert.equal([...b.keys()].sort(), [...a.keys()].sort(), `${phase} checkpoint tensors`);
          for (const [name, v] of a) assert.equal(b.get(name), v, `seed ${seed} ${phase} ${name} bit-identical`);
        }
      }
    },
  );

  test(`${be.name}: FGE with a cycle shorter than an epoch snapshots mid-epoch`, async () => {
    // 4 iterations per epoch, FGE from epoch 1 to 2 with cycle 0.5: two cycles of 2 steps, snapshots after steps 1
    // and 3.
    const out = join(root, `${be.name}-fge-half`);
    const r = await runTable1(options(be, out, { seeds: [0], swagSamples: 0, fgeCycle: 0.5 }));
    assert.is(r.plan.fgeCapture.kind, 'iteration');
    assert.is(r.seeds[0].fge.snapshots, 2);
    assert.is(expectedCaptures(r.plan.fgeCapture, r.plan.swaStart, r.plan.budget, r.plan.itersPerEpoch), 2);
    const fge = r.records.find((x) => x.method === 'FGE')!;
    assert.ok(
      fge.accuracy > 0.5 && Number.isFinite(fge.nll),
      `FGE ensemble of 2 learns the tiny task (acc ${fge.accuracy})`,
    );
  });

  test(`${be.name}: bad hyperparameters are rejected before anything is trained or written`, async () => {
    const cases: [Partial<Table1Options>, RegExp][] = [
      [{ schedule: 'cyclical', swaLr: 0.01, alpha2: 0.05 }, /α2 ≤ α1/],
      [{ schedule: 'cyclical', cycle: 0 }, /cycle c must be an integer ≥ 1/],
      [{ swaStart: 2 }, /swa start must be an epoch in \[1, budget − 1\]/],
      [{ budget: 0 }, /budget must be a whole number of epochs ≥ 1/],
      [{ budget: 1 }, /use a budget ≥ 2/],
      [{ lr: Number.NaN }, /lr must be a finite learning rate > 0/],
      [{ lr: -0.1 }, /lr must be a finite learning rate > 0/],
      [{ swaLr: -1 }, /swa-lr must be a finite learning rate ≥ 0/],
      [{ seeds: [] }, /give at least one seed/],
      [{ seeds: [1, 1] }, /seeds must be distinct/],
      [{ fgeCycle: 0 }, /fge cycle must be a number of epochs > 0/],
      [{ fgeAlpha1: 0.001, fgeAlpha2: 0.01 }, /FGE needs α2 ≤ α1/],
      [{ fgeCycle: 4 }, /FGE takes no snapshot/],
      [{ modelFactory: undefined, model: 'resnet9000' }, /unknown model 'resnet9000'/],
      [{ swagBudgets: [2] }, /swag budgets must be among/],
    ];
    for (const [bad, message] of cases) {
      const out = join(root, `${be.name}-bad`);
      let error: unknown;
      try {
        await runTable1(options(be, out, bad));
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof RunnerConfigError, `${JSON.stringify(bad)} rejected (got ${String(error)})`);
      assert.match((error as Error).message, message);
      assert.not.ok(existsSync(out), 'nothing written');
    }
    // Several problems are reported together.
    const out = join(root, `${be.name}-bad`);
    await runTable1(options(be, out, { lr: Number.NaN, seeds: [] })).then(
      () => assert.unreachable('accepted'),
      (e: Error) => {
        assert.match(e.message, /lr must be/);
        assert.match(e.message, /at least one seed/);
      },
    );
  });
}

const wasm = backends.find((b) => b.name === 'wasm');
if (wasm) {
  test('wasm: the cyclical schedule captures at every cycle end (c = 2 iterations, 4 per epoch)', async () => {
    const out = join(root, 'wasm-cyclical');
    const r = await runTable1(
      options(wasm, out, {
        seeds: [3],
        schedule: 'cyclical',
        cycle: 2,
        alpha2: 0.001,
        swagSamples: 0,
        swaEval: 'budget',
      }),
    );
    // ŵ, then 2 captures per epoch: n = 1 + 2 = 3 after epoch 2 (1B), 1 + 4 = 5 after epoch 3.
    assert.equal(
      r.seeds[0].swa.points.map((p) => p.n),
      [3, 5, 5],
    );
    assert.equal(
      r.seeds[0].swa.evaluations.map((e) => e.epoch),
      [2, 3],
      'w_SWA evaluated only at the budget points',
    );
    assert.not.ok(
      r.records.some((x) => x.method === 'SWAG'),
      'SWAG off',
    );
  });
}

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
