// The embedded Fashion-MNIST subset (data/fashion-mnist-mini): its files, counts, licence and size, that it equals the
// full set at the recorded indices and that the script rebuilds it byte for byte, the loader from the sources, the
// built bundle and an npm-style install, the browser fetch path over HTTP, and what the CLIs print.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  channelStats,
  encodeIdx,
  fetchFashionMnist,
  parseIdx,
  FASHION_MNIST_MINI,
  FASHION_MNIST_STATS,
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  type Dataset,
} from '../nn/data/index.ts';
import {
  dataFolder,
  fashionMnistMiniDir,
  loadDataSet,
  loadFashionMnistMini,
  readDataFile,
  DATA_SETS,
  FASHION_MNIST_DIR,
} from '../nn/data/node-files.ts';
import { throwsWith } from './util/throws.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const folder = join(root, FASHION_MNIST_MINI.folder);
const tmp = mkdtempSync(join(tmpdir(), 'swa-mini-'));
const PREFIX = { train: 'train', test: 't10k' } as const;
const SPLITS = ['train', 'test'] as const;

interface Manifest {
  seed: number;
  files: Record<string, { bytes: number; sha256: string; idxSha256: string }>;
  sourceIndices: Record<'train' | 'test', number[]>;
}
const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Manifest;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** The raw IDX payloads (pixels, labels) of one split in `dir`. */
const idxPair = (dir: string, split: 'train' | 'test'): { pixels: Uint8Array; labels: Uint8Array } => ({
  pixels: parseIdx(readDataFile(join(dir, `${PREFIX[split]}-images-idx3-ubyte.gz`)), split, IDX_IMAGES_MAGIC).data,
  labels: parseIdx(readDataFile(join(dir, `${PREFIX[split]}-labels-idx1-ubyte.gz`)), split, IDX_LABELS_MAGIC).data,
});
const perClass = (labels: ArrayLike<number>): number[] => {
  const h = new Array<number>(10).fill(0);
  for (let i = 0; i < labels.length; i++) h[labels[i]]++;
  return h;
};

test('files: four gzip IDX files with their manifest hashes, 1000/200 per class, ≤ 6 MiB in all, MIT licence', () => {
  for (const split of SPLITS) {
    const ds = loadFashionMnistMini({ split });
    const n = FASHION_MNIST_MINI[split];
    assert.equal([ds.n, ...ds.shape, ds.classes], [n, 1, 28, 28, 10]);
    assert.equal(perClass(ds.labels), new Array<number>(10).fill(FASHION_MNIST_MINI.perClass[split]));
    assert.is(ds.classNames?.[0], 'T-shirt/top');
    assert.is(manifest.sourceIndices[split].length, n);
    for (const kind of ['images-idx3', 'labels-idx1']) {
      const name = `${PREFIX[split]}-${kind}-ubyte.gz`;
      const gz = new Uint8Array(readFileSync(join(folder, name)));
      const want = manifest.files[name];
      assert.equal([gz[0], gz[1], gz.length, sha256(gz)], [0x1f, 0x8b, want.bytes, want.sha256], name);
      assert.is(sha256(readDataFile(join(folder, name))), manifest.files[name].idxSha256, name);
    }
  }
  const sizes = readdirSync(folder).map((f) => statSync(join(folder, f)).size);
  const total = sizes.reduce((s, b) => s + b, 0);
  const mib = (total / 2 ** 20).toFixed(2);
  console.log(`[data] ${FASHION_MNIST_MINI.folder}: ${sizes.length} files, ${total} bytes (${mib} MiB)`);
  assert.ok(total <= 6 * 2 ** 20, `${total} bytes is over 6 MiB`);
  const licence = readFileSync(join(folder, 'LICENSE'), 'utf8');
  for (const s of ['The MIT License', 'Zalando SE', 'Permission is hereby granted', 'WITHOUT WARRANTY']) {
    assert.ok(licence.includes(s), s);
  }
  const readme = readFileSync(join(folder, 'README.md'), 'utf8');
  const attribution = ['github.com/zalandoresearch/fashion-mnist', 'arXiv:1708.07747', 'Xiao', 'Zalando Research'];
  for (const s of [...attribution, `seed ${manifest.seed}`, 'source order']) {
    assert.ok(readme.includes(s), s);
  }
});

test("normalisation: FASHION_MNIST_STATS lie within 0.001 of the subset's own mean and std", () => {
  const s = channelStats(loadFashionMnistMini({ split: 'train' }));
  assert.ok(Math.abs(s.mean[0] - FASHION_MNIST_STATS.mean[0]) < 1e-3, `mean ${s.mean[0]}`);
  assert.ok(Math.abs(s.std[0] - FASHION_MNIST_STATS.std[0]) < 1e-3, `std ${s.std[0]}`);
});

if (existsSync(FASHION_MNIST_DIR) || process.env.CI === 'true') {
  test(`source: every image and label equals ${FASHION_MNIST_DIR} at its recorded index (unique, ascending)`, () => {
    for (const split of SPLITS) {
      const mini = idxPair(folder, split);
      const full = idxPair(FASHION_MNIST_DIR, split);
      const idx = manifest.sourceIndices[split];
      let same = 0;
      idx.forEach((src, k) => {
        assert.ok(k === 0 || src > idx[k - 1], `${split}: index ${k} not ascending`);
        const a = mini.pixels.subarray(k * 784, (k + 1) * 784);
        const b = full.pixels.subarray(src * 784, (src + 1) * 784);
        if (mini.labels[k] === full.labels[src] && a.every((v, i) => v === b[i])) same++;
      });
      assert.is(same, idx.length, `${split}: ${idx.length - same} images differ from the source`);
    }
  });

  const python = ['python3', '/usr/bin/python3'].find(
    (exe) => spawnSync(exe, ['--version'], { stdio: 'ignore' }).status === 0,
  );
  test('script: make-fashion-mnist-mini.py --check rebuilds the committed files byte for byte', () => {
    assert.ok(python, 'python3 is needed to run scripts/make-fashion-mnist-mini.py');
    const r = spawnSync(python!, [join(root, 'scripts/make-fashion-mnist-mini.py'), '--check'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, 'all 5 generated files identical to the rebuild');
    assert.match(r.stdout, 'verified train: 10000 images, 1000 per class');
  });
} else {
  // NOTE: a warning rather than test.skip (uvu leaves skipped tests out of its Total; see data.test.ts).
  console.warn(`[data] ${FASHION_MNIST_DIR} is missing: the subset is not compared with the full set`);
}

test('loader: finds the folder from the sources, the test bundle and dist/, or names what is missing', () => {
  assert.is(fashionMnistMiniDir(), folder); // this module: build/test/data-mini.test.js
  for (const from of ['nn/data/node-files.ts', 'dist/node/index.js', 'dist/cli/train.js']) {
    assert.is(fashionMnistMiniDir(pathToFileURL(join(root, from))), folder, from);
  }
  const pkg = join(tmp, 'no-data');
  mkdirSync(join(pkg, 'dist/node'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), '{}');
  throwsWith(
    () => fashionMnistMiniDir(pathToFileURL(join(pkg, 'dist/node/index.js'))),
    join(pkg, 'data/fashion-mnist-mini'),
    'embedded Fashion-MNIST subset is missing',
    'pass dir',
  );
  throwsWith(() => fashionMnistMiniDir('http://x/swa-engine.js'), 'http://x/swa-engine.js: not a file: URL');
  const small = join(tmp, 'five');
  mkdirSync(small);
  writeFileSync(join(small, 't10k-images-idx3-ubyte.gz'), gzipSync(encodeIdx([5, 28, 28], new Uint8Array(5 * 784))));
  writeFileSync(join(small, 't10k-labels-idx1-ubyte.gz'), gzipSync(encodeIdx([5], [0, 1, 2, 3, 4])));
  throwsWith(
    () => loadFashionMnistMini({ dir: small, split: 'test' }),
    `${small}: expected 2000 test images`,
    'found 5',
  );
});

test('resolver: --data names map to folders; --data-dir wins; CIFAR needs a folder', () => {
  assert.equal([...DATA_SETS], ['fashion-mnist-mini', 'fashion-mnist', 'cifar10', 'cifar100']);
  assert.is(dataFolder('fashion-mnist-mini'), folder);
  assert.is(dataFolder('fashion-mnist'), FASHION_MNIST_DIR);
  assert.is(dataFolder('fashion-mnist', '/x'), '/x');
  assert.is(dataFolder('fashion-mnist-mini', '/y'), '/y');
  throwsWith(() => dataFolder('cifar10'), 'cifar10: needs a folder (--data-dir)');
  assert.is(loadDataSet('fashion-mnist-mini', { split: 'test' }).n, 2000);
  throwsWith(() => loadDataSet('fashion-mnist', { dir: tmp, split: 'test' }), `${tmp}: no test images file`);
});

/** Runs a script with Node in `cwd` and returns its stdout (failing the test on a non-zero exit). */
const node = (args: string[], cwd = root): string => {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  assert.is(r.status, 0, `node ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
};

test('bundle: dist/node/index.js loads the subset, also when installed as node_modules/swa-engine', () => {
  const probe = (spec: string): string =>
    `const m = await import(${JSON.stringify(spec)}); ` +
    "const d = m.loadFashionMnistMini({ split: 'test' }); " +
    'console.log(JSON.stringify({ dir: m.fashionMnistMiniDir(), n: d.n, ' +
    'first: Array.from(d.labels.subarray(0, 5)) }));';
  const expected = Array.from(loadFashionMnistMini({ split: 'test' }).labels.subarray(0, 5));
  const bundle = pathToFileURL(join(root, 'dist/node/index.js')).href;
  const fromRepo = JSON.parse(node(['--input-type=module', '-e', probe(bundle)])) as unknown;
  assert.equal(fromRepo, { dir: folder, n: 2000, first: expected });
  // An npm install: only what package.json's "files" lists, under node_modules/swa-engine.
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.includes(FASHION_MNIST_MINI.folder), `package.json "files" must list the folder`);
  const app = join(tmp, 'app');
  const installed = join(app, 'node_modules/swa-engine');
  mkdirSync(join(installed, 'dist/node'), { recursive: true });
  cpSync(join(root, 'package.json'), join(installed, 'package.json'));
  cpSync(join(root, 'dist/node/index.js'), join(installed, 'dist/node/index.js'));
  cpSync(folder, join(installed, FASHION_MNIST_MINI.folder), { recursive: true });
  writeFileSync(join(app, 'package.json'), '{"type": "module"}');
  const fromInstall = JSON.parse(node(['--input-type=module', '-e', probe('swa-engine')], app)) as unknown;
  assert.equal(fromInstall, { dir: join(installed, FASHION_MNIST_MINI.folder), n: 2000, first: expected });
});

test('browser path: fetchFashionMnist reads the folder from a URL the page serves', async () => {
  const server = createServer((req, res) => {
    const file = join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (!file.startsWith(folder) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const { port } = server.address() as { port: number };
    const baseUrl = `http://127.0.0.1:${port}/${FASHION_MNIST_MINI.folder}/`;
    for (const split of SPLITS) {
      const fetched: Dataset = await fetchFashionMnist({ baseUrl, split });
      const local = loadFashionMnistMini({ split });
      assert.is(fetched.n, FASHION_MNIST_MINI[split]);
      assert.ok(
        fetched.labels.every((l, i) => l === local.labels[i]),
        `${split}: labels differ`,
      );
      assert.ok(
        fetched.images.every((v, i) => v === local.images[i]),
        `${split}: images differ`,
      );
    }
  } finally {
    server.close();
  }
});

test('CLI: train.js --data fashion-mnist-mini trains and prints the data set, folder and counts', () => {
  const out = node([
    'dist/cli/train.js',
    '--data',
    'fashion-mnist-mini',
    '--epochs',
    '1',
    '--limit',
    '128',
    '--device',
    'wasm',
    '--threads',
    '1',
  ]);
  assert.match(out, `data: fashion-mnist-mini from ${folder}, 10000 train / 2000 test images`);
  assert.match(out, 'data: fashion-mnist-mini, 128 train / 2000 test');
  assert.match(out, /final test accuracy \d+\.\d\d%/);
  const bad = spawnSync(process.execPath, ['dist/cli/train.js', '--data', 'mnist'], { cwd: root, encoding: 'utf8' });
  assert.is(bad.status, 2);
  assert.match(bad.stderr, '--data: unknown data set mnist (fashion-mnist-mini, fashion-mnist, cifar10, cifar100)');
});

test('CLI: swa.js --data fashion-mnist-mini prints the data set, folder and counts before it trains', async () => {
  const child = spawn(
    process.execPath,
    [
      'dist/cli/swa.js',
      '--data',
      'fashion-mnist-mini',
      '--budget',
      '2',
      '--limit',
      '64',
      '--device',
      'wasm',
      '--threads',
      '1',
      '--no-progress',
      '--out',
      join(tmp, 'swa-run'),
    ],
    { cwd: root },
  );
  let out = '';
  const line = await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = out.match(/^data: .*$/m);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
  child.kill();
  assert.is(line, `data: fashion-mnist-mini from ${folder}, 10000 train / 2000 test images`, out);
});

test.run();
