// Everything the TypeScript glue and the kernels must agree on, checked against the kernel sources themselves: every
// WGSL `struct Params` in kernels/ against its layout in webgpu-params.ts, every AssemblyScript geometry block in
// wasm/ against wasm-geometry.ts, and every wasm export's signature against wasm-exports.ts. Each check is also run
// on deliberately broken sources, so a comparison that could never fail would be caught.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { MAX_RANK } from '../engine/backend.ts';
import { ascType, snakeCase, wgslType, type Field } from '../engine/backends/layout.ts';
import { EXPORTS, type Signature } from '../engine/backends/wasm-exports.ts';
import { WASM_GEOMETRY } from '../engine/backends/wasm-geometry.ts';
import { WGSL_PARAMS } from '../engine/backends/webgpu-params.ts';

const root = new URL('../../', import.meta.url); // build/test/ → the repository root
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const noComments = (src: string): string => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

/** Splits on commas outside <…>: `a: u32, b: array<vec4<u32>, 2>` → two members. */
function splitTop(list: string): string[] {
  const out: string[] = [];
  let depth = 0,
    cur = '';
  for (const ch of list) {
    if (ch === '<') depth++;
    if (ch === '>') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((m) => m.trim()).filter(Boolean);
}

/** The `name: type` members of a declaration body. */
const members = (body: string): [string, string][] =>
  body
    .split(/[;\n]/)
    .flatMap(splitTop)
    .map((m) => {
      const at = m.indexOf(':');
      return [
        m.slice(0, at).trim(),
        m
          .slice(at + 1)
          .trim()
          .replace(/\s+/g, ' '),
      ] as [string, string];
    });

/** Differences between declared fields and parsed `[name, type]` members, one line each. */
function compare(what: string, want: [string, string][], got: [string, string][]): string[] {
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    const [w, g] = [want[i], got[i]];
    if (!g) diffs.push(`${what}: field ${i} ${w[0]}: ${w[1]} is declared in TypeScript but missing in the source`);
    else if (!w) diffs.push(`${what}: field ${i} ${g[0]}: ${g[1]} is in the source but not declared in TypeScript`);
    else if (w[0] !== g[0] || w[1] !== g[1]) {
      diffs.push(`${what}: field ${i} is ${g[0]}: ${g[1]}, declared ${w[0]}: ${w[1]}`);
    }
  }
  return diffs;
}

/** Differences between a shader's `struct Params` and its declared layout. */
function checkWgsl(name: string, src: string, fields: readonly Field[]): string[] {
  const m = /struct\s+Params\s*\{([^}]*)\}/.exec(noComments(src));
  if (!m) return [`kernels/${name}.wgsl has no struct Params`];
  const want = fields.map((f): [string, string] => [snakeCase(f.name), wgslType(f.type)]);
  const diffs = compare(`kernels/${name}.wgsl Params`, want, members(m[1]));
  if (!/var<uniform>\s+params\s*:\s*Params\s*;/.test(src)) {
    diffs.push(`kernels/${name}.wgsl does not bind params: Params`);
  }
  return diffs;
}

/** Differences between an AssemblyScript `@unmanaged class` and its declared layout. */
function checkClass(file: string, cls: string, src: string, fields: readonly Field[]): string[] {
  const m = new RegExp(`@unmanaged\\s+(?:export\\s+)?class\\s+${cls}\\s*\\{([^}]*)\\}`).exec(noComments(src));
  if (!m) return [`${file} has no @unmanaged class ${cls}`];
  return compare(
    `${file} ${cls}`,
    fields.map((f) => [f.name, ascType(f.type)]),
    members(m[1]),
  );
}

/** Differences between a block read by byte-offset constants (NAME: usize = bytes) and its declared layout. */
function checkOffsets(file: string, src: string, fields: readonly Field[], words: number): string[] {
  const consts = [...noComments(src).matchAll(/^const\s+([A-Z_]+)\s*:\s*usize\s*=\s*(\d+)\s*;/gm)]
    .map((m) => [m[1], Number(m[2])] as const)
    .sort((a, b) => a[1] - b[1]);
  const diffs = compare(
    `${file} offsets`,
    fields.map((f) => [snakeCase(f.name).toUpperCase(), String(4 * f.offset)]),
    consts.slice(0, fields.length).map(([n, v]) => [n, String(v)]),
  );
  const next = consts[fields.length];
  if (next && next[1] < 4 * words) {
    diffs.push(`${file}: ${next[0]} at byte ${next[1]} overlaps the glue's ${4 * words} bytes`);
  }
  for (const f of fields) {
    const name = snakeCase(f.name).toUpperCase();
    const element = f.element === 'bool' ? 'i32' : f.element;
    if (!src.includes(`load<${element}>(META + ${name}`)) diffs.push(`${file}: ${name} is not read as ${element}`);
  }
  return diffs;
}

const AS_TYPE: Record<string, string> = { usize: 'ptr', i32: 'i32', u32: 'u32', f32: 'f32', f64: 'f64', bool: 'bool' };

/** The signature of `export function name(…): result` in `src`, as `name:type` parameters and a result type. */
function asSignature(src: string, name: string): { params: string[]; result: string } | null {
  const code = noComments(src);
  const start = code.search(new RegExp(`export function ${name}\\s*\\(`));
  if (start < 0) return null;
  const open = code.indexOf('(', start),
    close = code.indexOf(')', open);
  const params = splitTop(code.slice(open + 1, close)).map((p) => {
    const [n, t] = p
      .split('=')[0]
      .split(':')
      .map((x) => x.trim());
    return `${n}:${AS_TYPE[t] ?? t}`;
  });
  const result = /^\s*:\s*(\w+)/.exec(code.slice(close + 1))?.[1] ?? '?';
  return { params, result: result === 'void' ? 'none' : (AS_TYPE[result] ?? result) };
}

/** Differences between the module's exports (wasm/index.ts and the files it re-exports from) and EXPORTS. */
function checkExports(index: string, file: (path: string) => string, declared: Record<string, Signature>): string[] {
  const where = new Map<string, string>();
  for (const m of noComments(index).matchAll(/export\s*\{([^}]*)\}\s*from\s*'\.\/([\w-]+)'/g)) {
    for (const n of m[1]
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean))
      where.set(n, `wasm/${m[2]}.ts`);
  }
  for (const m of noComments(index).matchAll(/export function (\w+)/g)) where.set(m[1], 'wasm/index.ts');
  const diffs: string[] = [];
  for (const n of where.keys()) if (!(n in declared)) diffs.push(`wasm export ${n} is not declared in wasm-exports.ts`);
  for (const [n, s] of Object.entries(declared)) {
    const path = where.get(n);
    const got = path ? asSignature(path === 'wasm/index.ts' ? index : file(path), n) : null;
    if (!got) {
      diffs.push(`${n} is declared in wasm-exports.ts but not exported by wasm/index.ts`);
      continue;
    }
    const want = { params: [...s.params], result: s.result ?? 'none' };
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      const found = `${n}(${got.params.join(', ')}): ${got.result}`;
      diffs.push(`${path} ${found}, declared (${want.params.join(', ')}): ${want.result}`);
    }
  }
  return diffs;
}

const shaders = readdirSync(new URL('kernels/', root))
  .filter((f) => f.endsWith('.wgsl'))
  .map((f) => f.slice(0, -5))
  .sort();
const layouts: Record<string, { fields: readonly Field[]; words: number }> = WGSL_PARAMS;

test('every kernels/*.wgsl has a declared Params layout, and every declared layout a shader', () => {
  assert.equal(shaders, Object.keys(WGSL_PARAMS).sort());
});

for (const name of shaders) {
  test(`kernels/${name}.wgsl: struct Params matches its TypeScript layout field for field`, () => {
    assert.equal(checkWgsl(name, read(`kernels/${name}.wgsl`), layouts[name].fields), []);
    assert.ok(layouts[name].words <= 64, 'fits the 256-byte uniform arena slot');
  });
}

for (const g of WASM_GEOMETRY) {
  const label = 'asClass' in g ? `${g.file} class ${g.asClass}` : `${g.file} offsets`;
  test(`${label} matches its TypeScript layout field for field`, () => {
    const src = read(g.file);
    const diffs =
      'asClass' in g
        ? checkClass(g.file, g.asClass, src, g.layout.fields)
        : checkOffsets(g.file, src, g.layout.fields, g.layout.words);
    assert.equal(diffs, []);
  });
}

test('every @unmanaged class in wasm/ is a declared geometry block', () => {
  const declared = WASM_GEOMETRY.flatMap((g) => ('asClass' in g ? [`${g.file} ${g.asClass}`] : []));
  const found = readdirSync(new URL('wasm/', root))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) =>
      [...read(`wasm/${f}`).matchAll(/@unmanaged\s+(?:export\s+)?class\s+(\w+)/g)].map((m) => `wasm/${f} ${m[1]}`),
    );
  assert.equal(found.sort(), declared.sort());
});

test('MAX_RANK is the same in wasm/strided.ts and engine/backend.ts', () => {
  assert.is(Number(/export const MAX_RANK: i32 = (\d+);/.exec(read('wasm/strided.ts'))?.[1]), MAX_RANK);
});

test('every wasm export matches its declared signature (names, types, order, result)', () => {
  assert.equal(checkExports(read('wasm/index.ts'), read, EXPORTS), []);
});

test('the checks catch a reordered, renamed, retyped, missing or extra field', () => {
  const conv = read('kernels/conv2d.wgsl');
  const fields = layouts.conv2d.fields;
  const broken = [
    conv.replace('  pad_h: i32,\n  pad_w: i32,', '  pad_w: i32,\n  pad_h: i32,'),
    conv.replace('  cin_g: u32,', '  cing: u32,'),
    conv.replace('  pad_h: i32,', '  pad_h: u32,'),
    conv.replace('  has_bias: u32,\n', ''),
    conv.replace('  has_bias: u32,', '  has_bias: u32,\n  extra: u32,'),
  ];
  for (const src of broken) {
    assert.ok(src !== conv, 'the mutation applied');
    assert.ok(checkWgsl('conv2d', src, fields).length > 0, 'a broken struct is reported');
  }
  const geom = WASM_GEOMETRY[0];
  const asSrc = read(geom.file);
  const swapped = asSrc.replace('strideH: i32; strideW: i32;', 'strideW: i32; strideH: i32;');
  assert.ok(swapped !== asSrc && checkClass(geom.file, 'Geom', swapped, geom.layout.fields).length > 0);
  const strided = WASM_GEOMETRY[2];
  const shifted = read(strided.file).replace('const STRIDES: usize = 24;', 'const STRIDES: usize = 28;');
  assert.ok(checkOffsets(strided.file, shifted, strided.layout.fields, strided.layout.words).length > 0);
  const update = read('wasm/update.ts');
  const retyped = update.replace('n: i32, alpha: f32, beta: f32', 'n: i32, alpha: f64, beta: f32');
  assert.ok(retyped !== update);
  const file = (p: string): string => (p === 'wasm/update.ts' ? retyped : read(p));
  assert.match(checkExports(read('wasm/index.ts'), file, EXPORTS).join('\n'), /axpby/);
});

test.run();
