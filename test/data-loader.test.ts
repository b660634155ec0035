// The data loader and what it feeds: augmentation, shuffling and batching, resuming from a saved state,
// normalisation and the upload to tensors.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Generator } from '../engine/random.ts';
import {
  augmentImage,
  channelStats,
  CIFAR_AUGMENT,
  DataLoader,
  drawAugment,
  normalize,
  toTensors,
  type Batch,
  type Dataset,
  type ImageShape,
  type LoaderOptions,
} from '../nn/data/index.ts';
import { testBackends } from './util/backends.ts';
import { throwsWith } from './util/throws.ts';

const backends = await testBackends();

// ---- augmentation ----

/** Reference: pad with zeros into a (H+2p)×(W+2p) array, crop at (dy, dx), then mirror columns. */
function referenceAugment(
  src: Float32Array,
  [c, h, w]: ImageShape,
  p: number,
  dy: number,
  dx: number,
  flip: boolean,
): number[] {
  const out: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    const padded = Array.from({ length: h + 2 * p }, (_, y) =>
      Array.from({ length: w + 2 * p }, (_, x) =>
        y < p || y >= h + p || x < p || x >= w + p ? 0 : src[ch * h * w + (y - p) * w + (x - p)],
      ),
    );
    for (let y = 0; y < h; y++) {
      const row = padded[y + dy].slice(dx, dx + w);
      out.push(...(flip ? row.reverse() : row));
    }
  }
  return out;
}

test('augmentation: crop-then-flip equals pad/crop/mirror at every offset; zero padding; exact mirror', () => {
  const shape: ImageShape = [2, 5, 6];
  const src = Float32Array.from({ length: 60 }, (_, i) => i + 1); // no zeros, so zeros can only come from padding
  const dst = new Float32Array(60).fill(NaN);
  for (let dy = 0; dy <= 6; dy++)
    for (let dx = 0; dx <= 6; dx++)
      for (const flip of [false, true]) {
        augmentImage(src, dst, shape, 3, { dy, dx, flip });
        assert.equal(Array.from(dst), referenceAugment(src, shape, 3, dy, dx, flip), `dy=${dy} dx=${dx} flip=${flip}`);
      }
  // Shifted down-right by 3: the top rows and left columns are padding.
  augmentImage(src, dst, shape, 3, { dy: 0, dx: 0, flip: false });
  for (let i = 0; i < 60; i++) assert.is(dst[i] === 0, i % 30 < 18 || i % 6 < 3, `element ${i}`);
  augmentImage(src, dst, shape, 0, { dy: 0, dx: 0, flip: true });
  for (let i = 0; i < 60; i++) assert.is(dst[i], src[i - (i % 6) + 5 - (i % 6)]);
  const g = new Generator(3);
  const seen = new Set<number>();
  let flips = 0;
  for (let i = 0; i < 4000; i++) {
    const a = drawAugment(g, CIFAR_AUGMENT);
    seen.add(a.dy * 9 + a.dx);
    flips += a.flip ? 1 : 0;
  }
  assert.is(seen.size, 81);
  assert.ok(flips > 1800 && flips < 2200, `${flips} flips in 4000`);
});

// ---- batching ----

/** n images of shape [c, h, w] whose label is their index and whose pixels are index + position / 1000. */
function indexed(n: number, shape: ImageShape = [1, 2, 2]): Dataset {
  const s = shape[0] * shape[1] * shape[2];
  return {
    images: Float32Array.from({ length: n * s }, (_, i) => Math.floor(i / s) + (i % s) / 1000),
    labels: Int32Array.from({ length: n }, (_, i) => i),
    n,
    shape,
    classes: n,
  };
}
const copy = (b: Batch): { x: number[]; y: number[] } => ({ x: Array.from(b.x), y: Array.from(b.y) });
const epochOf = (l: DataLoader): { x: number[]; y: number[] }[] => Array.from(l, copy); // copies as it goes

test('loader: shuffling visits every index once per epoch, in a new order each epoch; dropLast; index order', () => {
  const ds = indexed(23);
  const l = new DataLoader(ds, { batchSize: 5, shuffle: true, generator: new Generator(1) });
  assert.is(l.length, 5);
  const orders = [0, 1, 2].map(() => epochOf(l).flatMap((b) => b.y));
  for (const o of orders)
    assert.equal(
      [...o].sort((a, b) => a - b),
      Array.from({ length: 23 }, (_, i) => i),
    );
  assert.not.equal(orders[0], orders[1]);
  assert.is(l.epoch, 3);
  const sizes = [...new DataLoader(ds, { batchSize: 5, dropLast: true })].map((b) => b.size);
  assert.equal(sizes, [5, 5, 5, 5]);
  const plain = epochOf(new DataLoader(ds, { batchSize: 10 }));
  assert.equal(
    plain.flatMap((b) => b.y),
    Array.from({ length: 23 }, (_, i) => i),
  );
  assert.equal(plain[2].x, Array.from(ds.images.subarray(80)));
});

test('loader: two buffers alternate, so a batch stays valid until the next-but-one', () => {
  const l = new DataLoader(indexed(12), { batchSize: 4 });
  const [a, b, c] = [l.next(), l.next(), l.next()];
  assert.ok(a.x.buffer !== b.x.buffer && a.x.buffer === c.x.buffer && a.y.buffer === c.y.buffer);
  assert.equal(Array.from(b.y), [4, 5, 6, 7]);
  assert.equal(Array.from(l.next().y), [0, 1, 2, 3]); // next() rolls into epoch 1
  assert.is(l.epoch, 1);
});

const augmented = (seed: number): LoaderOptions => ({
  batchSize: 6,
  shuffle: true,
  augment: CIFAR_AUGMENT,
  generator: new Generator(seed),
});

test('loader: augmented batches keep their shape; the same seed gives the same batches, another seed others', () => {
  const ds = indexed(20, [3, 8, 8]);
  const run = (seed: number) => [0, 1].flatMap(() => epochOf(new DataLoader(ds, augmented(seed))));
  const [a, b, c] = [run(5), run(5), run(6)];
  assert.equal(a, b);
  assert.not.equal(a, c);
  assert.equal(
    a.map((x) => x.x.length),
    [...new Array<number>(3).fill(6 * 192), 2 * 192, ...new Array<number>(3).fill(6 * 192), 2 * 192],
  );
  const l = new DataLoader(ds, augmented(5));
  const first = l.next();
  const i = first.y[0];
  assert.ok(
    Array.from(first.x.subarray(0, 192)).every((v) => v === 0 || Math.floor(v) === i),
    'pixels come from the image or the padding',
  );
});

test('loader: resuming from a saved state (through JSON) gives the same batches, mid-epoch and at boundaries', () => {
  const ds = indexed(20, [3, 8, 8]);
  const transform = (b: Batch, g: Generator): void => {
    b.x[0] += g.uniform();
  };
  for (const after of [0, 2, 4, 7]) {
    const a = new DataLoader(ds, { ...augmented(11), transform });
    for (let i = 0; i < after; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.state())) as ReturnType<DataLoader['state']>;
    const b = new DataLoader(ds, { ...augmented(99), transform });
    b.setState(saved);
    assert.equal([b.epoch, b.position], [a.epoch, a.position]);
    const rest = (l: DataLoader) => [...epochOf(l), ...epochOf(l)];
    assert.equal(rest(b), rest(a), `resumed after ${after} batches`);
  }
  assert.throws(
    () => new DataLoader(ds, { batchSize: 4 }).setState({ epoch: 0, position: 21, epochRng: [], rng: [] }),
    /position 21/,
  );
});

// ---- normalisation and tensors ----

test('normalisation: per-channel stats match float64; normalised channels have mean 0 and std 1', () => {
  const g = new Generator(2);
  const ds: Dataset = {
    images: Float32Array.from(
      { length: 7 * 3 * 16 },
      (_, i) => (1 + (Math.floor(i / 16) % 3)) * g.uniform() + 0.3 * (Math.floor(i / 16) % 3),
    ),
    labels: new Int32Array(7),
    n: 7,
    shape: [3, 4, 4],
    classes: 1,
  };
  const channel = (x: Float32Array, ch: number): number[] =>
    Array.from(x).filter((_, i) => Math.floor(i / 16) % 3 === ch);
  const s = channelStats(ds);
  for (let ch = 0; ch < 3; ch++) {
    const v = channel(ds.images, ch);
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    assert.ok(
      Math.abs(s.mean[ch] - m) < 1e-12 &&
        Math.abs(s.std[ch] - Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length)) < 1e-12,
    );
  }
  const before = Array.from(ds.images);
  const out = normalize(ds, s);
  assert.equal(Array.from(ds.images), before, 'the default is a copy');
  const t = channelStats(out);
  for (let ch = 0; ch < 3; ch++)
    assert.ok(
      Math.abs(t.mean[ch]) < 1e-6 && Math.abs(t.std[ch] - 1) < 1e-6,
      `channel ${ch}: ${t.mean[ch]} ${t.std[ch]}`,
    );
  assert.is(normalize(ds, s, { inPlace: true }), ds);
  assert.equal(Array.from(ds.images), Array.from(out.images));
  throwsWith(() => normalize(ds, { mean: [0], std: [1] }), 'normalize: stats have 1 means and 1 stds for 3 channels');
  throwsWith(() => normalize(ds, { mean: [0, 0, 0], std: [1, 0, 1] }), 'std of channel 1 must be positive');
  const viaLoader = new DataLoader(ds, { batchSize: 7, normalize: { mean: [1, 2, 3], std: [2, 4, 8] } }).next();
  assert.equal(Array.from(viaLoader.x), Array.from(normalize(ds, { mean: [1, 2, 3], std: [2, 4, 8] }).images));
});

for (const be of backends) {
  test(`${be.name}: toTensors uploads x [B, C, H, W] and float32 labels [B], full and partial batches`, async () => {
    const l = new DataLoader(indexed(7, [2, 3, 3]), { batchSize: 4 });
    for (const size of [4, 3]) {
      const b = l.next();
      const { x, y } = toTensors(b, be);
      assert.equal([x.shape, y.shape], [[size, 2, 3, 3], [size]]);
      assert.equal(Array.from(await x.data()), Array.from(b.x));
      assert.equal(Array.from(await y.data()), Array.from(b.y));
      x.dispose();
      y.dispose();
    }
  });
}

test.run();
