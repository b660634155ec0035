// Shape/stride scratch shared by the strided kernels (copy, binary, where) and the row odometer that walks it.
// The JS glue writes shape and strides here, then calls a kernel with the rank; the kernel walks rows of the last dim.

/** Largest rank a strided kernel accepts (MAX_RANK of engine/backend.ts; test/kernel-layout.test.ts compares them). */
export const MAX_RANK: i32 = 6;

// Byte offsets in the scratch. The glue fills shape: i32[MAX_RANK] and strides: i32[3·MAX_RANK] (operands 0, 1, 2),
// whose layout is STRIDED_META in engine/backends/wasm-geometry.ts (the test checks these offsets against it); the
// counters (i32[MAX_RANK]) and offsets (i32[3]) after them are the kernels' own.
const SHAPE: usize = 0;
const STRIDES: usize = 24;
const COUNTERS: usize = 96;
const OFFSETS: usize = 120;
/** The scratch lives in each instance's thread-private block (wasm/thread.ts). */
let META: usize = 0;

/** Places the scratch at `at` (64-aligned); returns the first byte past it. */
export function placeStrided(at: usize): usize {
  META = at;
  return at + 192;
}

/** Byte address of the scratch the glue fills: shape at word 0, strides of operand t at word 6 + 6·t. */
export function stridedMeta(): usize {
  return META;
}

/** Extent of dimension d. */
@inline export function dimOf(d: i32): i32 {
  return load<i32>(META + SHAPE + (<usize>d << 2));
}

/** Stride (elements) of operand t along dimension d. */
@inline export function strideOf(t: i32, d: i32): i32 {
  return load<i32>(META + STRIDES + <usize>(t * MAX_RANK << 2) + (<usize>d << 2));
}

/** Current element offset of operand t into its buffer (advanced by `nextRow`). */
@inline export function offsetOf(t: i32): i32 {
  return load<i32>(META + OFFSETS + (<usize>t << 2));
}

/** Number of rows (product of all but the last dim) and resets the odometer to row 0. */
export function startRows(rank: i32): i32 {
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) {
    rows *= dimOf(d);
    store<i32>(META + COUNTERS + (<usize>d << 2), 0);
  }
  store<i32>(META + OFFSETS, 0);
  store<i32>(META + OFFSETS, 0, 4);
  store<i32>(META + OFFSETS, 0, 8);
  return rows;
}

/** Steps the odometer over dims [0, rank-1) by one row, updating the three operand offsets. */
export function nextRow(rank: i32): void {
  let o0 = offsetOf(0), o1 = offsetOf(1), o2 = offsetOf(2);
  for (let d = rank - 2; d >= 0; d--) {
    const at = META + COUNTERS + (<usize>d << 2);
    const i = load<i32>(at) + 1;
    o0 += strideOf(0, d);
    o1 += strideOf(1, d);
    o2 += strideOf(2, d);
    if (i < dimOf(d)) {
      store<i32>(at, i);
      break;
    }
    store<i32>(at, 0);
    o0 -= i * strideOf(0, d);
    o1 -= i * strideOf(1, d);
    o2 -= i * strideOf(2, d);
  }
  store<i32>(META + OFFSETS, o0);
  store<i32>(META + OFFSETS, o1, 4);
  store<i32>(META + OFFSETS, o2, 8);
}
