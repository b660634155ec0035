// Browser loading over HTTP: fetch files, gunzip them with DecompressionStream when they start with 1f 8b, and parse
// Fashion-MNIST (IDX) or CIFAR batches. Also works in Node ≥ 18, which has fetch and DecompressionStream.

import { parseCifar, type CifarKind } from './cifar.ts';
import { DataError, FASHION_MNIST_CLASSES, type Dataset } from './dataset.ts';
import { idxDataset, isGzip } from './idx.ts';

/** A `fetch` to use instead of the global one (for tests, or to add headers). */
export type FetchFn = (url: string) => Promise<Response>;

/**
 * Decompresses gzip bytes with the platform's `DecompressionStream('gzip')`.
 * @param file names the source in the error when the data is corrupt.
 */
export async function gunzip(bytes: Uint8Array, file = 'gzip data'): Promise<Uint8Array> {
  const ds = new DecompressionStream('gzip');
  const writer = ds.writable.getWriter();
  // Errors surface on the readable side; swallowing them here avoids unhandled rejections.
  // NOTE: the copy gives the ArrayBuffer-backed view that BufferSource demands (bytes may sit on a SharedArrayBuffer).
  writer.write(new Uint8Array(bytes)).catch(() => undefined);
  writer.close().catch(() => undefined);
  try {
    return new Uint8Array(await new Response(ds.readable).arrayBuffer());
  } catch (e) {
    throw new DataError(file, `gzip data is corrupt: ${(e as Error).message}`);
  }
}

/**
 * Fetches a file's bytes, gunzipping them when they start with the gzip magic number (a server that already sent
 * `Content-Encoding: gzip` has the browser decompress, so the magic number decides, not the `.gz` name).
 * @throws DataError naming the URL on an HTTP error or corrupt gzip data.
 */
export async function fetchBytes(url: string, fetchFn: FetchFn = fetch): Promise<Uint8Array> {
  const res = await fetchFn(url);
  if (!res.ok) throw new DataError(url, `HTTP ${res.status} ${res.statusText}`.trim());
  const bytes = new Uint8Array(await res.arrayBuffer());
  return isGzip(bytes) ? gunzip(bytes, url) : bytes;
}

/** Fetches the first of `urls` that the server has (HTTP 404 moves on to the next). */
async function fetchFirst(urls: readonly string[], fetchFn: FetchFn): Promise<{ url: string; bytes: Uint8Array }> {
  for (const url of urls) {
    try {
      return { url, bytes: await fetchBytes(url, fetchFn) };
    } catch (e) {
      if (!(e instanceof DataError && e.message.includes('HTTP 404'))) throw e;
    }
  }
  throw new DataError(urls.join(' or '), 'HTTP 404 for every name');
}

export interface FetchFashionMnistOptions {
  /** The folder URL holding `train-images-idx3-ubyte.gz` and the others (gzip or raw names). */
  baseUrl: string;
  split: 'train' | 'test';
  fetch?: FetchFn;
}

/**
 * Fetches Fashion-MNIST (Xiao et al., 2017, https://arxiv.org/abs/1708.07747) from `baseUrl`: 60000 training or
 * 10000 test images, 1×28×28 in [0, 1], 10 classes. Tries the `.gz` names first, then the raw ones.
 */
export async function fetchFashionMnist(opts: FetchFashionMnistOptions): Promise<Dataset> {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const prefix = opts.split === 'train' ? 'train' : 't10k';
  const names = (kind: string): string[] => [`${base}/${prefix}-${kind}-ubyte.gz`, `${base}/${prefix}-${kind}-ubyte`];
  const fetchFn = opts.fetch ?? fetch;
  const [images, labels] = await Promise.all([fetchFirst(names('images-idx3'), fetchFn), fetchFirst(names('labels-idx1'), fetchFn)]);
  return idxDataset({
    images: images.bytes, labels: labels.bytes, imagesFile: images.url, labelsFile: labels.url, classNames: FASHION_MNIST_CLASSES,
  });
}

export interface FetchCifarOptions {
  kind: CifarKind;
  /** Batch file URLs, read in this order (e.g. `data_batch_1.bin` … `data_batch_5.bin`). */
  urls: readonly string[];
  /** CIFAR-100 only: fine (default) or coarse labels. */
  labels?: 'fine' | 'coarse';
  fetch?: FetchFn;
}

/** Fetches CIFAR-10/100 binary batch files (raw or gzip) and parses them into one 3×32×32 Dataset. */
export async function fetchCifar(opts: FetchCifarOptions): Promise<Dataset> {
  const fetchFn = opts.fetch ?? fetch;
  const files = await Promise.all(opts.urls.map(async (url) => ({ name: url, bytes: await fetchBytes(url, fetchFn) })));
  return parseCifar(files, { kind: opts.kind, labels: opts.labels });
}
