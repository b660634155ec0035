// The plumbing shared by the Table 1 phases: a seed's workbench (network, optimizer, loader), phase checkpoints
// saved and restored at epoch ends, the onEpoch hook and interruption, and the phases' logging.

import { existsSync } from 'node:fs';
import { Generator, type Tensor } from '../engine/index.ts';
import { CheckpointError, type Restored } from '../nn/checkpoint.ts';
import { loadCheckpoint, saveCheckpoint } from '../nn/checkpoint-node.ts';
import { DataLoader, type LoaderState } from '../nn/data/loader.ts';
import { DivergenceError } from '../nn/finite.ts';
import type { Module } from '../nn/module.ts';
import { SGD } from '../nn/optim.ts';
import { modelSpec, type PhaseName, type Table1Plan } from './runner-config.ts';
import { mixSeed, rngState, setRngState, type EpochLoop, type RngState } from './runner-train.ts';

/**
 * Thrown when `signal` stops a run at an epoch end; everything up to there is checkpointed.
 * @example
 * const ac = new AbortController();
 * await runTable1({ ...o, signal: ac.signal }).catch((e) => { if (!(e instanceof RunInterrupted)) throw e; });
 */
export class RunInterrupted extends Error {
  constructor(
    readonly seed: number,
    readonly phase: PhaseName,
    readonly epoch: number,
  ) {
    super(
      `interrupted after epoch ${epoch} of seed ${seed}'s ${phase} phase; rerun the same command to resume from there`,
    );
    this.name = 'RunInterrupted';
  }
}

/** What every phase checkpoint's metadata holds. */
export interface PhaseMeta<H> {
  epochsDone: number;
  loader: LoaderState;
  rng: RngState;
  history: H[];
  /** Wall seconds spent in this phase so far (training and evaluation; SWAG's evaluations not counted). */
  seconds: number;
}

/** A seed's network, optimizer and loader, freshly made (their states are then restored or trained). */
export interface Workbench {
  model: Module;
  optimizer: SGD;
  loader: DataLoader;
  generator: Generator;
  dispose(): void;
}

/**
 * Builds a seed's workbench: the network from its own generator stream, SGD with the plan's settings, a shuffling
 * loader with the training augmentation and normalisation.
 */
export function workbench(plan: Table1Plan, seed: number): Workbench {
  const o = plan.options;
  const generator = new Generator(mixSeed([seed, 1]));
  const model = plan.build(modelSpec(o, generator));
  const optimizer = new SGD(model.parameters(), {
    lr: plan.lr,
    momentum: plan.momentum,
    weightDecay: plan.weightDecay,
  });
  const loader = new DataLoader(o.train, {
    batchSize: plan.batchSize,
    shuffle: true,
    augment: o.augment,
    normalize: o.normalize,
    generator: new Generator(mixSeed([seed, 2])),
  });
  return {
    model,
    optimizer,
    loader,
    generator,
    dispose: () => {
      optimizer.dispose();
      model.dispose();
    },
  };
}

type HostTensors = Restored['extra'];

/**
 * Loads a phase checkpoint into the workbench: weights, momentum, loader position and random streams; `check`
 * validates the metadata first (it throws naming the file and key).
 */
export async function restore<M extends PhaseMeta<unknown>>(
  path: string,
  w: Workbench,
  check: (meta: unknown) => void,
): Promise<{ meta: M; extra: HostTensors }> {
  const r = await loadCheckpoint(path, { model: w.model, optimizer: w.optimizer });
  check(r.meta);
  const meta = r.meta as M;
  w.loader.setState(meta.loader);
  setRngState(w.generator, meta.rng);
  return { meta, extra: r.extra };
}

/**
 * Saves a phase checkpoint: the workbench's weights and momentum, `meta` with the loader and random states. A state
 * holding NaN or ±Infinity (a finite loss can hide an overflowing BN variance) is not saved: it throws a
 * `DivergenceError` naming `where` (the phase) and the tensor, and the checkpoint on disk stays the last good one.
 */
export async function save<H>(
  path: string,
  w: Workbench,
  meta: Omit<PhaseMeta<H>, 'loader' | 'rng'> & object,
  extra: Map<string, Tensor> | undefined,
  where: string,
): Promise<void> {
  try {
    await saveCheckpoint(path, {
      model: w.model,
      optimizer: w.optimizer,
      extra,
      meta: { ...meta, loader: w.loader.state(), rng: rngState(w.generator) },
    });
  } catch (e) {
    const bad = e instanceof CheckpointError ? e.nonFinite : undefined;
    if (!bad) throw e;
    const quantity = `tensor ${bad.tensor}[${bad.index}]`;
    const kept = existsSync(path) ? `the last good ${path} was not overwritten` : `${path} was not written`;
    throw new DivergenceError({ where, quantity, value: bad.value, epoch: meta.epochsDone, kept }, { cause: e });
  }
}

/** Runs the onEpoch hook, then stops the run if the signal was raised. */
export function epochDone(plan: Table1Plan, seed: number, phase: PhaseName, epoch: number): void {
  plan.options.onEpoch?.({ seed, phase, epoch });
  if (plan.options.signal?.aborted) throw new RunInterrupted(seed, phase, epoch);
}

/** Writes a status line to the run's log (console.log by default). */
export const log = (plan: Table1Plan, line: string): void => (plan.options.log ?? console.log)(line);

/** The parts of a training-epoch call that come from the workbench and the plan. */
export function bench(
  plan: Table1Plan,
  w: Workbench,
): Pick<EpochLoop, 'model' | 'optimizer' | 'loader' | 'device' | 'progress'> {
  return {
    model: w.model,
    optimizer: w.optimizer,
    loader: w.loader,
    device: plan.options.device,
    progress: plan.options.progress ?? true,
  };
}

/** Logs that a phase finished in an earlier run and hands back its saved result. */
export function skipped<T>(plan: Table1Plan, seed: number, what: string, result: T): T {
  log(plan, `seed ${seed} ${what}: finished earlier, skipped`);
  return result;
}

/** A fraction as a percentage with two decimals. */
export const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
