// The one place that decides how a command's error ends the process: bad options exit 2, everything else a user can
// cause (bad data, a device that cannot be had, a run folder in the way, a diverged run) exits 1, an interrupted run
// exits 130, each as one line without a stack; any other error is a bug and keeps its stack trace.

import { DeviceError } from '../engine/index.ts';
import {
  analysis,
  CheckpointError,
  DataError,
  DivergenceError,
  NonFiniteJsonError,
  RunFolderError,
  RunInterrupted,
  RunnerConfigError,
  SafetensorsError,
} from '../node.ts';
import { UsageError } from './options.ts';

/** Option values the parser or the library's checks rejected: exit code 2. */
const BAD_OPTIONS = [UsageError, RunnerConfigError, analysis.AnalysisConfigError];
/**
 * Bad input or an unusable environment, not a bug: exit code 1. RunFolderError covers the run locks (RunLockedError,
 * RunLockLostError); RunFolderProblem is a RUN_DIR that is no usable run folder.
 */
const USER_ERRORS = [
  DataError,
  SafetensorsError,
  DeviceError,
  CheckpointError,
  DivergenceError,
  NonFiniteJsonError,
  RunFolderError,
  analysis.RunFolderProblem,
  analysis.StoreMismatchError,
];
/** Stopped by Ctrl-C (everything done so far saved): exit code 130, as a shell reports SIGINT. */
const INTERRUPTS = [RunInterrupted, analysis.AnalysisInterrupted];

/**
 * The exit code an error that ended a command calls for: 2 for bad options, 1 for a user error, 130 for an
 * interrupted run, undefined for a bug (rethrow it, for its stack trace). A system error (ENOENT, EACCES, ENOSPC …)
 * on the files and folders the options name is a user error.
 */
export function exitCode(e: unknown): 1 | 2 | 130 | undefined {
  if (BAD_OPTIONS.some((c) => e instanceof c)) return 2;
  if (INTERRUPTS.some((c) => e instanceof c)) return 130;
  if (USER_ERRORS.some((c) => e instanceof c)) return 1;
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && /^E[A-Z]+$/.test(code) ? 1 : undefined;
}

/** The error's message on one line (the runner's config check lists its problems on lines of their own). */
export function errorLine(e: Error): string {
  if (e instanceof RunnerConfigError) return `invalid SWA run settings: ${e.problems.join('; ')}`;
  return e.message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * Ends the process for an error a command threw: one line `<command>: message` on stderr and the exit code of
 * `exitCode`; a bug is rethrown. Every command (`swa-engine <name>`, dist/cli/<name>.js) ends through here.
 */
export function exitOnError(command: string, e: unknown): never {
  const code = exitCode(e);
  if (code === undefined || !(e instanceof Error)) throw e;
  console.error(`${command}: ${errorLine(e)}`);
  process.exit(code);
}
