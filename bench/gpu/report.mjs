// Turns the WebGPU figures of build/compare/ours.js (its @@INFO / @@FIGURE lines) into a report against the GPU's FP32
// peak: kernels in GFLOP/s, training and inference in images/s and the GFLOP/s those images mean.
// Usage: node bench/gpu/report.mjs FIGURES.txt OUT-PREFIX [--gpu NAME] [--peak-tflops X]   (writes OUT-PREFIX.md/.json)
import { readFileSync, writeFileSync } from 'node:fs';

const [input, prefix, ...rest] = process.argv.slice(2);
if (!input || !prefix) {
  console.error('usage: node bench/gpu/report.mjs FIGURES.txt OUT-PREFIX [--gpu NAME] [--peak-tflops X]');
  process.exit(2);
}
const opt = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const gpu = opt('--gpu') ?? 'unknown';

/**
 * FP32 (non-tensor) peak TFLOP/s at boost clock, from the vendors' data sheets; the first name found in the GPU's wins.
 */
const PEAKS = [
  ['H200', 66.9],
  ['H100 NVL', 60.0],
  ['H100 PCIe', 51.2],
  ['H100', 66.9],
  ['GH200', 66.9],
  ['A100', 19.5],
  ['A40', 37.4],
  ['A30', 10.3],
  ['A10G', 31.2],
  ['A10', 31.2],
  ['L40S', 91.6],
  ['L40', 90.5],
  ['L4', 30.3],
  ['T4', 8.1],
  ['V100', 15.7],
  ['RTX 6000 Ada', 91.1],
  ['RTX A6000', 38.7],
  ['4090', 82.6],
  ['4080', 48.7],
  ['3090', 35.6],
  ['3080', 29.8],
];
const given = opt('--peak-tflops');
const known = PEAKS.find(([n]) => gpu.includes(n));
const peak = given !== undefined ? Number(given) : known?.[1];
if (given !== undefined && !(peak > 0)) {
  console.error(`report.mjs: --peak-tflops must be a positive number, got ${given}`);
  process.exit(2);
}
const peakNote =
  given !== undefined
    ? `${peak} TFLOP/s (given)`
    : known
      ? `${peak} TFLOP/s (data sheet of the ${known[0]})`
      : 'unknown (pass --peak-tflops)';

// Multiply-adds per image, counted layer by layer (conv: H·W·Cout·Cin·kH·kW at the output size; linear: in·out).
// Small CNN: conv 1→32 at 28² (225 792), conv 32→64 at 14² (3 612 672), linear 3136→128 (401 408), 128→10 (1 280).
// PreResNet-20 at 32²: stem 3→16 (442 368), stage 16 (6 × 2 359 296), stages 32 and 64 (13 107 200 each, the
// stride-2 convs and 1×1 shortcuts included), linear 64→10 (640). Training ≈ 3× the forward pass (input and weight
// gradients each cost about one forward).
const MACS = { 'small-cnn': 4_241_152, preresnet20: 40_813_184 };

const lines = readFileSync(input, 'utf8').split('\n');
const parse = (tag) => lines.filter((l) => l.startsWith(`@@${tag} `)).map((l) => JSON.parse(l.slice(tag.length + 3)));
const info = Object.assign({}, ...parse('INFO'));
const rows = [];
for (const f of parse('FIGURE')) {
  const [kind, what] = f.id.split('/');
  let unit = 'GFLOP/s',
    gflops = f.value;
  if (kind === 'train' || kind === 'infer') {
    unit = 'img/s';
    gflops =
      f.value === undefined || !MACS[what] ? undefined : (f.value * 2 * MACS[what] * (kind === 'train' ? 3 : 1)) / 1e9;
  } else if (kind === 'swa') {
    unit = '% of epoch';
    gflops = undefined;
  }
  rows.push({
    id: f.id,
    unit,
    value: f.value,
    gflops,
    ofPeak: gflops !== undefined && peak ? gflops / (peak * 1e3) : undefined,
    detail: f.detail,
    error: f.error,
  });
}

const fmt = (x, d = 3) => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x.toPrecision(d));
const md = [
  `# swa-engine WebGPU on ${gpu}`,
  '',
  `- backend: ${info.backend ?? info.error ?? 'unknown'}`,
  `- FP32 peak: ${peakNote}`,
  `- measured: ${new Date().toISOString()} by bench/gpu/run-nvidia.sh`,
  '',
  '| figure | value | unit | GFLOP/s | % of FP32 peak | detail |',
  '| --- | ---: | --- | ---: | ---: | --- |',
  ...rows.map(
    (r) =>
      `| ${r.id} | ${r.error ? `error: ${r.error}` : fmt(r.value)} | ${r.unit} | ${fmt(r.gflops)} | ` +
      `${r.ofPeak === undefined ? '—' : `${(100 * r.ofPeak).toFixed(2)}%`} | ${r.detail ?? ''} |`,
  ),
  '',
  'Training GFLOP/s count 3 × 2 × the forward multiply-adds per image; inference 2 ×.',
  '',
].join('\n');
writeFileSync(`${prefix}.md`, md);
writeFileSync(
  `${prefix}.json`,
  JSON.stringify({ gpu, peakTflops: peak ?? null, peakNote, info, figures: rows }, null, 2),
);
process.stdout.write(md);
if (!rows.length) {
  console.error('report.mjs: no figures in the input (see the log)');
  process.exit(1);
}
