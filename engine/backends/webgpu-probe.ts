// The WebGPU adapter probe, bundled on its own as webgpu-probe.js beside each Node bundle (build.mjs) and run as a
// child process by webgpu-adapter.ts: loads Dawn, requests the adapter, prints one line of JSON (a ProbeReply), exits.

import { probeReply } from './webgpu-adapter.ts';

const reply = await probeReply();
process.stdout.write(`${JSON.stringify(reply)}\n`, () => process.exit(0));
