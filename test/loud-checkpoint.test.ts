// Hostile checkpoints and result files: each tensor's dtype and exact shape, every expected tensor (momentum
// buffers included), metadata errors naming the file and key, NaN refused on save and on load; JSON that would store
// NaN as null refused; report records with a null metric refused; only the project's own temporary files removed.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crossEntropy, Generator, noGrad, tensor, tidy, type Backend } from '../index.ts';
import { TEMP_FILE_PATTERN } from '../nn/atomic-file.ts';
import { removeStaleTempFiles, writeFileAtomic } from '../nn/atomic-file.ts';
import { checkpointBytes, CheckpointError, restoreCheckpoint } from '../nn/checkpoint.ts';
import { loadCheckpoint, saveCheckpoint } from '../nn/checkpoint-node.ts';
import { checkJsonValue, finiteField, NonFiniteJsonError, stringifyFinite } from '../nn/finite.ts';
import { SmallCnn } from '../nn/models/small-cnn.ts';
import { SGD } from '../nn/optim.ts';
import { decodeSafetensors, encodeSafetensors, type SafeTensorEntry } from '../nn/safetensors.ts';
import { writeReport } from '../swa/report/files.ts';
import { markdownTable, runsCsv, type RunRecord } from '../swa/report/table.ts';
import { testBackends } from './util/backends.ts';

const [be]: Backend[] = await testBackends();
const dir = mkdtempSync(join(tmpdir(), 'swa-loud-ckpt-'));

const model = (): SmallCnn =>
  new SmallCnn({ size: 8, classes: 2, widths: [4, 4, 8], generator: new Generator(1), device: be });

/** A trained model and optimizer (two steps, so every parameter has a momentum buffer) and their checkpoint. */
async function trained(): Promise<{ bytes: Uint8Array; m: SmallCnn; opt: SGD }> {
  const m = model();
  const opt = new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
  const x = Float32Array.from({ length: 4 * 64 }, (_, i) => Math.sin(i));
  for (let s = 0; s < 2; s++) {
    tidy(() => {
      const y = tensor(Float32Array.of(0, 1, 0, 1), [4], { device: be });
      crossEntropy(m.forward(tensor(x, [4, 1, 8, 8], { device: be })), y).backward();
      opt.step();
      opt.zeroGrad();
    });
  }
  return { bytes: await checkpointBytes({ model: m, optimizer: opt, meta: { epoch: 2 } }), m, opt };
}

const { bytes: good, m: source, opt: sourceOpt } = await trained();
const file = decodeSafetensors(good, 'good');
const entries = (): SafeTensorEntry[] => [...file.tensors].map(([name, t]) => ({ name, ...t }) as SafeTensorEntry);
const optimizerMeta = (): Record<string, unknown> => JSON.parse(file.metadata.optimizer);
const W = 'classifier.1.weight';
const M = 'optimizer.momentum_buffer.';

/** A checkpoint edited by `edit` (entries and metadata), loaded into a fresh model (and optimizer). */
function load(
  edit: (e: SafeTensorEntry[], meta: Record<string, string>) => SafeTensorEntry[],
  withOptimizer = true,
): { error?: Error; m: SmallCnn; opt: SGD } {
  const meta = { ...file.metadata };
  const bytes = encodeSafetensors(edit(entries(), meta), meta);
  const m = model();
  const opt = new SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
  try {
    restoreCheckpoint(bytes, { model: m, optimizer: withOptimizer ? opt : undefined }, 'edited.safetensors');
  } catch (e) {
    return { error: e as Error, m, opt };
  }
  return { m, opt };
}

const swap = (name: string, f: (e: SafeTensorEntry) => SafeTensorEntry) => (es: SafeTensorEntry[]) =>
  es.map((e) => (e.name === name ? f(e) : e));
const drop = (name: string) => (es: SafeTensorEntry[]) => es.filter((e) => e.name !== name);

const cases: [string, (e: SafeTensorEntry[], meta: Record<string, string>) => SafeTensorEntry[], RegExp][] = [
  [
    'F32 relabelled I32',
    swap(W, (e) => ({ ...e, dtype: 'I32', data: new Int32Array((e.data as Float32Array).buffer) }) as SafeTensorEntry),
    /tensor classifier\.1\.weight has dtype I32, expected F32/,
  ],
  [
    'an int64 counter stored as F32',
    swap('features.1.num_batches_tracked', (e) => ({ ...e, dtype: 'F32', data: Float32Array.of(2) })),
    /features\.1\.num_batches_tracked has dtype F32, expected I64/,
  ],
  ['a model tensor missing', drop('features.0.bias'), /tensor features\.0\.bias \(a model tensor\) is missing/],
  ['a momentum buffer missing', drop(`${M}features.0.bias`), /features\.0\.bias \(a momentum buffer\) is missing/],
  [
    'a momentum buffer of transposed shape',
    swap(`${M}${W}`, (e) => ({ ...e, shape: [...e.shape].reverse() })),
    /momentum_buffer\.classifier\.1\.weight has shape \[16, 8\], expected \[8, 16\]/,
  ],
  [
    'a weight of transposed shape',
    swap('features.0.weight', (e) => ({ ...e, shape: [1, 4, 3, 3] })),
    /features\.0\.weight has shape \[1, 4, 3, 3\], expected \[4, 1, 3, 3\]/,
  ],
  [
    'a stray optimizer tensor',
    (es) => [...es, { name: `${M}nothing`, dtype: 'F32', shape: [1], data: Float32Array.of(0) }],
    /optimizer\.momentum_buffer\.nothing is not a momentum buffer the optimizer metadata lists/,
  ],
  [
    'NaN in a weight',
    swap(
      W,
      (e) =>
        ({ ...e, data: Float32Array.from(e.data as Float32Array, (v, i) => (i === 5 ? NaN : v)) }) as SafeTensorEntry,
    ),
    /tensor classifier\.1\.weight holds NaN at index 5/,
  ],
  ['meta cut short', (es, meta) => ((meta.meta = meta.meta.slice(0, 5)), es), /metadata key meta is not valid JSON/],
  ['meta missing', (es, meta) => (delete meta.meta, es), /metadata key meta is missing/],
  ['optimizer cut short', (es, meta) => ((meta.optimizer = '{"ty'), es), /metadata key optimizer is not valid JSON/],
  ['optimizer missing', (es, meta) => (delete meta.optimizer, es), /metadata key optimizer is missing/],
  [
    'optimizer step -5',
    (es, meta) => ((meta.optimizer = JSON.stringify({ ...optimizerMeta(), step: -5 })), es),
    /metadata optimizer\.step is -5, expected an integer ≥ 0/,
  ],
  [
    'optimizer lr NaN (null in JSON)',
    (es, meta) => ((meta.optimizer = JSON.stringify({ ...optimizerMeta(), lr: NaN })), es),
    /metadata optimizer\.lr is null, expected a finite number ≥ 0/,
  ],
  [
    'optimizer of another type',
    (es, meta) => ((meta.optimizer = JSON.stringify({ ...optimizerMeta(), type: 'Adam' })), es),
    /metadata optimizer\.type is "Adam", expected "SGD"/,
  ],
  [
    'an older file (no buffer list) missing a buffer',
    (es, meta) => {
      const { buffers: _, ...rest } = optimizerMeta();
      meta.optimizer = JSON.stringify(rest);
      return drop(`${M}${W}`)(es);
    },
    /momentum_buffer\.classifier\.1\.weight \(a momentum buffer\) is missing/,
  ],
];

for (const [what, edit, want] of cases) {
  test(`checkpoint with ${what}: refused naming the file and what is wrong; the model is untouched`, async () => {
    const r = load(edit);
    assert.ok(r.error, `${what} must not load`);
    assert.instance(r.error, CheckpointError, r.error!.message);
    assert.ok(r.error!.message.startsWith('edited.safetensors: '), r.error!.message);
    assert.match(r.error!.message, want);
    const fresh = model();
    const { m, opt } = r;
    assert.equal(await m.stateDict().get(W)!.data(), await fresh.stateDict().get(W)!.data(), 'weights unchanged');
    assert.is(opt.buffers.size, 0, 'no momentum loaded');
    fresh.dispose();
    m.dispose();
    opt.dispose();
  });
}

test('weights alone load without optimizer metadata; an older file with every buffer loads', async () => {
  const weightsOnly = load((es, meta) => (delete meta.optimizer, es.filter((e) => !e.name.startsWith(M))), false);
  assert.is(weightsOnly.error, undefined, weightsOnly.error?.message);
  const older = load((es, meta) => {
    const { buffers: _, ...rest } = optimizerMeta();
    meta.optimizer = JSON.stringify(rest);
    return es;
  });
  assert.is(older.error, undefined, older.error?.message);
  const { m, opt } = older;
  assert.is(opt.buffers.size, m.parameters().length);
  assert.equal(await m.stateDict().get(W)!.data(), await source.stateDict().get(W)!.data());
});

test('a NaN state is never saved: saveCheckpoint refuses naming the file and tensor, the old file stays', async () => {
  const path = join(dir, 'state.safetensors');
  await saveCheckpoint(path, { model: source, optimizer: sourceOpt });
  const before = readFileSync(path);
  const w = source.stateDict().get(W)!;
  const saved = await w.data();
  noGrad(() => w.copy_(Float32Array.from(saved, (v, i) => (i === 3 ? Infinity : v))));
  try {
    await saveCheckpoint(path, { model: source, optimizer: sourceOpt });
    assert.unreachable('saved a diverged state');
  } catch (e) {
    assert.instance(e, CheckpointError);
    assert.match(
      (e as Error).message,
      /state\.safetensors: checkpoint not written: tensor classifier\.1\.weight holds Infinity at index 3/,
    );
    assert.equal((e as CheckpointError).nonFinite, { tensor: W, value: Infinity, index: 3 });
  }
  assert.ok(Buffer.compare(before, readFileSync(path)) === 0, 'the good checkpoint is untouched');
  assert.equal(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary file',
  );
  const bytes = await checkpointBytes({ model: source, allowNonFinite: true });
  assert.ok(bytes.length > 0, 'allowNonFinite saves it anyway');
  noGrad(() => w.copy_(saved));
  const loaded = model();
  await loadCheckpoint(path, { model: loaded });
  assert.equal(await loaded.stateDict().get(W)!.data(), saved);
  loaded.dispose();
});

test('JSON writing refuses NaN, Infinity and holes, naming the file and field; finiteField refuses null', () => {
  const bad: [unknown, RegExp][] = [
    [{ a: { b: [1, NaN] } }, /out\.json: field a\.b\[1\] is NaN/],
    [{ nll: Infinity }, /field nll is Infinity/],
    [{ list: [1, undefined] }, /field list is undefined at index 1/],
    [{ n: 10n }, /field n is a bigint/],
  ];
  for (const [v, want] of bad) {
    assert.throws(
      () => stringifyFinite(v, 'out.json'),
      (e: Error) => e instanceof NonFiniteJsonError && want.test(e.message),
    );
  }
  assert.is(stringifyFinite({ a: [1, 2], b: null, c: undefined }, 'ok.json'), '{"a":[1,2],"b":null}');
  checkJsonValue({ x: 1 }, 'ok.json');
  assert.is(finiteField({ final: { nll: 0.5 } }, 'final.nll', 'r.json'), 0.5);
  assert.throws(
    () => finiteField({ final: { nll: null } }, 'final.nll', 'r.json'),
    /r\.json: field final\.nll is null/,
  );
  assert.throws(
    () => finiteField({ points: [{}] }, 'points[0].test.ece', 'r.json'),
    /points\[0\]\.test\.ece is missing/,
  );
});

test('report records with a null or NaN metric are refused; writeReport never stores NaN as null', async () => {
  const ok: RunRecord = {
    model: 'm',
    dataset: 'd',
    method: 'SGD',
    budget: 1,
    seed: 0,
    accuracy: 0.5,
    nll: 0.7,
    ece: 0.1,
    epochs: 2,
    seconds: 3,
  };
  assert.ok(markdownTable([ok]).includes('50.00'));
  const broken: [Partial<Record<keyof RunRecord, unknown>>, RegExp][] = [
    [{ nll: null }, /nll must be a finite number ≥ 0, got null/],
    [{ nll: NaN }, /nll must be a finite number ≥ 0, got NaN/],
    [{ accuracy: null }, /accuracy must be a fraction in \[0, 1\], got null/],
    [{ ece: NaN }, /ece must be a fraction/],
    [{ seconds: null }, /seconds must be a finite number ≥ 0/],
  ];
  for (const [patch, want] of broken) {
    const r = { ...ok, ...patch } as RunRecord;
    assert.throws(() => markdownTable([r]), want);
    assert.throws(() => runsCsv([r]), want);
  }
  const out = join(dir, 'report');
  try {
    await writeReport(out, { json: { runs: [{ nll: NaN }] } });
    assert.unreachable('wrote NaN');
  } catch (e) {
    assert.instance(e, NonFiniteJsonError);
    assert.match((e as Error).message, /report\.json: field runs\[0\]\.nll is NaN/);
  }
});

test('removeStaleTempFiles removes only writeFileAtomic temporary files, only in that folder', async () => {
  const d = join(dir, 'temps');
  mkdirSync(join(d, 'sub'), { recursive: true });
  // A real temporary file name, made by writeFileAtomic's own pattern, and hand-made look-alikes.
  await writeFileAtomic(join(d, 'real.json'), new Uint8Array(1));
  const own = ['.state.safetensors.1234.0123456789ab.tmp', '.result.json.99.abcdefabcdef.tmp'];
  const others = ['state.tmp', '.x.1234.0123.tmp', 'notes.tmp', '.state.safetensors.12a.0123456789ab.tmp', 'keep.json'];
  for (const f of [...own, ...others]) writeFileSync(join(d, f), 'x');
  writeFileSync(join(d, 'sub', own[0]), 'x');
  const removed = await removeStaleTempFiles(d);
  assert.equal(removed.sort(), [...own].sort());
  assert.equal(readdirSync(d).sort(), [...others, 'real.json', 'sub'].sort());
  assert.ok(TEMP_FILE_PATTERN.test(`.real.json.${process.pid}.0123456789ab.tmp`));
  assert.equal(readdirSync(join(d, 'sub')), [own[0]], 'subfolders untouched');
  assert.equal(await removeStaleTempFiles(join(d, 'missing')), []);
});

test.after(() => {
  source.dispose();
  sourceOpt.dispose();
  rmSync(dir, { recursive: true, force: true });
});
test.run();
