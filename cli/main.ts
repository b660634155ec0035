// `swa-engine`, the package's command: `swa-engine <command> [options]` runs one of COMMANDS (a copy of this bundle
// named after a command, as dist/cli/train.js, runs that one). The commands throw; cli/errors.ts decides how an error
// ends the process (bad options: one line, exit code 2; a user error: one line, exit code 1; a bug: its stack).

import { basename } from 'node:path';
import { version } from '../package.json';
import { exitOnError } from './errors.ts';
import { closest } from './options.ts';

/** Every command: its one-line summary and the module that runs it (a script that parses its own options). */
const COMMANDS: Readonly<Record<string, { summary: string; run: () => Promise<unknown> }>> = {
  train: { summary: 'train a model with SGD (per-epoch metrics, a checkpoint)', run: () => import('./train.ts') },
  swa: {
    summary: "reproduce the SWA paper's Table 1 (SGD, FGE, SWA, SWAG) for a model",
    run: () => import('./swa.ts'),
  },
  start: {
    summary: 'the main job: SGD vs SWA vs FGE on the embedded Fashion-MNIST subset, in about 3 minutes',
    run: () => import('./start.ts'),
  },
  analyze: {
    summary: "the paper's geometry of a run: rays, the SGD–SWA line, planes, SWA vs FGE",
    run: () => import('./analyze.ts'),
  },
};

const HELP = [
  `swa-engine ${version}: Stochastic Weight Averaging on WebGPU and WebAssembly`,
  '',
  'usage: swa-engine <command> [options]   (swa-engine <command> --help lists its options)',
  '',
  'commands:',
  ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)}${c.summary}`),
  '',
  'Environment: SWA_WASM_THREADS and SWA_WASM_WAIT stand in for --threads and --wasm-wait.',
].join('\n');

/** The command this process runs: the one this file is named after, else the first argument (removed from argv). */
function commandName(): string {
  const self = basename(process.argv[1] ?? '').replace(/\.[cm]?js$/, '');
  if (Object.hasOwn(COMMANDS, self)) return self;
  const first = process.argv[2];
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    console.log(HELP);
    process.exit(0);
  }
  if (first === '--version' || first === '-v') {
    console.log(version);
    process.exit(0);
  }
  if (!Object.hasOwn(COMMANDS, first)) {
    const near = closest(first, Object.keys(COMMANDS));
    console.error(`swa-engine: unknown command '${first}' (the closest is ${near}; see swa-engine --help)`);
    process.exit(2);
  }
  // NOTE: the command modules read their options from process.argv after the script, as when run on their own.
  process.argv.splice(2, 1);
  return first;
}

const name = commandName();
try {
  await COMMANDS[name].run();
} catch (e) {
  exitOnError(`swa-engine ${name}`, e);
}
