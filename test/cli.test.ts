// The CLIs' shared option parser (cli/options.ts) on a table of good and bad inputs, and the built `swa-engine`
// command (dist/cli/main.js, and its copies train.js and swa.js): help without arguments and for every command, one
// line and exit code 2 for bad options, one line and exit code 1 for bad data, never a stack trace for either;
// analyze's positional RUN_DIR and its options (the exit codes themselves: cli-errors.test.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_OPTIONS, DEVICE_OPTIONS, SGD_OPTIONS, modelNameProblem } from '../cli/common.ts';
import { setDevice } from '../engine/index.ts';
import { createModel } from '../nn/models/index.ts';
import { helpText, parseOptions, UsageError, type OptionTable, type Values } from '../cli/options.ts';
import { ANALYZE, analyzeRequest, checkRequest, FLAGS } from '../cli/analyze-options.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The options of `swa-engine train`, as the tests need a table like the commands' own. */
const OPTIONS = {
  ...DATA_OPTIONS,
  epochs: { type: 'number', arg: 'N', integer: true, min: 1, default: 5, help: 'epochs' },
  lr: { type: 'number', arg: 'A', above: 0, default: 0.05, help: 'learning rate' },
  schedule: { type: 'choice', values: ['baseline', 'constant'], default: 'baseline', noun: 'schedule', help: 's' },
  seeds: { type: 'list', integer: true, min: 0, default: [0], help: 'seeds' },
  seed: { type: 'number', integer: true, min: 0, default: 0, help: 'seed' },
  budget: { type: 'number', integer: true, min: 1, help: 'budget' },
  ...SGD_OPTIONS,
  augment: { type: 'flag', help: 'augment' },
  ...DEVICE_OPTIONS,
  out: { type: 'string', arg: 'DIR', help: 'output folder' },
} as const satisfies OptionTable;

/** The parsed options (never 'help' here). */
function parse(argv: string[], env: Record<string, string> = {}): Values<typeof OPTIONS> {
  const v = parseOptions(OPTIONS, argv, env);
  if (v === 'help') throw new Error(`${argv.join(' ')}: parsed as --help`);
  return v;
}

function rejects(argv: string[], message: string, env: Record<string, string> = {}): void {
  try {
    parse(argv, env);
  } catch (e) {
    assert.instance(e, UsageError, `${argv.join(' ')}: ${(e as Error).message}`);
    assert.is((e as Error).message, message, argv.join(' '));
    return;
  }
  assert.unreachable(`${argv.join(' ')} should be rejected`);
}

test('parser: defaults, --name value, --name=value, unique prefixes, --no-flag, lists and the environment', () => {
  const d = parse(['--epochs', '1']);
  assert.is(d.model, 'small-cnn');
  assert.is(d.lr, 0.05);
  assert.is(d.threads, undefined);
  assert.is(d.augment, undefined);
  assert.equal(d.seeds, [0]);
  const v = parse(['--ep', '3', '--lr=1e-2', '--no-aug', '--seeds', '0, 1,2', '--mom', '0', '--device', 'wasm']);
  assert.equal([v.epochs, v.lr, v.augment, v.seeds, v.momentum, v.device], [3, 0.01, false, [0, 1, 2], 0, 'wasm']);
  assert.is(parse(['--augment']).augment, true);
  assert.is(parse(['--lr', '.5']).lr, 0.5);
  assert.is(parse(['--model', 'wrn16-4']).model, 'wrn16-4');
  const env = { SWA_WASM_THREADS: '3', SWA_WASM_WAIT: 'block' };
  assert.equal([parse(['--lr', '1'], env).threads, parse(['--lr', '1'], env)['wasm-wait']], [3, 'block']);
  assert.is(parse(['--threads', '2'], env).threads, 2, 'the option wins over the environment');
  assert.is(parseOptions(OPTIONS, ['--help', '--bogus']), 'help');
  assert.is(parseOptions(OPTIONS, ['-h']), 'help');
});

test('parser: every bad input is one line naming the option (and the closest valid one)', () => {
  rejects(['--lrr', '1'], 'unknown option --lrr (the closest is --lr)');
  rejects(['--moment', '0.5', '--sed', '1'], 'unknown option --sed (the closest is --seed)');
  rejects(['--s', '1'], 'ambiguous option --s: --schedule, --seeds, --seed');
  rejects(['--momentum', '1.5'], "--momentum must be a number in [0, 1), got '1.5'");
  rejects(['--momentum', '-0.1'], "--momentum must be a number in [0, 1), got '-0.1'");
  for (const lr of ['Infinity', '-1', '0', '1e400', '0x10', '', 'NaN', '1,5']) {
    rejects(['--lr', lr], `--lr must be a number > 0, got '${lr}'`);
  }
  rejects(['--width', 'abc'], "--width must be a number > 0, got 'abc'");
  rejects(['--epochs', '0'], "--epochs must be an integer ≥ 1, got '0'");
  rejects(['--epochs', '2.5'], "--epochs must be an integer ≥ 1, got '2.5'");
  rejects(['--threads', '65'], "--threads must be an integer in [1, 64], got '65'");
  rejects(['--wd', '-1'], "--wd must be a number ≥ 0, got '-1'");
  rejects(['--seeds', '0,,1'], "--seeds must be a comma-separated list, got '0,,1'");
  rejects(['--seeds', '0,-1'], "--seeds (each) must be an integer ≥ 0, got '-1'");
  rejects(['--device', 'nonsense'], '--device: unknown device nonsense (auto, webgpu, wasm)');
  rejects(['--device', 'wasn'], '--device: unknown device wasn (auto, webgpu, wasm); did you mean wasm?');
  rejects(['--schedule', 'bogus'], '--schedule: unknown schedule bogus (baseline, constant)');
  rejects(
    ['--data', 'mnist'],
    '--data: unknown data set mnist (fashion-mnist-mini, fashion-mnist, cifar10, cifar100); ' +
      'did you mean fashion-mnist?',
  );
  rejects(['--model', 'wrn28-0'], `--model: ${modelNameProblem('wrn28-0')}`);
  rejects(['--model', 'resnet18'], `--model: ${modelNameProblem('resnet18')}`);
  rejects(['--epochs'], '--epochs needs a value (N)');
  rejects(['--outt', 'x'], 'unknown option --outt (the closest is --out)');
  rejects(['--data-dir', '--epochs'], '--data-dir needs a value (DIR)');
  rejects(['5'], "unexpected argument '5' (every input is an option: --name value)");
  rejects(['--epochs', '1', '--epochs', '2'], '--epochs is given twice');
  rejects(['--augment=yes'], "--augment takes no value, got 'yes'");
  rejects(['--lr', '1'], "SWA_WASM_THREADS (--threads) must be an integer in [1, 64], got '0'", {
    SWA_WASM_THREADS: '0',
  });
  rejects(['--lr', '1'], 'SWA_WASM_WAIT (--wasm-wait): unknown wait policy fast (poll, block, spin)', {
    SWA_WASM_WAIT: 'fast',
  });
  const required = { budget: { type: 'number', required: true, help: 'epochs of the SGD baseline' } } as const;
  assert.throws(() => parseOptions(required, []), /^--budget is required \(epochs of the SGD baseline\)$/);
});

test('model names: what createModel builds, with the depths its constructors accept', () => {
  for (const ok of ['small-cnn', 'preresnet20', 'preresnet110', 'preresnet164', 'vgg16', 'vgg16bn', 'wrn28-10']) {
    assert.is(modelNameProblem(ok), null, ok);
  }
  for (const bad of ['preresnet21', 'preresnet2', 'preresnet50', 'vgg17', 'wrn28-0', 'wrn27-10', 'wrn4-1', 'cnn']) {
    assert.ok(modelNameProblem(bad)?.startsWith(`unknown model ${bad}`), bad);
  }
});

test('model names: the check agrees with what the model constructors accept', async () => {
  await setDevice('wasm', { wasm: { threads: 1 } });
  for (const name of ['preresnet8', 'preresnet21', 'preresnet44', 'preresnet45', 'wrn10-1', 'wrn11-1', 'vgg11']) {
    let built = true;
    try {
      createModel(name, { inChannels: 1, size: 8, classes: 2, width: 0.125 });
    } catch {
      built = false;
    }
    assert.is(modelNameProblem(name) === null, built, name);
  }
});

test('help: every option with its placeholder, default, environment variable; lines within 120 columns', () => {
  const text = helpText({ name: 'swa-engine test', summary: 'a test command', options: OPTIONS, notes: 'Notes.' });
  for (const [name, spec] of Object.entries(OPTIONS)) {
    const line = text.split('\n').find((l) => l.includes(`--${name} `) || l.includes(`--${name},`));
    assert.ok(line, `--${name} is documented`);
    if ('default' in spec && !Array.isArray(spec.default)) assert.ok(text.includes(`default ${spec.default}`), name);
    if ('env' in spec) assert.ok(text.includes(`env ${spec.env}`), name);
  }
  assert.ok(text.includes('--augment, --no-augment'));
  for (const l of text.split('\n')) assert.ok(l.length <= 120, `help line of ${l.length} columns: ${l}`);
});

/** `node dist/cli/<file> args`: exit status, stdout, stderr. */
function cli(file: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'dist/cli', file), ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const TRAIN_OPTIONS = ['model', 'width', 'data', 'data-dir', 'limit', 'epochs', 'lr', 'schedule', 'batch', 'momentum'];
const SWA_OPTIONS = ['budget', 'seeds', 'swa-lr', 'swa-start', 'cycle', 'alpha2', 'fge-cycle', 'swag-samples'];
const SHARED = ['wd', 'augment', 'device', 'threads', 'wasm-wait', 'out'];

test('swa-engine: no arguments prints the commands; every command documents its options with --help', () => {
  const top = cli('main.js', []);
  assert.is(top.status, 0);
  assert.match(top.stdout, /^swa-engine \d+\.\d+\.\d+: /);
  assert.match(top.stdout, /\n {2}train {3}/);
  assert.match(top.stdout, /\n {2}swa {5}/);
  for (const [cmd, names] of [
    ['train', [...TRAIN_OPTIONS, 'seed', ...SHARED]],
    ['swa', [...TRAIN_OPTIONS.filter((n) => n !== 'epochs'), ...SWA_OPTIONS, 'swa-eval', 'progress', ...SHARED]],
  ] as const) {
    for (const args of [[cmd], [cmd, '--help']]) {
      const r = cli('main.js', args);
      assert.is(r.status, 0, args.join(' '));
      assert.ok(r.stdout.startsWith(`swa-engine ${cmd}: `), r.stdout);
      for (const n of names) assert.match(r.stdout, new RegExp(`\\n {2}--${n}[ ,]`), `${cmd} --help: --${n}`);
    }
    assert.equal(cli(`${cmd}.js`, ['--help']).stdout, cli('main.js', [cmd, '--help']).stdout, `${cmd}.js`);
  }
});

test('swa-engine: bad options end in one line and exit code 2, bad data in one line and exit code 1', () => {
  const oneLine = (r: { status: number | null; stderr: string; stdout: string }, status: number, text: string) => {
    assert.is(r.status, status, r.stderr);
    assert.is(r.stderr.trim(), text);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  };
  oneLine(
    cli('main.js', ['trian']),
    2,
    "swa-engine: unknown command 'trian' (the closest is train; see swa-engine --help)",
  );
  oneLine(cli('main.js', ['train', '--lrr', '1']), 2, 'swa-engine train: unknown option --lrr (the closest is --lr)');
  oneLine(
    cli('train.js', ['--momentum', '1.5']),
    2,
    "swa-engine train: --momentum must be a number in [0, 1), got '1.5'",
  );
  oneLine(
    cli('main.js', ['swa', '--budget', '2', '--schedule', 'bogus']),
    2,
    'swa-engine swa: --schedule: unknown schedule bogus (constant, cyclical)',
  );
  oneLine(
    cli('swa.js', ['--seeds', '1']),
    2,
    'swa-engine swa: --budget is required ' + '(epochs of the SGD baseline (one budget); SWA runs to 1.5·B)',
  );
  const tmp = mkdtempSync(join(tmpdir(), 'swa-cli-'));
  const data = cli('main.js', ['train', '--data', 'fashion-mnist', '--data-dir', tmp, '--device', 'wasm']);
  assert.is(data.status, 1, data.stderr);
  assert.match(data.stderr.trim(), new RegExp(`^swa-engine train: ${tmp}: no train images file: looked for `));
  assert.not.match(data.stderr, /\n\s+at /);
  writeFileSync(join(tmp, 'file'), '');
  const out = cli('main.js', ['train', '--data', 'fashion-mnist-mini', '--out', join(tmp, 'file', 'run')]);
  assert.is(out.status, 1, out.stderr);
  assert.match(out.stderr.trim(), /^swa-engine train: ENOTDIR: not a directory, mkdir '.*file\/run'$/);
});

test('parser: a positional argument fills in order, is required, and is not an option', () => {
  const table = {
    run: { type: 'string', positional: true, arg: 'RUN_DIR', required: true, help: 'the run folder' },
    quick: { type: 'flag', help: 'quick' },
    steps: { type: 'number', integer: true, min: 2, help: 'steps' },
  } as const satisfies OptionTable;
  const ok = (argv: string[]) => parseOptions(table, argv);
  assert.equal(ok(['runs/a', '--quick']), { run: 'runs/a', quick: true, steps: undefined });
  assert.equal(ok(['--steps', '3', 'runs/a']), { run: 'runs/a', quick: undefined, steps: 3 });
  assert.equal(ok(['--quick', '--', '--odd name']), { run: '--odd name', quick: true, steps: undefined });
  const no = (argv: string[], message: string): void => {
    assert.throws(
      () => parseOptions(table, argv),
      (e: Error) => e instanceof UsageError && e.message === message,
    );
  };
  no(['--quick'], 'RUN_DIR is required (the run folder)');
  no(['a', 'b'], "unexpected argument 'b' (RUN_DIR is 'a')");
  no(['a', '-q'], "unexpected argument '-q' (options start with --)");
  no(['--run', 'a'], 'unknown option --run (the closest is --quick)');
  no(['a', '--steps', '1'], "--steps must be an integer ≥ 2, got '1'");
  const help = helpText({ name: 'x', summary: 's', options: table });
  assert.ok(help.includes('usage: x RUN_DIR [options]'), help);
  assert.match(help, /\n {2}RUN_DIR +the run folder \[required\]\n/);
});

/** analyze's options: parsed (never 'help' here). */
function analyzeArgs(argv: string[]): Values<typeof ANALYZE.options> {
  const v = parseOptions(ANALYZE.options, argv, {});
  if (v === 'help') throw new Error(`${argv.join(' ')}: parsed as --help`);
  return v;
}

test('analyze: RUN_DIR and every number reach the library under the key its checks name', () => {
  const numbers = Object.entries(ANALYZE.options).filter(([, s]) => s.type === 'number' && !('env' in s));
  assert.equal(
    numbers.map(([n]) => `--${n}`).sort(),
    Object.values(FLAGS)
      .filter((f) => f !== '--analyses' && f !== '--planes')
      .sort(),
  );
  for (const [key, flag] of Object.entries(FLAGS)) {
    if (flag === '--analyses' || flag === '--planes') continue;
    const r = analyzeRequest(analyzeArgs(['runs/a', flag, '7'])) as unknown as Record<string, unknown>;
    const [head, tail] = key.split('.');
    const got = tail === undefined ? r[head] : (r[head] as Record<string, unknown>)[tail];
    assert.is(got, 7, `${flag} → ${key}`);
  }
  const r = analyzeRequest(analyzeArgs(['runs/a', '--analyses', 'all', '--planes', 'sgd-swa', '--no-progress']));
  assert.equal(
    [r.run, r.analyses, r.planes, r.progress],
    ['runs/a', ['rays', 'line', 'planes', 'fge'], ['sgd-swa'], false],
  );
  const d = analyzeRequest(analyzeArgs(['runs/a']));
  assert.equal(
    [d.quick, d.bnImages, d.rays?.steps, d.progress],
    [undefined, undefined, undefined, true],
    'the library fills the defaults',
  );
});

test('analyze: bad numbers, unknown options (with the closest) and the library checks name the flag', () => {
  const no = (argv: string[], message: string): void => {
    try {
      checkRequest(analyzeRequest(analyzeArgs(argv)));
    } catch (e) {
      assert.instance(e, UsageError, String(e));
      assert.is((e as Error).message, message);
      return;
    }
    assert.unreachable(`${argv.join(' ')} should be rejected`);
  };
  no(['runs/a', '--plane-margin', 'x'], "--plane-margin must be a number, got 'x'");
  no(['runs/a', '--ray-distance', 'Infinity'], "--ray-distance must be a number, got 'Infinity'");
  no(['runs/a', '--plane-grids', '4'], 'unknown option --plane-grids (the closest is --plane-grid)');
  no(['runs/a', '--direction', '4'], 'ambiguous option --direction: --directions, --direction-seed');
  no(['--quick'], 'RUN_DIR is required (the folder `swa --out` wrote)');
  no(['runs/a', '--directions', '0'], '--directions must be an integer ≥ 1, got 0');
  no(
    ['runs/a', '--ray-steps', '1', '--flush-seconds', '-1'],
    '--ray-steps must be an integer ≥ 2, got 1; --flush-seconds must be a number ≥ 0, got -1',
  );
  no(['runs/a', '--planes', 'fge,cube'], "--planes has unknown plane 'cube' (known: fge, sgd-swa)");
  no(['runs/a', '--threads', '0'], "--threads must be an integer in [1, 64], got '0'");
});

/** Every option `swa-engine analyze` has had (the node:util parseArgs version), and the ones it shares now. */
const ANALYZE_OPTIONS = [
  ...['seed', 'analyses', 'planes', 'out', 'quick', 'bn-images', 'train-images', 'test-images', 'subset-seed'],
  ...['bn-batch', 'eval-batch', 'directions', 'ray-steps', 'direction-seed', 'ray-distance', 'width-margin'],
  ...['loss-margin', 'line-steps', 'line-margin', 'plane-grid', 'plane-margin', 'fresh', 'flush-seconds'],
  ...['data-dir', 'device', 'threads', 'progress', 'wasm-wait'],
];

test('analyze: --help (and no arguments) documents RUN_DIR and every option; bad input is one line, exit 2', () => {
  const help = cli('analyze.js', ['--help']);
  assert.is(help.status, 0, help.stderr);
  assert.ok(help.stdout.startsWith('swa-engine analyze: '), help.stdout);
  assert.ok(help.stdout.includes('usage: swa-engine analyze RUN_DIR [options]'));
  for (const n of ANALYZE_OPTIONS) assert.match(help.stdout, new RegExp(`\\n {2}--${n}[ ,]`), `--${n}`);
  assert.equal(cli('main.js', ['analyze', '--help']).stdout, help.stdout);
  assert.equal(cli('main.js', ['analyze']).stdout, help.stdout);
  for (const l of help.stdout.split('\n')) assert.ok(l.length <= 120, `help line of ${l.length} columns: ${l}`);
  for (const [file, args, text] of [
    ['analyze.js', ['runs/a', '--directions', 'x'], "--directions must be a number, got 'x'"],
    [
      'main.js',
      ['analyze', 'runs/a', '--plane-grids', '4'],
      'unknown option --plane-grids (the closest is --plane-grid)',
    ],
    ['analyze.js', ['--quick', '--device', 'wasm'], 'RUN_DIR is required (the folder `swa --out` wrote)'],
    ['main.js', ['analyze', 'runs/a', '--line-steps', '1'], '--line-steps must be an integer ≥ 2, got 1'],
  ] as const) {
    const r = cli(file, [...args]);
    assert.is(r.status, 2, r.stderr);
    assert.is(r.stderr.trim(), `swa-engine analyze: ${text}`);
    assert.is(r.stdout, '', 'checked before the device opens');
  }
});

test.run();
