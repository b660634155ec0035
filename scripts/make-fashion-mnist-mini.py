#!/usr/bin/env python3
# Draws data/fashion-mnist-mini from the full Fashion-MNIST (Debian's dataset-fashion-mnist): a stratified subset of
# 1000 training and 200 test images per class, chosen with a seeded SplitMix64 stream, written as gzip IDX files that
# this script reproduces byte for byte, then verified against the source. Standard library only.
"""Usage:
  python3 scripts/make-fashion-mnist-mini.py            # (re)write data/fashion-mnist-mini, verify, print sizes
  python3 scripts/make-fashion-mnist-mini.py --check    # rebuild in memory, compare with the committed files
Options: --source DIR (the four .gz files) [/usr/share/datasets/fashion-mnist], --out DIR [data/fashion-mnist-mini],
--seed N [2017]. Selection (see the folder's README): one SplitMix64 stream seeded with N draws, for train then test
and for class 0..9 in turn, a partial Fisher-Yates shuffle of that class's source indices (ascending) and keeps the
first k (1000 train, 200 test); each split is then written in source order (ascending source index), not shuffled.
"""

import argparse
import gzip
import hashlib
import json
import struct
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path('/usr/share/datasets/fashion-mnist')
OUT = ROOT / 'data' / 'fashion-mnist-mini'
SEED = 2017
PER_CLASS = {'train': 1000, 'test': 200}
PREFIX = {'train': 'train', 'test': 't10k'}
CLASSES = 10
MAX_BYTES = 6 * 1024 * 1024
MASK64 = (1 << 64) - 1


class SplitMix64:
    """SplitMix64 (Steele, Lea & Flood, 2014): state += 0x9E3779B97F4A7C15, then two xor-shift-multiply rounds."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        """An integer in [0, n): floor(u * n) with u = (top 53 bits) / 2^53, exact in float64 for n < 2^53."""
        return int(((self.next() >> 11) / float(1 << 53)) * n)


def parse_idx(data, name, rank):
    """(dims, payload) of an unsigned-byte IDX file with `rank` dimensions."""
    magic = struct.unpack('>I', data[:4])[0]
    if magic != 0x0800 | rank:
        sys.exit(f'{name}: wrong magic number 0x{magic:08x}, expected 0x{0x0800 | rank:08x}')
    dims = struct.unpack(f'>{rank}I', data[4:4 + 4 * rank])
    header = 4 + 4 * rank
    size = 1
    for d in dims:
        size *= d
    if len(data) != header + size:
        sys.exit(f'{name}: {len(data)} bytes, expected {header + size}')
    return dims, data[header:]


def encode_idx(dims, payload):
    return struct.pack(f'>I{len(dims)}I', 0x0800 | len(dims), *dims) + payload


def gzip_fixed(data):
    """gzip with a fixed header (no name, mtime 0, XFL 2 = best compression, OS 255 = unknown) and a zlib level-9
    deflate stream (window 2^15, memLevel 9), so the bytes depend only on zlib's deflate, not on the clock or OS."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY)
    body = c.compress(data) + c.flush()
    header = b'\x1f\x8b\x08\x00' + struct.pack('<I', 0) + b'\x02\xff'
    return header + body + struct.pack('<II', zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def load_source(source):
    """{split: (image bytes per image, list of images payload, labels payload)} and the source files' sha256."""
    splits, hashes = {}, {}
    for split, prefix in PREFIX.items():
        names = (f'{prefix}-images-idx3-ubyte.gz', f'{prefix}-labels-idx1-ubyte.gz')
        raw = []
        for n in names:
            p = source / n
            if not p.exists():
                sys.exit(f'{p}: not found (install the Debian package dataset-fashion-mnist, or pass --source)')
            packed = p.read_bytes()
            hashes[n] = sha256(packed)
            raw.append(gzip.decompress(packed))
        (n_img, h, w), pixels = parse_idx(raw[0], names[0], 3)
        (n_lab,), labels = parse_idx(raw[1], names[1], 1)
        if n_img != n_lab:
            sys.exit(f'{source}: {n_img} {split} images but {n_lab} labels')
        splits[split] = (h, w, pixels, labels)
    return splits, hashes


def choose(splits, seed):
    """{split: ascending source indices}: per class, the first k of a seeded partial Fisher-Yates shuffle."""
    rng = SplitMix64(seed)
    chosen = {}
    for split in PREFIX:
        labels = splits[split][3]
        picked = []
        for c in range(CLASSES):
            pool = [i for i, l in enumerate(labels) if l == c]
            k = PER_CLASS[split]
            if len(pool) < k:
                sys.exit(f'{split}: class {c} has {len(pool)} images, fewer than {k}')
            for j in range(k):
                r = j + rng.below(len(pool) - j)
                pool[j], pool[r] = pool[r], pool[j]
            picked.extend(pool[:k])
        chosen[split] = sorted(picked)
    return chosen


def build(splits, chosen):
    """{file name: (raw IDX bytes, gzip bytes)} for the four output files."""
    files = {}
    for split, prefix in PREFIX.items():
        h, w, pixels, labels = splits[split]
        size = h * w
        idx = chosen[split]
        images = b''.join(pixels[i * size:(i + 1) * size] for i in idx)
        labs = bytes(labels[i] for i in idx)
        for name, raw in ((f'{prefix}-images-idx3-ubyte.gz', encode_idx((len(idx), h, w), images)),
                          (f'{prefix}-labels-idx1-ubyte.gz', encode_idx((len(idx),), labs))):
            files[name] = (raw, gzip_fixed(raw))
    return files


def manifest(seed, hashes, files, chosen):
    head = {
        'description': 'Stratified Fashion-MNIST subset; see README.md. Made by scripts/make-fashion-mnist-mini.py.',
        'seed': seed,
        'prng': 'SplitMix64; per split (train, test) and class (0..9): partial Fisher-Yates over ascending indices',
        'order': 'source order (ascending source index)',
        'perClass': PER_CLASS,
        'source': {'package': 'dataset-fashion-mnist (Debian)', 'files': hashes},
        'files': {n: {'bytes': len(gz), 'sha256': sha256(gz), 'idxSha256': sha256(raw)}
                  for n, (raw, gz) in files.items()},
    }
    text = json.dumps(head, indent=2)[:-2]
    # One line per split keeps the file small and its diff readable.
    text += ',\n  "sourceIndices": {\n' + ',\n'.join(
        f'    "{s}": {json.dumps(chosen[s], separators=(",", ":"))}' for s in PREFIX) + '\n  }\n}\n'
    return text.encode()


def check(ok, message):
    """Exits with `message` unless `ok` (unlike assert, also under python -O)."""
    if not ok:
        sys.exit(f'verification failed: {message}')


def verify(splits, files, chosen):
    """Decodes each output file and checks counts per class and every image and label against the source."""
    for split, prefix in PREFIX.items():
        h, w, pixels, labels = splits[split]
        size = h * w
        (n, oh, ow), out_px = parse_idx(gzip.decompress(files[f'{prefix}-images-idx3-ubyte.gz'][1]), split, 3)
        (nl,), out_lab = parse_idx(gzip.decompress(files[f'{prefix}-labels-idx1-ubyte.gz'][1]), split, 1)
        idx = chosen[split]
        check((n, nl, oh, ow) == (len(idx), len(idx), h, w), f'{split}: wrong header')
        counts = [0] * CLASSES
        for k, i in enumerate(idx):
            counts[out_lab[k]] += 1
            check(out_lab[k] == labels[i], f'{split}: label {k} differs from source index {i}')
            check(out_px[k * size:(k + 1) * size] == pixels[i * size:(i + 1) * size],
                  f'{split}: image {k} differs from source index {i}')
        check(counts == [PER_CLASS[split]] * CLASSES, f'{split}: counts per class {counts}')
        check(len(set(idx)) == len(idx) and idx == sorted(idx), f'{split}: indices not unique and ascending')
        print(f'verified {split}: {n} images, {PER_CLASS[split]} per class, all equal to the source at their indices')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--source', type=Path, default=SOURCE)
    ap.add_argument('--out', type=Path, default=OUT)
    ap.add_argument('--seed', type=int, default=SEED)
    ap.add_argument('--check', action='store_true', help='compare a rebuild with the files in --out; write nothing')
    args = ap.parse_args()

    splits, hashes = load_source(args.source)
    chosen = choose(splits, args.seed)
    files = build(splits, chosen)
    verify(splits, files, chosen)
    outputs = {n: gz for n, (_, gz) in files.items()}
    outputs['manifest.json'] = manifest(args.seed, hashes, files, chosen)

    if args.check:
        bad = [n for n, b in outputs.items() if not (args.out / n).exists() or (args.out / n).read_bytes() != b]
        for n in bad:
            print(f'{args.out / n}: differs from the rebuild (zlib here: {zlib.ZLIB_RUNTIME_VERSION})')
        if bad:
            sys.exit(1)
        print(f'{args.out}: all {len(outputs)} generated files identical to the rebuild')
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        for n, b in outputs.items():
            (args.out / n).write_bytes(b)
    total = 0
    for p in sorted(args.out.iterdir()):
        total += p.stat().st_size
        print(f'{p.stat().st_size:>10}  {p}')
    print(f'{total:>10}  in all ({total / 1024 / 1024:.2f} MiB; limit 6 MiB)')
    if total > MAX_BYTES:
        sys.exit(f'{args.out}: {total} bytes, over the 6 MiB limit')


if __name__ == '__main__':
    main()
