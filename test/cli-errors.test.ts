// The one place that picks every command's exit code (cli/errors.ts, used by the dispatcher cli/main.ts): its table
// of library errors, no command keeping a list of its own, and the built `swa-engine train` (main.js and its copy
// train.js) ending bad options in one line and exit code 2, bad data in one line and 1, before the device opens.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelNameProblem } from '../cli/common.ts';
import { errorLine, exitCode } from '../cli/errors.ts';
import { UsageError } from '../cli/options.ts';
import { DeviceError } from '../engine/index.ts';
import {
  analysis,
  CheckpointError,
  DataError,
  DivergenceError,
  NonFiniteJsonError,
  RunFolderError,
  RunInterrupted,
  RunLockedError,
  RunnerConfigError,
  SafetensorsError,
} from '../node.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** `node dist/cli/<file> args`: exit status, stdout, stderr. */
function cli(file: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'dist/cli', file), ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const IMAGES = 'train-images-idx3-ubyte.gz, train-images-idx3-ubyte';

test('errors: one place picks the exit code (2 bad options, 1 user errors, 130 interrupted, a bug rethrown)', () => {
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), { code: 'ENOENT' });
  const diverged = new DivergenceError({ where: 'training', quantity: 'training loss', value: NaN, epoch: 1 });
  for (const [e, code] of [
    [new UsageError('--lr must be a number > 0'), 2],
    [new RunnerConfigError(['swa start must be an epoch', 'FGE takes no snapshot']), 2],
    [new analysis.AnalysisConfigError([{ option: 'rays.steps', problem: 'must be an integer ≥ 2, got 1' }]), 2],
    [new DataError('x.gz', 'truncated'), 1],
    [new SafetensorsError('bad header'), 1],
    [new DeviceError('no WebGPU adapter'), 1],
    [new CheckpointError('no such tensor'), 1],
    [diverged, 1],
    [new NonFiniteJsonError('NaN in report.json'), 1],
    [new RunFolderError('other settings'), 1],
    [new RunLockedError('locked by pid 1'), 1],
    [new analysis.RunFolderProblem('no settings.json'), 1],
    [new analysis.StoreMismatchError('another fingerprint'), 1],
    [enoent, 1],
    [new RunInterrupted(0, 'sgd', 3), 130],
    [new analysis.AnalysisInterrupted(7), 130],
    [new TypeError('x is undefined'), undefined],
    [new Error('a bug'), undefined],
    ['a string', undefined],
  ] as [unknown, number | undefined][]) {
    assert.is(exitCode(e), code, String(e));
  }
  assert.is(
    errorLine(new RunnerConfigError(['swa start must be an epoch', 'FGE takes no snapshot'])),
    'invalid SWA run settings: swa start must be an epoch; FGE takes no snapshot',
  );
  // No command keeps a list of its own: no error classes caught, no exit code picked but Ctrl-C's second press.
  for (const f of ['train', 'swa', 'analyze']) {
    const src = readFileSync(join(root, `cli/${f}.ts`), 'utf8');
    assert.not.match(src, /instanceof|usageExit/, `cli/${f}.ts`);
    assert.equal(src.match(/process\.exit\([^)]*\)/g) ?? [], f === 'train' ? [] : ['process.exit(130)'], `cli/${f}.ts`);
  }
});

test('swa-engine train: --lr Infinity and --model wrn28-0 exit 2, --data-dir /nonexistent 1, before the device', () => {
  for (const [args, status, text] of [
    [
      ['--data', 'fashion-mnist-mini', '--epochs', '1', '--lr', 'Infinity'],
      2,
      "--lr must be a number > 0, got 'Infinity'",
    ],
    [['--model', 'wrn28-0'], 2, `--model: ${modelNameProblem('wrn28-0')}`],
    [
      ['--data-dir', '/nonexistent'],
      1,
      '/nonexistent: no train images file: looked for train-images-idx3-ubyte.gz, train-images-idx3-ubyte',
    ],
    [['--data', 'cifar10'], 2, '--data cifar10 needs --data-dir (the folder with the binary batches)'],
  ] as const) {
    for (const [file, pre] of [
      ['train.js', []],
      ['main.js', ['train']],
    ] as const) {
      const r = cli(file, [...pre, ...args]);
      assert.is(r.status, status, `${file} ${args.join(' ')}: ${r.stderr}`);
      assert.is(r.stderr.trim(), `swa-engine train: ${text}`);
      assert.not.match(r.stdout, /device:/, 'the device is not opened');
    }
  }
});

test.run();
