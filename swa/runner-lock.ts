// Exclusive locks on a run's work, so several processes (or machines sharing a file system) can split the seeds of
// one table: a lock file created atomically (O_EXCL) that names its holder, refreshed while the holder works, and
// taken over only when its holder is gone (a dead process on this host, or a lease not refreshed in time).

import { open, readFile, stat, unlink } from 'node:fs/promises';
import { readFileSync, statSync, utimesSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { removeStaleTempFiles } from '../nn/atomic-file.ts';
import type { PhaseName, Table1Plan } from './runner-config.ts';
import { phasePaths, RunFolderError } from './runner-state.ts';

/** What a lock file holds. */
export interface LockHolder {
  host: string;
  pid: number;
  /** When the lock was taken (ISO 8601). */
  started: string;
  /** Seconds the holder promises to refresh the lock within. */
  lease: number;
  /** What it guards: 'seed 0 SGD', 'the run folder', … */
  what: string;
  /** Random, to tell this holder from a later one of the same pid. */
  token: string;
}

/** How to take a lock. */
export interface LockOptions {
  /** What the lock guards, for messages ('seed 0 SGD'). */
  what: string;
  /** When the work is held by another live process: wait for it (true, or at most this many seconds) or refuse. */
  wait?: boolean | number;
  /** Seconds a holder may go without refreshing before its lock counts as stale [600]. */
  lease?: number;
  /** Status lines: a stale lock taken over, waiting for a holder. */
  log?: (line: string) => void;
  /** Milliseconds between attempts while waiting [1000]. */
  pollMs?: number;
  /** What the refusal tells the user to do ['Wait for it, give other seeds, or delete the lock file …']. */
  advice?: string;
}

/**
 * The work is held by another live process: the message names it (host, pid, start time) and the lock file.
 * @example catch (e) { if (e instanceof RunLockedError) console.error(e.holder?.pid); }
 */
export class RunLockedError extends RunFolderError {
  override name = 'RunLockedError';
  constructor(
    message: string,
    readonly holder?: LockHolder,
  ) {
    super(message);
  }
}

/** A lock was taken over by another process while this one held it (its lease ran out); the work must stop. */
export class RunLockLostError extends RunFolderError {
  override name = 'RunLockLostError';
}

/** An unreadable lock file younger than this is being written; older, its writer died. */
const PARTIAL_GRACE_MS = 10_000;
/** A takeover marker older than this was left by a process that died while taking over. */
const BREAK_GRACE_MS = 30_000;

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether process `pid` of this host is alive (EPERM: alive, another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM';
  }
}

/** Creates `path` with `text` only if it does not exist (O_CREAT | O_EXCL); false when it does. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, 'wx');
  } catch (e) {
    if (errno(e) === 'EEXIST') return false;
    throw e;
  }
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  return true;
}

interface Seen {
  raw: string;
  holder?: LockHolder;
  mtimeMs: number;
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const h = JSON.parse(raw) as LockHolder;
    return h && typeof h.host === 'string' && Number.isInteger(h.pid) && typeof h.token === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** The lock file's contents and age, or undefined when there is none. */
async function readLock(path: string): Promise<Seen | undefined> {
  try {
    const [raw, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { raw, holder: parseHolder(raw), mtimeMs: st.mtimeMs };
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Why a seen lock is stale, or undefined when its holder may still be working. */
function staleness(seen: Seen, lease: number): string | undefined {
  const age = Date.now() - seen.mtimeMs;
  const h = seen.holder;
  if (!h) return age > PARTIAL_GRACE_MS ? `its file is unreadable and ${Math.round(age / 1000)} s old` : undefined;
  if (h.host === hostname() && h.pid !== process.pid && !alive(h.pid))
    return `process ${h.pid} on ${h.host} (started ${h.started}) is no longer running`;
  const limit = 1000 * (Number.isFinite(h.lease) && h.lease > 0 ? h.lease : lease);
  if (age > limit)
    return (
      `${h.what} by pid ${h.pid} on ${h.host} was not refreshed for ${Math.round(age / 1000)} s ` +
      `(lease ${limit / 1000} s)`
    );
  return undefined;
}

/** Removes the lock file if it is still the stale one seen; false when another process is taking it over. */
async function breakStale(path: string, seen: Seen): Promise<boolean> {
  const marker = `${path}.break`;
  if (!(await createExclusive(marker, `${process.pid}@${hostname()}`))) {
    const st = await stat(marker).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > BREAK_GRACE_MS) await unlink(marker).catch(() => undefined);
    return false;
  }
  try {
    const now = await readLock(path);
    if (now && now.raw === seen.raw) await unlink(path).catch(() => undefined);
  } finally {
    await unlink(marker).catch(() => undefined);
  }
  return true;
}

function describeHolder(h: LockHolder | undefined, seen: Seen): string {
  if (!h) return 'a process that is still writing the lock file';
  const ago = Math.round((Date.now() - seen.mtimeMs) / 1000);
  return `pid ${h.pid} on host ${h.host} (since ${h.started}, refreshed ${ago} s ago)`;
}

/**
 * Takes the lock file at `path`, atomically: of several processes only one creates it. A lock whose holder is gone
 * (a dead pid on this host, or no refresh within its lease) is taken over, and `log` says so; a live holder makes
 * this refuse with a `RunLockedError` naming it, or wait for it when `wait` says so.
 * NOTE: leases compare this host's clock with the lock file's mtime, set by the holder's: keep clocks of machines
 * sharing a run folder within a small fraction of the lease.
 */
export async function acquireLock(path: string, opts: LockOptions): Promise<RunLock> {
  const lease = opts.lease ?? 600;
  if (!(Number.isFinite(lease) && lease > 0)) throw new RangeError(`lock lease must be seconds > 0, got ${lease}`);
  const me: LockHolder = {
    host: hostname(),
    pid: process.pid,
    started: new Date().toISOString(),
    lease,
    what: opts.what,
    token: randomBytes(8).toString('hex'),
  };
  const wait = opts.wait ?? false;
  const deadline = typeof wait === 'number' ? Date.now() + 1000 * wait : wait ? Infinity : -Infinity;
  let waiting = false;
  for (;;) {
    if (await createExclusive(path, `${JSON.stringify(me)}\n`)) return new RunLock(path, me);
    const seen = await readLock(path);
    if (!seen) continue;
    const why = staleness(seen, lease);
    if (why) {
      if (await breakStale(path, seen)) opts.log?.(`${opts.what}: took over the stale lock ${path}: ${why}`);
      else await sleep(opts.pollMs ?? 1000);
      continue;
    }
    const who = describeHolder(seen.holder, seen);
    if (Date.now() >= deadline) {
      throw new RunLockedError(
        `${opts.what} is being run by ${who}; lock file ${path}. ` +
          (opts.advice ?? 'Wait for it, give other seeds, or delete the lock file if that process is gone for good'),
        seen.holder,
      );
    }
    if (!waiting) opts.log?.(`${opts.what}: waiting for ${who} (lock file ${path})`);
    waiting = true;
    await sleep(opts.pollMs ?? 1000);
  }
}

/**
 * A held lock: `beat()` refreshes its lease when due (call it often: it costs nothing otherwise; a timer also
 * refreshes it whenever the event loop is free) and throws `RunLockLostError` if another process has taken it over.
 */
export class RunLock {
  private last = Date.now();
  private lost: Error | null = null;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly every: number;

  constructor(
    readonly path: string,
    readonly holder: LockHolder,
  ) {
    this.every = (1000 * holder.lease) / 10;
    this.timer = setInterval(() => {
      try {
        this.refresh();
      } catch (e) {
        this.lost ??= e as Error;
      }
    }, this.every);
    this.timer.unref();
  }

  /** Refreshes the lease if a tenth of it has passed; throws if the lock was lost. */
  beat(): void {
    if (this.lost) throw this.lost;
    if (Date.now() - this.last >= this.every) this.refresh();
  }

  private refresh(): void {
    let raw: string;
    try {
      raw = readFileSync(this.path, 'utf8');
    } catch {
      raw = '';
    }
    const h = parseHolder(raw);
    if (!h || h.token !== this.holder.token) {
      clearInterval(this.timer);
      const who = h ? `pid ${h.pid} on host ${h.host} (since ${h.started})` : 'nobody (the lock file is gone)';
      throw new RunLockLostError(
        `${this.holder.what}: lost the lock ${this.path} (not refreshed within ${this.holder.lease} s); ` +
          `it is now held by ${who}; stopping`,
      );
    }
    const now = new Date();
    utimesSync(this.path, now, now);
    this.last = now.getTime();
  }

  /** Seconds since the lock file was last refreshed (for tests and status lines). */
  age(): number {
    return (Date.now() - statSync(this.path).mtimeMs) / 1000;
  }

  /** Gives the lock up (removes the file if it is still this holder's). */
  async release(): Promise<void> {
    clearInterval(this.timer);
    const seen = await readLock(this.path);
    if (seen?.holder?.token === this.holder.token) await unlink(this.path).catch(() => undefined);
  }
}

/** The lock file guarding a folder's files (the run folder's, or one phase's): `<dir>/lock.json`. */
export const lockPath = (dir: string): string => join(dir, 'lock.json');

const PHASE_LABEL: Readonly<Record<PhaseName, string>> = { sgd: 'SGD', swa: 'SWA', fge: 'FGE' };

/**
 * Runs `fn` holding the lock on `dir` (created if missing), after removing the temporary files a killed writer left
 * there (safe: whoever holds this lock is the only writer of `dir`); `fn` gets the lock's `beat`.
 */
async function withLock<T>(
  dir: string,
  plan: Table1Plan,
  what: string,
  wait: boolean | number,
  fn: (beat: () => void) => Promise<T>,
): Promise<T> {
  const o = plan.options;
  const log = o.log ?? console.log;
  await mkdir(dir, { recursive: true });
  const lock = await acquireLock(lockPath(dir), { what, wait, lease: o.lockLease, log });
  try {
    const removed = await removeStaleTempFiles(dir);
    if (removed.length)
      log(`${what}: removed ${removed.length} stale temporary file(s) in ${dir}: ${removed.join(', ')}`);
    return await fn(() => lock.beat());
  } finally {
    await lock.release();
  }
}

/**
 * Runs one phase of one seed holding its lock (`<out>/seed-<seed>/<phase>/lock.json`): a second process given the
 * same seed refuses (or waits, with `waitForLock`) while this one works, and takes over if this one dies.
 */
export function withPhaseLock<T>(
  plan: Table1Plan,
  seed: number,
  phase: PhaseName,
  fn: (beat: () => void) => Promise<T>,
): Promise<T> {
  const what = `seed ${seed} ${PHASE_LABEL[phase]}`;
  return withLock(phasePaths(plan.options.out, seed, phase).dir, plan, what, plan.options.waitForLock ?? false, fn);
}

/**
 * Runs `fn` holding the run folder's own lock (`<out>/lock.json`), which guards settings.json and the report files;
 * it is held only for moments, so it is always waited for.
 */
export function withFolderLock<T>(plan: Table1Plan, fn: () => Promise<T>): Promise<T> {
  return withLock(plan.options.out, plan, `the run folder ${plan.options.out}`, true, () => fn());
}
