// The page's entry point: reads the controls (and URL parameters), runs a Session, and turns its events into the
// figures, the three live plots and the event list; shows a missing WebGPU and any error on the page.

import { FASHION_MNIST_STATS, type DeviceChoice, type DeviceReport } from '../index.ts';
import { LivePlot } from './plot.ts';
import { pct, Session, type ResultKey, type SessionEvent, type SessionSettings } from './session.ts';
import { verdict } from './summary.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page: element #${id} is missing`);
  return e as T;
};
const params = new URLSearchParams(location.search);
const COLORS = { sgd: '#d0452f', swa: '#1f63b5', avg: '#0b2f6b', fge: '#2e9d4a', capture: '#1f63b5' };

// ---- errors are shown, never only logged -------------------------------------------------------------------------
function showError(e: unknown): void {
  const box = $('error');
  const err = e instanceof Error ? e : new Error(String(e));
  box.hidden = false;
  box.textContent = `Error: ${err.message}${err.stack ? `\n\n${err.stack}` : ''}`;
  $('f-state').textContent = 'error';
}
addEventListener('error', (e) => showError(e.error ?? e.message));
addEventListener('unhandledrejection', (e) => showError(e.reason));

// ---- controls, from the URL when given ---------------------------------------------------------------------------
const controls = {
  device: $<HTMLSelectElement>('device'),
  budget: $<HTMLInputElement>('budget'),
  lr: $<HTMLInputElement>('lr'),
  swaLr: $<HTMLInputElement>('swaLr'),
  images: $<HTMLSelectElement>('images'),
  widths: $<HTMLSelectElement>('widths'),
};
for (const [key, input] of Object.entries(controls)) {
  const v = params.get(key);
  if (v === null) continue;
  if (input instanceof HTMLSelectElement && !Array.from(input.options).some((o) => o.value === v)) {
    input.append(new Option(v, v)); // e.g. ?images=512 or ?widths=4,8,16
  }
  input.value = v;
}

function readSettings(): SessionSettings {
  const widths = controls.widths.value.split(',').map(Number) as [number, number, number];
  const n = (text: string | null, fallback: number): number => (text === null || text === '' ? fallback : Number(text));
  return {
    device: controls.device.value as DeviceChoice,
    budget: Number(controls.budget.value),
    lr: Number(controls.lr.value),
    swaLr: Number(controls.swaLr.value),
    widths,
    batchSize: n(params.get('batch'), 128),
    trainImages: Number(controls.images.value),
    testImages: n(params.get('test'), 2000),
    seed: n(params.get('seed'), 0),
    dataUrl: new URL('data/fashion-mnist-mini/', location.href).href,
  };
}

// ---- plots ---------------------------------------------------------------------------------------------------------
const lossPlot = new LivePlot($('plot-loss'), {
  title: 'Training loss per step',
  xLabel: 'iteration',
  series: [
    { name: 'SGD', color: COLORS.sgd },
    { name: 'SWA iterate', color: COLORS.swa },
    { name: 'FGE iterate', color: COLORS.fge },
  ],
});
const errorPlot = new LivePlot($('plot-error'), {
  title: 'Test error per epoch',
  xLabel: 'epoch',
  fitY: true,
  series: [
    { name: 'SGD', color: COLORS.sgd, dots: true },
    { name: 'SWA iterates', color: COLORS.swa, dots: true, dash: '4 3' },
    { name: 'w_SWA (BN updated)', color: COLORS.avg, dots: true },
    { name: 'FGE ensemble', color: COLORS.fge, dotsOnly: true },
  ],
});
const lrPlot = new LivePlot($('plot-lr'), {
  title: 'Learning rate (dots: captures into w_SWA, FGE snapshots)',
  xLabel: 'iteration',
  series: [
    { name: 'SGD', color: COLORS.sgd },
    { name: 'SWA', color: COLORS.swa },
    { name: 'FGE', color: COLORS.fge },
    { name: 'capture', color: COLORS.capture, dotsOnly: true },
    { name: 'snapshot', color: COLORS.fge, dotsOnly: true },
  ],
});
/** Adapters that emulate a GPU on the CPU. */
const SOFTWARE_GPU = /swiftshader|llvmpipe|lavapipe|microsoft basic render/i;
const RUN_LABEL = { sgd: 'SGD', swa: 'SWA iterate', fge: 'FGE iterate' } as const;
const RUN_LR = { sgd: 'SGD', swa: 'SWA', fge: 'FGE' } as const;

// ---- figures -------------------------------------------------------------------------------------------------------
let plan = { budget: 0, swaEnd: 0, itersPerEpoch: 1 };
let lastLr = { sgd: NaN, swa: NaN, fge: NaN };
let speed = { wasm: NaN, webgpu: NaN } as Record<string, number>;
let deviceName = '';

function logEvent(text: string): void {
  const li = document.createElement('li');
  li.textContent = text;
  $('events').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

function describeDevice(choice: DeviceChoice, r: DeviceReport): string {
  const why =
    choice !== 'auto'
      ? 'chosen in the Device menu'
      : r.fallbackReason
        ? `auto: WebGPU unavailable: ${r.fallbackReason}; using WebAssembly`
        : 'auto: a WebGPU adapter was found';
  return `${r.device === 'webgpu' ? 'WebGPU' : 'WebAssembly'} — ${r.info} (${why})`;
}

const clock = (s: number): string => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

function onEvent(e: SessionEvent, s: SessionSettings): void {
  switch (e.kind) {
    case 'device': {
      deviceName = e.report.device;
      $('f-device').textContent = describeDevice(s.device, e.report);
      const n = $('notice');
      if (e.report.fallbackReason) {
        n.hidden = false;
        n.textContent = `WebGPU is not available here (${e.report.fallbackReason}); training on WebAssembly instead.`;
      } else if (e.report.device === 'webgpu' && SOFTWARE_GPU.test(e.report.info)) {
        n.hidden = false;
        n.textContent =
          `This WebGPU adapter is a software renderer (${e.report.info}): it runs on the CPU, and WebAssembly ` +
          'is usually much faster here (choose it in the Device menu).';
      }
      break;
    }
    case 'data':
      logEvent(`data: ${e.train} training / ${e.test} test images, ${e.itersPerEpoch} iterations per epoch`);
      break;
    case 'plan': {
      plan = e;
      const ipe = e.itersPerEpoch;
      lossPlot.xMax = lrPlot.xMax = e.swaEnd * ipe;
      errorPlot.xMax = e.swaEnd;
      for (const p of [lossPlot, lrPlot]) {
        p.vline(e.swaStart * ipe, 'SWA/FGE branch');
        p.vline(e.budget * ipe, '1 budget');
      }
      errorPlot.vline(e.swaStart, 'branch');
      errorPlot.vline(e.budget, '1 budget');
      logEvent(
        `plan: SGD ${e.budget} epochs; SWA from epoch ${e.swaStart} to ${e.swaEnd} (1.5 budgets); FGE cycle ` +
          `${e.fgeCycle} epochs to epoch ${e.budget}`,
      );
      break;
    }
    case 'step':
      lossPlot.add(RUN_LABEL[e.run], e.iteration, e.loss);
      lrPlot.add(RUN_LR[e.run], e.iteration, e.lr);
      lastLr[e.run] = e.lr;
      break;
    case 'epoch':
      errorPlot.add(e.run === 'sgd' ? 'SGD' : 'SWA iterates', e.epoch, e.testError);
      break;
    case 'capture':
      lrPlot.add('capture', e.iteration, Number.isNaN(lastLr.swa) ? s.swaLr : lastLr.swa);
      logEvent(`epoch ${e.epoch}: captured the SWA iterate into w_SWA (n = ${e.n})`);
      break;
    case 'average':
      errorPlot.add('w_SWA (BN updated)', e.epoch, e.testError);
      logEvent(
        `epoch ${e.epoch}: BatchNorm statistics of w_SWA recomputed (${e.bnBatches} batches); ` +
          `w_SWA test error ${pct(e.testError)}`,
      );
      break;
    case 'snapshot':
      lrPlot.add('snapshot', e.iteration, lastLr.fge);
      logEvent(`epoch ${e.epoch.toFixed(2)}: FGE snapshot ${e.size} (at the rate's minimum)`);
      break;
    case 'progress':
      $('f-epoch').textContent = `${e.epoch.toFixed(1)} / ${plan.swaEnd}`;
      $('f-speed').textContent = e.imagesPerSecond.toFixed(0);
      $('f-elapsed').textContent = clock(e.seconds);
      speed[deviceName] = e.imagesPerSecond;
      break;
    case 'result': {
      const td = document.querySelector<HTMLElement>(`#results td[data-key="${e.key}"]`)!;
      td.textContent = pct(e.accuracy);
      if (e.key === 'FGE') errorPlot.add('FGE ensemble', plan.budget, 1 - e.accuracy);
      break;
    }
    case 'log':
      logEvent(e.text);
      break;
  }
}

// ---- the session and its buttons ---------------------------------------------------------------------------------
let session: Session | null = null;
const buttons = {
  start: $<HTMLButtonElement>('start'),
  pause: $<HTMLButtonElement>('pause'),
  stop: $<HTMLButtonElement>('stop'),
  download: $<HTMLButtonElement>('download'),
};

function refreshButtons(): void {
  const st = session?.state ?? 'idle';
  const live = st === 'loading' || st === 'training' || st === 'paused';
  buttons.start.disabled = live;
  buttons.pause.disabled = !(st === 'training' || st === 'paused');
  buttons.pause.textContent = st === 'paused' ? 'Resume' : 'Pause';
  buttons.stop.disabled = !live;
  buttons.download.disabled = !session?.hasAverage;
  $('f-state').textContent = st;
}
setInterval(refreshButtons, 250);

function finalFigures(s: Session): void {
  const r = s.results;
  const keys: ResultKey[] = ['SGD', 'FGE', 'SWA 1B', 'SWA 1.25B', 'SWA 1.5B'];
  const best = Math.max(...keys.map((k) => r.get(k) ?? -1));
  for (const k of keys) {
    document.querySelector(`#results td[data-key="${k}"]`)?.classList.toggle('best', r.get(k) === best);
  }
  if (r.has('SGD') && r.has('SWA 1.5B')) {
    const records = [...r].map(([key, accuracy]) => {
      const [method, b] = key.split(' ');
      return { method, budget: b ? Number(b.replace('B', '')) : 1, seed: s.settings.seed, accuracy };
    });
    const p = $('verdict');
    p.hidden = false;
    p.textContent = verdict(records).text;
  }
}

async function start(): Promise<void> {
  session?.dispose();
  $('error').hidden = true;
  $('verdict').hidden = true;
  if ('gpu' in navigator) $('notice').hidden = true; // else it keeps saying that WebGPU is missing
  $('events').replaceChildren();
  for (const td of Array.from(document.querySelectorAll('#results td'))) td.textContent = '–';
  for (const p of [lossPlot, errorPlot, lrPlot]) p.clear();
  lastLr = { sgd: NaN, swa: NaN, fge: NaN };
  const settings = readSettings();
  const s = (session = new Session(settings, (e) => onEvent(e, settings)));
  refreshButtons();
  await s.start();
  refreshButtons();
  if (s.state === 'error') showError(s.error);
  else if (s.state === 'done') finalFigures(s);
  else logEvent('stopped');
}

$('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  start().catch(showError);
});
buttons.pause.addEventListener('click', () => {
  if (session?.state === 'paused') session.unpause();
  else session?.pause();
  refreshButtons();
});
buttons.stop.addEventListener('click', () => session?.stop());
buttons.download.addEventListener('click', () => {
  if (!session) return;
  session
    .exportAverage()
    .then(({ bytes, name }) => {
      const url = URL.createObjectURL(
        new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
      );
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      logEvent(`downloaded ${name} (${bytes.length} bytes)`);
    })
    .catch(showError);
});

if (!('gpu' in navigator)) {
  const n = $('notice');
  n.hidden = false;
  n.textContent = 'This browser has no WebGPU (navigator.gpu is missing): "auto" trains on WebAssembly.';
}
if (!crossOriginIsolated) {
  logEvent('the page is not cross-origin isolated (no COOP/COEP headers): WebAssembly runs on one thread');
}

/** What tests (and the curious) can read: the state, the points each plot holds, the figures and w_SWA's probe. */
const api = {
  get state() {
    return session?.state ?? 'idle';
  },
  get error() {
    return session?.error?.message ?? null;
  },
  get results() {
    return Object.fromEntries(session?.results ?? []);
  },
  get probe() {
    return session?.probe ?? null;
  },
  get speed() {
    return { ...speed };
  },
  get settings() {
    return session?.settings ?? null;
  },
  normalize: FASHION_MNIST_STATS,
  counts: () => ({ loss: lossPlot.counts(), error: errorPlot.counts(), lr: lrPlot.counts() }),
  figures: () =>
    Object.fromEntries(['f-state', 'f-epoch', 'f-speed', 'f-elapsed', 'f-device'].map((id) => [id, $(id).textContent])),
  start,
};
(globalThis as unknown as { swaApp: typeof api }).swaApp = api;
if (params.get('autostart') === '1') start().catch(showError);
