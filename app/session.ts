// The page's experiment, without the DOM: SGD with the SWA paper's schedule for B epochs, and SWA branching off it at
// ⌊0.75·B⌋ (constant rate, a capture per epoch, BN recomputed, evaluated at 1, 1.25 and 1.5 budgets) beside FGE,
// trained step by step in turn so that all of them advance together; pause, resume, stop and export on the way.

import {
  AveragedModel,
  checkpointBytes,
  DataLoader,
  FASHION_MNIST_STATS,
  FgeCyclicalLR,
  FgeEnsemble,
  fetchFashionMnist,
  Generator,
  noGrad,
  setDevice,
  SGD,
  sgdBaselineLr,
  SmallCnn,
  Subset,
  tidy,
  toTensors,
  updateBn,
  defaultBackend,
  type Backend,
  type Dataset,
  type DeviceChoice,
  type DeviceReport,
} from '../index.ts';
import { bnBatches, evaluateChunked, Run, yieldToPage, type RunName } from './run.ts';

/** What the page trains. */
export interface SessionSettings {
  device: DeviceChoice;
  /** B: epochs of the SGD baseline; SWA runs to 1.5·B. An integer ≥ 2. */
  budget: number;
  /** SGD α1 (held to 0.5B, linear decay to 0.01·α1 at 0.9B). */
  lr: number;
  /** SWA's constant rate from the branch on. */
  swaLr: number;
  widths: [number, number, number];
  batchSize: number;
  /** Training and test images used (the first ones of the embedded subset; it is stratified and mixed). */
  trainImages: number;
  testImages: number;
  seed: number;
  /** Where the data files are (the page's data/fashion-mnist-mini/). */
  dataUrl: string;
}

/** Test accuracies as they become known, keyed by column (SGD, FGE, SWA 1B / 1.25B / 1.5B). */
export type ResultKey = 'SGD' | 'FGE' | 'SWA 1B' | 'SWA 1.25B' | 'SWA 1.5B';

/** Everything the session reports; the page draws from these. */
export type SessionEvent =
  | { kind: 'device'; report: DeviceReport }
  | { kind: 'data'; train: number; test: number; itersPerEpoch: number }
  | { kind: 'plan'; budget: number; swaStart: number; swaEnd: number; fgeCycle: number; itersPerEpoch: number }
  | { kind: 'step'; run: RunName; iteration: number; loss: number; lr: number }
  | { kind: 'epoch'; run: RunName; epoch: number; testError: number }
  | { kind: 'capture'; iteration: number; epoch: number; n: number }
  | { kind: 'average'; epoch: number; n: number; bnBatches: number; testError: number }
  | { kind: 'snapshot'; iteration: number; epoch: number; size: number }
  | { kind: 'progress'; epoch: number; images: number; imagesPerSecond: number; seconds: number }
  | { kind: 'result'; key: ResultKey; accuracy: number }
  | { kind: 'log'; text: string };

/** The session's life: loading (device, data), training, paused, done, stopped, or error. */
export type SessionState = 'idle' | 'loading' | 'training' | 'paused' | 'done' | 'stopped' | 'error';

class Stopped extends Error {}

/** Checks the settings; returns every problem (empty when they are fine). */
export function checkSettings(s: SessionSettings): string[] {
  const p: string[] = [];
  if (!Number.isInteger(s.budget) || s.budget < 2 || s.budget > 200)
    p.push(`budget must be 2–200 epochs, got ${s.budget}`);
  if (!(s.lr > 0 && s.lr < 10)) p.push(`learning rate must be in (0, 10), got ${s.lr}`);
  if (!(s.swaLr > 0 && s.swaLr < 10)) p.push(`SWA learning rate must be in (0, 10), got ${s.swaLr}`);
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1)
    p.push(`batch size must be an integer ≥ 1, got ${s.batchSize}`);
  if (!Number.isInteger(s.trainImages) || s.trainImages < s.batchSize)
    p.push(`training images must be an integer ≥ the batch size, got ${s.trainImages}`);
  if (!Number.isInteger(s.testImages) || s.testImages < 1) p.push(`test images must be ≥ 1, got ${s.testImages}`);
  if (!s.widths.every((w) => Number.isInteger(w) && w >= 1)) p.push(`widths must be integers ≥ 1, got ${s.widths}`);
  return p;
}

/**
 * Opens the device as `setDevice` does, with a plain reason when the browser has no WebGPU at all (setDevice's own
 * reason would be the failed import of the Node `webgpu` package that it tries next).
 */
async function chooseDevice(choice: DeviceChoice): Promise<DeviceReport> {
  const missing = typeof navigator === 'undefined' || !('gpu' in navigator);
  const why = 'this browser has no WebGPU (navigator.gpu is missing)';
  if (missing && choice === 'webgpu') throw new Error(`WebGPU was chosen, but ${why}: choose auto or WebAssembly`);
  if (missing && choice === 'auto') return { ...(await setDevice('wasm')), fallbackReason: why };
  return setDevice(choice);
}

/** The first `n` examples of a data set (all of it when n ≥ its size). */
const head = (d: Dataset, n: number): Dataset =>
  n >= d.n
    ? d
    : new Subset(
        d,
        Array.from({ length: n }, (_, i) => i),
      );

/**
 * One experiment. `start()` resolves when it has finished, stopped or failed (`state` says which; `error` holds the
 * failure); `emit` receives every event on the way.
 */
export class Session {
  state: SessionState = 'idle';
  error: Error | null = null;
  readonly results = new Map<ResultKey, number>();
  /** w_SWA's logits for the first 8 test images once done (for checking an exported file against it). */
  probe: number[] | null = null;
  private avg: AveragedModel<SmallCnn> | null = null;
  private runs: Run[] = [];
  private fge: FgeEnsemble | null = null;
  private lock: Promise<void> = Promise.resolve();
  private stopping = false;
  private resume: (() => void) | null = null;
  private pauseWanted = false;
  private t0 = 0;
  private pausedMs = 0;
  private stepMs = 0;
  private images = 0;
  private device: Backend | null = null;
  private test: Dataset | null = null;
  private lastEpoch = 0;

  constructor(
    readonly settings: SessionSettings,
    private readonly emit: (e: SessionEvent) => void,
  ) {}

  /** Runs the whole experiment. */
  async start(): Promise<void> {
    try {
      const problems = checkSettings(this.settings);
      if (problems.length) throw new Error(`settings: ${problems.join('; ')}`);
      this.state = 'loading';
      await this.train();
      this.state = 'done';
    } catch (e) {
      if (e instanceof Stopped) this.state = 'stopped';
      else {
        this.state = 'error';
        this.error = e instanceof Error ? e : new Error(String(e));
      }
    }
  }

  pause(): void {
    if (this.state === 'training') this.pauseWanted = true;
  }

  unpause(): void {
    this.pauseWanted = false;
    this.resume?.();
  }

  /** Stops at the next step; `start()` then resolves with state 'stopped'. */
  stop(): void {
    this.stopping = true;
    this.unpause();
  }

  /** Whether an averaged model exists to export. */
  get hasAverage(): boolean {
    return this.avg !== null && this.avg.nAveraged > 0;
  }

  /**
   * The averaged model as safetensors bytes (AveragedModel's state dict: n_averaged, module.*; BatchNorm statistics
   * recomputed at its last capture), read between training steps so that no capture happens half-way.
   */
  exportAverage(): Promise<{ bytes: Uint8Array; name: string }> {
    return this.exclusive(async () => {
      const avg = this.avg;
      if (!avg || avg.nAveraged === 0) throw new Error('no averaged model yet: SWA starts at 0.75 of the budget');
      const s = this.settings;
      const meta = {
        model: 'small-cnn',
        widths: s.widths,
        normalize: FASHION_MNIST_STATS,
        data: 'fashion-mnist-mini',
        epoch: this.lastEpoch,
        nAveraged: avg.nAveraged,
        budget: s.budget,
        lr: s.lr,
        swaLr: s.swaLr,
      };
      const bytes = await checkpointBytes({ model: avg, meta });
      return { bytes, name: `swa-small-cnn-epoch${this.lastEpoch}-n${avg.nAveraged}.safetensors` };
    });
  }

  /** Frees every tensor the session holds (call before dropping it). */
  dispose(): void {
    for (const r of this.runs) r.dispose();
    this.runs = [];
    this.fge?.dispose();
    this.avg?.dispose();
    this.avg = null;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const before = this.lock;
    let release!: () => void;
    this.lock = new Promise((r) => (release = r));
    return before.then(fn).finally(release);
  }

  /** Between steps: stop when asked, wait while paused (not counted as time), yield to the page now and then. */
  private async gate(): Promise<void> {
    if (this.stopping) throw new Stopped();
    if (this.pauseWanted) {
      this.state = 'paused';
      const t = performance.now();
      await new Promise<void>((r) => (this.resume = r));
      this.pausedMs += performance.now() - t;
      this.resume = null;
      this.state = 'training';
      if (this.stopping) throw new Stopped();
    }
  }

  private async train(): Promise<void> {
    const s = this.settings;
    const report = await chooseDevice(s.device);
    this.emit({ kind: 'device', report });
    const device = (this.device = defaultBackend());
    const [trainAll, testAll] = await Promise.all(
      (['train', 'test'] as const).map((split) => fetchFashionMnist({ baseUrl: s.dataUrl, split })),
    );
    const train = head(trainAll, s.trainImages);
    const test = (this.test = head(testAll, s.testImages));
    const normalize = FASHION_MNIST_STATS;
    const loaderOptions = { batchSize: s.batchSize, shuffle: true, normalize };
    const loader = new DataLoader(train, { ...loaderOptions, generator: new Generator(s.seed + 1) });
    const B = s.budget;
    const swaStart = Math.max(1, Math.floor(0.75 * B));
    const swaEnd = Math.round(1.5 * B);
    const fgeCycle = Math.min(2, (B - swaStart) / 2);
    const ipe = loader.length;
    this.emit({ kind: 'data', train: train.n, test: test.n, itersPerEpoch: ipe });
    this.emit({ kind: 'plan', budget: B, swaStart, swaEnd, fgeCycle, itersPerEpoch: ipe });

    const model = new SmallCnn({ widths: s.widths, generator: new Generator(s.seed), device });
    const sgdOpt = new SGD(model.parameters(), { lr: s.lr, momentum: 0.9, weightDecay: 5e-4 });
    // The paper's SGD baseline, per step: fraction of the budget done = (iteration − 1) / (B · iterations per epoch).
    const sgd = new Run('sgd', model, sgdOpt, loader, (i, n) => {
      sgdOpt.lr = sgdBaselineLr((i - 1) / (B * n), s.lr);
    });
    sgd.loaderOptions = loaderOptions;
    this.runs = [sgd];
    let swa: Run | null = null;
    let fge: Run | null = null;
    let fgeSched: FgeCyclicalLR | null = null;
    this.state = 'training';
    this.t0 = performance.now();
    let lastYield = this.t0;

    for (let e = 0; e < swaEnd; e++) {
      if (e === swaStart) {
        swa = await sgd.branch('swa', () => (swa!.optimizer.lr = s.swaLr));
        fge = await sgd.branch('fge', () => undefined);
        fgeSched = new FgeCyclicalLR(fge.optimizer, {
          alpha1: s.lr / 2,
          alpha2: s.lr / 1000,
          cycle: fgeCycle,
          itersPerEpoch: ipe,
        });
        this.fge = new FgeEnsemble();
        this.runs.push(swa, fge);
        this.avg = new AveragedModel(swa.model as SmallCnn);
        this.emit({
          kind: 'log',
          text: `epoch ${e}: SWA and FGE branch off SGD (ŵ = the SGD weights after ${e} epochs)`,
        });
        await this.capture(swa, e, train);
      }
      const active = [e < B ? sgd : null, swa, e < B ? fge : null].filter((r): r is Run => r !== null);
      for (const r of active) r.beginEpoch();
      let running = active.length;
      while (running > 0) {
        running = 0;
        for (const r of active) {
          await this.gate();
          const ts = performance.now();
          const out = await r.step(device);
          if (!out) continue;
          running++;
          this.stepMs += performance.now() - ts;
          this.images += out.images;
          this.emit({ kind: 'step', run: r.name, iteration: r.iteration, loss: out.loss, lr: out.lr });
          if (r === fge && fgeSched) {
            if (fgeSched.snapshotNow) {
              await this.fge!.add(fge.model);
              this.emit({ kind: 'snapshot', iteration: r.iteration, epoch: r.iteration / ipe, size: this.fge!.size });
            }
            fgeSched.step();
          }
          // Let the page draw and take input every 30 ms or so (one step on wasm takes ~10–100 ms).
          if (performance.now() - lastYield > 30) {
            this.progress(sgd.iteration / ipe, swa ? swa.iteration / ipe : 0);
            await yieldToPage();
            lastYield = performance.now();
          }
        }
      }
      this.lastEpoch = e + 1;
      // The SGD run and the SWA run's iterate are tested every epoch (FGE's ensemble once, at one budget).
      for (const r of active.filter((x) => x !== fge)) {
        const t = await evaluateChunked(r.model, test, device, normalize);
        this.emit({ kind: 'epoch', run: r.name, epoch: e + 1, testError: 1 - t.accuracy });
        if (r === sgd && e + 1 === B) this.result('SGD', t.accuracy);
      }
      if (swa) await this.capture(swa, e + 1, train);
      if (e + 1 === B && fge) {
        const r = await this.fge!.evaluate(fge.model, test, device, { normalize });
        this.emit({
          kind: 'log',
          text: `FGE: ensemble of ${this.fge!.size} snapshots, test accuracy ${pct(r.accuracy)}`,
        });
        this.result('FGE', r.accuracy);
        // SGD and FGE are finished: free them (SWA goes on to 1.5 budgets).
        for (const done of [sgd, fge]) done.dispose();
        this.fge!.dispose();
        this.runs = [swa!];
      }
      this.progress(Math.min(B, e + 1), e + 1);
    }
    await this.makeProbe();
  }

  /** Captures the SWA run's iterate into w_SWA, recomputes w_SWA's BatchNorm statistics, evaluates it. */
  private capture(swa: Run, epoch: number, train: Dataset): Promise<void> {
    return this.exclusive(async () => {
      const avg = this.avg!;
      const device = this.device!;
      const s = this.settings;
      avg.updateParameters(swa.model);
      this.emit({ kind: 'capture', iteration: swa.iteration, epoch, n: avg.nAveraged });
      const batches = await updateBn(bnBatches(train, FASHION_MNIST_STATS, s.batchSize), avg, {
        weighting: 'samples',
        device,
      });
      const t = await evaluateChunked(avg, this.test!, device, FASHION_MNIST_STATS);
      this.emit({ kind: 'average', epoch, n: avg.nAveraged, bnBatches: batches, testError: 1 - t.accuracy });
      const B = s.budget;
      if (epoch === B) this.result('SWA 1B', t.accuracy);
      if (epoch === Math.round(1.25 * B)) this.result('SWA 1.25B', t.accuracy);
      if (epoch === Math.round(1.5 * B)) this.result('SWA 1.5B', t.accuracy);
    });
  }

  private result(key: ResultKey, accuracy: number): void {
    this.results.set(key, accuracy);
    this.emit({ kind: 'result', key, accuracy });
  }

  private progress(sgdEpochs: number, swaEpochs: number): void {
    const seconds = (performance.now() - this.t0 - this.pausedMs) / 1000;
    const imagesPerSecond = this.stepMs > 0 ? this.images / (this.stepMs / 1000) : 0;
    this.emit({
      kind: 'progress',
      epoch: Math.max(sgdEpochs, swaEpochs),
      images: this.images,
      imagesPerSecond,
      seconds,
    });
  }

  private async makeProbe(): Promise<void> {
    const avg = this.avg!;
    const b = new DataLoader(this.test!, { batchSize: 8, normalize: FASHION_MNIST_STATS }).next();
    avg.eval();
    const logits = noGrad(() => tidy(() => avg.forward(toTensors(b, this.device!).x)));
    this.probe = Array.from(await logits.data());
    logits.dispose();
    avg.train();
  }
}

/** A fraction as a percentage with two decimals. */
export const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
