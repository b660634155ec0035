// Static checks of a custom op's WGSL against the binding layout (inputs, out, params), the op's declared parameters
// and the entry point, so mistakes fail at `customOp(...)` with a clear message; and WGSL compiler messages formatted
// with the user's own line.

import { snakeCase, wgslType, type FieldType, type Fields, type Layout } from './backends/layout.ts';

/** The source with comments blanked out (newlines kept, so offsets still give line numbers). */
function blankComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, ' '));
}

const lineAt = (src: string, at: number): number => src.slice(0, at).split('\n').length;

interface Binding {
  group: number;
  binding: number;
  /** The address space and access as written inside `var<…>`, spaces removed ('storage,read', 'uniform'). */
  space: string;
  name: string;
  type: string;
  line: number;
}

/** Every `@group(g) @binding(b) var<…> name: type;` declaration, in source order. */
function bindings(src: string): Binding[] {
  const out: Binding[] = [];
  const re = /((?:@\s*\w+\s*\(\s*\d+\s*\)\s*)+)var\s*(?:<([^>]*)>)?\s*(\w+)\s*:\s*([^;=]+)/g;
  for (const m of src.matchAll(re)) {
    const binding = /@\s*binding\s*\(\s*(\d+)\s*\)/.exec(m[1]);
    if (!binding) continue;
    const group = /@\s*group\s*\(\s*(\d+)\s*\)/.exec(m[1]);
    out.push({
      group: group ? Number(group[1]) : -1,
      binding: Number(binding[1]),
      space: (m[2] ?? '').replace(/\s+/g, ''),
      name: m[3],
      type: m[4].replace(/\s+/g, ''),
      line: lineAt(src, m.index ?? 0),
    });
  }
  return out;
}

/** The `name: type` members of `struct Params`, or null when the shader has none. */
function paramsMembers(src: string): [string, string][] | null {
  const m = /struct\s+Params\s*\{([^}]*)\}/.exec(src);
  if (!m) return null;
  return m[1]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [name, ...type] = s.split(':');
      return [name.replace(/@\w+\([^)]*\)/g, '').trim(), type.join(':').replace(/\s+/g, '')];
    });
}

/** What the engine needs to know of a checked shader. */
export interface WgslFacts {
  /** The shader declares `override wg`, which the engine sets to the workgroup size. */
  hasWg: boolean;
}

/**
 * Checks a custom op's shader: bindings 0..n−1 are the inputs (`var<storage, read>` arrays of f32, in the op's input
 * order), n is `out` (`var<storage, read_write>`), n+1 is `params` (`var<uniform>` of `struct Params`), all in group
 * 0; `struct Params` matches `params` (the engine's `size: u32`, then the op's parameters); `entry` is a function.
 * @throws Error naming the op, the line and what is wrong.
 */
export function checkWgsl(
  op: string,
  code: string,
  inputs: readonly string[],
  params: Layout<Fields>,
  entry: string,
): WgslFacts {
  const where = `customOp '${op}': WGSL`;
  const src = blankComments(code);
  const n = inputs.length;
  const want = [...inputs.map((x, i) => `${x} at ${i}`), `out at ${n}`, `params at ${n + 1}`].join(', ');
  const found = bindings(src);
  if (found.length !== n + 2) {
    const got = found.map((b) => `${b.name} at ${b.binding}`).join(', ') || 'none';
    throw new Error(
      `${where} declares ${found.length} bindings (${got}), but an op with ${n} input${n === 1 ? '' : 's'} binds ` +
        `${n + 2}: ${want}`,
    );
  }
  const sorted = [...found].sort((a, b) => a.binding - b.binding);
  sorted.forEach((b, i) => {
    const at = `${where} line ${b.line}: binding ${b.binding} (${b.name})`;
    if (b.group !== 0) throw new Error(`${at} must be in @group(0)`);
    if (b.binding !== i) throw new Error(`${where}: bindings must be numbered 0..${n + 1} (${want}); ${at} is not`);
    if (i < n) {
      if (b.space !== 'storage,read' && b.space !== 'storage') {
        throw new Error(`${at} holds input ${i} (${inputs[i]}): declare it var<storage, read>, not var<${b.space}>`);
      }
    } else if (i === n && b.space !== 'storage,read_write') {
      throw new Error(`${at} is the output: declare it var<storage, read_write>, not var<${b.space}>`);
    } else if (i === n + 1 && (b.space !== 'uniform' || b.type !== 'Params')) {
      throw new Error(`${at} must be the parameters: var<uniform> ${b.name}: Params`);
    }
    if (i <= n && b.type !== 'array<f32>') throw new Error(`${at} must be an array<f32>, not ${b.type}`);
  });
  const members = paramsMembers(src);
  const fields = params.fields.map((f): [string, FieldType] => [f.name, f.type]);
  if (!members) {
    const decl = fields.map(([k, t]) => `${k}: ${wgslType(t)}`).join(', ');
    throw new Error(`${where} has no struct Params; declare struct Params { ${decl} }`);
  }
  for (let i = 0; i < Math.max(members.length, fields.length); i++) {
    const [gotName, gotType] = members[i] ?? ['(nothing)', ''];
    const [name, type] = fields[i] ?? ['(nothing)', null];
    const wantType = type ? wgslType(type) : '';
    const nameOk = gotName === name || gotName === snakeCase(name);
    if (!nameOk || gotType !== wantType) {
      const got = members[i] ? `${gotName}: ${gotType}` : 'missing';
      const exp = fields[i] ? `${name}: ${wantType}` : 'no field (size, then the declared params only)';
      throw new Error(`${where} struct Params field ${i} is ${got}, expected ${exp}`);
    }
  }
  if (!new RegExp(`\\bfn\\s+${entry}\\s*\\(`).test(src)) {
    throw new Error(`${where} has no entry point fn ${entry}(…) (set forward.webgpu.entry to its name)`);
  }
  return { hasWg: /\boverride\s+wg\b/.test(src) };
}

/** The part of a GPUCompilationMessage the formatter reads. */
export interface CompileMessage {
  readonly type: string;
  readonly lineNum: number;
  readonly linePos: number;
  readonly message: string;
}

/**
 * The first compiler error as `customOp 'name': WGSL error at line L:C: message`, then the user's source line with a
 * caret under the column, and how many more errors there were.
 */
export function formatCompileError(op: string, code: string, messages: readonly CompileMessage[]): string {
  const errors = messages.filter((m) => m.type === 'error');
  const e = errors[0];
  const lines = code.split('\n');
  const src = lines[e.lineNum - 1] ?? '';
  const num = String(e.lineNum);
  const more = errors.length > 1 ? `\n(and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
  return (
    `customOp '${op}': WGSL error at line ${e.lineNum}:${e.linePos}: ${e.message}\n` +
    `  ${num} | ${src}\n  ${' '.repeat(num.length)} | ${' '.repeat(Math.max(0, e.linePos - 1))}^${more}`
  );
}
