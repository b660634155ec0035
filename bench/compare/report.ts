// Turns the comparison's results into markdown: the machine, a table of every figure for every peer, a table of
// ratios ours/peer for each of our backends, the peers' notes (threads, libraries, adapters) and the full errors.

import { FIGURES, PEERS, type FigureResult, type PeerSpec } from './figures.ts';

export interface CompareReport {
  date: string;
  quick: boolean;
  seconds: number;
  machine: Record<string, string>;
  peers: { id: string; label: string; notes: string[] }[];
  /** results[peer][figure] */
  results: Record<string, Record<string, FigureResult>>;
}

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

function cell(r: FigureResult | undefined): string {
  if (!r) return '—';
  if (r.error !== undefined) {
    // The message without its source location; the Errors section below has it whole.
    const msg = r.error.replace(/ \(at .*\)$/, '');
    return `error: ${cellText(msg.length > 160 ? `${msg.slice(0, 157)}…` : msg)}`;
  }
  if (r.value === undefined) return '—';
  return `${r.bound ?? ''}${r.bound ? ' ' : ''}${num(r.value)}`;
}

/** ours/peer as "1.23×"; a bound on either side turns it into "> r×" or "< r×"; nothing when either is missing. */
function ratio(ours: FigureResult | undefined, peer: FigureResult | undefined): string {
  if (ours?.value === undefined || peer?.value === undefined || ours.error || peer.error) return '—';
  if (ours.bound && peer.bound) return '?';
  const r = ours.value / peer.value;
  const digits = r >= 100 ? 0 : r >= 10 ? 1 : 2;
  return `${peer.bound ? '> ' : ours.bound ? '< ' : ''}${r.toFixed(digits)}×`;
}

const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;

export function markdown(rep: CompareReport): string {
  const peers = PEERS.filter((p) => rep.results[p.id]);
  const ours = peers.filter((p) => p.ours);
  const others = peers.filter((p) => !p.ours);
  const out: string[] = [];
  out.push(
    `# Comparison: swa-engine vs TensorFlow.js and PyTorch (${rep.date}${rep.quick ? ', --quick smoke run' : ''})`,
    '',
  );
  out.push(`Measured in ${num(rep.seconds)} s by \`npm run bench:compare${rep.quick ? ' -- --quick' : ''}\`.`, '');
  out.push('## Machine', '');
  for (const [k, v] of Object.entries(rep.machine)) out.push(`- ${k}: ${v}`);
  out.push('', '## Figures', '');
  out.push(
    'Throughputs: higher is better. Training: one SGD step (momentum 0.9, weight decay 5e-4) per batch of 128, ' +
      'steady state after warm-up, the device finished before the clock stops. Inference: eval mode, batch 1000. ' +
      'Kernel GFLOP/s count 2·m·n·k (matmul) and 2·N·Cout·H·W·Cin·9 (each conv pass), whatever algorithm runs. ' +
      '"< x": the figure ran out of its time budget and x bounds it from above. SWA rows: % of one training epoch ' +
      '(60000 images, batch 128) on the same backend, lower is better.',
    '',
  );
  const specs = FIGURES.filter((f) => peers.some((p) => rep.results[p.id]?.[f.id]));
  out.push(row(['figure', 'unit', ...peers.map((p) => p.label)]));
  out.push(row(['---', '---', ...peers.map(() => '---:')]));
  for (const f of specs)
    out.push(
      row([f.label, f.unit, ...peers.map((p) => (f.oursOnly && !p.ours ? 'n/a' : cell(rep.results[p.id][f.id])))]),
    );
  if (ours.length && others.length) {
    out.push('', '## Ratios ours / peer', '', 'Above 1× the engine is faster.', '');
    out.push(row(['figure', 'ours', ...others.map((p) => p.label)]));
    out.push(row(['---', '---', ...others.map(() => '---:')]));
    for (const f of specs.filter((s) => !s.oursOnly)) {
      for (const o of ours)
        out.push(
          row([f.label, o.label, ...others.map((p) => ratio(rep.results[o.id][f.id], rep.results[p.id][f.id]))]),
        );
    }
  }
  out.push('', '## Peers', '');
  for (const p of rep.peers) {
    out.push(`- **${p.label}** (\`${p.id}\`)${p.notes.length ? `: ${p.notes.join('; ')}` : ''}`);
  }
  const errors = errorList(peers, rep);
  if (errors.length) out.push('', '## Errors', '', ...errors);
  return `${out.join('\n')}\n`;
}

/** Every error in full, one line per peer and message, with the figures it hit. */
function errorList(peers: readonly PeerSpec[], rep: CompareReport): string[] {
  const lines: string[] = [];
  for (const p of peers) {
    const byMessage = new Map<string, string[]>();
    for (const [id, r] of Object.entries(rep.results[p.id])) {
      if (r.error === undefined) continue;
      byMessage.set(r.error, [...(byMessage.get(r.error) ?? []), id]);
    }
    for (const [msg, ids] of byMessage)
      lines.push(`- ${p.label}, ${ids.join(', ')}: \`${msg.replace(/`/g, "'").replace(/\s*\n\s*/g, ' ')}\``);
  }
  return lines;
}
