// WebGPU programs of the convolutions for GPUs (kernels/conv2d*-tiled.wgsl): implicit GEMMs on workgroup tiles of 32
// channels × 64 pixels (or weight entries), and the weight gradient split over slices of pixels when its tiles alone
// would leave most of a GPU idle. webgpu-programs-nn.ts picks these when the backend's variant is tiled.

import type { Conv2dParams } from '../backend.ts';
import conv2dTiledWgsl from '../../kernels/conv2d-tiled.wgsl';
import conv2dBackwardInputTiledWgsl from '../../kernels/conv2d-backward-input-tiled.wgsl';
import conv2dBackwardWeightTiledWgsl from '../../kernels/conv2d-backward-weight-tiled.wgsl';
import { convFields, MAX_GROUPS, shader, tileGrid, uniforms, type Program } from './webgpu-program.ts';

const CONV2D_TILED = shader('conv2d-tiled', conv2dTiledWgsl);
const CONV2D_BACKWARD_INPUT_TILED = shader('conv2d-backward-input-tiled', conv2dBackwardInputTiledWgsl);
const CONV2D_BACKWARD_WEIGHT_TILED = shader('conv2d-backward-weight-tiled', conv2dBackwardWeightTiledWgsl);

/** The shaders' tile: BM channels × BN pixels or weight entries, BK along the reduction (as in the WGSL). */
const BM = 32;
const BN = 64;
const BK = 16;
/** Workgroups the weight gradient aims for (a few per compute unit of a large GPU) before it splits pixels. */
const WEIGHT_WORKGROUPS = 512;
/** Pixels a weight-gradient slice sums at least. */
const MIN_SLICE_PIXELS = 512;

/** Kernel size, strides and dilations: the tiled shaders' override constants. */
const geometry = (p: Conv2dParams): Record<string, number> => ({
  kh: p.kh,
  kw: p.kw,
  stride_h: p.strideH,
  stride_w: p.strideW,
  dil_h: p.dilationH,
  dil_w: p.dilationW,
});

/**
 * How the weight gradient splits its n·oh·ow pixels: into as many slices (each a multiple of BK pixels, at least
 * MIN_SLICE_PIXELS) as bring the grid to about WEIGHT_WORKGROUPS workgroups.
 */
export function weightSlices(p: Conv2dParams): { slices: number; chunk: number } {
  const pixels = p.n * p.oh * p.ow;
  const tiles = p.groups * Math.ceil(p.cout / p.groups / BM) * Math.ceil(((p.cin / p.groups) * p.kh * p.kw) / BN);
  const want = Math.max(1, Math.min(Math.ceil(WEIGHT_WORKGROUPS / tiles), Math.floor(pixels / MIN_SLICE_PIXELS)));
  const chunk = Math.ceil(pixels / want / BK) * BK;
  return { slices: Math.min(MAX_GROUPS, Math.ceil(pixels / chunk)), chunk };
}

/** The tiled convolution programs (inputs as the kernels', geometry already checked by the caller). */
export const tiledConvPrograms = {
  conv2d(p: Conv2dParams): Program | null {
    const pixels = p.n * p.oh * p.ow;
    if (pixels * p.cout === 0) return null;
    const coTiles = Math.ceil(p.cout / p.groups / BM);
    return {
      shader: CONV2D_TILED,
      entry: 'main',
      constants: geometry(p),
      uniforms: uniforms(CONV2D_TILED, { ...convFields(p), coTiles }),
      grid: tileGrid(Math.ceil(pixels / BN), 1, p.groups * coTiles),
      // NOTE: the shader always declares `bias`; without one the weight is bound in its place and never read.
      bind: p.hasBias ? [0, 1, 2] : [0, 1, 1],
    };
  },
  conv2dBackwardInput(p: Conv2dParams): Program | null {
    const pixels = p.n * p.h * p.w;
    if (pixels * p.cin === 0) return null;
    const ciTiles = Math.ceil(p.cin / p.groups / BM);
    return {
      shader: CONV2D_BACKWARD_INPUT_TILED,
      entry: 'main',
      constants: geometry(p),
      uniforms: uniforms(CONV2D_BACKWARD_INPUT_TILED, { ...convFields(p), ciTiles }),
      grid: tileGrid(Math.ceil(pixels / BN), 1, p.groups * ciTiles),
    };
  },
  conv2dBackwardWeight(p: Conv2dParams): Program | null {
    const entries = (p.cin / p.groups) * p.kh * p.kw;
    if (p.cout * entries === 0) return null;
    const coTiles = Math.ceil(p.cout / p.groups / BM);
    const rows = p.groups * coTiles;
    const cols = Math.ceil(entries / BN);
    if (rows > MAX_GROUPS || cols > MAX_GROUPS) throw new Error(`webgpu: conv2d weight tiles ${cols}×${rows} too many`);
    const { slices, chunk } = weightSlices(p);
    return {
      shader: CONV2D_BACKWARD_WEIGHT_TILED,
      entry: 'main',
      constants: geometry(p),
      uniforms: uniforms(CONV2D_BACKWARD_WEIGHT_TILED, { ...convFields(p), coTiles, chunk }),
      grid: [cols, rows, slices],
      partials: slices > 1 ? { slices, size: p.cout * entries } : undefined,
    };
  },
};
