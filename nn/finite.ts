// Loud failure on non-finite numbers: the error a diverged training run throws (naming where, when and the last
// finite value), a check for test metrics, and JSON writing that refuses NaN and Infinity instead of storing null.

/** Where and how a run diverged; `DivergenceError.info`. */
export interface DivergenceInfo {
  /** What was running: 'training', 'seed 0 SGD', … */
  where: string;
  /** What turned non-finite: 'training loss', 'gradient norm', 'test loss', … */
  quantity: string;
  value: number;
  /** 1-based epoch being trained or evaluated. */
  epoch: number;
  /** Step (1-based) at which the value was read back, of `steps` in the epoch; absent for evaluations. */
  step?: number;
  steps?: number;
  /** Step of the previous read-back in this epoch (0: none), so the value turned non-finite after it. */
  since?: number;
  /** The last finite value read back before, if any. */
  lastFinite?: { value: number; epoch: number; step: number };
  /** What was kept on disk, for the message (e.g. 'the checkpoint of epoch 3 is kept'). */
  kept?: string;
}

/**
 * A training run whose loss (or gradient norm, or test metric) became NaN or ±Infinity. Thrown at the read-back where
 * it was seen, before anything of the diverged state is saved, so the last good checkpoint stays as it was.
 * @example try { await fit(o); } catch (e) { if (e instanceof DivergenceError) console.error(e.message); }
 */
export class DivergenceError extends Error {
  constructor(
    readonly info: DivergenceInfo,
    opts?: ErrorOptions,
  ) {
    super(divergenceMessage(info), opts);
    this.name = 'DivergenceError';
  }
}

function divergenceMessage(i: DivergenceInfo): string {
  let when = `epoch ${i.epoch}`;
  if (i.step !== undefined) {
    when += `, step ${i.step}${i.steps !== undefined ? ` of ${i.steps}` : ''}`;
    const from = (i.since ?? i.step - 1) + 1;
    if (from < i.step) when += ` (read back after steps ${from - 1} and ${i.step}: it turned non-finite in between)`;
  }
  // Only values read back step by step have a last finite value; an evaluation or a saved tensor has none.
  const last =
    i.step === undefined
      ? ''
      : i.lastFinite
        ? `; last finite ${i.quantity} ${i.lastFinite.value.toPrecision(5)} at epoch ${i.lastFinite.epoch}, ` +
          `step ${i.lastFinite.step}`
        : `; no finite ${i.quantity} was read before`;
  const kept = i.kept ? `; ${i.kept}` : '';
  return `${i.where} diverged: ${i.quantity} is ${i.value} at ${when}${last}${kept} (lower the learning rate?)`;
}

/**
 * Throws a `DivergenceError` naming the first of `metrics` (name → value) that is not a finite number.
 * @example checkFiniteMetrics({ 'test loss': t.loss, 'test accuracy': t.accuracy }, { where: 'training', epoch: 3 });
 */
export function checkFiniteMetrics(
  metrics: Record<string, number>,
  at: Pick<DivergenceInfo, 'where' | 'epoch' | 'kept'>,
): void {
  for (const [quantity, value] of Object.entries(metrics)) {
    if (!Number.isFinite(value)) throw new DivergenceError({ ...at, quantity, value });
  }
}

/** A value that JSON cannot hold exactly: a non-finite number, undefined in an array (→ null), a function… */
export class NonFiniteJsonError extends Error {
  override name = 'NonFiniteJsonError';
}

/**
 * JSON text of `value`, refusing what `JSON.stringify` would silently turn into null or drop: NaN and ±Infinity,
 * undefined array entries, functions, symbols and bigints. The error names `what` (a file) and the field path.
 * @example await writeFile('result.json', stringifyFinite(result, 'result.json', 2));
 */
export function stringifyFinite(value: unknown, what: string, indent?: number): string {
  checkJsonValue(value, what);
  return JSON.stringify(value, null, indent);
}

/** Throws a `NonFiniteJsonError` naming `what` and the first field path whose value JSON cannot hold exactly. */
export function checkJsonValue(value: unknown, what: string): void {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    const bad = (why: string): never => {
      throw new NonFiniteJsonError(`${what}: field ${path || '(top level)'} is ${why}; refusing to write it`);
    };
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) bad(String(v));
    } else if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') {
      bad(`a ${typeof v}`);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => (x === undefined ? bad(`undefined at index ${i}`) : stack.push([x, `${path}[${i}]`])));
    } else if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
      for (const [k, x] of Object.entries(v)) if (x !== undefined) stack.push([x, path ? `${path}.${k}` : k]);
    }
  }
}

/**
 * The number at `path` (dot and [index] syntax) of a parsed JSON value, which must be finite: a result or report
 * read back with null, a string or nothing where a metric belongs is an error naming the file and field, never a 0.
 */
export function finiteField(root: unknown, path: string, file: string): number {
  let v: unknown = root;
  for (const part of path.split(/\.|\[(\d+)\]/).filter((p) => p !== undefined && p !== '')) {
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new NonFiniteJsonError(
      `${file}: field ${path} is ${v === undefined ? 'missing' : JSON.stringify(v)}, expected a finite number`,
    );
  }
  return v;
}
