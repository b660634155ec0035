// The machine a comparison ran on, for its report: CPU model, vCPUs and whether they are cores or hyperthreads
// (lscpu's topology), memory, OS, Node and the npm packages of the JavaScript peers.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';

/** lscpu's "Key: value" lines as a map; empty where lscpu is missing. */
function lscpu(): Map<string, string> {
  try {
    const text = execFileSync('lscpu', { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    return new Map(
      text
        .toString()
        .split('\n')
        .map((l) => /^([^:]+):\s*(.*)$/.exec(l))
        .filter((m) => m !== null)
        .map((m) => [m[1].trim(), m[2].trim()]),
    );
  } catch {
    return new Map();
  }
}

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  } catch {
    return cpus()[0]?.model ?? 'unknown';
  }
}

/** How many vCPUs there are and what they are: separate cores, or hyperthread siblings, as lscpu reports them. */
function topology(l: Map<string, string>): string {
  const n = cpus().length;
  const tpc = Number(l.get('Thread(s) per core'));
  const cores = l.get('Core(s) per socket');
  const sockets = l.get('Socket(s)');
  const hv = l.get('Hypervisor vendor');
  if (!Number.isFinite(tpc) || tpc < 1) return `${n} logical CPUs (lscpu unavailable: topology unknown)`;
  const kind =
    tpc === 1
      ? 'one thread per core: no hyperthread siblings among them'
      : `${tpc} threads per core: pairs of them are hyperthreads of one core`;
  const guest = hv ? `; a ${hv} guest, so this is the topology the VM is shown, not how the host backs it` : '';
  return `${n} (${sockets ?? '?'} socket × ${cores ?? '?'} cores × ${tpc} thread per core; ${kind}${guest})`;
}

/** The installed version of an npm package of the repository, or 'not installed'. */
export function npmVersion(root: string, pkg: string): string {
  try {
    const file = join(root, 'node_modules', pkg, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** The machine's description, in report order. */
export function describeMachine(root: string): Record<string, string> {
  const l = lscpu();
  const debianFile = '/etc/debian_version';
  const debian = existsSync(debianFile) ? `, Debian ${readFileSync(debianFile, 'utf8').trim()}` : '';
  const v = (pkg: string): string => npmVersion(root, pkg);
  return {
    CPU: l.get('Model name') ?? cpuModel(),
    vCPUs: topology(l),
    caches: ['L1d', 'L2', 'L3'].map((c) => `${c} ${l.get(`${c} cache`) ?? '?'}`).join(', '),
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    OS: `${type()} ${release()}${debian}`,
    Node: process.version,
    'TF.js':
      `@tensorflow/tfjs ${v('@tensorflow/tfjs')}, -backend-wasm ${v('@tensorflow/tfjs-backend-wasm')}, ` +
      `-backend-webgpu ${v('@tensorflow/tfjs-backend-webgpu')}`,
    webgpu: `npm webgpu ${v('webgpu')}`,
  };
}
