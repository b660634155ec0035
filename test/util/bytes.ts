// Byte helpers shared by the safetensors, PyTorch-interop and atomic-write tests.

/** UTF-8 bytes of `s`. */
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
/** A Float32Array of the given values. */
export const f32 = (...v: number[]): Float32Array => new Float32Array(v);
/** Whether two byte arrays are equal, byte for byte. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);
