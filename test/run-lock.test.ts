// The run lock on its own: of many simultaneous takers exactly one wins, the holder's lease is refreshed, a lock
// taken over from a holder is noticed by it, half-written lock files are waited for and then taken over.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, RunLockedError, RunLockLostError } from '../swa/runner-lock.ts';

const dir = mkdtempSync(join(tmpdir(), 'swa-run-lock-'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const backdate = (path: string, seconds: number): void => {
  const t = new Date(Date.now() - seconds * 1000);
  utimesSync(path, t, t);
};

test('of 16 simultaneous takers exactly one gets the lock; the others are refused naming it', async () => {
  const path = join(dir, 'race.json');
  const r = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => acquireLock(path, { what: `taker ${i}` })));
  const won = r.filter((x) => x.status === 'fulfilled');
  assert.is(won.length, 1);
  for (const x of r.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) {
    assert.instance(x.reason, RunLockedError);
    assert.match((x.reason as Error).message, new RegExp(`is being run by pid ${process.pid} on host ${hostname()}`));
  }
  const lock = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireLock>>>).value;
  const held = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal([held.pid, held.host, held.token], [process.pid, hostname(), lock.holder.token]);
  await lock.release();
  assert.not.ok(existsSync(path));
  await (await acquireLock(path, { what: 'after release' })).release();
});

test('beat() refreshes the lease when due; the timer refreshes it while the event loop is free', async () => {
  const path = join(dir, 'lease.json');
  const lock = await acquireLock(path, { what: 'lease', lease: 0.3 });
  backdate(path, 100);
  const until = Date.now() + 40; // past a tenth of the lease, with the event loop blocked: only beat() can refresh
  while (Date.now() < until);
  assert.ok(lock.age() > 99);
  lock.beat();
  assert.ok(lock.age() < 1, `refreshed by beat, age ${lock.age()}`);
  backdate(path, 100);
  await sleep(80);
  assert.ok(lock.age() < 1, `refreshed by the timer, age ${lock.age()}`);
  await lock.release();
});

test('a holder whose lock was taken over notices at its next beat and does not remove the new lock', async () => {
  const path = join(dir, 'lost.json');
  const lock = await acquireLock(path, { what: 'seed 3 FGE', lease: 0.2 });
  const other = { host: 'elsewhere', pid: 77, started: 'then', lease: 60, what: 'seed 3 FGE', token: 'other' };
  writeFileSync(path, JSON.stringify(other));
  await sleep(30);
  assert.throws(
    () => lock.beat(),
    (e: Error) =>
      e instanceof RunLockLostError &&
      /seed 3 FGE: lost the lock .* now held by pid 77 on host elsewhere/.test(e.message),
  );
  await lock.release();
  assert.is(JSON.parse(readFileSync(path, 'utf8')).token, 'other', "the new holder's file is kept");
  rmSync(path);
});

test('a half-written lock file is waited for while young and taken over once old', async () => {
  const path = join(dir, 'partial.json');
  writeFileSync(path, '{"host":');
  const e = await acquireLock(path, { what: 'partial' }).catch((x: Error) => x);
  assert.instance(e, RunLockedError);
  assert.match((e as Error).message, /a process that is still writing the lock file/);
  backdate(path, 60);
  const lines: string[] = [];
  const lock = await acquireLock(path, { what: 'partial', log: (l) => lines.push(l) });
  assert.match(lines.join('\n'), /partial: took over the stale lock .*: its file is unreadable and 6\d s old/);
  assert.ok(statSync(path).size > 20);
  await lock.release();
});

test('waiting: polls until the holder releases, or refuses once the wait is over', async () => {
  const path = join(dir, 'wait.json');
  const first = await acquireLock(path, { what: 'work' });
  setTimeout(() => void first.release(), 120);
  const lines: string[] = [];
  const second = await acquireLock(path, { what: 'work', wait: true, pollMs: 20, log: (l) => lines.push(l) });
  assert.match(lines[0], /^work: waiting for pid \d+ on host /);
  const t0 = performance.now();
  const e = await acquireLock(path, { what: 'work', wait: 0.1, pollMs: 20 }).catch((x: Error) => x);
  assert.instance(e, RunLockedError);
  assert.ok(performance.now() - t0 >= 90, 'it waited 0.1 s first');
  await second.release();
  const bad = await acquireLock(path, { what: 'x', lease: 0 }).catch((x: Error) => x);
  assert.instance(bad, RangeError);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
