// Learning-rate progress points and a relative closeness check, shared by the schedule and capture-rule tests.

import * as assert from 'uvu/assert';
import type { LrProgress } from '../../swa/schedules.ts';

/** Progress of the 1-based global iteration `i` with `n` iterations per epoch (full epochs). */
export function at(i: number, n: number): LrProgress {
  const epoch = Math.floor((i - 1) / n);
  return { iteration: i, epoch, fraction: (i - 1 - epoch * n) / n, itersPerEpoch: n };
}

/** Progress at fraction `fraction` of epoch `epoch`, with `n` iterations per epoch. */
export function atEpoch(epoch: number, fraction = 0, n = 10): LrProgress {
  return { iteration: epoch * n + Math.floor(fraction * n) + 1, epoch, fraction, itersPerEpoch: n };
}

/** Asserts `got` equals `want` to 1e-12 relative (absolute below 1), naming `what`. */
export function close(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);
}
