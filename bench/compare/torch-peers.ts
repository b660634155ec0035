// The PyTorch columns: how each is started (BLAS, allocator, thread counts), which Debian packages they need, and a
// check, on what the runner reports it loaded and read back, that the configuration really took effect.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunnerCommand } from './peer-runner.ts';

const PYTHON = '/usr/bin/python3';
const LIB_DIR = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
const OPENBLAS_DIR = join(LIB_DIR, 'openblas-pthread');
const JEMALLOC = join(LIB_DIR, 'libjemalloc.so.2');
/** jemalloc keeps freed pages rather than hand them back to the system (a fresh page's first touch is slow on VMs). */
export const NO_DECAY = 'dirty_decay_ms:-1,muzzy_decay_ms:-1';
const PACKAGES = [
  ['libopenblas0-pthread', OPENBLAS_DIR],
  ['libjemalloc2', JEMALLOC],
] as const;
const APT = `apt-get install ${PACKAGES.map(([p]) => p).join(' ')}`;

/** The thread counts `torch-best` is measured at on `cores` cores: 1, 2 and all of them (each once). */
export function bestThreadCounts(cores: number): number[] {
  return [...new Set([1, 2, cores])].filter((t) => t <= cores).sort((a, b) => a - b);
}

/** Whether dpkg lists `pkg` as installed; null where there is no dpkg to ask. */
function dpkgInstalled(pkg: string): boolean | null {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', pkg], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .startsWith('ii');
  } catch (e) {
    // dpkg-query exits 1 for a package it does not know; ENOENT means there is no dpkg at all.
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? null : false;
  }
}

/** The packages an OpenBLAS + jemalloc column lacks, as one plain sentence, or null when both are there. */
export function missingPackages(): string | null {
  const missing: string[] = [];
  for (const [pkg, file] of PACKAGES) {
    if (dpkgInstalled(pkg) === false) missing.push(`${pkg} (dpkg: not installed)`);
    else if (!existsSync(file)) missing.push(`${pkg} (no ${file})`);
  }
  return missing.length ? `missing Debian package ${missing.join(', ')}; install with: sudo ${APT}` : null;
}

/**
 * The command of a PyTorch column: `torch` as Debian installs python3-torch (reference BLAS, glibc malloc),
 * `torch-tuned` with OpenBLAS-pthread and jemalloc at its default page decay, `torch-best` with jemalloc told to keep
 * its pages (MALLOC_CONF=NO_DECAY). Every thread pool (torch's, OpenMP's, OpenBLAS's) gets `threads`.
 */
export function torchCommand(peer: string, threads: number, quick: boolean): RunnerCommand | { error: string } {
  const script = new URL('../../bench/compare/torch_bench.py', import.meta.url).pathname;
  const n = String(threads);
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n };
  delete env.MALLOC_CONF;
  delete env.LD_PRELOAD;
  if (peer === 'torch') {
    // Pinned to the reference BLAS and LAPACK, so that an OpenBLAS chosen by update-alternatives (installing
    // libopenblas0-pthread does that) does not turn this column into a tuned one.
    const ref = [join(LIB_DIR, 'blas'), join(LIB_DIR, 'lapack')].filter((d) => existsSync(d));
    if (ref.length) env.LD_LIBRARY_PATH = ref.join(':');
  } else {
    const missing = missingPackages();
    if (missing) return { error: missing };
    env.LD_LIBRARY_PATH = OPENBLAS_DIR;
    env.LD_PRELOAD = JEMALLOC;
    if (peer === 'torch-best') env.MALLOC_CONF = NO_DECAY;
  }
  return { command: PYTHON, args: [script, `--threads=${n}`, ...(quick ? ['--quick'] : [])], env };
}

/** What torch_bench.py reports about its process (its INFO line). */
interface TorchInfo {
  torch?: string;
  threads?: number;
  libraries?: string[];
  jemalloc?: { version: string; dirty_decay_ms: number | string; muzzy_decay_ms: number | string } | null;
  openblas?: { path: string; config: string; threads: number; parallel: string } | null;
}

/** The outcome of checking a PyTorch run's configuration: `problems` empty when it is what the column claims. */
export interface ConfigCheck {
  ok: boolean;
  found: string;
  problems: string[];
}

/**
 * Checks, on the libraries the runner mapped (/proc/self/maps) and the settings it read back from jemalloc (mallctl)
 * and OpenBLAS (openblas_get_*), that a PyTorch column runs as its label says, at `threads` threads.
 */
export function checkTorchConfig(peer: string, threads: number, info: Record<string, unknown>): ConfigCheck {
  const i = info as TorchInfo;
  const libs = i.libraries ?? [];
  const problems: string[] = [];
  const jemalloc = libs.find((l) => l.includes('libjemalloc'));
  const openblas = libs.find((l) => /libopenblas/.test(l));
  const found: string[] = [];
  if (i.torch === undefined) return { ok: false, found: 'nothing reported', problems: ['the runner sent no INFO'] };
  if (i.threads !== threads) problems.push(`torch runs ${String(i.threads)} threads, not ${threads}`);
  if (jemalloc && i.jemalloc) {
    const j = i.jemalloc;
    found.push(
      `jemalloc ${j.version.split('-')[0]} mapped (${jemalloc}), ` +
        `opt.dirty_decay_ms=${j.dirty_decay_ms}, opt.muzzy_decay_ms=${j.muzzy_decay_ms}`,
    );
  } else found.push('glibc malloc (no jemalloc mapped)');
  if (openblas && i.openblas) {
    const o = i.openblas;
    const version = o.config.split(' ').slice(0, 2).join(' ');
    found.push(`${version} mapped (${o.path}), ${o.parallel}, ${o.threads} thread${o.threads === 1 ? '' : 's'}`);
  } else found.push(`BLAS ${libs.filter((l) => /blas/.test(l)).join(', ') || 'none mapped'}`);
  if (peer === 'torch') {
    if (openblas) problems.push(`OpenBLAS is mapped (${openblas}) in the column meant to use Debian's reference BLAS`);
    if (jemalloc) problems.push(`jemalloc is mapped (${jemalloc}) in the column meant to use glibc malloc`);
  } else {
    if (!jemalloc || !i.jemalloc) problems.push("jemalloc is not the process's malloc (LD_PRELOAD had no effect)");
    if (!openblas || !i.openblas) problems.push('OpenBLAS is not mapped (LD_LIBRARY_PATH had no effect)');
    else if (i.openblas.threads !== threads) {
      problems.push(`OpenBLAS runs ${i.openblas.threads} threads, not ${threads}`);
    }
    const decay = i.jemalloc ? [i.jemalloc.dirty_decay_ms, i.jemalloc.muzzy_decay_ms] : [];
    if (peer === 'torch-best' && i.jemalloc && decay.some((d) => d !== -1)) {
      problems.push(`jemalloc reads back decay ${decay.join('/')} ms, not -1/-1 (MALLOC_CONF had no effect)`);
    }
    if (peer === 'torch-tuned' && decay.includes(-1)) {
      problems.push('jemalloc decay is -1: this column should keep the defaults');
    }
  }
  return { ok: problems.length === 0, found: found.join('; '), problems };
}
