// Atomic checkpoint writes (nn/atomic-file.ts): replacing a file, failures midway (a missing folder, a taken name,
// EFBIG under `ulimit -f`) leaving the previous file intact, and concurrent rewrites never read torn.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../nn/safetensors.ts';
import { readFileChecked, writeFileAtomic } from '../nn/atomic-file.ts';
import { f32, sameBytes, utf8 } from './util/bytes.ts';

// The EFBIG test re-runs this file as a child that only performs one write under `ulimit -f`.
if (process.argv[2] === '--atomic-write-child') {
  await writeFileAtomic(process.argv[3], new Uint8Array(Number(process.argv[4])).fill(7)).then(
    () => process.exit(0),
    (e: Error) => {
      console.log(e.message);
      process.exit(3);
    },
  );
}

const dir = mkdtempSync(join(tmpdir(), 'swa-safetensors-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const leftovers = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith('.tmp'));

test('writeFileAtomic replaces the file; readFileChecked names a missing file', async () => {
  const d = mkdtempSync(join(dir, 'plain-'));
  const path = join(d, 'model.safetensors');
  await writeFileAtomic(path, utf8('first version, longer'));
  await writeFileAtomic(path, utf8('second'));
  assert.is(new TextDecoder().decode(await readFileChecked(path)), 'second');
  assert.equal(readdirSync(d), ['model.safetensors']);
  try {
    await readFileChecked(join(d, 'nope.safetensors'));
    assert.unreachable('missing file must throw');
  } catch (e) {
    assert.is((e as Error).message, `no such file: ${join(d, 'nope.safetensors')}`);
    assert.is((e as { code?: string }).code, 'ENOENT');
  }
  try {
    await readFileChecked(d);
    assert.unreachable();
  } catch (e) {
    assert.ok((e as Error).message.includes(`${d} is a directory`));
  }
});

test('a failed write names the path, leaves the previous file intact and no temporary file', async () => {
  const d = mkdtempSync(join(dir, 'fail-'));
  const missing = join(d, 'gone', 'model.safetensors');
  try {
    await writeFileAtomic(missing, utf8('x'));
    assert.unreachable();
  } catch (e) {
    assert.ok((e as Error).message.startsWith(`could not write ${missing}: `), (e as Error).message);
  }
  // Fails at the rename, after the temp file was written and fsynced: the target is a non-empty directory.
  const target = join(d, 'taken');
  mkdirSync(target);
  writeFileSync(join(target, 'keep'), 'kept');
  try {
    await writeFileAtomic(target, utf8('new'));
    assert.unreachable();
  } catch (e) {
    assert.ok((e as Error).message.includes(target));
  }
  assert.equal(readdirSync(d).sort(), ['taken']);
  assert.is(readFileSync(join(target, 'keep'), 'utf8'), 'kept');
  // Fails midway through writing the data (EFBIG under `ulimit -f`), over an existing checkpoint.
  if (process.platform === 'linux' && existsSync('/bin/bash')) {
    const path = join(d, 'model.safetensors');
    const before = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: f32(1, 2) }]);
    await writeFileAtomic(path, before);
    const r = spawnSync(
      '/bin/bash',
      [
        '-c',
        'ulimit -f 16; exec "$0" "$@"',
        process.execPath,
        process.argv[1],
        '--atomic-write-child',
        path,
        String(1 << 20),
      ],
      { encoding: 'utf8' },
    );
    assert.is(r.status, 3, `child should fail: ${r.stdout}${r.stderr}`);
    assert.ok(r.stdout.includes(`could not write ${path}`) && r.stdout.includes('EFBIG'), r.stdout);
    assert.ok(sameBytes(await readFileChecked(path), before), 'previous checkpoint intact');
    assert.equal(leftovers(d), []);
  }
});

test('concurrent rewrites: every read sees one complete version, never a partial file', async () => {
  const d = mkdtempSync(join(dir, 'race-'));
  const path = join(d, 'ckpt.safetensors');
  const versions = [1, 200_000, 30].map((size, v) =>
    encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [size], data: new Float32Array(size).fill(v) }], {
      v: String(v),
    }),
  );
  await writeFileAtomic(path, versions[0]);
  let writing = 2,
    reads = 0;
  const writer = async (k: number): Promise<void> => {
    for (let i = 0; i < 40; i++) await writeFileAtomic(path, versions[(i + k) % versions.length]);
    writing--;
  };
  const reader = async (): Promise<void> => {
    while (writing > 0) {
      const bytes = await readFileChecked(path);
      const v = Number(decodeSafetensors(bytes, path).metadata.v);
      assert.ok(sameBytes(bytes, versions[v]), `read a torn version ${v}`);
      reads++;
    }
  };
  await Promise.all([writer(0), writer(1), reader(), reader()]);
  assert.ok(reads > 0);
  assert.equal(leftovers(d), []);
});

test.run();
