// Seeded pseudo-random numbers, identical on every backend and platform: values are drawn on the host and uploaded.
// Generator: xoshiro128** (Blackman & Vigna, 2018) seeded through splitmix32; normals by the Box–Muller transform.

/** A reproducible random stream. The same seed gives the same numbers everywhere. */
export class Generator {
  private s = new Uint32Array(4);
  /** A spare normal from the last Box–Muller pair. */
  private spare: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Restarts the stream from `seed` (any 32-bit integer). */
  seed(seed: number): void {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = null;
  }

  /** The full state, to save and restore a stream exactly. */
  getState(): number[] {
    return [...this.s, this.spare ?? NaN];
  }

  setState(state: readonly number[]): void {
    this.s.set(state.slice(0, 4));
    this.spare = Number.isNaN(state[4]) ? null : state[4];
  }

  /** Next 32-bit unsigned integer (xoshiro128**). */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits (exactly representable in float32). */
  uniform(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** The generator used when none is passed. */
export const globalGenerator = new Generator(0);

/** Reseeds the global generator. */
export function manualSeed(seed: number): void {
  globalGenerator.seed(seed);
}
