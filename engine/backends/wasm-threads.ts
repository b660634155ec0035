// Worker threads for the wasm backend: each worker (wasm-worker.ts, its own bundle) instantiates the kernels over the
// backend's shared linear memory and waits on its own word of a control block; the calling thread hands each worker
// one call (an export's index and its numeric arguments), runs its own share, and waits until every worker has
// finished. Works with Node's worker_threads and with module Web Workers in cross-origin-isolated pages.

import {
  CONTROL_BYTES,
  DONE,
  ERRORS,
  GEN,
  MAX_WORKERS,
  POLL_MS,
  SLEEP,
  SLOT,
  SLOTS,
  SPIN_MS,
  STOP,
  type WaitPolicy,
  type WorkerInit,
  type WorkerReply,
} from './wasm-control.ts';

export type { WaitPolicy } from './wasm-control.ts';

/** One kernel call for one thread: the export's index in the name list and its arguments (pointers: byte offsets). */
export interface ThreadCall {
  fn: number;
  args: readonly number[];
}

/** A call that takes longer than this is reported as a hung worker instead of blocking forever. */
const HANG_MS = 10 * 60_000;
/** A worker that has not answered its start message by then is reported as failed to start. */
const START_MS = 60_000;

/**
 * What the workers need: the compiled module, its shared memory, the export names and each worker's scratch block.
 * @internal (not in the published types, which must not need the DOM's WebAssembly types)
 */
export interface ThreadSetup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  names: readonly string[];
  /** Private scratch block of worker t (1-based; index 0 is the calling thread's and unused here). */
  scratch: readonly number[];
  workers: number;
  policy: WaitPolicy;
  /** The worker script (WasmOptions.workerUrl); by default wasm-worker.js beside this bundle. */
  workerUrl?: string | URL;
}

interface WorkerHandle {
  post(message: WorkerInit): void;
  terminate(): void;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Starts a worker on the worker script, with a callback for its first message (ready or error). NOTE: the default
 * is spelled `new Worker(new URL('./wasm-worker.js', import.meta.url), { type: 'module' })` so that Vite and webpack
 * recognise it and bundle the worker; build.mjs puts wasm-worker.js beside every bundle that contains this code.
 */
async function spawn(
  url: string | URL | undefined,
  onMessage: (m: WorkerReply) => void,
  onFail: (e: Error) => void,
): Promise<WorkerHandle> {
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    // Node takes a string as a file path: a string URL (file: or data:) must become a URL object.
    const at = typeof url === 'string' && /^(file|data):/.test(url) ? new URL(url) : url;
    const w = at === undefined ? new Worker(new URL('./wasm-worker.js', import.meta.url)) : new Worker(at);
    w.unref();
    w.once('message', onMessage);
    w.once('error', onFail);
    return { post: (m) => w.postMessage(m), terminate: () => void w.terminate() };
  }
  const w =
    url === undefined
      ? new Worker(new URL('./wasm-worker.js', import.meta.url), { type: 'module' })
      : new Worker(url, { type: 'module' });
  w.onmessage = (e: MessageEvent<WorkerReply>) => onMessage(e.data);
  // A script that fails to load fires a plain Event without a message.
  const missing = `could not load ${url ?? "wasm-worker.js beside the bundle (copy swa-engine's, or pass workerUrl)"}`;
  w.onerror = (e: Event) => onFail(new Error((e as ErrorEvent).message || missing));
  return { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
}

/** Why threads cannot run here, or null when they can. */
export function threadsUnavailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined') {
    return 'SharedArrayBuffer is unavailable (the page is not cross-origin isolated)';
  }
  const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown };
  if (!isNode && g.crossOriginIsolated !== true) return 'the page is not cross-origin isolated (COOP/COEP headers)';
  if (!isNode && typeof g.Worker !== 'function') return 'Web Workers are unavailable';
  return null;
}

/** The default thread count: the machine's logical cores, at most 8. */
export async function defaultThreadCount(): Promise<number> {
  let n = 1;
  if (isNode) {
    const os = await import('node:os');
    n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  } else {
    n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  }
  return Math.max(1, Math.min(8, n));
}

/** The thread count asked for, else the machine's cores (at most 8); throws unless an integer in [1, 64]. */
export async function threadsWanted(asked: number | undefined): Promise<number> {
  const n = asked ?? (await defaultThreadCount());
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new RangeError(`wasm backend: threads must be an integer in [1, 64], got ${n}`);
  }
  return n;
}

/** Blocking waits are allowed in Node and in workers, not on a browser's main thread (there it spins). */
function canBlock(): boolean {
  if (isNode) return true;
  const g = globalThis as { WorkerGlobalScope?: unknown };
  return typeof g.WorkerGlobalScope !== 'undefined';
}

/** The wasm backend's worker threads. @internal (see ThreadSetup) */
export class WasmThreads {
  private readonly ctl: Int32Array;
  private readonly slots: Float64Array;
  private readonly gens: number[];
  private readonly block = canBlock();
  private stopped = false;

  private constructor(
    private readonly handles: WorkerHandle[],
    control: SharedArrayBuffer,
    readonly policy: WaitPolicy,
  ) {
    this.ctl = new Int32Array(control);
    this.slots = new Float64Array(control, SLOTS);
    this.gens = handles.map(() => 0);
  }

  /** Workers besides the calling thread. */
  get workers(): number {
    return this.handles.length;
  }

  /** Starts the workers and resolves once each has instantiated the module; rejects with the first failure. */
  static async start(s: ThreadSetup): Promise<WasmThreads> {
    if (s.workers < 1 || s.workers > MAX_WORKERS) {
      throw new RangeError(`wasm threads: ${s.workers} workers (1–${MAX_WORKERS} allowed)`);
    }
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const handles: WorkerHandle[] = [];
    const timers: ReturnType<typeof setTimeout>[] = [];
    try {
      await Promise.all(
        Array.from(
          { length: s.workers },
          (_, k) =>
            new Promise<void>((resolve, reject) => {
              const index = k + 1;
              const fail = (e: Error): void =>
                reject(new Error(`wasm threads: worker ${index} failed to start: ${e.message}`));
              const timer = setTimeout(() => fail(new Error(`no answer within ${START_MS / 1000} s`)), START_MS);
              timers.push(timer);
              const reply = (m: WorkerReply): void => ('ready' in m ? resolve() : fail(new Error(m.error)));
              spawn(s.workerUrl, reply, fail).then((h) => {
                handles[k] = h;
                h.post({
                  module: s.module,
                  memory: s.memory,
                  names: s.names,
                  scratch: s.scratch[index],
                  control,
                  index,
                  policy: s.policy,
                });
              }, fail);
            }),
        ),
      );
    } catch (e) {
      for (const h of handles) h?.terminate();
      throw e;
    } finally {
      for (const t of timers) clearTimeout(t);
    }
    return new WasmThreads(handles, control, s.policy);
  }

  /**
   * Runs calls[t] on worker t (t ≥ 1; calls[0] is ignored) while `own` runs on the calling thread, and returns when
   * all are done. Throws when a worker's call failed.
   */
  run(calls: readonly ThreadCall[], own: () => void): void {
    if (this.stopped) throw new Error('wasm threads: used after destroy()');
    const n = calls.length - 1;
    if (n > this.handles.length) throw new RangeError(`wasm threads: ${n} calls for ${this.handles.length} workers`);
    Atomics.store(this.ctl, DONE, 0);
    Atomics.store(this.ctl, ERRORS, 0);
    for (let t = 1; t <= n; t++) {
      const c = calls[t];
      const at = SLOT * t;
      this.slots[at] = c.fn;
      this.slots[at + 1] = c.args.length;
      for (let i = 0; i < c.args.length; i++) this.slots[at + 2 + i] = c.args[i];
      this.gens[t - 1] = (this.gens[t - 1] + 1) | 0;
      Atomics.store(this.ctl, GEN + t, this.gens[t - 1]);
      if (this.policy !== 'poll' || Atomics.load(this.ctl, SLEEP + t) !== 0) Atomics.notify(this.ctl, GEN + t);
    }
    let ownError: unknown = null;
    try {
      own();
    } catch (e) {
      ownError = e;
    }
    this.wait(n);
    if (ownError) throw ownError;
    const failed = Atomics.load(this.ctl, ERRORS);
    if (failed) throw new Error(`wasm threads: a kernel failed on ${failed} worker(s)`);
  }

  private wait(n: number): void {
    const t0 = performance.now();
    for (let spins = 0; ; spins++) {
      const done = Atomics.load(this.ctl, DONE);
      if (done >= n) return;
      if (spins % 1000 !== 0) continue;
      const waited = performance.now() - t0;
      if (waited > HANG_MS) {
        throw new Error(`wasm threads: ${n - done} worker(s) did not finish a kernel in ${HANG_MS / 60_000} minutes`);
      }
      if (!this.block) continue;
      if (this.policy === 'poll') Atomics.wait(this.ctl, DONE, done, POLL_MS);
      else if (this.policy === 'block' || waited > SPIN_MS) Atomics.wait(this.ctl, DONE, done, 1000);
    }
  }

  /** Stops and terminates the workers. */
  destroy(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.ctl, STOP, 1);
    for (let t = 1; t <= this.handles.length; t++) {
      Atomics.add(this.ctl, GEN + t, 1);
      Atomics.notify(this.ctl, GEN + t);
    }
    for (const h of this.handles) h.terminate();
  }
}
