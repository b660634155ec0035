// Parameter layouts declared once in TypeScript: ordered, typed fields from which the WebGPU uniform words and the
// wasm geometry blocks are filled mechanically. test/kernel-layout.test.ts compares every declaration with the WGSL
// `struct Params` and the AssemblyScript class it describes.

/** A 32-bit field; 'bool' is stored as a u32 (WGSL) or i32 (AssemblyScript) of 0 or 1. */
export type Scalar = 'u32' | 'i32' | 'f32' | 'bool';
/** A scalar, or a fixed-length array of integers such as 'u32[8]' (WGSL: array<vec4<u32>, 2>). */
export type FieldType = Scalar | `${'u32' | 'i32'}[${number}]`;
/** A layout's declaration: field names (camelCase) to types, in declaration order. */
export type Fields = Readonly<Record<string, FieldType>>;

/** What a field takes: booleans for 'bool', at most `count` numbers for arrays (the rest are 0), else a number. */
export type FieldValue<T extends FieldType> = T extends 'bool'
  ? boolean
  : T extends Scalar
    ? number
    : readonly number[];
/** The values of every field of a layout, by name: a missing or misspelled field is a compile error. */
export type Values<F extends Fields> = { readonly [K in keyof F]: FieldValue<F[K]> };

/** A 32-bit word as the WebGPU uniform arena stores it: an integer, or a float wrapped as `{ f32 }`. */
export type UniformWord = number | { readonly f32: number };

/** How fields are placed: 'uniform' follows WGSL's uniform address space rules, 'packed' AssemblyScript classes. */
export type Placement = 'uniform' | 'packed';

/** One placed field: its element type, element count (1 for scalars) and offset in 32-bit words. */
export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly element: 'u32' | 'i32' | 'f32' | 'bool';
  readonly count: number;
  readonly offset: number;
}

/** Element type and count of a field type: 'u32[8]' → ['u32', 8], 'f32' → ['f32', 1]. */
export function parseFieldType(type: FieldType): { element: Field['element']; count: number } {
  const m = /^(u32|i32)\[(\d+)\]$/.exec(type);
  if (m) return { element: m[1] as 'u32' | 'i32', count: Number(m[2]) };
  return { element: type as Scalar, count: 1 };
}

/** A field name as WGSL spells it: camelCase to snake_case (`padH` → `pad_h`, `cinG` → `cin_g`). */
export const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The WGSL type of a field in a uniform struct (booleans are u32; integer arrays are arrays of vec4). */
export function wgslType(type: FieldType): string {
  const { element, count } = parseFieldType(type);
  if (count === 1) return element === 'bool' ? 'u32' : element;
  return `array<vec4<${element}>, ${count / 4}>`;
}

/** The AssemblyScript type of a scalar field of an `@unmanaged` class (booleans are i32). */
export function ascType(type: FieldType): string {
  return type === 'bool' ? 'i32' : type;
}

/** An ordered, typed list of fields placed into 32-bit words; `words` is the total including padding. */
export class Layout<F extends Fields> {
  readonly fields: readonly Field[];
  readonly words: number;

  constructor(
    readonly spec: F,
    readonly placement: Placement,
  ) {
    const fields: Field[] = [];
    let at = 0;
    for (const [name, type] of Object.entries(spec)) {
      const { element, count } = parseFieldType(type);
      // WGSL: an array<vec4<…>, n> member is 16-byte aligned, and only multiples of four elements can be declared.
      if (count > 1 && placement === 'uniform') {
        if (count % 4 !== 0) throw new Error(`layout: uniform array field ${name} must have a multiple of 4 elements`);
        at = Math.ceil(at / 4) * 4;
      }
      fields.push({ name, type, element, count, offset: at });
      at += count;
    }
    this.fields = fields;
    this.words = placement === 'uniform' ? Math.ceil(at / 4) * 4 : at;
  }

  /** The words of `values` in declaration order, padding words 0. */
  pack(values: Values<F>): UniformWord[] {
    const out: UniformWord[] = new Array<UniformWord>(this.words).fill(0);
    const record = values as Readonly<Record<string, number | boolean | readonly number[]>>;
    for (const f of this.fields) {
      const v = record[f.name];
      if (f.count === 1) {
        out[f.offset] = f.element === 'f32' ? { f32: v as number } : f.element === 'bool' ? (v ? 1 : 0) : (v as number);
        continue;
      }
      const list = v as readonly number[];
      if (list.length > f.count) {
        throw new RangeError(`layout: ${f.name} has ${list.length} entries, at most ${f.count}`);
      }
      for (let i = 0; i < list.length; i++) out[f.offset + i] = list[i];
    }
    return out;
  }

  /** Writes `values` at word `at` of linear memory seen as Int32 and Float32 views of the same buffer. */
  write(values: Values<F>, i32: Int32Array, f32: Float32Array, at: number): void {
    const words = this.pack(values);
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (typeof w === 'number') i32[at + i] = w;
      else f32[at + i] = w.f32;
    }
  }
}

/** A layout of a WGSL uniform struct. */
export const uniformLayout = <F extends Fields>(spec: F): Layout<F> => new Layout(spec, 'uniform');
/** A layout of an AssemblyScript `@unmanaged` class (or offset-addressed block) of 32-bit fields. */
export const packedLayout = <F extends Fields>(spec: F): Layout<F> => new Layout(spec, 'packed');
