// WebGPU programs of the neural-network kernels: convolution, pooling, batch norm, dropout, fused softmax-cross-entropy
// and the in-place optimizer updates. Merged into the full kernel table by webgpu-programs.ts.

import type { Conv2dParams, KernelParams, NnKernel, Pool2dParams } from '../backend.ts';
import conv2dWgsl from '../../kernels/conv2d.wgsl';
import conv2dBackwardInputWgsl from '../../kernels/conv2d-backward-input.wgsl';
import conv2dBackwardWeightWgsl from '../../kernels/conv2d-backward-weight.wgsl';
import pool2dWgsl from '../../kernels/pool2d.wgsl';
import pool2dBackwardWgsl from '../../kernels/pool2d-backward.wgsl';
import channelSumWgsl from '../../kernels/channel-sum.wgsl';
import channelVarWgsl from '../../kernels/channel-var.wgsl';
import channelDotWgsl from '../../kernels/channel-dot.wgsl';
import bnStatsWgsl from '../../kernels/bn-stats.wgsl';
import bnStatsSubgroupsWgsl from '../../kernels/bn-stats-subgroups.wgsl';
import bnApplyWgsl from '../../kernels/bn-apply.wgsl';
import bnBackwardStatsWgsl from '../../kernels/bn-backward-stats.wgsl';
import bnBackwardStatsSubgroupsWgsl from '../../kernels/bn-backward-stats-subgroups.wgsl';
import bnBackwardInputWgsl from '../../kernels/bn-backward-input.wgsl';
import dropoutWgsl from '../../kernels/dropout.wgsl';
import softmaxCrossEntropyWgsl from '../../kernels/softmax-cross-entropy.wgsl';
import softmaxCrossEntropyBackwardWgsl from '../../kernels/softmax-cross-entropy-backward.wgsl';
import axpbyWgsl from '../../kernels/axpby.wgsl';
import sgdMomentumWgsl from '../../kernels/sgd-momentum.wgsl';
import sgdApplyWgsl from '../../kernels/sgd-apply.wgsl';
import type { Fields, Values } from './layout.ts';
import { tiledConvPrograms } from './webgpu-programs-tiled.ts';
import {
  convFields,
  elementwise,
  gridFor,
  shader,
  tileGrid,
  uniforms,
  WG,
  type KernelVariant,
  type Program,
  type Shader,
} from './webgpu-program.ts';

const CONV2D = shader('conv2d', conv2dWgsl);
const CONV2D_BACKWARD_INPUT = shader('conv2d-backward-input', conv2dBackwardInputWgsl);
const CONV2D_BACKWARD_WEIGHT = shader('conv2d-backward-weight', conv2dBackwardWeightWgsl);
const POOL2D = shader('pool2d', pool2dWgsl);
const POOL2D_BACKWARD = shader('pool2d-backward', pool2dBackwardWgsl);
const CHANNEL_SUM = shader('channel-sum', channelSumWgsl);
const CHANNEL_VAR = shader('channel-var', channelVarWgsl);
const CHANNEL_DOT = shader('channel-dot', channelDotWgsl);
const BN_STATS = shader('bn-stats', bnStatsWgsl);
const BN_STATS_SUBGROUPS = shader('bn-stats-subgroups', bnStatsSubgroupsWgsl);
const BN_APPLY = shader('bn-apply', bnApplyWgsl);
const BN_BACKWARD_STATS = shader('bn-backward-stats', bnBackwardStatsWgsl);
const BN_BACKWARD_STATS_SUBGROUPS = shader('bn-backward-stats-subgroups', bnBackwardStatsSubgroupsWgsl);
const BN_BACKWARD_INPUT = shader('bn-backward-input', bnBackwardInputWgsl);
const DROPOUT = shader('dropout', dropoutWgsl);
const SOFTMAX_CROSS_ENTROPY = shader('softmax-cross-entropy', softmaxCrossEntropyWgsl);
const SOFTMAX_CROSS_ENTROPY_BACKWARD = shader('softmax-cross-entropy-backward', softmaxCrossEntropyBackwardWgsl);
const AXPBY = shader('axpby', axpbyWgsl);
const SGD_MOMENTUM = shader('sgd-momentum', sgdMomentumWgsl);
const SGD_APPLY = shader('sgd-apply', sgdApplyWgsl);

/** A conv shader's register tile (tm channels × tn pixels or weight entries) and invocations per workgroup. */
interface ConvTile {
  tm: number;
  tn: number;
  wg: number;
}

/**
 * The tile each conv shader uses (at most TM_MAX = TN_MAX = 16, the shaders' register array sizes). Measured on
 * lavapipe (bench/conv-webgpu.bench.ts): 16 channels × 8 pixels beat 8×8, 16×4, 8×16, 32×4 and 16×16 for forward and
 * backward input, like matmul's 16×8; backward weight does best with all 9 taps of a 3×3 kernel in one tile (16×9).
 * Layers with few channels per group (depthwise, a 1-channel input) take more pixels per invocation instead.
 */
function convTile(kernel: 'conv2d' | 'conv2dBackwardInput' | 'conv2dBackwardWeight', p: Conv2dParams): ConvTile {
  if (kernel === 'conv2dBackwardWeight') {
    const taps = p.kh * p.kw;
    // NOTE: the shader's workgroup memory holds tm·tn·wg floats: 16·12·16·4 bytes stays within WebGPU's 16 KiB default.
    return { tm: Math.min(16, p.cout / p.groups), tn: taps >= 8 && taps <= 12 ? taps : 8, wg: 16 };
  }
  const tm = Math.min(16, (kernel === 'conv2d' ? p.cout : p.cin) / p.groups);
  return { tm, tn: tm <= 4 ? 16 : 8, wg: 64 };
}

/** Batch-norm rows (the s of [n, c, s]) at least this long get a workgroup each, of BN_ROWS_WG invocations. */
const BN_ROWS_MIN_S = 64;
const BN_ROWS_WG = 64;
/** Rows with at least this many classes are reduced by a whole workgroup (as softmax). */
const TREE_MIN_CLASSES = 256;

/** Kernel size, strides and dilations: override constants, so the divisions and tap loops compile to constants. */
function convConstants(p: Conv2dParams, t: ConvTile): Record<string, number> {
  return {
    tm: t.tm,
    tn: t.tn,
    wg: t.wg,
    kh: p.kh,
    kw: p.kw,
    stride_h: p.strideH,
    stride_w: p.strideW,
    dil_h: p.dilationH,
    dil_w: p.dilationW,
  };
}

function checkConv(p: Conv2dParams): void {
  if (p.cin % p.groups !== 0 || p.cout % p.groups !== 0) {
    throw new Error(`webgpu: conv groups ${p.groups} must divide cin ${p.cin} and cout ${p.cout}`);
  }
}

type PoolFields = (typeof POOL2D)['params']['spec'];

/** Pool geometry: window and strides as overrides, the rest as uniforms. */
function poolProgram(sh: Shader<PoolFields>, p: Pool2dParams, size: number): Program | null {
  const constants = { is_max: p.mode === 'max' ? 1 : 0, kh: p.kh, kw: p.kw, stride_h: p.strideH, stride_w: p.strideW };
  return elementwise(sh, size, constants, p);
}

/** One workgroup per channel, each reducing the channel's n·s elements with a tree. */
function perChannel<F extends Fields & { c: 'u32' }>(
  sh: Shader<F>,
  p: Values<F>,
  bind?: readonly number[],
): Program | null {
  if (p.c === 0) return null;
  return { shader: sh, entry: 'main', constants: { wg: WG }, uniforms: uniforms(sh, p), grid: gridFor(p.c), bind };
}

/**
 * Batch-norm element-wise kernels over [n, c, s]: one invocation per element, or, for rows of at least BN_ROWS_MIN_S
 * elements, one workgroup per row (b, c), which saves the two integer divisions per element that find the channel
 * (lavapipe runs vector integer division one lane at a time) and the per-element loads of the channel's constants.
 */
function perElement<F extends Fields & { n: 'u32'; c: 'u32'; s: 'u32' }>(
  sh: Shader<F>,
  p: Values<F>,
  bind?: readonly number[],
): Program | null {
  const rows = p.n * p.c;
  if (rows * p.s === 0) return null;
  const words = uniforms(sh, p);
  if (p.s < BN_ROWS_MIN_S) {
    const grid = gridFor(Math.ceil((rows * p.s) / WG));
    return { shader: sh, entry: 'flat', constants: { wg: WG }, uniforms: words, grid, bind };
  }
  return { shader: sh, entry: 'rows', constants: { wg: BN_ROWS_WG }, uniforms: words, grid: gridFor(rows), bind };
}

/** One invocation per row, or one workgroup per row when rows are long. */
function perRow<F extends Fields & { rows: 'u32'; classes: 'u32' }>(sh: Shader<F>, p: Values<F>): Program | null {
  if (p.rows === 0 || p.classes === 0) return null;
  const tree = p.classes >= TREE_MIN_CLASSES;
  return {
    shader: sh,
    entry: tree ? 'tree' : 'rows',
    constants: { wg: WG },
    uniforms: uniforms(sh, p),
    grid: gridFor(tree ? p.rows : Math.ceil(p.rows / WG)),
  };
}

/** Builds the dispatch of each NN kernel for a kernel variant; null when there is nothing to compute. */
export const nnPrograms: { readonly [K in NnKernel]: (p: KernelParams[K], v: KernelVariant) => Program | null } = {
  conv2d(p, v) {
    checkConv(p);
    if (v.tiled) return tiledConvPrograms.conv2d(p);
    const pixels = p.n * p.oh * p.ow;
    if (pixels * p.cout === 0) return null;
    const t = convTile('conv2d', p);
    const coTiles = Math.ceil(p.cout / p.groups / t.tm);
    return {
      shader: CONV2D,
      entry: 'main',
      constants: convConstants(p, t),
      uniforms: uniforms(CONV2D, { ...convFields(p), coTiles }),
      grid: tileGrid(Math.ceil(pixels / t.tn), t.wg, p.groups * coTiles),
      // NOTE: the shader always declares `bias`; without one the weight is bound in its place and never read.
      bind: p.hasBias ? [0, 1, 2] : [0, 1, 1],
    };
  },
  conv2dBackwardInput(p, v) {
    checkConv(p);
    if (v.tiled) return tiledConvPrograms.conv2dBackwardInput(p);
    const pixels = p.n * p.h * p.w;
    if (pixels * p.cin === 0) return null;
    const t = convTile('conv2dBackwardInput', p);
    const ciTiles = Math.ceil(p.cin / p.groups / t.tm);
    return {
      shader: CONV2D_BACKWARD_INPUT,
      entry: 'main',
      constants: convConstants(p, t),
      uniforms: uniforms(CONV2D_BACKWARD_INPUT, { ...convFields(p), ciTiles }),
      grid: tileGrid(Math.ceil(pixels / t.tn), t.wg, p.groups * ciTiles),
    };
  },
  conv2dBackwardWeight(p, v) {
    checkConv(p);
    if (v.tiled) return tiledConvPrograms.conv2dBackwardWeight(p);
    const entries = (p.cin / p.groups) * p.kh * p.kw;
    if (p.cout * entries === 0) return null;
    const t = convTile('conv2dBackwardWeight', p);
    const coTiles = Math.ceil(p.cout / p.groups / t.tm);
    const rTiles = Math.ceil(entries / t.tn);
    return {
      shader: CONV2D_BACKWARD_WEIGHT,
      entry: 'main',
      constants: convConstants(p, t),
      uniforms: uniforms(CONV2D_BACKWARD_WEIGHT, { ...convFields(p), coTiles, rTiles }),
      grid: gridFor(p.groups * coTiles * rTiles),
    };
  },
  pool2d: (p) => poolProgram(POOL2D, p, p.nc * p.oh * p.ow),
  pool2dBackward: (p) => poolProgram(POOL2D_BACKWARD, p, p.nc * p.h * p.w),
  channelSum: (p) => perChannel(CHANNEL_SUM, p),
  channelVar: (p) => perChannel(CHANNEL_VAR, p),
  channelDot: (p) => perChannel(CHANNEL_DOT, p),
  bnStats: (p, v) => perChannel(v.subgroups ? BN_STATS_SUBGROUPS : BN_STATS, p),
  bnApply: (p) => perElement(BN_APPLY, { ...p, relu: !!p.relu }),
  // NOTE: the shaders always declare y; without relu dy is bound in its place and never read.
  bnBackwardStats: (p, v) =>
    perChannel(v.subgroups ? BN_BACKWARD_STATS_SUBGROUPS : BN_BACKWARD_STATS, p, p.relu ? undefined : [0, 1, 2, 0]),
  bnBackwardInput: (p) =>
    perElement(BN_BACKWARD_INPUT, { ...p, relu: !!p.relu }, p.relu ? undefined : [0, 1, 2, 3, 4, 5, 0]),
  dropout(p) {
    // NOTE: keep ⇔ (hash >> 8) / 2^24 >= p ⇔ (hash >> 8) >= ceil(p · 2^24); the integer threshold is exact, whereas
    // comparing against p rounded to f32 flips the mask for some p.
    const threshold = Math.min(Math.max(Math.ceil(p.p * 16777216), 0), 16777216);
    return elementwise(DROPOUT, p.size, {}, { size: p.size, threshold, seed: p.seed >>> 0, scale: p.scale });
  },
  softmaxCrossEntropy: (p) => perRow(SOFTMAX_CROSS_ENTROPY, p),
  softmaxCrossEntropyBackward: (p) => perRow(SOFTMAX_CROSS_ENTROPY_BACKWARD, p),
  axpby: (p) => elementwise(AXPBY, p.size, {}, p),
  sgdMomentum: (p) => elementwise(SGD_MOMENTUM, p.size, {}, p),
  sgdApply: (p) => elementwise(SGD_APPLY, p.size, {}, p),
};
