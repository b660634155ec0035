// Node-only file helpers for checkpoints: an atomic, durable replace (temp file, fsync, rename, fsync the directory)
// and a read whose errors say which file is missing. Readers never see a half-written file.

import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code;
const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Replaces the file at `path` with `bytes` so that, at every moment and after a crash, the path holds either the old
 * contents or the new ones in full. Writes a temporary file next to the target (`.<name>.<pid>.<random>.tmp`, same
 * directory so the rename cannot cross file systems), fsyncs it, renames it over the target, then fsyncs the
 * directory so the rename itself is durable. On any failure the temporary file is removed and the error is rethrown
 * with `path` in its message (`cause` and `code` keep the original).
 *
 * NOTE: the new file gets default permissions (0o666 less the umask), not the old file's mode or owner.
 * NOTE: on platforms that cannot fsync a directory (Windows: EISDIR/EPERM, some file systems: EINVAL) that step is
 * skipped; the data itself is still fsynced.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const file = await open(tmp, 'wx');
    created = true;
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
    created = false;
    await syncDirectory(dir);
  } catch (e) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw wrap(e, `could not write ${path}`);
  }
}

/** The names `writeFileAtomic` gives its temporary files: `.<name>.<pid>.<12 hex digits>.tmp`. */
export const TEMP_FILE_PATTERN = /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temporary files `writeFileAtomic` left in `dir` (not its subfolders) when its process was killed
 * mid-write; only names matching `TEMP_FILE_PATTERN`. Returns the names removed.
 * NOTE: call it only while holding the lock on everything written into `dir` (see swa/runner-lock.ts): a live
 * writer's temporary file looks the same as a dead one's.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw wrap(e, `could not list ${dir}`);
  }
  const removed: string[] = [];
  for (const name of names.filter((n) => TEMP_FILE_PATTERN.test(n))) {
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw wrap(e, `could not remove the stale temporary file ${join(dir, name)}`);
    }
  }
  return removed;
}

/**
 * Reads a whole file, with errors that name it: `no such file: <path>` when it is missing, `<path> is a directory`,
 * otherwise the system error with the path. The result is a Node Buffer (a Uint8Array).
 */
export async function readFileChecked(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = errno(e);
    if (code === 'ENOENT') throw wrap(e, `no such file: ${path}`, false);
    if (code === 'EISDIR') throw wrap(e, `${path} is a directory, not a file`, false);
    throw wrap(e, `could not read ${path}`);
  }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    const code = errno(e);
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw e;
  } finally {
    await handle?.close();
  }
}

/** An Error whose message starts with `what`, keeping the original as `cause` and its errno `code`. */
function wrap(e: unknown, what: string, withReason = true): Error & { code?: string } {
  const out: Error & { code?: string } = new Error(withReason ? `${what}: ${reason(e)}` : what, { cause: e });
  const code = errno(e);
  if (code !== undefined) out.code = code;
  return out;
}
