// The comparison's orchestrator: runs every peer (ours on wasm and WebGPU, TF.js cpu/wasm/webgpu, three PyTorch
// set-ups) in its own process, interleaved over rounds (A B … B A …) so that a drifting machine hits them all alike,
// then writes the medians and spreads as markdown and JSON to bench/results/.
// Flags: --quick, --rounds=N, --only=train,conv/l1, --peers=ours-wasm,torch-best.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { bestOfThreads, summarize, type Summary } from './aggregate.ts';
import { FIGURES, figureBudget, parseFlags, PEERS, selected, type FigureResult, type PeerSpec } from './figures.ts';
import { describeMachine } from './machine.ts';
import { runPeer, type RunnerCommand } from './peer-runner.ts';
import { markdown, type CompareReport, type RunRecord } from './report.ts';
import { bestThreadCounts, checkTorchConfig, torchCommand, type ConfigCheck } from './torch-peers.ts';

const root = new URL('../../', import.meta.url).pathname;
const here = new URL('.', import.meta.url).pathname;
const { quick, only, rest } = parseFlags(process.argv.slice(2));
const peersArg = rest
  .find((a) => a.startsWith('--peers='))
  ?.slice('--peers='.length)
  .split(',')
  .filter(Boolean);
const unknownPeers = (peersArg ?? []).filter((id) => !PEERS.some((p) => p.id === id));
if (unknownPeers.length) {
  throw new Error(`--peers: unknown ${unknownPeers.join(', ')}; known: ${PEERS.map((p) => p.id).join(', ')}`);
}
const peers = PEERS.filter((p) => !peersArg || peersArg.includes(p.id));
const roundsArg = rest.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length);
const rounds = roundsArg === undefined ? (quick ? 2 : 3) : Number(roundsArg);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new Error(`--rounds: expected a positive integer, got '${roundsArg}'`);
}
const cores = cpus().length;
/** The headline pair, the only peers --quick repeats (the others run once, to keep the smoke run short). */
const QUICK_REPEATED = new Set(['ours-wasm', 'torch-best']);

if (!process.env.XDG_RUNTIME_DIR) {
  // Mesa warns on every process without it; a private folder silences it.
  const dir = join(root, 'build/tmp/xdg');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

/** One process to start each round: a peer, at one thread count for a peer swept over several. */
interface Unit {
  key: string;
  peer: PeerSpec;
  threads?: number;
  ids: string[];
  /** Rounds this unit takes part in: --quick runs all but the headline pair once. */
  rounds: number;
  command: RunnerCommand | { error: string };
  /** Set when a round found the configuration wrong: later rounds are not run. */
  blocked?: string;
}

/** How to start a peer's runner, or the reason it cannot start. */
function commandFor(p: PeerSpec, threads: number | undefined): RunnerCommand | { error: string } {
  const flags = quick ? ['--quick'] : [];
  const [kind, backend] = p.id.split('-');
  if (kind === 'ours') return { command: process.execPath, args: [join(here, 'ours.js'), backend, ...flags] };
  if (kind === 'tfjs') return { command: process.execPath, args: [join(here, 'tfjs.js'), backend, ...flags] };
  return torchCommand(p.id, threads ?? Math.min(2, cores), quick);
}

const units: Unit[] = peers.flatMap((p) => {
  const ids = FIGURES.filter((f) => (!f.oursOnly || p.ours) && selected(f.id, only)).map((f) => f.id);
  if (ids.length === 0) return [];
  // The other PyTorch columns keep the 2 threads they always ran at; ours and TF.js choose their own.
  const fixed = p.id.startsWith('torch') ? Math.min(2, cores) : undefined;
  const counts: (number | undefined)[] = p.sweepThreads ? bestThreadCounts(cores) : [fixed];
  return counts.map((threads) => ({
    key: p.sweepThreads ? `${p.id}@${threads}` : p.id,
    peer: p,
    threads,
    ids,
    rounds: quick && !QUICK_REPEATED.has(p.id) ? 1 : rounds,
    command: commandFor(p, threads),
  }));
});

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A run's results with every figure replaced by `error`. */
const allFailed = (ids: readonly string[], error: string): Map<string, FigureResult> =>
  new Map(ids.map((id) => [id, { id, error }]));

const t0 = performance.now();
const loadBefore = loadavg()
  .map((x) => x.toFixed(2))
  .join(', ');
const samples = new Map<string, Map<string, FigureResult[]>>(units.map((u) => [u.key, new Map()]));
const infos = new Map<string, Record<string, unknown>>();
const checks = new Map<string, ConfigCheck>();
const runs: RunRecord[] = [];
const maxRounds = Math.max(0, ...units.map((u) => u.rounds));
for (let r = 0; r < maxRounds; r++) {
  // Odd rounds run in reverse, so a steady drift of the machine favours no peer.
  for (const u of r % 2 === 0 ? units : [...units].reverse()) {
    if (r >= u.rounds) continue;
    const at = u.threads ? `, ${plural(u.threads, 'thread')}` : '';
    process.stderr.write(`\n== round ${r + 1}/${maxRounds}: ${u.peer.label}${at} (${u.key}) ==\n`);
    const started = performance.now();
    let results: Map<string, FigureResult>;
    if ('error' in u.command || u.blocked !== undefined) {
      const why = 'error' in u.command ? u.command.error : (u.blocked ?? '');
      results = allFailed(u.ids, why);
      process.stderr.write(`  ${why}\n`);
    } else {
      const run = await runPeer(u.command, u.ids, figureBudget(u.peer.speed, quick));
      const info = Object.assign({}, ...run.info) as Record<string, unknown>;
      if (!infos.has(u.key)) infos.set(u.key, info);
      results = run.results;
      // A runner that never reported (it could not start) keeps its own error rather than a failed check.
      if (u.peer.id.startsWith('torch') && run.info.length > 0) {
        const check = checkTorchConfig(u.peer.id, u.threads ?? 0, info);
        if (!checks.has(u.key) || !check.ok) checks.set(u.key, check);
        const wrong = check.ok ? '' : `; WRONG: ${check.problems.join('; ')}`;
        process.stderr.write(`  configuration: ${check.found}${wrong}\n`);
        if (!check.ok) {
          u.blocked = `configuration check failed: ${check.problems.join('; ')}`;
          results = allFailed(u.ids, u.blocked);
        }
      }
    }
    const seconds = (performance.now() - started) / 1e3;
    const got = Object.fromEntries(u.ids.map((id) => [id, results.get(id) ?? { id, error: 'not reported' }]));
    for (const id of u.ids) samples.get(u.key)?.set(id, [...(samples.get(u.key)?.get(id) ?? []), got[id]]);
    runs.push({ round: r + 1, unit: u.key, peer: u.peer.id, threads: u.threads, seconds, results: got });
    process.stderr.write(`  (${seconds.toFixed(1)} s)\n`);
  }
}

/** One line per thing a peer's runner told about itself. */
function notesFor(p: PeerSpec, i: Record<string, unknown>): string[] {
  const notes: string[] = [];
  if (typeof i.backend === 'string') notes.push(i.backend);
  if (i.tfjs) notes.push(`TF.js ${String(i.tfjs)}${i.prodMode ? ', production mode' : ''}, channels-last`);
  if (i.threadsRequested !== undefined) {
    notes.push(`threads requested ${String(i.threadsRequested)}, running ${String(i.threads)}, SIMD ${String(i.simd)}`);
  }
  if (i.forcedThreadsError) {
    notes.push(`forcing its multithread flag under Node fails: ${String(i.forcedThreadsError)}`);
  }
  if (i.adapter) notes.push(`adapter ${JSON.stringify(i.adapter)}`);
  if (i.torch) notes.push(`torch ${String(i.torch)}, oneDNN ${String(i.mkldnn)}`);
  if (Array.isArray(i.libraries)) notes.push(`loaded ${i.libraries.join(', ')}`);
  for (const k of ['LD_LIBRARY_PATH', 'LD_PRELOAD', 'MALLOC_CONF']) if (i[k]) notes.push(`${k}=${String(i[k])}`);
  if (i.error) notes.push(`error: ${String(i.error)}`);
  if (p.id === 'tfjs-webgpu' || p.id === 'ours-webgpu') {
    notes.push("WebGPU through Dawn (npm webgpu) on this machine's adapter");
  }
  return notes;
}

const results: Record<string, Record<string, Summary>> = {};
const peerReports: CompareReport['peers'] = [];
for (const p of peers) {
  const mine = units.filter((u) => u.peer === p);
  if (mine.length === 0) continue;
  results[p.id] = {};
  for (const id of mine[0].ids) {
    const per = new Map(mine.map((u) => [u.threads ?? 0, summarize(id, samples.get(u.key)?.get(id) ?? [])]));
    results[p.id][id] = p.sweepThreads ? bestOfThreads(per) : [...per.values()][0];
  }
  const notes = notesFor(p, infos.get(mine[0].key) ?? {});
  const configChecks = mine.flatMap((u) => {
    const c = checks.get(u.key);
    return c ? [{ threads: u.threads, ...c }] : [];
  });
  for (const c of configChecks) {
    const at = p.sweepThreads ? `at ${plural(c.threads ?? 0, 'thread')}, ` : '';
    notes.push(`${at}configuration check ${c.ok ? 'passed' : `FAILED (${c.problems.join('; ')})`}: ${c.found}`);
  }
  if (p.sweepThreads) {
    notes.unshift(
      `measured at ${mine.map((u) => u.threads).join(' and ')} threads; each figure reports the count ` +
        'with the best median',
    );
  } else if (mine[0].threads) notes.unshift(plural(mine[0].threads, 'thread'));
  const runner = Object.fromEntries(mine.map((u) => [u.key, infos.get(u.key) ?? {}]));
  peerReports.push({ id: p.id, label: p.label, rounds: mine[0].rounds, notes, configChecks, runner });
}

const torchInfo = [...units]
  .reverse()
  .map((u) => infos.get(u.key))
  .find((i) => i?.torch);
const adapterNote = (id: string): string | undefined =>
  peerReports.find((p) => p.id === id)?.notes.find((n) => n.startsWith('WebGPU:') || n.startsWith('adapter'));
const machine = describeMachine(root);
const report: CompareReport = {
  date: new Date().toISOString().slice(0, 10),
  quick,
  rounds: maxRounds,
  command: `npm run bench:compare${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  seconds: (performance.now() - t0) / 1e3,
  machine: {
    ...machine,
    'load average (1, 5, 15 min) before / after': `${loadBefore} / ${loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')}`,
    PyTorch: torchInfo
      ? `torch ${String(torchInfo.torch)} (Python ${String(torchInfo.python)}, numpy ${String(torchInfo.numpy)})`
      : 'not run',
    'WebGPU (ours)': adapterNote('ours-webgpu') ?? 'not run',
    'WebGPU (TF.js)': adapterNote('tfjs-webgpu') ?? 'not run',
  },
  peers: peerReports,
  results,
  runs,
};

const md = markdown(report);
process.stdout.write(`\n${md}`);
const dir = join(root, 'bench/results');
mkdirSync(dir, { recursive: true });
// latest.md is the whole comparison only: a run of some figures or peers is written beside it, never over it.
const suffix = `${quick ? '-quick' : ''}${only.length || peersArg ? '-partial' : ''}`;
writeFileSync(join(dir, `compare-${report.date}${suffix}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(dir, `latest${suffix}.md`), md);
process.stderr.write(`\nwrote bench/results/compare-${report.date}${suffix}.json, bench/results/latest${suffix}.md\n`);
