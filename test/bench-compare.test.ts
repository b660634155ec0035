// The comparison bench's bookkeeping (no timing): medians and spreads over rounds, the best thread count, the
// PyTorch configuration check, and the headline ratios of the markdown report.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bestOfThreads, median, summarize, type Summary } from '../bench/compare/aggregate.ts';
import { cell, markdown, type CompareReport } from '../bench/compare/report.ts';
import { bestThreadCounts, checkTorchConfig } from '../bench/compare/torch-peers.ts';

const fig = (value: number, more: object = {}) => ({ id: 'train/small-cnn', value, ...more });

test('median: odd and even counts, unsorted input', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.is(median([7]), 7);
  assert.throws(() => median([]), /no values/);
});

test('summarize: median and min–max of measured rounds; failed and timed-out rounds counted, not averaged', () => {
  const s = summarize('train/small-cnn', [
    fig(10),
    { id: 'train/small-cnn', error: 'boom' },
    fig(30),
    fig(20),
    fig(5, { bound: '<' }),
  ]);
  assert.is(s.value, 20);
  assert.equal(s.samples, [10, 30, 20]);
  assert.is(s.min, 10);
  assert.is(s.max, 30);
  assert.is(s.rounds, 5);
  assert.is(s.failed, 1);
  assert.is(s.timedOut, 1);
  assert.is(s.bound, undefined);
});

test('summarize: all rounds out of time gives the smallest bound; all failed gives the first error', () => {
  const b = summarize('x', [fig(9, { bound: '<' }), fig(4, { bound: '<' })]);
  assert.is(b.value, 4);
  assert.is(b.bound, '<');
  const e = summarize('x', [
    { id: 'x', error: 'first' },
    { id: 'x', error: 'second' },
  ]);
  assert.is(e.error, 'first');
  assert.is(e.value, undefined);
});

test('bestOfThreads: the highest median wins and is named; a measured median beats a bound and an error', () => {
  const s = (v: number[]): Summary =>
    summarize(
      'x',
      v.map((x) => fig(x)),
    );
  const best = bestOfThreads(
    new Map([
      [1, s([100, 120, 110])],
      [2, s([90, 200, 95])],
    ]),
  );
  assert.is(best.threads, 1);
  assert.is(best.value, 110);
  assert.equal(Object.keys(best.byThreads ?? {}), ['1', '2']);
  assert.is(best.byThreads?.['2'].value, 95);
  const bounded = summarize('x', [fig(1e6, { bound: '<' })]);
  const failed = summarize('x', [{ id: 'x', error: 'no' }]);
  assert.is(
    bestOfThreads(
      new Map([
        [1, failed],
        [2, bounded],
        [4, s([3])],
      ]),
    ).threads,
    4,
  );
  assert.is(
    bestOfThreads(
      new Map([
        [1, failed],
        [2, bounded],
      ]),
    ).threads,
    2,
  );
});

test('cell: median, spread, rounds lost and the winning thread count', () => {
  const s = bestOfThreads(new Map([[2, summarize('x', [fig(2235), fig(2200), fig(2260), { id: 'x', error: 'e' }])]]));
  assert.is(cell(s), '2235 (2200–2260) [1 of 4 rounds lost], 2t');
  assert.is(cell(summarize('x', [fig(12.34)])), '12.3');
});

test('bestThreadCounts: 1, 2 and all cores, each once', () => {
  assert.equal(bestThreadCounts(1), [1]);
  assert.equal(bestThreadCounts(2), [1, 2]);
  assert.equal(bestThreadCounts(16), [1, 2, 16]);
});

const LIB = '/usr/lib/x86_64-linux-gnu';
const bestInfo = (over: object = {}): Record<string, unknown> => ({
  torch: '1.13.0a0',
  threads: 2,
  libraries: [`${LIB}/libjemalloc.so.2`, `${LIB}/openblas-pthread/libopenblasp-r0.3.21.so`],
  jemalloc: { version: '5.3.0-0-g54eaed1', dirty_decay_ms: -1, muzzy_decay_ms: -1 },
  openblas: {
    path: `${LIB}/openblas-pthread/libopenblasp-r0.3.21.so`,
    config: 'OpenBLAS 0.3.21 DYNAMIC_ARCH',
    threads: 2,
    parallel: 'pthread',
  },
  ...over,
});

test('checkTorchConfig: torch-best passes only with jemalloc mapped, decay -1/-1, OpenBLAS at the thread count', () => {
  const ok = checkTorchConfig('torch-best', 2, bestInfo());
  assert.ok(ok.ok, ok.problems.join('; '));
  assert.match(ok.found, /jemalloc 5\.3\.0 mapped .*opt\.dirty_decay_ms=-1, opt\.muzzy_decay_ms=-1/);
  assert.match(ok.found, /OpenBLAS 0\.3\.21 mapped .*pthread, 2 threads/);
  const noJemalloc = checkTorchConfig(
    'torch-best',
    2,
    bestInfo({ libraries: [`${LIB}/openblas-pthread/libopenblasp.so`], jemalloc: null }),
  );
  assert.match(noJemalloc.problems.join(), /LD_PRELOAD had no effect/);
  const decay = checkTorchConfig(
    'torch-best',
    2,
    bestInfo({ jemalloc: { version: '5', dirty_decay_ms: 10000, muzzy_decay_ms: 0 } }),
  );
  assert.match(decay.problems.join(), /MALLOC_CONF had no effect/);
  assert.ok(
    checkTorchConfig(
      'torch-tuned',
      2,
      bestInfo({ jemalloc: { version: '5', dirty_decay_ms: 10000, muzzy_decay_ms: 0 } }),
    ).ok,
  );
  assert.match(checkTorchConfig('torch-best', 1, bestInfo()).problems.join(), /torch runs 2 threads, not 1/);
  assert.match(checkTorchConfig('torch', 2, bestInfo()).problems.join(), /OpenBLAS is mapped/);
  assert.not.ok(checkTorchConfig('torch-best', 2, {}).ok);
});

test('markdown: headline ratios are ratios of medians against torch-best, one thread against one thread', () => {
  const sum = (xs: number[]): Summary =>
    summarize(
      'train/small-cnn',
      xs.map((x) => fig(x)),
    );
  const rep: CompareReport = {
    date: '2026-01-01',
    quick: false,
    rounds: 3,
    command: 'npm run bench:compare',
    seconds: 1,
    machine: { CPU: 'test' },
    peers: [],
    results: {
      'ours-wasm': { 'train/small-cnn': sum([1700, 1761, 1800]) },
      'ours-wasm1': { 'train/small-cnn': sum([1000, 1023, 1100]) },
      'torch-best': {
        'train/small-cnn': bestOfThreads(
          new Map([
            [1, sum([1667, 1600, 1700])],
            [2, sum([2235])],
          ]),
        ),
      },
    },
    runs: [],
  };
  const md = markdown(rep);
  const line = md.split('\n').find((l) => l.startsWith('| small-cnn training') && l.includes('2t'));
  assert.ok(line, md);
  // 1761 / 2235 = 0.79, 1023 / 2235 = 0.46, 1023 / 1667 = 0.61
  assert.match(line, /\| 2235, 2t \| 0\.79× \| 0\.46× \| 0\.61× \|/);
  assert.match(md, /1761 \(1700–1800\)/);
});

test.run();
