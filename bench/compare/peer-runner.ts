// Runs one peer's runner as a child process and collects its `@@` lines, with a time budget per figure: a figure
// that overruns is stopped (the child is killed), reported as an upper bound, and the child restarted on the rest.

import { spawn } from 'node:child_process';
import { CONV_SHAPES, convFlop, INFER_BATCH, TRAIN_BATCH, type FigureResult } from './figures.ts';

export interface PeerRun {
  results: Map<string, FigureResult>;
  /** Every INFO payload the runner printed (one per start). */
  info: Record<string, unknown>[];
}

export interface RunnerCommand {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** Work per step of a figure (images, or GFLOP), for the bound reported when it runs out of time; null for SWA. */
function perStep(id: string): number | null {
  const [kind, a, pass] = id.split('/');
  if (kind === 'train') return TRAIN_BATCH;
  if (kind === 'infer') return INFER_BATCH;
  if (kind === 'matmul') return (2 * Number(a) ** 3) / 1e9;
  const s = CONV_SHAPES.find((c) => c.id === a);
  if (kind === 'conv' && s && pass) return convFlop(s) / 1e9;
  return null;
}

/**
 * The result of a figure stopped after `budget` seconds with `steps` steps (warm-up included) done: the rate over
 * that window was below (steps + 1)·work/budget, whatever the device did with the steps it had been handed.
 */
function timedOut(id: string, budget: number, steps: number): FigureResult {
  const work = perStep(id);
  const what = `time budget of ${budget} s ran out after ${steps} step${steps === 1 ? '' : 's'}`;
  if (work === null) return { id, error: `${what}` };
  return { id, value: ((steps + 1) * work) / budget, bound: '<', detail: `${what}; the rate is below this bound` };
}

/**
 * Runs `cmd` with `--only=<ids>` until every id has a result. `budget` seconds per figure. A runner that dies gives
 * its exit status and last stderr lines to the figure it was measuring (or to all remaining ones if it died before
 * starting any) and is restarted for the others.
 */
export async function runPeer(cmd: RunnerCommand, ids: readonly string[], budget: number): Promise<PeerRun> {
  const results = new Map<string, FigureResult>();
  const info: Record<string, unknown>[] = [];
  let remaining = [...ids];
  while (remaining.length > 0) {
    const before = results.size;
    const outcome = await runOnce(cmd, remaining, budget, results, info);
    const stopped = outcome.current !== null && remaining.includes(outcome.current) ? outcome.current : null;
    // The figure in progress caused the stop (its budget, or a crash) and keeps that as its result; the others get a
    // fresh process. A run that settled nothing new (it died before starting any figure) settles them all.
    if (stopped && !results.has(stopped)) results.set(stopped, { id: stopped, error: outcome.reason });
    remaining = remaining.filter((id) => !results.has(id));
    if (results.size === before) for (const id of remaining) results.set(id, { id, error: outcome.reason });
    remaining = remaining.filter((id) => !results.has(id));
  }
  return { results, info };
}

/** One child process; resolves when it exits (or is killed for its budget). */
function runOnce(
  cmd: RunnerCommand,
  ids: readonly string[],
  budget: number,
  results: Map<string, FigureResult>,
  info: Record<string, unknown>[],
): Promise<{ current: string | null; reason: string }> {
  return new Promise((resolve) => {
    const args = [...cmd.args, `--only=${ids.join(',')}`];
    const child = spawn(cmd.command, args, { env: cmd.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let current: string | null = null;
    let steps = 0;
    let timer: NodeJS.Timeout | null = null;
    let killedFor: string | null = null;
    const stderrTail: string[] = [];
    const arm = (id: string): void => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        killedFor = id;
        results.set(id, timedOut(id, budget, steps));
        process.stderr.write(`  ${id}: stopped after its ${budget} s budget (${steps} steps done)\n`);
        child.kill('SIGKILL');
      }, budget * 1e3);
    };
    let buffered = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^@@(FIGURE|INFO|START|STEP) (.*)$/.exec(line);
        if (!m) continue;
        const payload = JSON.parse(m[2]) as Record<string, unknown>;
        if (m[1] === 'INFO') info.push(payload);
        else if (m[1] === 'START') {
          current = String(payload.id);
          steps = 0;
          arm(current);
        } else if (m[1] === 'STEP') steps = Number(payload.steps);
        else if (!killedFor) {
          const r = payload as unknown as FigureResult;
          results.set(r.id, r);
          if (timer) clearTimeout(timer);
          current = null;
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      process.stderr.write(chunk);
      stderrTail.push(...chunk.split('\n').filter((l) => l.trim().length > 0));
      stderrTail.splice(0, Math.max(0, stderrTail.length - 8));
    });
    const finish = (reason: string): void => {
      if (timer) clearTimeout(timer);
      resolve({ current: killedFor ?? current, reason });
    };
    child.on('error', (e) => finish(`could not start ${cmd.command}: ${e.message}`));
    child.on('close', (code, signal) => {
      const status = signal ? `signal ${signal}` : `exit code ${code}`;
      finish(`runner stopped (${status}): ${stderrTail.slice(-3).join(' | ') || 'no output'}`);
    });
  });
}
