// A Backend over plain Float64Arrays running the reference kernels: checks the engine's op definitions apart from
// any real kernel. Test-only; never exported by the library.

import type { Backend, Buf, KernelName, KernelParams } from '../../engine/backend.ts';
import { referenceKernels } from '../../engine/kernel-reference.ts';

class RefBuf implements Buf {
  readonly device = 'wasm' as const;
  freed = false;
  constructor(
    readonly size: number,
    readonly data: Float64Array,
  ) {}
}

export function createReferenceBackend(): Backend {
  let live = 0;
  const own = (b: Buf): RefBuf => {
    if (!(b instanceof RefBuf) || b.freed) throw new Error('reference backend: foreign or freed buffer');
    return b;
  };
  return {
    name: 'wasm',
    info: 'reference kernels (float64, test only)',
    alloc(size) {
      live++;
      return new RefBuf(size, new Float64Array(size));
    },
    free(b) {
      own(b).freed = true;
      live--;
    },
    write(b, data, offset = 0) {
      own(b).data.set(data, offset);
    },
    async read(b, size) {
      return Float32Array.from(own(b).data.subarray(0, size));
    },
    run<K extends KernelName>(k: K, inputs: readonly Buf[], out: Buf, p: KernelParams[K]) {
      const f = referenceKernels[k] as (i: Float64Array[], o: Float64Array, p: KernelParams[K]) => void;
      const o = own(out).data;
      f(
        inputs.map((b) => own(b).data),
        o,
        p,
      );
      for (let i = 0; i < o.length; i++) o[i] = Math.fround(o[i]);
    },
    flush() {},
    async sync() {},
    liveBuffers: () => live,
    destroy() {},
  };
}
