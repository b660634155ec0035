// What the wasm backend's calling thread (wasm-threads.ts) and its workers (wasm-worker.ts) agree on: the layout of
// the shared control block, the wait timings, and the messages of the start handshake.

// Control block (Int32 words): DONE counts finished calls, ERRORS failed ones, STOP ends the workers, and worker t
// waits on word GEN + t for a new call. Call slots (Float64) follow at byte SLOTS: [fn, nargs, args…] per worker.
export const DONE = 0;
export const ERRORS = 1;
export const STOP = 2;
export const GEN = 16;
/** Word SLEEP + t is 1 while worker t blocks without a timeout (it then needs a notify). */
export const SLEEP = 80;
export const MAX_WORKERS = 63;
export const SLOTS = 4 * (SLEEP + MAX_WORKERS + 1);
/** Float64 words per call slot: the function index, the argument count, then the arguments. */
export const SLOT = 24;
export const CONTROL_BYTES = SLOTS + 8 * SLOT * (MAX_WORKERS + 1);

/** Milliseconds the 'spin' policy polls before it blocks. */
export const SPIN_MS = 20;
/** Poll period (ms) of the 'poll' policy, and how long a worker stays idle before it blocks outright. */
export const POLL_MS = 0.05;
export const IDLE_MS = 200;

/**
 * How waiting threads wait for work (workers) or for the workers (the calling thread):
 * - 'poll' (default): short timed sleeps, no notify while busy (a notified thread is woken onto its waker's CPU by
 *   Linux's wake-affine placement), blocking outright after IDLE_MS idle;
 * - 'block': block at once, woken by a notify;
 * - 'spin': poll for SPIN_MS, then block. NOTE: measured on this project's 2-vCPU VM, a spinning thread slowed a matmul
 *   on the other vCPU by ~35% (the vCPUs behave like hyperthreads of one core), and spin trained slowest of the three.
 */
export type WaitPolicy = 'spin' | 'block' | 'poll';

/** The first message to a worker: everything it needs to serve calls. @internal (see ThreadSetup in wasm-threads.ts) */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Export names; a call slot names its function by index in this list. */
  names: readonly string[];
  /** Byte address of this worker's private scratch block. */
  scratch: number;
  control: SharedArrayBuffer;
  /** This worker's number t ≥ 1: its GEN and SLEEP words and its call slot. */
  index: number;
  policy: WaitPolicy;
}

/** A worker's reply to WorkerInit: ready to serve, or why it cannot. */
export type WorkerReply = { ready: true } | { error: string };
