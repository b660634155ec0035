// Turns the comparison's results into markdown: the machine, the headline ratios against PyTorch at its best, a table
// of every figure (median and min–max over rounds) for every peer, all ratios ours/peer, PyTorch's thread sweep,
// the peers' configurations and every error in full.

import type { Summary } from './aggregate.ts';
import { FIGURES, PEERS, type FigureResult, type FigureSpec, type PeerSpec } from './figures.ts';

/** One process run: one peer (at one thread count) in one round. */
export interface RunRecord {
  round: number;
  /** The peer's id, with `@threads` for a peer swept over thread counts. */
  unit: string;
  peer: string;
  threads?: number;
  seconds: number;
  results: Record<string, FigureResult>;
}

export interface CompareReport {
  date: string;
  quick: boolean;
  rounds: number;
  command: string;
  seconds: number;
  machine: Record<string, string>;
  peers: {
    id: string;
    label: string;
    rounds: number;
    notes: string[];
    /** PyTorch columns: what the runner loaded and read back per thread count, and whether the label holds. */
    configChecks?: { threads?: number; ok: boolean; found: string; problems: string[] }[];
    /** What each of the peer's runners reported about itself (its INFO lines), by run unit. */
    runner?: Record<string, Record<string, unknown>>;
  }[];
  /** results[peer][figure]: medians over rounds. */
  results: Record<string, Record<string, Summary>>;
  /** Every run in the order it ran. */
  runs: RunRecord[];
}

/** The peer the headline ratios are taken against. */
const HEADLINE_PEER = 'torch-best';

/** A number with three significant digits at most, never in exponent form for the sizes seen here. */
export function num(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.1) return v.toFixed(2);
  return v.toPrecision(2);
}

/** Text safe inside a markdown table cell. */
const cellText = (s: string): string => s.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');

/** "median (min–max)", with the rounds lost and, for a thread sweep, the winning count ("2t"). */
export function cell(s: Summary | undefined): string {
  if (!s) return '—';
  if (s.error !== undefined) {
    // The message without its source location; the Errors section below has it whole.
    const msg = s.error.replace(/ \(at .*\)$/, '');
    return `error: ${cellText(msg.length > 160 ? `${msg.slice(0, 157)}…` : msg)}`;
  }
  if (s.value === undefined) return '—';
  let text = `${s.bound ? '< ' : ''}${num(s.value)}`;
  if (s.samples.length > 1 && s.min !== undefined && s.max !== undefined) text += ` (${num(s.min)}–${num(s.max)})`;
  const lost = s.failed + (s.bound ? 0 : s.timedOut);
  if (lost) text += ` [${lost} of ${s.rounds} rounds lost]`;
  if (s.threads !== undefined) text += `, ${s.threads}t`;
  return text;
}

/** ours/peer as "1.23×"; a bound on either side turns it into "> r×" or "< r×"; nothing when either is missing. */
export function ratio(ours: FigureResult | undefined, peer: FigureResult | undefined): string {
  if (ours?.value === undefined || peer?.value === undefined || ours.error || peer.error) return '—';
  if (ours.bound && peer.bound) return '?';
  const r = ours.value / peer.value;
  const digits = r >= 100 ? 0 : r >= 10 ? 1 : 2;
  return `${peer.bound ? '> ' : ours.bound ? '< ' : ''}${r.toFixed(digits)}×`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
const header = (cells: string[]): string[] => [row(cells), row(cells.map((_, i) => (i < 2 ? '---' : '---:')))];

/** Ours against PyTorch at its best thread count, and our one thread against its one thread. */
function headline(rep: CompareReport, specs: readonly FigureSpec[], ours: readonly PeerSpec[]): string[] {
  const best = rep.results[HEADLINE_PEER];
  const label = PEERS.find((p) => p.id === HEADLINE_PEER)?.label ?? HEADLINE_PEER;
  if (!best || ours.length === 0) return [];
  const one = rep.results['ours-wasm1'] ? ours.find((p) => p.id === 'ours-wasm1') : undefined;
  const cols = ours.map((o) => `${o.label} / PyTorch best`);
  if (one) cols.push('ours wasm 1 thread / PyTorch best 1 thread');
  const out = [
    '## Headline: ours vs PyTorch at its best',
    '',
    `Against **${label}** at whichever thread count gave the higher median for that figure (named in its column as ` +
      '"2t" = 2 threads); the last column compares one thread with one thread. Ratios of medians of this run; ' +
      'above 1× the engine is faster.',
    '',
    ...header(['figure', 'unit', 'PyTorch best', ...cols]),
  ];
  for (const f of specs.filter((s) => !s.oursOnly && best[s.id])) {
    const b = best[f.id];
    const cells = ours.map((o) => ratio(rep.results[o.id][f.id], b));
    if (one) cells.push(ratio(rep.results[one.id][f.id], b.byThreads?.['1']));
    out.push(row([f.label, f.unit, cell(b), ...cells]));
  }
  return [...out, ''];
}

/** The swept peers' figures at every thread count they ran at, and which count won. */
function sweeps(rep: CompareReport, specs: readonly FigureSpec[], peers: readonly PeerSpec[]): string[] {
  const out: string[] = [];
  for (const p of peers.filter((q) => q.sweepThreads)) {
    const counts = Object.keys(Object.values(rep.results[p.id])[0]?.byThreads ?? {});
    if (counts.length < 2) continue;
    const titles = counts.map((t) => `${t} thread${t === '1' ? '' : 's'}`);
    out.push('', `## ${p.label}: each thread count`, '', ...header(['figure', 'unit', ...titles]));
    for (const f of specs.filter((s) => rep.results[p.id][s.id])) {
      const s = rep.results[p.id][f.id];
      out.push(
        row([
          f.label,
          f.unit,
          ...counts.map((t) => {
            const c = cell(s.byThreads?.[t]);
            return String(s.threads) === t ? `**${c}**` : c;
          }),
        ]),
      );
    }
  }
  return out;
}

export function markdown(rep: CompareReport): string {
  const peers = PEERS.filter((p) => rep.results[p.id]);
  const ours = peers.filter((p) => p.ours);
  const others = peers.filter((p) => !p.ours);
  const out: string[] = [];
  const what = `${rep.date}${rep.quick ? ', --quick smoke run' : ''}`;
  out.push(`# Comparison: swa-engine vs TensorFlow.js and PyTorch (${what})`, '');
  const onceOnly = rep.peers.filter((p) => p.rounds < rep.rounds).map((p) => p.label);
  const once = onceOnly.length ? ` Run once only (--quick): ${onceOnly.join(', ')}.` : '';
  out.push(
    `Measured in ${num(rep.seconds)} s by \`${rep.command}\`: ${plural(rep.rounds, 'round')}, ` +
      'each running every peer once in its own process, interleaved (odd rounds in reverse order) so that a drifting ' +
      'machine hits all peers alike. Every figure is the median over its rounds with the min–max in brackets; every ' +
      `ratio is a ratio of medians of this run.${once}`,
    '',
  );
  out.push('## Machine', '');
  for (const [k, v] of Object.entries(rep.machine)) out.push(`- ${k}: ${v}`);
  out.push('');
  const specs = FIGURES.filter((f) => peers.some((p) => rep.results[p.id]?.[f.id]));
  out.push(...headline(rep, specs, ours));
  out.push('## Figures', '');
  out.push(
    'Throughputs: higher is better. Training: one SGD step (momentum 0.9, weight decay 5e-4) per batch of ' +
      '128, ' +
      'steady state after 3 warm-up steps, timed over at least 5 steps and 2 s, the device finished before the ' +
      'clock stops. Inference: eval mode, batch 1000, at least 3 passes and 1 s. ' +
      'Kernel GFLOP/s count 2·m·n·k (matmul) and 2·N·Cout·H·W·Cin·9 (each conv pass), whatever algorithm runs. ' +
      '"< x": the figure ran out of its time budget and x bounds it from above. SWA rows: % of one training epoch ' +
      '(60000 images, batch 128) on the same backend, lower is better. "2t": the thread count that won.',
    '',
  );
  out.push(...header(['figure', 'unit', ...peers.map((p) => p.label)]));
  for (const f of specs) {
    const cells = peers.map((p) => (f.oursOnly && !p.ours ? 'n/a' : cell(rep.results[p.id][f.id])));
    out.push(row([f.label, f.unit, ...cells]));
  }
  if (ours.length && others.length) {
    out.push('', '## Ratios ours / peer', '', 'Ratios of medians; above 1× the engine is faster.', '');
    out.push(...header(['figure', 'ours', ...others.map((p) => p.label)]));
    for (const f of specs.filter((s) => !s.oursOnly)) {
      for (const o of ours) {
        const cells = others.map((p) => ratio(rep.results[o.id][f.id], rep.results[p.id][f.id]));
        out.push(row([f.label, o.label, ...cells]));
      }
    }
  }
  out.push(...sweeps(rep, specs, peers));
  out.push('', '## Peers', '');
  for (const p of rep.peers) {
    const notes = p.notes.length ? `: ${p.notes.join('; ')}` : '';
    out.push(`- **${p.label}** (\`${p.id}\`, ${plural(p.rounds, 'round')})${notes}`);
  }
  const errors = errorList(rep);
  if (errors.length) out.push('', '## Errors', '', ...errors);
  return `${out.join('\n')}\n`;
}

/** Every error in full, one line per run unit and message, with the figures and rounds it hit. */
function errorList(rep: CompareReport): string[] {
  const byMessage = new Map<string, { figures: Set<string>; rounds: Set<number> }>();
  for (const run of rep.runs) {
    for (const [id, r] of Object.entries(run.results)) {
      if (r.error === undefined) continue;
      const key = `${run.unit}\u0000${r.error}`;
      const e = byMessage.get(key) ?? { figures: new Set(), rounds: new Set() };
      e.figures.add(id);
      e.rounds.add(run.round);
      byMessage.set(key, e);
    }
  }
  return [...byMessage].map(([key, e]) => {
    const [unit, msg] = key.split('\u0000');
    const text = msg.replace(/`/g, "'").replace(/\s*\n\s*/g, ' ');
    return `- ${unit}, ${[...e.figures].join(', ')} (round ${[...e.rounds].join(', ')}): \`${text}\``;
  });
}
