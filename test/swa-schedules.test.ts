// SWA learning-rate schedules and capture rules, value by value against their formulas written out here, over
// simulated runs, and every validation error.

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
import { captureCyclical, captureEpochly, captureEvery, captureFgeMidCycle, type CaptureRule } from '../swa/capture.ts';
import { sgdBaselineLr } from '../nn/schedule.ts';

/** Progress of the 1-based global iteration `i` with `n` iterations per epoch (full epochs). */
function at(i: number, n: number): LrProgress {
  const epoch = Math.floor((i - 1) / n);
  return { iteration: i, epoch, fraction: (i - 1 - epoch * n) / n, itersPerEpoch: n };
}

/** Progress at fraction `fraction` of epoch `epoch`, with `n` iterations per epoch. */
function atEpoch(epoch: number, fraction = 0, n = 10): LrProgress {
  return { iteration: epoch * n + Math.floor(fraction * n) + 1, epoch, fraction, itersPerEpoch: n };
}

function close(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);
}

/** Every capture of `rule` over `epochs` epochs of `n` iterations: 'i<k>' for iterations, 'e<k>' for epoch ends. */
function simulate(rule: CaptureRule, epochs: number, n: number, firstEpoch = 0): string[] {
  const out: string[] = [];
  for (let e = firstEpoch; e < firstEpoch + epochs; e++) {
    for (let b = 0; b < n; b++) {
      const i = e * n + b + 1;
      if (rule.atIteration(i, n)) out.push(`i${i}`);
    }
    if (rule.atEpochEnd(e)) out.push(`e${e}`);
  }
  return out;
}

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

test('captureCyclical: i mod c = 0 from ŵ on, exactly where cyclicalLr is at α2', () => {
  assert.equal(simulate(captureCyclical(3), 3, 4), ['i3', 'i6', 'i9', 'i12']);
  // Phase from epoch 2 (4 iterations per epoch): ŵ at global 8 (end of epoch 1), then every 3 iterations.
  const rule = captureCyclical(3, { start: 2 });
  assert.equal(simulate(rule, 5, 4), ['i8', 'i11', 'i14', 'i17', 'i20']);
  const lr = cyclicalLr({ alpha1: 0.05, alpha2: 0.01, c: 3, startEpoch: 2 });
  for (const i of [11, 14, 17, 20]) close(lr(at(i, 4)), 0.01, `the step producing capture i=${i} ran at α2`);
  for (let i = 9; i <= 20; i++) assert.is(rule.atIteration(i, 4), lr(at(i, 4)) === 0.01, `capture iff α2 at i=${i}`);
  assert.is(rule.kind, 'iteration');
  assert.is(
    rule.describe(),
    'every 3 iterations (i mod 3 = 0, Algorithm 1), counted from epoch 2 (first: ŵ at the end of epoch 1)',
  );
});

test('captureEpochly and captureEvery: the reference rule e + 1 ≥ S, (e + 1 − S) mod k = 0', () => {
  assert.equal(simulate(captureEpochly(), 5, 3), ['e0', 'e1', 'e2', 'e3', 'e4']);
  assert.equal(simulate(captureEpochly({ start: 3 }), 5, 3), ['e2', 'e3', 'e4']);
  assert.equal(simulate(captureEvery({ epochs: 2, start: 3 }), 8, 2), ['e2', 'e4', 'e6']);
  assert.equal(simulate(captureEvery({ epochs: 3 }), 10, 2), ['e2', 'e5', 'e8']);
  assert.equal(simulate(captureEvery({ iterations: 5 }), 3, 4), ['i5', 'i10']);
  assert.equal(simulate(captureEvery({ iterations: 4, start: 1 }), 3, 4), ['i4', 'i8', 'i12']);
  // The reference recipe: swa_start 161, swa_c_epochs 1, 300 epochs → epochs 160..299, 140 models.
  const ref = simulate(captureEvery({ epochs: 1, start: 161 }), 300, 1).filter((s) => s.startsWith('e'));
  assert.is(ref.length, 140);
  assert.is(ref[0], 'e160');
  assert.is(ref[139], 'e299');
  assert.is(captureEvery({ epochs: 2, start: 3 }).kind, 'epoch');
  assert.is(captureEpochly({ start: 3 }).describe(), 'at the end of every epoch, from the end of epoch 2 (ŵ) on');
});

test('captureFgeMidCycle: (e mod cycle) + 1 = cycle/2, the epoch before FGE’s LR minimum', () => {
  assert.equal(simulate(captureFgeMidCycle(4), 12, 3), ['e1', 'e5', 'e9']);
  assert.equal(simulate(captureFgeMidCycle(2), 5, 3), ['e0', 'e2', 'e4']);
  assert.equal(simulate(captureFgeMidCycle(4, { start: 20 }), 12, 3, 20), ['e21', 'e25', 'e29']);
  assert.equal(simulate(captureFgeMidCycle(4, { start: 20 }), 20, 3), [], 'nothing before start');
  const lr = fgeTriangularLr({ alpha1: 0.05, alpha2: 0.0001, cycle: 4, startEpoch: 20 });
  for (const e of [21, 25, 29]) close(lr(atEpoch(e + 1)), 0.0001, `the step after capture e=${e} is at α2`);
  assert.ok(lr(atEpoch(21, 0.9)) > 0.0001, 'the captured iterate comes from a step just above α2');
  assert.is(captureFgeMidCycle(4).describe(), 'FGE mid-cycle: end of epochs with ((e − 0) mod 4) + 1 = 2');
});

test('fgeTriangularLr and captureFgeMidCycle with a cycle that is not an even number of epochs', () => {
  const [a1, a2] = [0.05, 0.0001];
  const up = (t: number) => (1 - 2 * t) * a1 + 2 * t * a2;
  const down = (t: number) => (2 * t - 1) * a1 + (2 - 2 * t) * a2;
  // cycle 0.5 epochs: t = ((e + fraction) mod 0.5)/0.5, two cycles per epoch.
  const half = fgeTriangularLr({ alpha1: a1, alpha2: a2, cycle: 0.5, startEpoch: 3 });
  const table: [number, number, number][] = [
    [3, 0, a1],
    [3, 0.125, up(0.25)],
    [3, 0.25, a2],
    [3, 0.375, down(0.75)],
    [3, 0.5, a1],
    [3, 0.75, a2],
    [4, 0.25, a2],
    [4, 0.625, up(0.25)],
  ];
  for (const [e, f, want] of table) close(half(atEpoch(e, f)), want, `cycle 0.5: e=${e}, fraction=${f}`);
  // cycle 3 (odd): t = ((e mod 3) + fraction)/3, the reference formula; mid-cycle inside epoch 1.
  const odd = fgeTriangularLr({ alpha1: a1, alpha2: a2, cycle: 3 });
  close(odd(atEpoch(1, 0.5)), a2, 'cycle 3: minimum at epoch 1.5');
  close(odd(atEpoch(4, 0.25)), up(1.25 / 3), 'cycle 3: second cycle');
  // Captures: 8 iterations per epoch, cycle 0.5 → 4 iterations per cycle; step s (1-based in the phase) runs at
  // t = ((s − 1) mod 4)/4, so the iterate after step 2 (t = 0.25) is captured before step 3 at t = 0.5 (α2).
  assert.equal(simulate(captureFgeMidCycle(0.5, { start: 3 }), 2, 8, 3), ['i26', 'i30', 'i34', 'i38']);
  for (const i of [26, 30, 34, 38]) {
    const s = i - 24; // the next phase step is s + 1, at (s mod 8)/8 of epoch 3 + ⌊s/8⌋
    close(half(atEpoch(3 + Math.floor(s / 8), (s % 8) / 8)), a2, `the step after capture i=${i} is at α2`);
  }
  // Odd number of iterations per cycle (5 per epoch, cycle 1): t of step s is ((s − 1) mod 5)/5 → capture after the
  // step at t = 0.4, before the step at 0.6 (the minimum lies between two steps).
  assert.equal(simulate(captureFgeMidCycle(1), 3, 5), ['i3', 'i8', 'i13']);
  assert.equal(simulate(captureFgeMidCycle(1), 3, 5).length, 3, 'one snapshot per cycle');
  // An even integer cycle stays the epoch rule, and agrees with the iteration rule's arithmetic.
  assert.is(captureFgeMidCycle(2).kind, 'epoch');
  assert.is(captureFgeMidCycle(0.5).kind, 'iteration');
  assert.is(
    captureFgeMidCycle(0.5, { start: 3 }).describe(),
    'FGE mid-cycle: after the last step with t < 0.5 of each 0.5-epoch cycle counted from epoch 3',
  );
});

test('capture rules: every error names the rule and the value', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => captureCyclical(0), /captureCyclical: c \(cycle length in iterations\) must be an integer ≥ 1, got 0/],
    [() => captureCyclical(2.5), /captureCyclical: c .* got 2.5/],
    [() => captureCyclical(NaN), /captureCyclical: c .* got NaN/],
    [() => captureCyclical(3, { start: -1 }), /captureCyclical: start must be an integer ≥ 0, got -1/],
    [() => captureEpochly({ start: 1.5 }), /captureEpochly: start must be an integer ≥ 0, got 1.5/],
    [
      () => captureEvery({} as { epochs: number }),
      /captureEvery: give exactly one of .* got iterations=undefined, epochs=undefined/,
    ],
    [
      () => captureEvery({ epochs: 1, iterations: 2 } as unknown as { epochs: number }),
      /captureEvery: give exactly one of iterations or epochs, got iterations=2, epochs=1/,
    ],
    [() => captureEvery({ iterations: 0 }), /captureEvery: iterations must be an integer ≥ 1, got 0/],
    [() => captureEvery({ epochs: -2 }), /captureEvery: epochs must be an integer ≥ 1, got -2/],
    [() => captureEvery({ epochs: 2, start: NaN }), /captureEvery: start must be an integer ≥ 0, got NaN/],
    [() => captureFgeMidCycle(-0.5), /captureFgeMidCycle: cycle must be a number of epochs > 0 .* got -0.5/],
    [() => captureFgeMidCycle(0.5).atIteration(3), /captureFgeMidCycle: atIteration needs itersPerEpoch/],
    [() => captureFgeMidCycle(0), /captureFgeMidCycle: cycle .* got 0/],
    [() => captureFgeMidCycle(4, { start: -4 }), /captureFgeMidCycle: start must be an integer ≥ 0, got -4/],
    [
      () => captureCyclical(3, { start: 2 }).atIteration(8),
      /captureCyclical: atIteration needs itersPerEpoch when start=2 > 0/,
    ],
    [
      () => captureCyclical(3, { start: 2 }).atIteration(8, 0),
      /captureCyclical: itersPerEpoch must be an integer ≥ 1, got 0/,
    ],
    [() => captureCyclical(3).atIteration(0), /captureCyclical: iteration must be an integer ≥ 1, got 0/],
    [() => captureEpochly().atEpochEnd(-1), /captureEpochly: epoch must be an integer ≥ 0, got -1/],
    [() => captureEpochly().atIteration(1.5), /captureEpochly: iteration must be an integer ≥ 1, got 1.5/],
    [() => captureFgeMidCycle(4).atEpochEnd(NaN), /captureFgeMidCycle: epoch must be an integer ≥ 0, got NaN/],
  ];
  for (const [make, message] of cases) assert.throws(make, message, String(message));
});

test.run();
