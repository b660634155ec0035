// Asserts that a call throws an error whose message mentions every given part (op names, shapes, file names).

import * as assert from 'uvu/assert';

export function throwsWith(fn: () => unknown, ...parts: string[]): void {
  try {
    fn();
  } catch (e) {
    const msg = (e as Error).message;
    for (const p of parts) assert.ok(msg.includes(p), `error "${msg}" should mention "${p}"`);
    return;
  }
  assert.unreachable(`expected an error mentioning ${parts.join(', ')}`);
}
