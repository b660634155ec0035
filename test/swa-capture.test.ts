// SWA capture rules over simulated runs: where each rule captures, that its captures fall where the matching
// schedule (cyclical, FGE triangular) is at α2, and every validation error.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cyclicalLr, fgeTriangularLr } from '../swa/schedules.ts';
import { captureCyclical, captureEpochly, captureEvery, captureFgeMidCycle, type CaptureRule } from '../swa/capture.ts';
import { at, atEpoch, close } from './util/lr-progress.ts';

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
