// Worker threads for the wasm backend: each worker instantiates the kernels over the backend's shared linear memory
// and waits on its own word of a control block; the calling thread hands each worker one call (an export name and its
// numeric arguments), runs its own share, and waits until every worker has finished. Works with Node's worker_threads
// and with Web Workers in cross-origin-isolated pages.

/** One kernel call for one thread: the export's index in the name list and its arguments (pointers are byte offsets). */
export interface ThreadCall {
  fn: number;
  args: readonly number[];
}

// Control block (Int32 words): DONE counts finished calls, ERRORS failed ones, STOP ends the workers, and worker t
// waits on word GEN + t for a new call. Call slots (Float64) follow at SLOTS: [fn, nargs, args…] per worker.
const DONE = 0;
const ERRORS = 1;
const STOP = 2;
/** Word SLEEP + t is 1 while worker t blocks without a timeout (it then needs a notify). */
const SLEEP = 80;
const GEN = 16;
const MAX_WORKERS = 63;
const SLOTS = 4 * (SLEEP + MAX_WORKERS + 1);
const SLOT = 24;
const CONTROL_BYTES = SLOTS + 8 * SLOT * (MAX_WORKERS + 1);
/** Milliseconds the 'spin' policy polls before it blocks. */
const SPIN_MS = 20;
/** Poll period (ms) of the 'poll' policy, and how long a worker stays idle before it blocks outright. */
const POLL_MS = 0.05;
const IDLE_MS = 200;

/**
 * How waiting threads wait for work (workers) or for the workers (the calling thread):
 * - 'poll' (default): short timed sleeps, no notify while busy (a notified thread is woken onto its waker's CPU by
 *   Linux's wake-affine placement), blocking outright after IDLE_MS idle;
 * - 'block': block at once, woken by a notify;
 * - 'spin': poll for SPIN_MS, then block. NOTE: measured on this project's 2-vCPU VM, a spinning thread slowed a matmul
 *   on the other vCPU by ~35% (the vCPUs behave like hyperthreads of one core), and spin trained slowest of the three.
 */
export type WaitPolicy = 'spin' | 'block' | 'poll';
/** A call that takes longer than this is reported as a hung worker instead of blocking forever. */
const HANG_MS = 10 * 60_000;

/**
 * The worker, as source text (it must not go through the bundler, which would rewrite `require`): instantiate the
 * module over the shared memory, point its private scratch at its block, report ready, then serve calls forever.
 */
const WORKER_SOURCE = `
'use strict';
const serve = async (d, post) => {
  let ex;
  try {
    const instance = await WebAssembly.instantiate(d.module, { env: { memory: d.memory, abort() { throw new Error('kernel aborted'); } } });
    ex = instance.exports;
    ex.setThreadScratch(d.scratch);
  } catch (e) {
    post({ error: String((e && e.message) || e) });
    return;
  }
  const fns = d.names.map((n) => ex[n]);
  const ctl = new Int32Array(d.control);
  const slot = new Float64Array(d.control, ${SLOTS} + 8 * ${SLOT} * d.index, ${SLOT});
  const gen = ${GEN} + d.index;
  post({ ready: true });
  const sleep = ${SLEEP} + d.index;
  const policy = d.policy;
  let seen = 0;
  for (;;) {
    let g = Atomics.load(ctl, gen);
    const t0 = performance.now();
    if (policy === 'spin') {
      while (g === seen && performance.now() - t0 < ${SPIN_MS}) {
        for (let i = 0; g === seen && i < 1000; i++) g = Atomics.load(ctl, gen);
      }
    } else if (policy === 'poll') {
      while (g === seen && performance.now() - t0 < ${IDLE_MS}) {
        Atomics.wait(ctl, gen, seen, ${POLL_MS});
        g = Atomics.load(ctl, gen);
      }
    }
    while (g === seen) {
      Atomics.store(ctl, sleep, 1);
      Atomics.wait(ctl, gen, seen);
      Atomics.store(ctl, sleep, 0);
      g = Atomics.load(ctl, gen);
    }
    seen = g;
    if (Atomics.load(ctl, ${STOP}) !== 0) return;
    try {
      const args = [];
      for (let i = 0; i < slot[1]; i++) args.push(slot[2 + i]);
      fns[slot[0]](...args);
    } catch (e) {
      Atomics.add(ctl, ${ERRORS}, 1);
    }
    Atomics.add(ctl, ${DONE}, 1);
    if (policy !== 'poll') Atomics.notify(ctl, ${DONE});
  }
};
if (typeof require === 'function') {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (d) => serve(d, (m) => parentPort.postMessage(m)));
} else {
  self.onmessage = (e) => { self.onmessage = null; serve(e.data, (m) => self.postMessage(m)); };
}
`;

/** What the workers need: the compiled module, its shared memory, the export names and each worker's scratch block. */
export interface ThreadSetup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  names: readonly string[];
  /** Private scratch block of worker t (1-based; index 0 is the calling thread's and unused here). */
  scratch: readonly number[];
  workers: number;
  policy: WaitPolicy;
}

interface WorkerHandle {
  post(message: unknown): void;
  terminate(): void;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/** A worker running WORKER_SOURCE, with a callback for its first message (ready or error). */
async function spawn(onMessage: (m: { ready?: boolean; error?: string }) => void, onFail: (e: Error) => void): Promise<WorkerHandle> {
  if (isNode) {
    const { Worker } = await import('node:worker_threads');
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.once('message', onMessage);
    w.once('error', onFail);
    return { post: (m) => w.postMessage(m), terminate: () => void w.terminate() };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  URL.revokeObjectURL(url);
  w.onmessage = (e: MessageEvent) => onMessage(e.data as { ready?: boolean; error?: string });
  w.onerror = (e: ErrorEvent) => onFail(new Error(e.message));
  return { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
}

/** Why threads cannot run here, or null when they can. */
export function threadsUnavailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is unavailable (the page is not cross-origin isolated)';
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

/** The thread count asked for: `asked`, else SWA_WASM_THREADS (Node), else the machine's cores (at most 8). */
export async function threadsWanted(asked: number | undefined): Promise<number> {
  const env = typeof process !== 'undefined' ? process.env?.SWA_WASM_THREADS : undefined;
  const n = asked ?? (env !== undefined && env !== '' ? Number(env) : await defaultThreadCount());
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new RangeError(`wasm backend: threads must be an integer in [1, 64], got ${asked ?? `SWA_WASM_THREADS=${env}`}`);
  }
  return n;
}

/** Blocking waits are allowed in Node and in workers, not on a browser's main thread (there it spins). */
function canBlock(): boolean {
  if (isNode) return true;
  const g = globalThis as { WorkerGlobalScope?: unknown };
  return typeof g.WorkerGlobalScope !== 'undefined';
}

export class WasmThreads {
  private readonly ctl: Int32Array;
  private readonly slots: Float64Array;
  private readonly gens: number[];
  private readonly block = canBlock();
  private stopped = false;

  private constructor(private readonly handles: WorkerHandle[], control: SharedArrayBuffer, readonly policy: WaitPolicy) {
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
    if (s.workers < 1 || s.workers > MAX_WORKERS) throw new RangeError(`wasm threads: ${s.workers} workers (1–${MAX_WORKERS} allowed)`);
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const handles: WorkerHandle[] = [];
    try {
      await Promise.all(Array.from({ length: s.workers }, (_, k) => new Promise<void>((resolve, reject) => {
        const index = k + 1;
        const fail = (e: Error): void => reject(new Error(`wasm threads: worker ${index} failed to start: ${e.message}`));
        spawn((m) => (m.ready ? resolve() : fail(new Error(m.error ?? 'unknown error'))), fail).then((h) => {
          handles[k] = h;
          h.post({ module: s.module, memory: s.memory, names: s.names, scratch: s.scratch[index], control, index, policy: s.policy });
        }, fail);
      })));
    } catch (e) {
      for (const h of handles) h?.terminate();
      throw e;
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
      if (waited > HANG_MS) throw new Error(`wasm threads: ${n - done} worker(s) did not finish a kernel in ${HANG_MS / 60_000} minutes`);
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
