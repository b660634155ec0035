// Memory scopes and grad mode: `tidy` frees every tensor created inside it that it did not return,
// `noGrad` runs code without recording the autograd graph.

/** What a scope needs to know of a tensor. */
export interface Tracked {
  readonly isDisposed: boolean;
  kept: boolean;
  dispose(): void;
}

const scopes: Tracked[][] = [];
let gradDepth = 0;

/** Registers a freshly created tensor with the innermost scope, if any. */
export function track(t: Tracked): void {
  if (scopes.length) scopes[scopes.length - 1].push(t);
}

/** True while autograd records operations (outside every `noGrad`). */
export function isGradEnabled(): boolean {
  return gradDepth === 0;
}

/** Runs `fn` without recording operations for autograd. */
export function noGrad<T>(fn: () => T): T {
  gradDepth++;
  try {
    return fn();
  } finally {
    gradDepth--;
  }
}

/** Marks a tensor so no enclosing `tidy` frees it; dispose it yourself. Returns it. */
export function keep<T extends Tracked>(t: T): T {
  t.kept = true;
  return t;
}

/** Collects the tensors reachable in a returned value (a tensor, an array or a plain object of them). */
function collect(value: unknown, out: Set<Tracked>): void {
  if (value === null || typeof value !== 'object') return;
  if ('dispose' in value && 'isDisposed' in value && 'kept' in value) {
    out.add(value as Tracked);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, out);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out);
  }
}

/**
 * Runs `fn` and frees every tensor created inside it except those it returns (directly, in an array or in a plain
 * object) and those marked with `keep`. Returned tensors move to the enclosing scope. `fn` must be synchronous:
 * an async function would return before its tensors exist.
 */
export function tidy<T>(fn: () => T): T {
  scopes.push([]);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const t of scopes.pop()!) if (!t.kept && !t.isDisposed) t.dispose();
    throw e;
  }
  const scope = scopes.pop()!;
  if (result instanceof Promise) throw new Error('tidy: the function must be synchronous (it returned a Promise)');
  const keepSet = new Set<Tracked>();
  collect(result, keepSet);
  for (const t of scope) {
    if (keepSet.has(t)) track(t);
    else if (!t.kept && !t.isDisposed) t.dispose();
  }
  return result;
}
