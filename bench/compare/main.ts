// The comparison's orchestrator: runs each peer (ours on wasm and WebGPU, TF.js cpu/wasm/webgpu, PyTorch as installed
// and with OpenBLAS-pthread + jemalloc) one after another in its own process, then prints the markdown report and
// writes it with the JSON to bench/results/. Flags: --quick, --only=train,conv/l1, --peers=ours-wasm,torch.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { FIGURES, figureBudget, parseFlags, PEERS, selected, type FigureResult, type PeerSpec } from './figures.ts';
import { runPeer, type RunnerCommand } from './peer-runner.ts';
import { markdown, type CompareReport } from './report.ts';

const root = new URL('../../', import.meta.url).pathname;
const here = new URL('.', import.meta.url).pathname;
const { quick, only, rest } = parseFlags(process.argv.slice(2));
const peersArg = rest
  .find((a) => a.startsWith('--peers='))
  ?.slice('--peers='.length)
  .split(',');
const peers = PEERS.filter((p) => !peersArg || peersArg.includes(p.id));
const PYTHON = '/usr/bin/python3';
const libDir = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
const OPENBLAS_DIR = join(libDir, 'openblas-pthread');
const JEMALLOC = join(libDir, 'libjemalloc.so.2');
const TUNED_APT = 'apt-get install libopenblas0-pthread libjemalloc2';

if (!process.env.XDG_RUNTIME_DIR) {
  // Mesa warns on every process without it; a private folder silences it.
  const dir = join(root, 'build/tmp/xdg');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

/** How to start a peer's runner, or the reason it cannot start. */
function commandFor(p: PeerSpec): RunnerCommand | { error: string } {
  const flags = quick ? ['--quick'] : [];
  const [kind, backend] = p.id.split('-');
  if (kind === 'ours') return { command: process.execPath, args: [join(here, 'ours.js'), backend, ...flags] };
  if (kind === 'tfjs') return { command: process.execPath, args: [join(here, 'tfjs.js'), backend, ...flags] };
  const script = join(root, 'bench/compare/torch_bench.py');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: '2',
    MKL_NUM_THREADS: '2',
    OPENBLAS_NUM_THREADS: '2',
  };
  if (p.id === 'torch') {
    // As Debian installs python3-torch: its reference BLAS and LAPACK, pinned so that an OpenBLAS chosen by
    // update-alternatives does not turn this column into the tuned one.
    const ref = [join(libDir, 'blas'), join(libDir, 'lapack')].filter((d) => existsSync(d));
    if (ref.length) env.LD_LIBRARY_PATH = ref.join(':');
  } else {
    const missing = [
      [OPENBLAS_DIR, 'libopenblas0-pthread'],
      [JEMALLOC, 'libjemalloc2'],
    ]
      .filter(([f]) => !existsSync(f))
      .map(([, pkg]) => pkg);
    if (missing.length) return { error: `not installed: ${missing.join(', ')} (${TUNED_APT})` };
    env.LD_LIBRARY_PATH = OPENBLAS_DIR;
    env.LD_PRELOAD = JEMALLOC;
  }
  return { command: PYTHON, args: [script, '--threads=2', ...flags], env };
}

/** One line per thing a peer told about itself. */
function notesFor(p: PeerSpec, info: Record<string, unknown>[]): string[] {
  const i = Object.assign({}, ...info) as Record<string, unknown>;
  const notes: string[] = [];
  if (typeof i.backend === 'string') notes.push(i.backend);
  if (i.tfjs) notes.push(`TF.js ${String(i.tfjs)}${i.prodMode ? ', production mode' : ''}, channels-last`);
  if (i.threadsRequested !== undefined) {
    notes.push(`threads requested ${String(i.threadsRequested)}, running ${String(i.threads)}, SIMD ${String(i.simd)}`);
  }
  if (i.forcedThreadsError)
    notes.push(`forcing its multithread flag under Node fails: ${String(i.forcedThreadsError)}`);
  if (i.adapter) notes.push(`adapter ${JSON.stringify(i.adapter)}`);
  if (i.torch) notes.push(`torch ${String(i.torch)}, ${String(i.threads)} threads, oneDNN ${String(i.mkldnn)}`);
  if (Array.isArray(i.libraries)) notes.push(`loaded ${i.libraries.join(', ')}`);
  if (i.LD_LIBRARY_PATH) notes.push(`LD_LIBRARY_PATH=${String(i.LD_LIBRARY_PATH)}`);
  if (i.LD_PRELOAD) notes.push(`LD_PRELOAD=${String(i.LD_PRELOAD)}`);
  if (i.error) notes.push(`error: ${String(i.error)}`);
  if (p.id === 'tfjs-webgpu' || p.id === 'ours-webgpu')
    notes.push("WebGPU through Dawn (npm webgpu) on this machine's adapter");
  return notes;
}

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

const version = (pkg: string): string => {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'not installed';
  }
};

const t0 = performance.now();
const loadBefore = loadavg()
  .map((x) => x.toFixed(2))
  .join(', ');
const results: Record<string, Record<string, FigureResult>> = {};
const peerReports: CompareReport['peers'] = [];
for (const p of peers) {
  const ids = FIGURES.filter((f) => (!f.oursOnly || p.ours) && selected(f.id, only)).map((f) => f.id);
  if (ids.length === 0) continue;
  process.stderr.write(`\n== ${p.label} (${p.id}) ==\n`);
  const cmd = commandFor(p);
  const started = performance.now();
  let run: { results: Map<string, FigureResult>; info: Record<string, unknown>[] };
  if ('error' in cmd) {
    run = { results: new Map(ids.map((id) => [id, { id, error: cmd.error }])), info: [] };
    process.stderr.write(`  ${cmd.error}\n`);
  } else {
    run = await runPeer(cmd, ids, figureBudget(p.speed, quick));
  }
  results[p.id] = Object.fromEntries(ids.map((id) => [id, run.results.get(id) ?? { id, error: 'not reported' }]));
  peerReports.push({ id: p.id, label: p.label, notes: notesFor(p, run.info) });
  process.stderr.write(`  (${((performance.now() - started) / 1e3).toFixed(1)} s)\n`);
}

const torchNote =
  peerReports.find((p) => p.id === 'torch')?.notes[0] ?? peerReports.find((p) => p.id === 'torch-tuned')?.notes[0];
const adapterNote = (id: string): string | undefined =>
  peerReports.find((p) => p.id === id)?.notes.find((n) => n.startsWith('WebGPU:') || n.startsWith('adapter'));
const report: CompareReport = {
  date: new Date().toISOString().slice(0, 10),
  quick,
  seconds: (performance.now() - t0) / 1e3,
  machine: {
    CPU: `${cpuModel()}, ${cpus().length} logical cores visible to Node`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    OS: `${type()} ${release()}${existsSync('/etc/debian_version') ? `, Debian ${readFileSync('/etc/debian_version', 'utf8').trim()}` : ''}`,
    'load average (1, 5, 15 min) before / after': `${loadBefore} / ${loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')}`,
    Node: process.version,
    'TF.js':
      `@tensorflow/tfjs ${version('@tensorflow/tfjs')}, -backend-wasm ${version('@tensorflow/tfjs-backend-wasm')}, ` +
      `-backend-webgpu ${version('@tensorflow/tfjs-backend-webgpu')}`,
    PyTorch: torchNote ?? 'not run',
    'WebGPU (ours)': adapterNote('ours-webgpu') ?? 'not run',
    'WebGPU (TF.js)': adapterNote('tfjs-webgpu') ?? 'not run',
    webgpu: `npm webgpu ${version('webgpu')}`,
  },
  peers: peerReports,
  results,
};

const md = markdown(report);
process.stdout.write(`\n${md}`);
const dir = join(root, 'bench/results');
mkdirSync(dir, { recursive: true });
const suffix = quick ? '-quick' : '';
writeFileSync(join(dir, `compare-${report.date}${suffix}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(dir, `latest${suffix}.md`), md);
process.stderr.write(
  `\nwrote bench/results/compare-${report.date}${suffix}.json and bench/results/latest${suffix}.md\n`,
);
