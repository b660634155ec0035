// SWA learning-rate schedules, value by value against their formulas written out here, and every validation error.
// The capture rules, and how they line up with the schedules, are in swa-capture.test.ts.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  constantLr,
  cyclicalLr,
  fgeTriangularLr,
  piecewise,
  swaReferenceLr,
  swalrAnneal,
  userLr,
  type LrProgress,
  type LrSchedule,
} from '../swa/schedules.ts';
import { sgdBaselineLr } from '../nn/schedule.ts';
import { at, atEpoch, close } from './util/lr-progress.ts';

test('cyclicalLr: α(i) = (1 − t)α1 + tα2, t = (((i − 1) mod c) + 1)/c; α1=0.05, α2=0.01, c=5', () => {
  const lr = cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 5 });
  // t = 0.2, 0.4, 0.6, 0.8, 1 repeating; α = 0.05 − 0.04·t.
  const table: [number, number][] = [
    [1, 0.042],
    [2, 0.034],
    [3, 0.026],
    [4, 0.018],
    [5, 0.01],
    [6, 0.042],
    [7, 0.034],
    [9, 0.018],
    [10, 0.01],
    [11, 0.042],
    [500, 0.01],
    [501, 0.042],
  ];
  for (const [i, want] of table) {
    close(lr(at(i, 3)), want, `i=${i}, 3/epoch`);
    close(lr(at(i, 7)), want, `i=${i}, 7/epoch`); // per iteration: the epoch length does not matter
  }
  close(cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 1 })(at(3, 4)), 0.01, 'c = 1 is α2 at every step (t = 1)');
  close(cyclicalLr({ alpha1: 0.03, alpha2: 0.03, c: 4 })(at(2, 4)), 0.03, 'α1 = α2 is constant');
});

test('cyclicalLr: startEpoch restarts Algorithm 1’s i at 1 on ŵ', () => {
  const lr = cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 5, startEpoch: 2 });
  // 4 iterations per epoch: epoch 2 starts at global iteration 9 = local i 1.
  const table: [number, number][] = [
    [9, 0.042],
    [12, 0.018],
    [13, 0.01],
    [14, 0.042],
    [18, 0.01],
  ];
  for (const [i, want] of table) close(lr(at(i, 4)), want, `global i=${i}`);
  assert.throws(() => lr(at(8, 4)), /cyclicalLr: asked at iteration 8 \(epoch 1\), before its startEpoch 2/);
});

test('constantLr: α(i) = α1 everywhere', () => {
  const lr = constantLr(0.05);
  for (const i of [1, 2, 39, 40, 41, 1000]) close(lr(at(i, 40)), 0.05, `i=${i}`);
  close(constantLr(0)(at(1, 1)), 0, 'a zero rate is allowed');
});

test('swaReferenceLr: the reference code’s per-epoch schedule, SWA run', () => {
  // lr_init 0.1, swa_lr 0.05 → r = 0.5, t = e/20: lr = 0.1 to t = 0.5, 0.1(1 − 0.5(t − 0.5)/0.4) to 0.9, then 0.05.
  const lr = swaReferenceLr({ lrInit: 0.1, epochs: 30, swaStart: 20, swaLr: 0.05 });
  const table: [number, number][] = [
    [0, 0.1],
    [5, 0.1],
    [10, 0.1],
    [11, 0.09375],
    [14, 0.075],
    [16, 0.0625],
    [17, 0.05625],
    [18, 0.05],
    [19, 0.05],
    [20, 0.05],
    [29, 0.05],
    [40, 0.05],
  ];
  for (const [e, want] of table) {
    close(lr(atEpoch(e)), want, `e=${e}`);
    close(lr(atEpoch(e, 0.9)), want, `e=${e}, fraction 0.9 (set once per epoch)`);
  }
  // The VGG-16 recipe: lr_init 0.05, swa_start 161, swa_lr 0.01 (r = 0.2); 0.5·161 = 80.5 and 0.9·161 = 144.9.
  const vgg = swaReferenceLr({ lrInit: 0.05, epochs: 300, swaStart: 161, swaLr: 0.01 });
  const linear = (e: number) => 0.05 * (1 - (0.8 * (e / 161 - 0.5)) / 0.4);
  const vggTable: [number, number][] = [
    [0, 0.05],
    [80, 0.05],
    [81, linear(81)],
    [113, linear(113)],
    [144, linear(144)],
    [145, 0.01],
    [160, 0.01],
    [299, 0.01],
  ];
  for (const [e, want] of vggTable) close(vgg(atEpoch(e)), want, `VGG e=${e}`);
  assert.ok(linear(81) < 0.05 && linear(144) > 0.01, 'the linear piece lies strictly between the two rates');
});

test('swaReferenceLr: SGD baseline (no swaStart) is t = e/epochs, r = 0.01, and equals nn’s sgdBaselineLr', () => {
  const lr = swaReferenceLr({ lrInit: 0.1, epochs: 20 });
  const table: [number, number][] = [
    [0, 0.1],
    [10, 0.1],
    [12, 0.1 * (1 - 0.99 * 0.25)],
    [14, 0.0505],
    [18, 0.001],
    [19, 0.001],
    [25, 0.001],
  ];
  for (const [e, want] of table) close(lr(atEpoch(e)), want, `e=${e}`);
  for (let e = 0; e < 20; e++) close(lr(atEpoch(e)), sgdBaselineLr(e / 20, 0.1), `e=${e} against sgdBaselineLr`);
});

test('swalrAnneal: t = clamp(s/max(1,E), 0, 1), cos and linear, s = epoch − startEpoch + 1', () => {
  // swa_lr 0.05, lr0 0.1, E = 4, startEpoch 10: epoch 9 is s = 0 (just constructed), epoch 14 is s = 5 = E + 1.
  const h = Math.SQRT1_2 / 2; // (1 − cos(π/4))/2 = 1/2 − h
  const cosA = [0, 0.5 - h, 0.5, 0.5 + h, 1, 1];
  const linA = [0, 0.25, 0.5, 0.75, 1, 1];
  const cos = swalrAnneal({ swaLr: 0.05, lr0: 0.1, annealEpochs: 4, strategy: 'cos', startEpoch: 10 });
  const lin = swalrAnneal({ swaLr: 0.05, lr0: 0.1, annealEpochs: 4, strategy: 'linear', startEpoch: 10 });
  for (let s = 0; s <= 5; s++) {
    const e = 9 + s;
    close(cos(atEpoch(e)), cosA[s] * 0.05 + (1 - cosA[s]) * 0.1, `cos s=${s}`);
    close(lin(atEpoch(e)), linA[s] * 0.05 + (1 - linA[s]) * 0.1, `linear s=${s}`);
    close(cos(atEpoch(e, 0.75)), cos(atEpoch(e)), `cos s=${s}: constant within the epoch`);
  }
  close(cos(atEpoch(11)), 0.075, 'cos midpoint s=2: a = 1/2');
  close(lin(atEpoch(10)), 0.0875, 'linear s=1');
  close(cos(atEpoch(3)), 0.1, 's < 0 clamps to lr0');
  close(cos(atEpoch(100)), 0.05, 'far past the anneal: swa_lr');
  // E = 0: PyTorch forces s = max(1, s), so the rate is swa_lr from construction on.
  const now = swalrAnneal({ swaLr: 0.05, lr0: 0.1, annealEpochs: 0, strategy: 'cos', startEpoch: 10 });
  for (const e of [9, 10, 12]) close(now(atEpoch(e)), 0.05, `E=0, epoch ${e}`);
  // PyTorch's defaults: E = 10, 'cos'.
  const dflt = swalrAnneal({ swaLr: 0.05, lr0: 0.1, startEpoch: 0 });
  close(dflt(atEpoch(4)), 0.075, 'default E=10, cos: s = 5 is the midpoint');
});

test('fgeTriangularLr: t = ((e mod cycle) + fraction)/cycle, α1 → α2 at t = 0.5 → α1', () => {
  const [a1, a2] = [0.05, 0.0001];
  const lr = fgeTriangularLr({ alpha1: a1, alpha2: a2, cycle: 4 });
  const up = (t: number) => (1 - 2 * t) * a1 + 2 * t * a2;
  const down = (t: number) => (2 * t - 1) * a1 + (2 - 2 * t) * a2;
  const table: [number, number, number][] = [
    // epoch, fraction, expected
    [0, 0, a1],
    [0, 0.5, up(0.125)],
    [1, 0, 0.02505],
    [1, 0.5, up(0.375)],
    [2, 0, a2],
    [2, 0.5, down(0.625)],
    [3, 0, 0.02505],
    [3, 0.5, down(0.875)],
    [4, 0, a1],
    [5, 0, 0.02505],
    [6, 0, a2],
    [19, 0.5, down(0.875)],
  ];
  for (const [e, f, want] of table) close(lr(atEpoch(e, f)), want, `e=${e}, fraction=${f}`);
  close(lr(atEpoch(3, 0.999)), down(3.999 / 4), 't → 1 approaches α1 again');
  assert.ok(Math.abs(lr(atEpoch(3, 0.999)) - a1) < 1e-4, 'continuous at the cycle boundary');
  const late = fgeTriangularLr({ alpha1: a1, alpha2: a2, cycle: 2, startEpoch: 20 });
  close(late(atEpoch(20)), a1, 'startEpoch: t = 0 at its first epoch');
  close(late(atEpoch(21)), a2, 'cycle 2: mid-cycle is the start of the second epoch');
  assert.throws(() => late(atEpoch(19)), /fgeTriangularLr: asked at epoch 19, before its startEpoch 20/);
});

test('userLr and piecewise: the SGD baseline, then the SWA cyclical rate from its own start', () => {
  const sgd = userLr((p) => sgdBaselineLr(p.epoch / 4, 0.1), 'sgd baseline');
  const lr = piecewise([
    { until: 4, schedule: sgd },
    { until: Infinity, schedule: cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 5, startEpoch: 4 }) },
  ]);
  const n = 3;
  // 3 iterations per epoch: epochs 0..3 run the baseline at t = e/4 (epoch 3: 0.1(1 − 0.99·0.25/0.4) = 0.038125),
  // then global iteration 13 is Algorithm 1's i = 1.
  const table: [number, number][] = [
    [1, 0.1],
    [7, 0.1],
    [9, 0.1],
    [10, 0.038125],
    [12, 0.038125],
    [13, 0.042],
    [17, 0.01],
    [18, 0.042],
  ];
  for (const [i, want] of table) close(lr(at(i, n)), want, `i=${i}`);
  const bounded = piecewise([
    { until: 2, schedule: constantLr(0.1) },
    { until: 3, schedule: constantLr(0.2) },
  ]);
  close(bounded(atEpoch(1)), 0.1, 'first piece until 2 (exclusive)');
  close(bounded(atEpoch(2)), 0.2, 'second piece from 2');
  assert.throws(() => bounded(atEpoch(3)), /piecewise: epoch 3 is past the last segment \(until 3\)/);
  assert.throws(() => userLr(() => NaN)(atEpoch(0)), /userLr: returned NaN at iteration 1 \(epoch 0\)/);
  assert.throws(() => userLr(() => -0.1, 'mine')(atEpoch(2)), /mine: returned -0.1 at iteration 21 \(epoch 2\)/);
});

test('schedules: every parameter error is thrown at construction, naming the schedule and the value', () => {
  const ref = (o: Partial<Parameters<typeof swaReferenceLr>[0]>) => () =>
    swaReferenceLr({ lrInit: 0.1, epochs: 30, ...o });
  const swalr = (o: Partial<Parameters<typeof swalrAnneal>[0]>) => () =>
    swalrAnneal({ swaLr: 0.05, lr0: 0.1, startEpoch: 0, ...o });
  const seg = (until: number) => ({ until, schedule: constantLr(0.1) });
  const cases: [() => LrSchedule, RegExp][] = [
    [
      () => cyclicalLr({ alpha1: 0.01, alpha2: 0.05, c: 5 }),
      /cyclicalLr: needs alpha1 ≥ alpha2 .* got alpha1=0.01 < alpha2=0.05/,
    ],
    [
      () => cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 0 }),
      /cyclicalLr: c \(cycle length in iterations\) must be an integer ≥ 1, got 0/,
    ],
    [() => cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 2.5 }), /cyclicalLr: c .* got 2.5/],
    [
      () => cyclicalLr({ alpha1: -0.05, alpha2: -0.1, c: 5 }),
      /cyclicalLr: alpha1 must be a finite learning rate ≥ 0, got -0.05/,
    ],
    [() => cyclicalLr({ alpha1: NaN, alpha2: 0.01, c: 5 }), /cyclicalLr: alpha1 .* got NaN/],
    [() => cyclicalLr({ alpha1: 0.05, alpha2: NaN, c: 5 }), /cyclicalLr: alpha2 .* got NaN/],
    [
      () => cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 5, startEpoch: -1 }),
      /cyclicalLr: startEpoch must be an integer ≥ 0, got -1/,
    ],
    [() => constantLr(-1), /constantLr: alpha must be a finite learning rate ≥ 0, got -1/],
    [() => constantLr(Infinity), /constantLr: alpha .* got Infinity/],
    [ref({ swaStart: 31, swaLr: 0.05 }), /swaReferenceLr: swaStart=31 is beyond the epoch budget \(epochs=30\)/],
    [ref({ swaStart: 0, swaLr: 0.05 }), /swaReferenceLr: swaStart must be > 0, got 0/],
    [ref({ swaStart: NaN, swaLr: 0.05 }), /swaReferenceLr: swaStart must be > 0, got NaN/],
    [ref({ swaStart: 20 }), /swaReferenceLr: swaLr is required when swaStart is given/],
    [ref({ swaLr: 0.05 }), /swaReferenceLr: swaLr=0.05 given without swaStart/],
    [ref({ swaStart: 20, swaLr: -0.05 }), /swaReferenceLr: swaLr must be a finite learning rate ≥ 0, got -0.05/],
    [ref({ lrInit: 0 }), /swaReferenceLr: lrInit must be > 0/],
    [ref({ lrInit: -0.1 }), /swaReferenceLr: lrInit must be a finite learning rate ≥ 0, got -0.1/],
    [ref({ epochs: 0 }), /swaReferenceLr: epochs must be an integer ≥ 1, got 0/],
    [swalr({ annealEpochs: -1 }), /swalrAnneal: annealEpochs must be an integer ≥ 0, got -1/],
    [swalr({ annealEpochs: 1.5 }), /swalrAnneal: annealEpochs .* got 1.5/],
    [swalr({ swaLr: -0.05 }), /swalrAnneal: swaLr must be a finite learning rate ≥ 0, got -0.05/],
    [swalr({ lr0: NaN }), /swalrAnneal: lr0 .* got NaN/],
    [swalr({ startEpoch: -2 }), /swalrAnneal: startEpoch must be an integer ≥ 0, got -2/],
    [swalr({ strategy: 'step' as 'cos' }), /swalrAnneal: strategy must be 'cos' or 'linear', got step/],
    [
      () => fgeTriangularLr({ alpha1: 0.05, alpha2: 0.0001, cycle: -2 }),
      /fgeTriangularLr: cycle must be a number of epochs > 0 .* got -2/,
    ],
    [
      () => fgeTriangularLr({ alpha1: 0.05, alpha2: 0.0001, cycle: Infinity }),
      /fgeTriangularLr: cycle .* got Infinity/,
    ],
    [() => fgeTriangularLr({ alpha1: 0.05, alpha2: 0.0001, cycle: 0 }), /fgeTriangularLr: cycle .* got 0/],
    [
      () => fgeTriangularLr({ alpha1: 0.0001, alpha2: 0.05, cycle: 4 }),
      /fgeTriangularLr: needs alpha1 ≥ alpha2 .* got alpha1=0.0001 < alpha2=0.05/,
    ],
    [
      () => fgeTriangularLr({ alpha1: 0.05, alpha2: -1, cycle: 4 }),
      /fgeTriangularLr: alpha2 must be a finite learning rate ≥ 0, got -1/,
    ],
    [() => userLr(42 as unknown as () => number), /userLr: expects a function \(progress\) => lr, got number/],
    [() => piecewise([]), /piecewise: needs at least one segment/],
    [() => piecewise([seg(5), seg(5)]), /piecewise: segment 1: until must be > 5 \(strictly increasing\), got 5/],
    [() => piecewise([seg(0)]), /piecewise: segment 0: until must be > 0/],
    [
      () => piecewise([seg(Infinity), seg(9)]),
      /piecewise: segment 0: until must be an integer epoch \(Infinity only last\), got Infinity/,
    ],
    [() => piecewise([seg(2.5)]), /piecewise: segment 0: until must be an integer epoch .* got 2.5/],
    [() => piecewise([seg(NaN)]), /piecewise: segment 0: until .* got NaN/],
  ];
  for (const [make, message] of cases) assert.throws(make, message, String(message));
});

test('schedules: malformed progress throws, naming the schedule and the field', () => {
  const lr = constantLr(0.1);
  const good = atEpoch(0);
  const cases: [Partial<LrProgress>, RegExp][] = [
    [{ iteration: 0 }, /constantLr: iteration must be an integer ≥ 1, got 0/],
    [{ epoch: -1 }, /constantLr: epoch must be an integer ≥ 0, got -1/],
    [{ epoch: NaN }, /constantLr: epoch .* got NaN/],
    [{ itersPerEpoch: 0 }, /constantLr: itersPerEpoch must be an integer ≥ 1, got 0/],
    [{ fraction: 1 }, /constantLr: fraction must be in \[0, 1\), got 1/],
    [{ fraction: NaN }, /constantLr: fraction .* got NaN/],
  ];
  for (const [patch, message] of cases) assert.throws(() => lr({ ...good, ...patch }), message, String(message));
  assert.throws(
    () => swalrAnneal({ swaLr: 0.05, lr0: 0.1, startEpoch: 0 })({ ...good, fraction: -0.5 }),
    /swalrAnneal: fraction/,
  );
});

test.run();
