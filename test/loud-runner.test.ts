// Hostile runs of the Table 1 runner: divergence stops it naming the phase and keeps the last good checkpoint byte
// for byte; result files and checkpoints tampered with are refused naming the file and field; the settings include
// the device description and data checksums; several runners on one folder exclude each other through lock files.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { mul, type Backend, type Tensor } from '../index.ts';
import { Generator } from '../engine/random.ts';
import { CheckpointError } from '../nn/checkpoint.ts';
import type { Dataset } from '../nn/data/dataset.ts';
import { DivergenceError, NonFiniteJsonError } from '../nn/finite.ts';
import { SmallCnn } from '../nn/models/small-cnn.ts';
import { decodeSafetensors, encodeSafetensors, type SafeTensorEntry } from '../nn/safetensors.ts';
import { RunFolderError, RunInterrupted, RunLockedError, runTable1, type Table1Options } from '../swa/runner.ts';
import { testBackends } from './util/backends.ts';

const backends: Backend[] = await testBackends();
const wasm = backends.find((b) => b.name === 'wasm')!;
const root = mkdtempSync(join(tmpdir(), 'swa-loud-runner-'));

function tinyData(n: number, seed: number): Dataset {
  const g = new Generator(seed);
  const images = new Float32Array(n * 64);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = g.int(3);
    for (let p = 0; p < 64; p++) images[i * 64 + p] = 0.3 * g.uniform() + (Math.floor(p / 16) === labels[i] ? 1 : 0);
  }
  return { images, labels, n, shape: [1, 8, 8], classes: 3 };
}
const train = tinyData(48, 1);
const testSet = tinyData(24, 2);

/** A SmallCnn whose logits are multiplied by `factor` (NaN poisons it, keeping its state-dict keys). */
class Scaled extends SmallCnn {
  factor = 1;
  override forward(x: Tensor): Tensor {
    const y = super.forward(x);
    return this.factor === 1 ? y : mul(y, this.factor);
  }
}

function options(be: Backend, out: string, extra: Partial<Table1Options> = {}, factor = 1): Table1Options {
  return {
    model: 'tiny-cnn',
    dataset: 'tiny',
    train,
    test: testSet,
    device: be,
    out,
    modelFactory: (spec) => Object.assign(new Scaled({ ...spec, widths: [4, 4, 8] }), { factor }),
    budget: 2,
    seeds: [0],
    lr: 0.05,
    batchSize: 16,
    swagSamples: 0,
    progress: false,
    log: () => undefined,
    ...extra,
  };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

/** Every file under `dir`, relative, sorted. */
const files = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();

for (const be of backends) {
  test(
    `${be.name}: lr 1e30 stops the run naming seed, phase and epoch; ` + 'nothing NaN is written; rerun says the same',
    async () => {
      const out = join(root, `${be.name}-diverge`);
      const e1 = await rejection(runTable1(options(be, out, { lr: 1e30 })));
      assert.instance(e1, DivergenceError, e1.message);
      assert.match(e1.message, /^seed 0 SGD diverged: training loss is (NaN|-?Infinity) at epoch 1, step \d of 3/);
      assert.equal(files(out), ['settings.json'], 'no result, checkpoint, lock or temporary file');
      const e2 = await rejection(runTable1(options(be, out, { lr: 1e30 })));
      assert.is(e2.message, e1.message);
    },
  );
}

test('wasm: a run poisoned after its SGD phase stops in SWA and leaves every checkpoint byte for byte', async () => {
  const out = join(root, 'poisoned');
  const ac = new AbortController();
  const stop = (e: { phase: string }): void => void (e.phase === 'swa' && ac.abort());
  await rejection(runTable1(options(wasm, out, { signal: ac.signal, onEpoch: stop })));
  const state = join(out, 'seed-0/swa/state.safetensors');
  const kept = new Map(files(out).map((f) => [f, readFileSync(join(out, f))]));
  assert.ok(kept.has('seed-0/swa/state.safetensors') && kept.has('seed-0/sgd/result.json'));
  const e = await rejection(runTable1(options(wasm, out, {}, NaN)));
  assert.instance(e, DivergenceError, e.message);
  assert.ok(e.message.startsWith('seed 0 SWA diverged: training loss is NaN at epoch 3'), e.message);
  assert.ok(e.message.includes(`${state} (after epoch 2) is kept`), e.message);
  assert.equal(files(out), [...kept.keys()], 'no file added or removed');
  for (const [f, bytes] of kept) assert.ok(Buffer.compare(bytes, readFileSync(join(out, f))) === 0, `${f} unchanged`);
  const done = await runTable1(options(wasm, out));
  assert.is(done.seeds[0].swa.points.length, 3, 'the unpoisoned rerun resumes and finishes');
});

test('wasm: result files with a null or missing metric are refused naming the file and field', async () => {
  const out = join(root, 'tampered-results');
  await runTable1(options(wasm, out));
  const edits: [string, (r: Record<string, unknown>) => void, RegExp][] = [
    ['sgd', (r) => ((r.final as Record<string, unknown>).nll = null), /sgd\/result\.json: field final\.nll is null/],
    ['swa', (r) => ((r.points as object[]).length = 2), /swa\/result\.json: holds 2 SWA budget points, the plan has 3/],
    ['fge', (r) => delete (r.test as Record<string, unknown>).ece, /fge\/result\.json: field test\.ece is missing/],
  ];
  for (const [phase, edit, want] of edits) {
    const path = join(out, 'seed-0', phase, 'result.json');
    const good = readFileSync(path, 'utf8');
    const r = JSON.parse(good) as Record<string, unknown>;
    edit(r);
    writeFileSync(path, JSON.stringify(r));
    const e = await rejection(runTable1(options(wasm, out)));
    assert.instance(e, NonFiniteJsonError, e.message);
    assert.match(e.message, want);
    assert.ok(e.message.endsWith('; delete it to redo that phase'), e.message);
    writeFileSync(path, good);
  }
  const again = await runTable1(options(wasm, out));
  assert.ok(
    again.records.every((r) => Number.isFinite(r.nll) && r.nll > 0),
    'records intact',
  );
});

/** Rewrites a checkpoint file with `edit` applied to its entries and metadata. */
function editCheckpoint(
  path: string,
  edit: (e: SafeTensorEntry[], meta: Record<string, string>) => SafeTensorEntry[],
): void {
  const f = decodeSafetensors(readFileSync(path), path);
  const meta = { ...f.metadata };
  const entries = [...f.tensors].map(([name, t]) => ({ name, ...t }) as SafeTensorEntry);
  writeFileSync(path, encodeSafetensors(edit(entries, meta), meta));
}

test('wasm: tampered phase checkpoints are refused naming the file and the tensor or metadata key', async () => {
  const out = join(root, 'tampered-state');
  const ac = new AbortController();
  await rejection(
    runTable1(options(wasm, out, { signal: ac.signal, onEpoch: (e) => e.phase === 'swa' && ac.abort() })),
  );
  const sgd = join(out, 'seed-0/sgd/state.safetensors');
  const swa = join(out, 'seed-0/swa/state.safetensors');
  rmSync(join(out, 'seed-0/sgd/result.json'));
  const relabel = (name: string) => (es: SafeTensorEntry[]) =>
    es.map((e) =>
      e.name === name
        ? ({ ...e, dtype: 'I32', data: new Int32Array((e.data as Float32Array).buffer) } as SafeTensorEntry)
        : e,
    );
  const metaEdit =
    (f: (m: Record<string, unknown>) => void) => (es: SafeTensorEntry[], meta: Record<string, string>) => {
      const m = JSON.parse(meta.meta) as Record<string, unknown>;
      f(m);
      meta.meta = JSON.stringify(m);
      return es;
    };
  const cases: [string, Parameters<typeof editCheckpoint>[1], RegExp][] = [
    [sgd, relabel('classifier.1.weight'), /sgd\/state\.safetensors: tensor classifier\.1\.weight has dtype I32/],
    [sgd, metaEdit((m) => (m.epochsDone = 7)), /metadata meta\.epochsDone is 7, expected an epoch in \[1, 2\]/],
    [sgd, metaEdit((m) => ((m.history as unknown[]).length = 0)), /metadata meta\.history is \[\], expected 2 epoch/],
    [sgd, metaEdit((m) => ((m.rng as Record<string, unknown>).model = [1])), /meta\.rng\.model is \[1\]/],
    [sgd, (es, meta) => ((meta.meta = '{"epochsDone":'), es), /metadata key meta is not valid JSON/],
  ];
  for (const [path, edit, want] of cases) {
    const good = readFileSync(path);
    editCheckpoint(path, edit);
    const e = await rejection(runTable1(options(wasm, out)));
    assert.instance(e, CheckpointError, `${want}: ${e.message}`);
    assert.match(e.message, want);
    writeFileSync(path, good);
  }
  // The SGD phase (finished in its state file) now rewrites its result; SWA resumes from its own state.
  for (const [name, want] of [
    ['swa.module.classifier.1.weight', /tensor swa\.module\.classifier\.1\.weight has dtype I32, expected F32/],
    ['swa.n_averaged', /tensor swa\.n_averaged has dtype I32, expected I64/],
  ] as const) {
    const good = readFileSync(swa);
    editCheckpoint(swa, (es) =>
      es.map((e) =>
        e.name === name
          ? ({ ...e, dtype: 'I32', data: Int32Array.from(e.data as ArrayLike<number>, Number) } as SafeTensorEntry)
          : e,
      ),
    );
    const e = await rejection(runTable1(options(wasm, out)));
    assert.instance(e, CheckpointError, e.message);
    assert.match(e.message, want);
    writeFileSync(swa, good);
  }
});

test('wasm: settings hold the device description and data checksums; a resume with others is refused', async () => {
  const out = join(root, 'settings');
  await runTable1(options(wasm, out));
  const path = join(out, 'settings.json');
  const settings = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { checksum?: string } & object>;
  assert.is(settings.deviceInfo, wasm.info as never);
  assert.match(settings.train.checksum!, /^[0-9a-f]{8}$/);
  writeFileSync(path, JSON.stringify({ ...settings, deviceInfo: 'WebAssembly SIMD, 7 threads' }));
  const e = await rejection(runTable1(options(wasm, out)));
  assert.instance(e, RunFolderError);
  assert.match(e.message, /deviceInfo: "WebAssembly SIMD, 7 threads" there, "WebAssembly SIMD, \d+ threads?" now/);
  writeFileSync(path, JSON.stringify(settings));
  const other = { ...train, images: train.images.map((v, i) => (i === 0 ? v + 1 : v)) };
  const e2 = await rejection(runTable1(options(wasm, out, { train: other })));
  assert.match(e2.message, /train: \{.*"checksum":"[0-9a-f]{8}"\} there, \{.*"checksum":"[0-9a-f]{8}"\} now/);
});

test('wasm: two runners with other settings started together: one runs, the other is refused', async () => {
  const out = join(root, 'race');
  const r = await Promise.allSettled([runTable1(options(wasm, out)), runTable1(options(wasm, out, { lr: 0.01 }))]);
  const ok = r.filter((x) => x.status === 'fulfilled');
  const bad = r.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  assert.is(ok.length, 1);
  assert.is(bad.length, 1);
  assert.instance(bad[0].reason, RunFolderError);
  assert.match((bad[0].reason as Error).message, /lr: 0\.0?5 there, 0\.0?1 now|lr: 0\.01 there, 0\.05 now/);
});

/** A live process on this host (to hold locks) and a way to end it. */
function liveProcess(): { pid: number; end: () => Promise<void> } {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  return { pid: child.pid!, end: () => new Promise((r) => (child.once('exit', () => r()), child.kill('SIGKILL'))) };
}

function writeLock(dir: string, holder: { host: string; pid: number }, ageSeconds = 0): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'lock.json');
  const started = new Date(Date.now() - ageSeconds * 1000).toISOString();
  writeFileSync(path, JSON.stringify({ ...holder, started, lease: 60, what: 'seed 0 SGD', token: 'someone' }));
  const t = new Date(Date.now() - ageSeconds * 1000);
  utimesSync(path, t, t);
  return path;
}

test('wasm: a live holder is named and refused; when it dies its lock and temporary files are taken over', async () => {
  const out = join(root, 'locks');
  const dir = join(out, 'seed-0/sgd');
  const holder = liveProcess();
  writeLock(dir, { host: hostname(), pid: holder.pid });
  writeFileSync(join(dir, '.state.safetensors.4242.0123456789ab.tmp'), 'half a checkpoint');
  writeFileSync(join(dir, 'notes.txt'), 'not ours');
  const e = await rejection(runTable1(options(wasm, out)));
  assert.instance(e, RunLockedError, e.message);
  assert.match(e.message, new RegExp(`^seed 0 SGD is being run by pid ${holder.pid} on host ${hostname()} \\(since `));
  assert.is((e as RunLockedError).holder?.pid, holder.pid);
  await holder.end();
  const lines: string[] = [];
  await runTable1(options(wasm, out, { log: (l) => lines.push(l) }));
  assert.ok(
    lines.some((l) => l.includes(`took over the stale lock`) && l.includes(`process ${holder.pid}`)),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => l.includes('removed 1 stale temporary file(s)')),
    lines.join('\n'),
  );
  assert.ok(!files(out).some((f) => f.endsWith('.tmp') || f.endsWith('lock.json')), files(out).join(' '));
  assert.ok(existsSync(join(dir, 'notes.txt')), 'other files are kept');
});

test('wasm: another host: a fresh lock is refused, an expired lease is taken over; waitForLock waits', async () => {
  const out = join(root, 'remote');
  const dir = join(out, 'seed-0/sgd');
  writeLock(dir, { host: 'other-machine', pid: 1 });
  const e = await rejection(runTable1(options(wasm, out)));
  assert.match(e.message, /seed 0 SGD is being run by pid 1 on host other-machine/);
  writeLock(dir, { host: 'other-machine', pid: 1 }, 120);
  const lines: string[] = [];
  await runTable1(options(wasm, out, { log: (l) => lines.push(l) }));
  assert.ok(
    lines.some((l) => /was not refreshed for 12\d s \(lease 60 s\)/.test(l)),
    lines.join('\n'),
  );
  const waited = join(root, 'waited');
  const path = writeLock(join(waited, 'seed-0/sgd'), { host: 'other-machine', pid: 1 });
  setTimeout(() => rmSync(path), 1500);
  const t0 = performance.now();
  const logs: string[] = [];
  await runTable1(options(wasm, waited, { waitForLock: 30, log: (l) => logs.push(l) }));
  assert.ok(performance.now() - t0 > 1400, 'it waited');
  assert.ok(
    logs.some((l) => l.startsWith('seed 0 SGD: waiting for pid 1 on host other-machine')),
    logs.join('\n'),
  );
  writeLock(join(waited, 'seed-1/sgd'), { host: 'other-machine', pid: 1 });
  const e2 = await rejection(runTable1(options(wasm, waited, { seeds: [1], waitForLock: 1.5 })));
  assert.instance(e2, RunLockedError);
  assert.instance(await rejection(runTable1(options(wasm, waited, { waitForLock: -1 }))), Error);
});

test('wasm: an interrupted run releases its locks', async () => {
  const out = join(root, 'interrupted');
  const ac = new AbortController();
  const e = await rejection(runTable1(options(wasm, out, { signal: ac.signal, onEpoch: () => ac.abort() })));
  assert.instance(e, RunInterrupted);
  assert.ok(!files(out).some((f) => f.endsWith('lock.json')), files(out).join(' '));
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
