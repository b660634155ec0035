// One training trajectory of the page (SGD, the SWA run's iterates, or FGE's): its model, optimizer, data order and
// learning rate; a step that reports its loss, a branch that copies all of it, and evaluations that yield to the page.

import {
  crossEntropy,
  DataLoader,
  deepcopy,
  Generator,
  noGrad,
  RunningMetrics,
  SGD,
  tidy,
  toTensors,
  type Backend,
  type Batch,
  type ChannelStats,
  type Dataset,
  type Module,
} from '../index.ts';

/** Lets the page's event loop run (input, rendering) between chunks of training; a macrotask, not a timer clamp. */
export function yieldToPage(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(0);
  });
}

/** Test loss and accuracy of `model` in eval mode (its mode is restored), a batch at a time with yields between. */
export async function evaluateChunked(
  model: Module,
  data: Dataset,
  device: Backend,
  normalize: ChannelStats,
): Promise<{ loss: number; accuracy: number }> {
  const wasTraining = model.training;
  model.eval();
  const metrics = new RunningMetrics(device);
  try {
    for (const b of new DataLoader(data, { batchSize: 250, normalize })) {
      noGrad(() =>
        tidy(() => {
          const { x, y } = toTensors(b, device);
          const logits = model.forward(x);
          metrics.add(crossEntropy(logits, y), logits, y);
        }),
      );
      await yieldToPage();
    }
    const r = await metrics.read();
    return { loss: r.loss, accuracy: r.accuracy };
  } finally {
    metrics.dispose();
    model.train(wasTraining);
  }
}

/** The training set in order, a batch at a time with yields between: the input of `updateBn` on the page. */
export async function* bnBatches(data: Dataset, normalize: ChannelStats, batchSize: number): AsyncGenerator<Batch> {
  for (const b of new DataLoader(data, { batchSize, normalize })) {
    yield b;
    await yieldToPage();
  }
}

/** Which trajectory a run is. */
export type RunName = 'sgd' | 'swa' | 'fge';

/** A trajectory: model, SGD optimizer and loader, the rate rule, and the iterations done (Algorithm 1's i). */
export class Run {
  /** Iterations done, over the whole trajectory (a branch continues its parent's count). */
  iteration = 0;
  private epochIter: Iterator<Batch> | null = null;

  constructor(
    readonly name: RunName,
    readonly model: Module,
    readonly optimizer: SGD,
    readonly loader: DataLoader,
    /** Sets the optimizer's rate before each step, from the iteration about to run (1-based) and the epoch size. */
    public rate: (iteration: number, itersPerEpoch: number) => void,
  ) {}

  get itersPerEpoch(): number {
    return this.loader.length;
  }

  /** Starts the loader's next epoch (its own shuffled order). */
  beginEpoch(): void {
    this.epochIter = this.loader[Symbol.iterator]();
  }

  /**
   * One SGD step on the next batch of the epoch: sets the rate, forward, cross-entropy, backward, step. Returns the
   * batch's loss and the rate it ran at, or null at the end of the epoch.
   */
  async step(device: Backend): Promise<{ loss: number; lr: number; images: number } | null> {
    if (!this.epochIter) this.beginEpoch();
    const next = this.epochIter!.next();
    if (next.done) {
      this.epochIter = null;
      return null;
    }
    const batch = next.value;
    this.rate(this.iteration + 1, this.itersPerEpoch);
    const lr = this.optimizer.lr;
    const loss = tidy(() => {
      const { x, y } = toTensors(batch, device);
      const l = crossEntropy(this.model.forward(x), y);
      l.backward();
      this.optimizer.step();
      this.optimizer.zeroGrad();
      return l;
    });
    try {
      const value = await loss.item();
      if (!Number.isFinite(value))
        throw new Error(`${this.name}: the training loss is ${value} (diverged: lower the rate)`);
      this.iteration++;
      return { loss: value, lr, images: batch.size };
    } finally {
      loss.dispose();
    }
  }

  /**
   * A new run continuing from this one: a deep copy of the model, a new optimizer with a copy of the momentum
   * buffers and step count, and a loader at the same position and random state (the same data order from here).
   */
  async branch(name: RunName, rate: Run['rate']): Promise<Run> {
    const model = deepcopy(this.model);
    const o = this.optimizer;
    const optimizer = new SGD(model.parameters(), {
      lr: o.lr,
      momentum: o.momentum,
      dampening: o.dampening,
      weightDecay: o.weightDecay,
      nesterov: o.nesterov,
    });
    const state = o.state();
    const momentum = new Map<number, Float32Array>();
    for (const [i, v] of state.momentum) momentum.set(i, await v.data());
    optimizer.loadState(state.step, momentum);
    // Its own random stream, set to the parent's state: the same order from here, drawn independently after.
    const loader = new DataLoader(this.loader.dataset, { ...this.loaderOptions, generator: new Generator(0) });
    loader.setState(this.loader.state());
    const run = new Run(name, model, optimizer, loader, rate);
    run.iteration = this.iteration;
    run.loaderOptions = this.loaderOptions;
    return run;
  }

  /** The loader's options, so a branch can make an identical loader (set by the session). */
  loaderOptions: ConstructorParameters<typeof DataLoader>[1] = { batchSize: 128 };

  dispose(): void {
    this.model.dispose();
    for (const v of this.optimizer.buffers.values()) v.dispose();
    this.optimizer.buffers.clear();
  }
}
