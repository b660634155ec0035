// Checks on the source tree itself: every file formatted by Prettier (120 columns), none over 400 lines, nn/, swa/
// and cli/ reaching the engine only through engine/index.ts and never calling a Backend method.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ts from 'typescript';

const root = new URL('../../', import.meta.url).pathname;
const MAX_LINES = 400;
/** Files that are data or generated, not code a person reads. */
const NOT_SOURCE =
  /(^|\/)(package-lock\.json|fixtures\/|results\/|data\/)|\.(md|json|gz|safetensors|svg|png|csv)$|LICENSE/;

const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);
const sources = tracked.filter((f) => !NOT_SOURCE.test(f) && /\.(ts|mjs|js|wgsl|py|sh)$|^\.ci\//.test(f));
const layered = sources.filter((f) => /^(nn|swa|cli)\/.*\.ts$/.test(f));

/** Prettier formats TypeScript and JavaScript; AssemblyScript (`@inline` functions) it cannot parse. */
const formatted = sources.filter((f) => /\.(ts|mjs|js)$/.test(f) && !f.startsWith('wasm/'));

test('every TypeScript and JavaScript file is formatted by Prettier (printWidth 120)', () => {
  let out = '';
  try {
    execFileSync(join(root, 'node_modules/.bin/prettier'), ['--list-different', ...formatted], {
      cwd: root,
      encoding: 'utf8',
    });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? e);
  }
  assert.is(out.trim(), '', `not formatted (run \`npx prettier --write .\`):\n${out}`);
});

test('no source line is over 120 columns (Prettier does not break comments and strings)', () => {
  const long = sources.flatMap((f) =>
    readFileSync(join(root, f), 'utf8')
      .split('\n')
      .map((l, i) => [f, i + 1, [...l].length] as const)
      .filter(([, , n]) => n > 120),
  );
  assert.equal(
    long.map(([f, i, n]) => `${f}:${i}: ${n} columns`),
    [],
  );
});

test(`no source file is over ${MAX_LINES} lines`, () => {
  const long = sources
    .map((f) => [f, readFileSync(join(root, f), 'utf8').split('\n').length - 1] as const)
    .filter(([, n]) => n > MAX_LINES);
  assert.equal(
    long.map(([f, n]) => `${f}: ${n} lines`),
    [],
  );
});

test('nn/, swa/ and cli/ import the engine only through engine/index.ts', () => {
  const bad: string[] = [];
  for (const f of layered) {
    for (const m of readFileSync(join(root, f), 'utf8').matchAll(/from '((?:\.\.\/)+engine\/[^']*)'/g)) {
      if (!m[1].endsWith('engine/index.ts')) bad.push(`${f}: ${m[1]}`);
    }
  }
  assert.equal(bad, []);
});

test('nn/, swa/ and cli/ never call a Backend method (they use tensor ops, in-place ones included)', () => {
  const program = ts.createProgram(
    layered.map((f) => join(root, f)),
    {
      allowImportingTsExtensions: true,
      noEmit: true,
      strict: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      types: [],
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    },
  );
  const checker = program.getTypeChecker();
  const backendFile = join(root, 'engine/backend.ts');
  const isBackend = (t: ts.Type): boolean =>
    (t.isUnion() ? t.types : [t]).some((u) => {
      const decl = u.getSymbol()?.declarations?.[0];
      return u.getSymbol()?.name === 'Backend' && decl?.getSourceFile().fileName === backendFile;
    });
  const calls: string[] = [];
  for (const f of layered) {
    const sf = program.getSourceFile(join(root, f));
    if (!sf) throw new Error(`${f}: not parsed`);
    const visit = (n: ts.Node): void => {
      if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression)) {
        if (isBackend(checker.getTypeAtLocation(n.expression.expression))) {
          const { line } = sf.getLineAndCharacterOfPosition(n.getStart());
          calls.push(`${f}:${line + 1}: ${n.expression.getText(sf)}()`);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  assert.ok(layered.length > 30, `expected the nn/, swa/ and cli/ sources, found ${layered.length}`);
  assert.equal(calls, []);
});

test.run();
