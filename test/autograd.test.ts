// Autograd semantics, memory scopes, creation and the error messages, on every backend.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  arange,
  concat,
  crossEntropy,
  full,
  Generator,
  manualSeed,
  matmul,
  max,
  maximum,
  noGrad,
  randn,
  relu,
  setDevice,
  sum,
  tensor,
  tidy,
  keep,
  withBackend,
  type Tensor,
  Tensor as TensorClass,
} from '../index.ts';
import type { Backend } from '../engine/backend.ts';
import { testBackends } from './util/backends.ts';
import { throwsWith } from './util/throws.ts';

const backends = await testBackends();
const chainDepth = (be: Backend): number => (be.name === 'wasm' ? 50_000 : 5000);

const arr = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

for (const be of backends) {
  const on = <T>(fn: () => T): T => withBackend(be, fn);
  const n = be.name;

  test(`${n}: gradients accumulate across backward calls`, async () => {
    const x = on(() => tensor([1, 2, 3], undefined, { requiresGrad: true }));
    on(() => tidy(() => sum(x.mul(x)).backward()));
    on(() => tidy(() => sum(x.mul(3)).backward()));
    assert.equal(await arr(x.grad!), [5, 7, 9]);
    x.zeroGrad();
    assert.is(x.grad, null);
    x.dispose();
  });

  test(`${n}: a tensor used twice gets both contributions`, async () => {
    const x = on(() => tensor([2, -1], undefined, { requiresGrad: true }));
    on(() => tidy(() => x.add(x).mul(x).sum().backward())); // d/dx 2x² = 4x
    assert.equal(await arr(x.grad!), [8, -4]);
    x.dispose();
  });

  test(`${n}: relu has gradient 0 at exactly 0; maximum and max split ties evenly`, async () => {
    const x = on(() => tensor([-1, 0, 1], undefined, { requiresGrad: true }));
    on(() => tidy(() => sum(relu(x)).backward()));
    assert.equal(await arr(x.grad!), [0, 0, 1]);
    const a = on(() => tensor([1, 2], undefined, { requiresGrad: true }));
    const b = on(() => tensor([1, 3], undefined, { requiresGrad: true }));
    on(() => tidy(() => sum(maximum(a, b)).backward()));
    assert.equal(await arr(a.grad!), [0.5, 0]);
    assert.equal(await arr(b.grad!), [0.5, 1]);
    const m = on(() =>
      tensor(
        [
          [3, 1, 3],
          [0, 2, 1],
        ],
        undefined,
        { requiresGrad: true },
      ),
    );
    on(() => tidy(() => sum(max(m, 1)).backward()));
    assert.equal(await arr(m.grad!), [0.5, 0, 0.5, 0, 1, 0]);
    for (const t of [x, a, b, m]) t.dispose();
  });

  test(`${n}: noGrad and detach cut the graph`, () => {
    const x = on(() => tensor([1, 2], undefined, { requiresGrad: true }));
    const y = on(() => noGrad(() => x.mul(2)));
    assert.is(y.requiresGrad, false);
    const d = x.detach();
    assert.is(d.requiresGrad, false);
    throwsWith(() => on(() => d.mul(2).sum().backward()), 'backward', 'does not require grad');
    for (const t of [x, y, d]) t.dispose();
  });

  // A recursive depth-first sort overflows Node's stack near 10,000 nodes; 50,000 is far past that (wasm, < 1 s).
  // NOTE: WebGPU keeps 5,000: Dawn on lavapipe segfaults once a graph holds ~62,000 dispatched live buffers.
  // The factor 1 + 2⁻¹⁴ is exact in float32, so results differ from (1 + 2⁻¹⁴)^depth only by rounding (≤ 1e-3).
  test(`${n}: backward through a ${chainDepth(be)}-op chain (iterative topological sort)`, async () => {
    const depth = chainDepth(be);
    const f = 1 + 2 ** -14;
    const x = on(() => tensor([0.5], undefined, { requiresGrad: true }));
    const y = on(() =>
      tidy(() => {
        let y: Tensor = x;
        for (let i = 0; i < depth; i++) y = y.mul(f);
        y.sum().backward();
        return y;
      }),
    );
    const want = Math.pow(f, depth);
    const [g, v] = [(await arr(x.grad!))[0], (await arr(y))[0]];
    assert.ok(Math.abs(g - want) < 1e-3 * want, `gradient ${g}, expected ${want}`);
    assert.ok(Math.abs(v - 0.5 * want) < 1e-3 * want, `output ${v}, expected ${0.5 * want}`);
    for (const t of [x, y]) t.dispose();
  });

  test(`${n}: backward is deterministic (bitwise equal gradients on a rerun)`, async () => {
    const run = async (): Promise<number[]> => {
      const w = on(() => randn([8, 5], { generator: new Generator(3), requiresGrad: true }));
      const xb = on(() => randn([4, 8], { generator: new Generator(4) }));
      on(() => tidy(() => crossEntropy(relu(matmul(xb, w)), [0, 1, 2, 4]).backward()));
      const g = await arr(w.grad!);
      w.dispose();
      xb.dispose();
      return g;
    };
    assert.equal(await run(), await run());
  });

  test(`${n}: tidy frees intermediates, keeps returned and kept tensors`, async () => {
    const before = be.liveBuffers();
    let kept: Tensor | null = null;
    const out = on(() =>
      tidy(() => {
        const a = arange(6).reshape([2, 3]);
        kept = keep(a.mul(2));
        return { y: a.add(1).sum(1), list: [a.max()] };
      }),
    );
    assert.is(be.liveBuffers(), before + 3);
    assert.equal(await arr(out.y), [6, 15]);
    assert.equal(await arr(out.list[0]), [5]);
    for (const t of [out.y, out.list[0], kept!]) t.dispose();
    assert.is(be.liveBuffers(), before);
  });

  test(`${n}: 100 training steps of a small network leave the live-buffer count unchanged`, async () => {
    const g = new Generator(7);
    let w1 = on(() => randn([10, 16], { generator: g, std: 0.3, requiresGrad: true }));
    let w2 = on(() => randn([16, 3], { generator: g, std: 0.3, requiresGrad: true }));
    const xb = on(() => randn([32, 10], { generator: g }));
    const labels = Array.from({ length: 32 }, (_, i) => i % 3);
    const step = (): Tensor =>
      on(() =>
        tidy(() => {
          const loss = crossEntropy(matmul(relu(matmul(xb, w1)), w2), labels);
          loss.backward();
          const upd = (w: Tensor): Tensor => {
            const nw = noGrad(() => w.sub(w.grad!.mul(0.1)));
            nw.requiresGrad = true;
            w.dispose();
            return keep(nw);
          };
          [w1, w2] = [upd(w1), upd(w2)];
          return loss;
        }),
      );
    const first = step();
    const l0 = await first.item();
    first.dispose();
    const count = be.liveBuffers();
    let last = 0;
    for (let i = 0; i < 100; i++) {
      const loss = step();
      if (i === 99) last = await loss.item();
      loss.dispose();
      assert.is(be.liveBuffers(), count, `live buffers after step ${i}`);
    }
    assert.ok(last < l0, `loss should decrease: ${l0} → ${last}`);
    for (const t of [w1, w2, xb]) t.dispose();
  });

  test(`${n}: errors name the op, the shapes and the problem`, async () => {
    on(() => {
      const a = tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const b = tensor([1, 2]);
      throwsWith(() => a.add(b), 'add', '[2, 3]', '[2]', 'broadcast');
      throwsWith(() => matmul(a, a), 'matmul', '[2, 3]', 'inner dimensions');
      throwsWith(() => sum(a, 2), 'sum', 'axis 2', 'out of range');
      throwsWith(() => a.reshape([4, 2]), 'reshape', '[2, 3]', '[4, 2]');
      throwsWith(() => concat([a, b]), 'concat');
      throwsWith(() => tensor([[1, 2], [3]]), 'tensor', 'ragged');
      throwsWith(() => crossEntropy(a, [0, 5]), 'crossEntropy', 'label 5');
      const y = a.mul(
        tensor(
          [
            [1, 1, 1],
            [1, 1, 1],
          ],
          undefined,
          { requiresGrad: true },
        ),
      );
      throwsWith(() => y.backward(), 'backward', '[2, 3]', 'not a scalar');
      b.dispose();
      throwsWith(() => b.add(1), 'disposed');
      a.dispose();
      y.dispose();
    });
    const b = on(() => tensor([1]));
    b.dispose();
    try {
      await b.data();
      assert.unreachable('reading a disposed tensor must fail');
    } catch (e) {
      assert.ok((e as Error).message.includes('data') && (e as Error).message.includes('disposed'));
    }
  });

  test(`${n}: creation: full, arange, nested arrays, 0-d, seeded random`, async () => {
    on(() => {
      assert.equal(full([2], 1.5).shape, [2]);
      assert.equal(tensor(3).shape, []);
    });
    assert.equal(await arr(on(() => arange(1, 2, 0.25))), [1, 1.25, 1.5, 1.75]);
    manualSeed(42);
    const a = await arr(on(() => randn([5])));
    manualSeed(42);
    const b = await arr(on(() => randn([5])));
    assert.equal(a, b);
    const big = await arr(on(() => randn([20000], { generator: new Generator(1), mean: 2, std: 3 })));
    const m = big.reduce((s, v) => s + v, 0) / big.length;
    const sd = Math.sqrt(big.reduce((s, v) => s + (v - m) ** 2, 0) / big.length);
    assert.ok(Math.abs(m - 2) < 0.06 && Math.abs(sd - 3) < 0.06, `normal moments ${m}, ${sd}`);
  });
}

test('tensors on two devices in one op: a clear error', () => {
  if (backends.length < 2) assert.unreachable('needs both backends');
  const [a, b] = backends.map((be: Backend) => withBackend(be, () => tensor([1, 2])));
  assert.ok(a instanceof TensorClass);
  throwsWith(() => a.add(b), 'add', 'different devices', 'wasm', 'webgpu');
  a.dispose();
  b.dispose();
});

test('setDevice reports its choice', async () => {
  const r = await setDevice('auto');
  assert.ok(r.device === 'webgpu' || r.device === 'wasm');
  assert.ok(r.info.length > 0);
  // CI's only adapter is lavapipe, a software one, which 'auto' skips (test/device-choice.test.ts).
  if (process.env.CI === 'true') assert.match(r.fallbackReason ?? '', /^skipped the software adapter mesa/);
  assert.is((await setDevice('wasm')).device, 'wasm');
});

test.run();
