// The analysis library's plumbing: data subsets, the resumable point store and the option checks (host only).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '../engine/random.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import {
  AnalysisConfigError,
  bandOf,
  combine,
  contentKey,
  contourLevels,
  contourMap,
  csv,
  distance,
  dot,
  isolines,
  levelLabel,
  levelLabels,
  lineGrid,
  linePoint,
  norm,
  planAnalysis,
  planeBasis,
  planeGrid,
  planePoint,
  PointStore,
  project,
  QUICK,
  rayGrid,
  rayPoint,
  seededDirection,
  sideBySide,
  StoreMismatchError,
  subset,
  widthAt,
  type AnalyzeOptions,
  type PointMetrics,
} from '../swa/analysis/index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'swa-analysis-'));

test('subset: n examples without replacement, reproducible from the seed, labels kept with their images', () => {
  const n = 50;
  const images = Float32Array.from({ length: n * 4 }, (_, i) => Math.floor(i / 4));
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const ds: Dataset = { images, labels, n, shape: [1, 2, 2], classes: 3 };
  const s = subset(ds, 20, 7);
  assert.is(s.n, 20);
  const ids = Array.from({ length: 20 }, (_, i) => s.images[i * 4]);
  assert.is(new Set(ids).size, 20, 'distinct examples');
  ids.forEach((id, i) => assert.is(s.labels[i], id % 3, 'label follows its image'));
  assert.equal([...subset(ds, 20, 7).images], [...s.images]);
  assert.not.equal([...subset(ds, 20, 8).images], [...s.images]);
  assert.is(subset(ds, 80, 7), ds);
});

const m = (v: number): PointMetrics => ({
  trainLoss: v,
  trainLossL2: v + 1,
  trainError: 0.5,
  testLoss: v * 2,
  testError: 0.25,
});

test('point store: puts are written atomically, reloaded, kept apart by fingerprint, dropped with fresh', async () => {
  const path = join(tmp, 'points.json');
  const s = await PointStore.open(path, { a: 1 });
  await s.put('k1', 'first', m(1), 0.5);
  await s.put('k2', 'diverged', m(Infinity), 0.5);
  const again = await PointStore.open(path, { a: 1 });
  assert.is(again.loaded, 2);
  assert.is(again.get('k1')?.trainLoss, 1);
  assert.is(again.get('k2')?.trainLoss, Infinity, 'non-finite values survive the JSON');
  assert.is(again.reused, 2);
  try {
    await PointStore.open(path, { a: 2 });
    assert.unreachable('a store of other settings is refused');
  } catch (e) {
    assert.instance(e, StoreMismatchError);
    assert.match((e as Error).message, /a: 1 there, 2 now/);
  }
  assert.is((await PointStore.open(path, { a: 2 }, { fresh: true })).loaded, 0);
  writeFileSync(join(tmp, 'bad.json'), '{');
  await PointStore.open(join(tmp, 'bad.json'), {}).then(
    () => assert.unreachable(),
    (e) => assert.match(e.message, /cannot read it as JSON/),
  );
  assert.ok(readFileSync(path, 'utf8').includes('"diverged"'));
});

test('options: defaults, --quick defaults, and every bad option named at once', () => {
  const base = { run: 'r', train: {} as Dataset, test: {} as Dataset, device: {} } as unknown as AnalyzeOptions;
  const full = planAnalysis(base);
  assert.is(full.rays.directions, 10);
  assert.is(full.plane.grid, 21);
  const quick = planAnalysis({ ...base, quick: true, bnImages: 64 });
  assert.is(quick.rays.directions, QUICK.rays.directions);
  assert.is(quick.bnImages, 64, 'explicit options override --quick');
  try {
    planAnalysis({
      ...base,
      bnImages: 0,
      rays: { steps: 1.5 },
      plane: { margin: -1 },
      analyses: ['rays', 'nope' as 'rays'],
    });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, AnalysisConfigError);
    const opts = (e as AnalysisConfigError).problems.map((p) => p.option);
    assert.equal(opts, ['bnImages', 'rays.steps', 'plane.margin', 'analyses']);
  }
});

test.run();
