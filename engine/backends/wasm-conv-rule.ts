// Which algorithm the wasm backend runs a convolution with: the direct implicit GEMM, or Winograd F(2×2, 3×3) or
// F(4×4, 3×3) (wasm/winograd.ts) for the 3×3 stride-1 convolutions it can take, chosen per shape by a rule tuned with
// bench/conv-wasm.bench.ts, or forced by the backend's `conv` option.

import type { Conv2dParams } from '../backend.ts';

/**
 * How the wasm backend computes 3×3, stride-1, dilation-1, ungrouped convolutions with padding 0–2 (forward, input
 * and weight gradients): 'auto' picks per shape (winogradTile), 'direct' always runs the implicit GEMM, 'winograd2' and
 * 'winograd4' force F(2×2, 3×3) or F(4×4, 3×3) wherever Winograd applies (tests use them to cover both paths).
 * Other convolutions always run direct.
 */
export type ConvAlgorithm = 'auto' | 'direct' | 'winograd2' | 'winograd4';

/** The conv kernels a rule is asked about: forward, input gradient (a stride-1 convolution of dY), weight gradient. */
export type ConvPass = 'forward' | 'input' | 'weight';

/** Whether Winograd F(m×m, 3×3) can compute this pass of p. */
export function winogradApplies(p: Conv2dParams): boolean {
  return (
    p.kh === 3 &&
    p.kw === 3 &&
    p.strideH === 1 &&
    p.strideW === 1 &&
    p.dilationH === 1 &&
    p.dilationW === 1 &&
    p.groups === 1 &&
    Math.min(p.padH, p.padW) >= 0 &&
    Math.max(p.padH, p.padW) <= 2
  );
}

/** The channels and output size of the stride-1 convolution a pass runs (the input gradient's is dY ⋆ Wᵀ). */
function passShape(p: Conv2dParams, pass: ConvPass): { cin: number; cout: number; oh: number; ow: number } {
  return pass === 'input'
    ? { cin: p.cout, cout: p.cin, oh: p.h, ow: p.w }
    : { cin: p.cin, cout: p.cout, oh: p.oh, ow: p.ow };
}

/** Fraction of the computed outputs that are real for tile size m: tiles run over ceil(o/m)·m outputs per axis. */
export function tileEfficiency(oh: number, ow: number, m: number): number {
  return (oh * ow) / (Math.ceil(oh / m) * m * Math.ceil(ow / m) * m);
}

/**
 * The Winograd tile size m (2 or 4) for one pass of p, or 0 for the direct convolution. Under 'auto': Winograd where
 * the pass's convolution has at least 3 input and 8 output channels (the weight gradient at least 8 of each): with
 * fewer, the transforms, not the multiplies, are the cost (measured on one thread: 3→16 at 32×32 forward 22 effective
 * GFLOP/s by F(4, 3) against 16 direct, its weight gradient 20 against 25; 1→32 at 28×28 11 against 12). Of F(2, 3)
 * and F(4, 3) the one with fewer multiplies per real output, 16/(4·e₂) against 36/(16·e₄) with e the tile efficiency
 * (64→64 at 8×8 forward: F(4, 3) 100 GFLOP/s, F(2, 3) 71).
 */
export function winogradTile(p: Conv2dParams, pass: ConvPass, mode: ConvAlgorithm): 0 | 2 | 4 {
  if (mode === 'direct' || !winogradApplies(p)) return 0;
  if (mode === 'winograd2') return 2;
  if (mode === 'winograd4') return 4;
  const s = passShape(p, pass);
  if (pass === 'weight' ? Math.min(s.cin, s.cout) < 8 : s.cin < 3 || s.cout < 8) return 0;
  const e2 = tileEfficiency(s.oh, s.ow, 2),
    e4 = tileEfficiency(s.oh, s.ow, 4);
  return 36 / (16 * e4) < 16 / (4 * e2) ? 4 : 2;
}
