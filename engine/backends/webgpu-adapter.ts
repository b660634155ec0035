// Finds out which WebGPU adapter this runtime would give, without opening a device: in browsers by asking
// navigator.gpu; in Node from a short-lived child process (webgpu-probe.js beside the bundle), so that a process
// whose only adapter is a software one never loads Dawn and never gets the lines Dawn prints while it enumerates.

import { ADAPTER_REQUEST, getGpu, isNode, summarizeAdapter, type AdapterSummary } from './webgpu-device.ts';

/** What the probe writes on stdout, as one line of JSON: the adapter (null when none), or why WebGPU failed. */
export type ProbeReply = { adapter: AdapterSummary | null } | { error: string };

/** The probe gets this long to load Dawn and enumerate adapters. */
const PROBE_MS = 30_000;

/** The adapter `requestAdapter(ADAPTER_REQUEST)` returns in this process, or null. */
async function adapterHere(): Promise<AdapterSummary | null> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter(ADAPTER_REQUEST);
  return adapter ? summarizeAdapter(adapter) : null;
}

/** The probe script beside this bundle, or null when there is none (sources run directly, or a re-bundled build). */
async function probeScript(): Promise<string | null> {
  if (!import.meta.url.startsWith('file:')) return null;
  const { fileURLToPath } = await import('node:url');
  const { existsSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const script = join(dirname(fileURLToPath(import.meta.url)), 'webgpu-probe.js');
  return existsSync(script) ? script : null;
}

/** Runs the probe script in a child Node process; its stderr (Dawn's enumeration lines) is read and dropped. */
async function adapterInChild(script: string): Promise<AdapterSummary | null> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill();
      resolve(`no answer within ${PROBE_MS / 1000} s`);
    }, PROBE_MS);
    child.on('error', (e) => resolve(e.message));
    child.on('close', (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? `killed by ${signal}`);
    });
  });
  const line = out.trim().split('\n').pop() ?? '';
  let reply: ProbeReply | null = null;
  try {
    reply = JSON.parse(line) as ProbeReply;
  } catch {
    const last = err.trim().split('\n').pop();
    throw new Error(
      `the WebGPU adapter probe failed (${typeof code === 'number' ? `exit code ${code}` : code})` +
        (last ? `: ${last}` : ''),
    );
  }
  if ('error' in reply) throw new Error(reply.error);
  return reply.adapter;
}

let probed: Promise<AdapterSummary | null> | null = null;

/**
 * The adapter WebGPU would give here (null when there is none), found once per process; rejects with the reason
 * when WebGPU itself is unavailable (a browser without it, Node without the package `webgpu`).
 */
export function findAdapter(): Promise<AdapterSummary | null> {
  probed ??= (async () => {
    const nav = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
    const script = isNode && !nav ? await probeScript() : null;
    return script ? adapterInChild(script) : adapterHere();
  })();
  probed.catch(() => {});
  return probed;
}

/** The probe's own work (run by webgpu-probe.ts in the child): the reply for this process's adapter. */
export async function probeReply(): Promise<ProbeReply> {
  try {
    return { adapter: await adapterHere() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}
