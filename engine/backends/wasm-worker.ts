// The wasm backend's worker thread, bundled on its own as wasm-worker.js (build.mjs): instantiates the kernels over
// the shared memory, points its private scratch at its block, reports ready, then serves calls from its control slot
// until told to stop. Runs under Node's worker_threads and as a browser module worker.

import {
  DONE,
  ERRORS,
  GEN,
  IDLE_MS,
  POLL_MS,
  SLEEP,
  SLOT,
  SLOTS,
  SPIN_MS,
  STOP,
  type WorkerInit,
  type WorkerReply,
} from './wasm-control.ts';

type Kernel = (...args: number[]) => unknown;

/** Instantiates the module, then serves calls forever (until STOP); `post` sends the start reply. */
async function serve(d: WorkerInit, post: (m: WorkerReply) => void): Promise<void> {
  let fns: Kernel[];
  try {
    const abort = (): never => {
      throw new Error('kernel aborted');
    };
    const instance = await WebAssembly.instantiate(d.module, { env: { memory: d.memory, abort } });
    const ex = instance.exports as Record<string, unknown>;
    const missing = d.names.filter((n) => typeof ex[n] !== 'function');
    if (missing.length) throw new Error(`the module lacks exports ${missing.join(', ')}`);
    fns = d.names.map((n) => ex[n] as Kernel);
    (ex.setThreadScratch as Kernel)(d.scratch);
  } catch (e) {
    post({ error: (e as Error)?.message ?? String(e) });
    return;
  }
  const ctl = new Int32Array(d.control);
  const slot = new Float64Array(d.control, SLOTS + 8 * SLOT * d.index, SLOT);
  const gen = GEN + d.index;
  const sleep = SLEEP + d.index;
  post({ ready: true });
  let seen = 0;
  for (;;) {
    let g = Atomics.load(ctl, gen);
    const t0 = performance.now();
    if (d.policy === 'spin') {
      while (g === seen && performance.now() - t0 < SPIN_MS) {
        for (let i = 0; g === seen && i < 1000; i++) g = Atomics.load(ctl, gen);
      }
    } else if (d.policy === 'poll') {
      while (g === seen && performance.now() - t0 < IDLE_MS) {
        Atomics.wait(ctl, gen, seen, POLL_MS);
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
    if (Atomics.load(ctl, STOP) !== 0) return;
    try {
      const args: number[] = [];
      for (let i = 0; i < slot[1]; i++) args.push(slot[2 + i]);
      fns[slot[0]](...args);
    } catch {
      Atomics.add(ctl, ERRORS, 1);
    }
    Atomics.add(ctl, DONE, 1);
    if (d.policy !== 'poll') Atomics.notify(ctl, DONE);
  }
}

/** The parts of a browser worker's global scope used here (the DOM lib does not declare worker scopes). */
interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerInit>) => void) | null;
  postMessage(m: WorkerReply): void;
}

// NOTE: no top-level await, so that bundlers may emit the browser worker as a classic script (Vite's default).
if (typeof process !== 'undefined' && typeof process.versions?.node === 'string') {
  void import('node:worker_threads').then(({ parentPort: port }) => {
    if (!port) throw new Error('wasm-worker.js must run as a worker thread');
    port.once('message', (d: WorkerInit) => void serve(d, (m) => port.postMessage(m)));
  });
} else {
  const scope = globalThis as unknown as WorkerScope;
  scope.onmessage = (e) => {
    scope.onmessage = null;
    void serve(e.data, (m) => scope.postMessage(m));
  };
}
