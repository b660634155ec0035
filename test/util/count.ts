// Counts op cases per backend and prints them when the test process ends, so CI output shows how many ran where.

const counts = new Map<string, number>();
let hooked = false;

/** Records one passing case on `backend` (e.g. 'webgpu', 'wasm', 'browser-webgpu'). */
export function countCase(backend: string, n = 1): void {
  counts.set(backend, (counts.get(backend) ?? 0) + n);
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      const parts = [...counts].map(([k, v]) => `${k}=${v}`).join(' ');
      console.log(`[cases] ${process.argv[1]?.split('/').pop()}: ${parts}`);
    });
  }
}
