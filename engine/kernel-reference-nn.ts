// Plain TypeScript semantics of the neural-network kernels (convolution, pooling, batch norm, dropout, fused
// softmax-cross-entropy, in-place updates). Tests compare every backend's kernels to these.

import type { KernelParams, NnKernel } from './backend.ts';

type Arr = Float32Array | Float64Array;
type Ref<K extends keyof KernelParams> = (inputs: readonly Arr[], out: Arr, p: KernelParams[K]) => void;

/** PCG hash (O'Neill's RXS-M-XS step), a pure function of a 32-bit input. */
export function pcgHash(x: number): number {
  const state = (Math.imul(x >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The dropout keep-test for element i: uniform(i, seed) ≥ p, with uniform = (hash(i + hash(seed)) >> 8) / 2^24. */
export function dropoutKeep(i: number, seed: number, p: number): boolean {
  const u = (pcgHash((i + pcgHash(seed)) >>> 0) >>> 8) / 16777216;
  return u >= p;
}

const convAt = (p: KernelParams['conv2d']) => {
  const cinG = p.cin / p.groups;
  const coutG = p.cout / p.groups;
  /** Index of x[n, c, y, x] and of w[co, ci, ky, kx]. */
  const xi = (n: number, c: number, y: number, x: number): number => ((n * p.cin + c) * p.h + y) * p.w + x;
  const wi = (co: number, ci: number, ky: number, kx: number): number => ((co * cinG + ci) * p.kh + ky) * p.kw + kx;
  return { cinG, coutG, xi, wi };
};

export const referenceNnKernels: { [K in NnKernel]: Ref<K> } = {
  conv2d([x, w, bias], out, p) {
    const { cinG, coutG, xi, wi } = convAt(p);
    for (let n = 0; n < p.n; n++) {
      for (let co = 0; co < p.cout; co++) {
        const g = Math.floor(co / coutG);
        for (let oy = 0; oy < p.oh; oy++) {
          for (let ox = 0; ox < p.ow; ox++) {
            let s = p.hasBias ? bias[co] : 0;
            for (let ci = 0; ci < cinG; ci++) {
              for (let ky = 0; ky < p.kh; ky++) {
                const iy = oy * p.strideH - p.padH + ky * p.dilationH;
                if (iy < 0 || iy >= p.h) continue;
                for (let kx = 0; kx < p.kw; kx++) {
                  const ix = ox * p.strideW - p.padW + kx * p.dilationW;
                  if (ix < 0 || ix >= p.w) continue;
                  s += x[xi(n, g * cinG + ci, iy, ix)] * w[wi(co, ci, ky, kx)];
                }
              }
            }
            out[((n * p.cout + co) * p.oh + oy) * p.ow + ox] = s;
          }
        }
      }
    }
  },
  conv2dBackwardInput([dy, w], out, p) {
    const { cinG, coutG, xi, wi } = convAt(p);
    out.fill(0, 0, p.n * p.cin * p.h * p.w);
    for (let n = 0; n < p.n; n++) {
      for (let co = 0; co < p.cout; co++) {
        const g = Math.floor(co / coutG);
        for (let oy = 0; oy < p.oh; oy++) {
          for (let ox = 0; ox < p.ow; ox++) {
            const d = dy[((n * p.cout + co) * p.oh + oy) * p.ow + ox];
            for (let ci = 0; ci < cinG; ci++) {
              for (let ky = 0; ky < p.kh; ky++) {
                const iy = oy * p.strideH - p.padH + ky * p.dilationH;
                if (iy < 0 || iy >= p.h) continue;
                for (let kx = 0; kx < p.kw; kx++) {
                  const ix = ox * p.strideW - p.padW + kx * p.dilationW;
                  if (ix < 0 || ix >= p.w) continue;
                  out[xi(n, g * cinG + ci, iy, ix)] += d * w[wi(co, ci, ky, kx)];
                }
              }
            }
          }
        }
      }
    }
  },
  conv2dBackwardWeight([x, dy], out, p) {
    const { cinG, coutG, xi, wi } = convAt(p);
    out.fill(0, 0, p.cout * cinG * p.kh * p.kw);
    for (let n = 0; n < p.n; n++) {
      for (let co = 0; co < p.cout; co++) {
        const g = Math.floor(co / coutG);
        for (let oy = 0; oy < p.oh; oy++) {
          for (let ox = 0; ox < p.ow; ox++) {
            const d = dy[((n * p.cout + co) * p.oh + oy) * p.ow + ox];
            for (let ci = 0; ci < cinG; ci++) {
              for (let ky = 0; ky < p.kh; ky++) {
                const iy = oy * p.strideH - p.padH + ky * p.dilationH;
                if (iy < 0 || iy >= p.h) continue;
                for (let kx = 0; kx < p.kw; kx++) {
                  const ix = ox * p.strideW - p.padW + kx * p.dilationW;
                  if (ix < 0 || ix >= p.w) continue;
                  out[wi(co, ci, ky, kx)] += d * x[xi(n, g * cinG + ci, iy, ix)];
                }
              }
            }
          }
        }
      }
    }
  },
  pool2d([x], out, p) {
    for (let c = 0; c < p.nc; c++) {
      for (let oy = 0; oy < p.oh; oy++) {
        for (let ox = 0; ox < p.ow; ox++) {
          const win = poolWindow(p, c, oy, ox, x);
          out[(c * p.oh + oy) * p.ow + ox] = p.mode === 'max' ? win.max : win.sum / win.divisor;
        }
      }
    }
  },
  pool2dBackward([x, dy], out, p) {
    out.fill(0, 0, p.nc * p.h * p.w);
    for (let c = 0; c < p.nc; c++) {
      for (let oy = 0; oy < p.oh; oy++) {
        for (let ox = 0; ox < p.ow; ox++) {
          const d = dy[(c * p.oh + oy) * p.ow + ox];
          const win = poolWindow(p, c, oy, ox, x);
          if (p.mode === 'max') {
            if (win.argmax >= 0) out[win.argmax] += d;
          } else {
            for (const at of win.cells) out[at] += d / win.divisor;
          }
        }
      }
    }
  },
  channelSum([x], out, p) {
    for (let c = 0; c < p.c; c++) {
      let s = 0;
      for (let n = 0; n < p.n; n++) for (let i = 0; i < p.s; i++) s += x[(n * p.c + c) * p.s + i];
      out[c] = s * p.scale;
    }
  },
  channelVar([x, mean], out, p) {
    for (let c = 0; c < p.c; c++) {
      let s = 0;
      for (let n = 0; n < p.n; n++) for (let i = 0; i < p.s; i++) s += (x[(n * p.c + c) * p.s + i] - mean[c]) ** 2;
      out[c] = s * p.scale;
    }
  },
  channelDot([a, b, mean], out, p) {
    for (let c = 0; c < p.c; c++) {
      let s = 0;
      for (let n = 0; n < p.n; n++) {
        for (let i = 0; i < p.s; i++) s += a[(n * p.c + c) * p.s + i] * (b[(n * p.c + c) * p.s + i] - mean[c]);
      }
      out[c] = s * p.scale;
    }
  },
  bnStats([x], out, p) {
    const m = p.n * p.s;
    for (let c = 0; c < p.c; c++) {
      let s = 0;
      for (let n = 0; n < p.n; n++) for (let i = 0; i < p.s; i++) s += x[(n * p.c + c) * p.s + i];
      const mean = s / m;
      let q = 0;
      for (let n = 0; n < p.n; n++) for (let i = 0; i < p.s; i++) q += (x[(n * p.c + c) * p.s + i] - mean) ** 2;
      out[c] = mean;
      out[p.c + c] = q / m;
    }
  },
  bnApply([x, mean, variance, gamma, beta], out, p) {
    for (let n = 0; n < p.n; n++) {
      for (let c = 0; c < p.c; c++) {
        const inv = 1 / Math.sqrt(variance[c] + p.eps);
        for (let i = 0; i < p.s; i++) {
          const at = (n * p.c + c) * p.s + i;
          const v = (x[at] - mean[c]) * inv * gamma[c] + beta[c];
          out[at] = p.relu && v <= 0 ? 0 : v;
        }
      }
    }
  },
  bnBackwardStats([dy, x, mean, y], out, p) {
    for (let c = 0; c < p.c; c++) {
      let s = 0,
        d = 0;
      for (let n = 0; n < p.n; n++) {
        for (let i = 0; i < p.s; i++) {
          const at = (n * p.c + c) * p.s + i;
          const g = p.relu && !(y[at] > 0) ? 0 : dy[at];
          s += g;
          d += g * (x[at] - mean[c]);
        }
      }
      out[c] = s;
      out[p.c + c] = d;
    }
  },
  bnBackwardInput([dy, x, mean, variance, gamma, sums, y], out, p) {
    const m = p.n * p.s;
    for (let n = 0; n < p.n; n++) {
      for (let c = 0; c < p.c; c++) {
        const inv = 1 / Math.sqrt(variance[c] + p.eps);
        for (let i = 0; i < p.s; i++) {
          const at = (n * p.c + c) * p.s + i;
          const xhat = (x[at] - mean[c]) * inv;
          const g = p.relu && !(y[at] > 0) ? 0 : dy[at];
          out[at] = p.training
            ? gamma[c] * inv * (g - sums[c] / m - (xhat * inv * sums[p.c + c]) / m)
            : gamma[c] * inv * g;
        }
      }
    }
  },
  dropout([x], out, p) {
    for (let i = 0; i < p.size; i++) out[i] = dropoutKeep(i, p.seed, p.p) ? x[i] * p.scale : 0;
  },
  softmaxCrossEntropy([logits, labels], out, p) {
    for (let r = 0; r < p.rows; r++) {
      const row = (j: number): number => logits[r * p.classes + j];
      let m = -Infinity;
      for (let j = 0; j < p.classes; j++) m = Math.max(m, row(j));
      let s = 0;
      for (let j = 0; j < p.classes; j++) s += Math.exp(row(j) - m);
      const label = labels[r];
      out[r] = m + Math.log(s) - (label >= 0 && label < p.classes && Number.isInteger(label) ? row(label) : 0);
    }
  },
  softmaxCrossEntropyBackward([logits, labels, dy], out, p) {
    for (let r = 0; r < p.rows; r++) {
      const row = (j: number): number => logits[r * p.classes + j];
      let m = -Infinity;
      for (let j = 0; j < p.classes; j++) m = Math.max(m, row(j));
      let s = 0;
      for (let j = 0; j < p.classes; j++) s += Math.exp(row(j) - m);
      const g = p.dyScalar ? dy[0] * p.scale : dy[r] * p.scale;
      for (let j = 0; j < p.classes; j++) {
        out[r * p.classes + j] = (Math.exp(row(j) - m) / s - (j === labels[r] ? 1 : 0)) * g;
      }
    }
  },
  axpby([x], out, p) {
    for (let i = 0; i < p.size; i++) out[i] = p.alpha * out[i] + p.beta * x[i];
  },
  sgdMomentum([g, w], out, p) {
    for (let i = 0; i < p.size; i++) {
      const d = g[i] + p.weightDecay * w[i];
      out[i] = p.first ? d : p.momentum * out[i] + (1 - p.dampening) * d;
    }
  },
  sgdApply([g, v], out, p) {
    for (let i = 0; i < p.size; i++) {
      let d = g[i] + p.weightDecay * out[i];
      if (p.momentum !== 0) d = p.nesterov ? d + p.momentum * v[i] : v[i];
      out[i] = out[i] - p.lr * d;
    }
  },
};

/** The cells of one pooling window (flat input indices), its maximum (first one wins ties) and its divisor. */
function poolWindow(p: KernelParams['pool2d'], c: number, oy: number, ox: number, x: Arr) {
  const cells: number[] = [];
  let max = -Infinity;
  let argmax = -1;
  let sum = 0;
  const y0 = oy * p.strideH - p.padH;
  const x0 = ox * p.strideW - p.padW;
  for (let ky = 0; ky < p.kh; ky++) {
    for (let kx = 0; kx < p.kw; kx++) {
      const iy = y0 + ky;
      const ix = x0 + kx;
      if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
      const at = (c * p.h + iy) * p.w + ix;
      cells.push(at);
      sum += x[at];
      // As PyTorch: the first cell starts the scan (an all −inf window still has one), and a NaN always wins.
      if (argmax < 0 || x[at] > max || Number.isNaN(x[at])) {
        max = x[at];
        argmax = at;
      }
    }
  }
  // Like PyTorch: count_include_pad divides by the window clipped to the padded input, else by the valid cells.
  const hEnd = Math.min(y0 + p.kh, p.h + p.padH);
  const wEnd = Math.min(x0 + p.kw, p.w + p.padW);
  const padded = (hEnd - y0) * (wEnd - x0);
  return { cells, max, argmax, sum, divisor: p.countIncludePad ? padded : cells.length };
}
