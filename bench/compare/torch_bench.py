"""PyTorch CPU's side of the comparison: the figures of figures.ts, reported as `@@KIND {json}` lines, with what the
process really loaded (BLAS, allocator) and the settings read back from jemalloc and OpenBLAS.

Usage: /usr/bin/python3 bench/compare/torch_bench.py [--quick] [--only=train,conv/l1] [--threads=2]
The shapes, batch sizes, SGD settings, iteration plans and synthetic data mirror bench/compare/figures.ts.
"""

import ctypes
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TRAIN_BATCH, INFER_BATCH = 128, 1000
MODEL_INPUT = {"small-cnn": (1, 28, 28), "preresnet20": (3, 32, 32)}
SGD_SETTINGS = dict(lr=0.05, momentum=0.9, weight_decay=5e-4)
MATMUL_SIZES = (256, 512, 1024)
CONV_SHAPES = ({"id": "l1", "n": 128, "cin": 1, "h": 28, "w": 28, "cout": 32, "k": 3, "pad": 1},
               {"id": "l2", "n": 128, "cin": 32, "h": 14, "w": 14, "cout": 64, "k": 3, "pad": 1})
CONV_PASSES = ("forward", "backward-input", "backward-weight")


def emit(kind, payload):
    sys.stdout.write(f"@@{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


def loop_plan(work, quick):
    """figures.ts loopPlan for a 'fast' peer: (warm-up, timed reps, cap seconds, min seconds)."""
    if work == "train":
        return (1, 2, 2, 0) if quick else (3, 5, 15, 2)
    if work == "infer":
        return (1, 1, 1, 0) if quick else (1, 3, 10, 1)
    return (1, 2, 0.5, 0.05) if quick else (2, 10, 3, 0.25)


current = [""]


def time_loop(step, plan):
    """Warm-up steps, then `reps` timed steps or more until `min_s` have passed (stopping after `cap` seconds);
    returns (iterations, ms)."""
    warmup, reps, cap, min_s = plan
    steps = 0
    for _ in range(warmup):
        step()
        steps += 1
        emit("STEP", {"id": current[0], "steps": steps})
    t0 = time.perf_counter()
    iterations = 0
    while True:
        step()
        steps += 1
        emit("STEP", {"id": current[0], "steps": steps})
        iterations += 1
        elapsed = time.perf_counter() - t0
        if elapsed > cap or (iterations >= reps and elapsed >= min_s):
            break
    return iterations, (time.perf_counter() - t0) * 1e3


def rate(fid, per_step, timed, note=""):
    iterations, ms = timed
    detail = f"{iterations} timed × {ms / iterations:.1f} ms" + (f"; {note}" if note else "")
    return {"id": fid, "value": per_step * iterations / (ms / 1e3), "detail": detail,
            "extra": {"msPerStep": ms / iterations, "iterations": iterations}}


def figure(fid, fn):
    t0 = time.perf_counter()
    current[0] = fid
    emit("START", {"id": fid})
    try:
        r = fn()
    except Exception as e:  # a failing figure is reported and the run goes on
        r = {"id": fid, "error": f"{type(e).__name__}: {e}"}
    took = time.perf_counter() - t0
    shown = f"ERROR {r['error']}" if "error" in r else f"{r['value']:.2f} ({r['detail']})"
    sys.stderr.write(f"  {fid}: {shown} [{took:.1f} s]\n")
    emit("FIGURE", r)


def synthetic(size, seed):
    """figures.ts synthetic(): ((i + seed)·7919 mod 1013)/1013 − 0.5, as float32."""
    i = np.arange(size, dtype=np.int64)
    return (((i + seed) * 7919) % 1013 / 1013 - 0.5).astype(np.float32)


def synthetic_labels(size):
    return torch.from_numpy((np.arange(size) * 7) % 10).long()


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride, downsample):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(inplanes), nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(planes), nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(x))
        res = self.downsample(out) if self.downsample is not None else x
        return self.conv2(F.relu(self.bn2(self.conv1(out)))) + res


class PreResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        layers, inplanes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                s = stride if i == 0 else 1
                ds = nn.Conv2d(inplanes, planes, 1, s, bias=False) if s != 1 or inplanes != planes else None
                layers.append(BasicBlock(inplanes, planes, s, ds))
                inplanes = planes
        self.layers = nn.Sequential(*layers)
        self.bn, self.fc = nn.BatchNorm2d(64), nn.Linear(64, 10)

    def forward(self, x):
        h = self.layers(self.conv1(x))
        return self.fc(F.relu(self.bn(h)).mean((2, 3)))


def make_model(name):
    torch.manual_seed(0)
    return SmallCnn() if name == "small-cnn" else PreResNet20()


def train_figure(name, quick):
    model = make_model(name).train()
    opt = torch.optim.SGD(model.parameters(), **SGD_SETTINGS)
    shape = (TRAIN_BATCH, *MODEL_INPUT[name])
    x_host = synthetic(int(np.prod(shape)), 1).reshape(shape)
    y = synthetic_labels(TRAIN_BATCH)
    loss = [None]

    def step():
        x = torch.from_numpy(x_host)  # the host batch, as a DataLoader would hand it over
        out = F.cross_entropy(model(x), y)
        opt.zero_grad()
        out.backward()
        opt.step()
        loss[0] = out

    timed = time_loop(step, loop_plan("train", quick))
    loss[0].item()
    return rate(f"train/{name}", TRAIN_BATCH, timed, "NCHW, torch.optim.SGD")


def infer_figure(name, quick):
    model = make_model(name).eval()
    shape = (INFER_BATCH, *MODEL_INPUT[name])
    x_host = synthetic(int(np.prod(shape)), 2).reshape(shape)

    def step():
        with torch.no_grad():
            model(torch.from_numpy(x_host)).numpy()

    return rate(f"infer/{name}", INFER_BATCH, time_loop(step, loop_plan("infer", quick)), "NCHW, eval mode, no_grad")


def matmul_figure(n, quick):
    a = torch.from_numpy(synthetic(n * n, 1).reshape(n, n))
    b = torch.from_numpy(synthetic(n * n, 2).reshape(n, n))
    timed = time_loop(lambda: torch.mm(a, b), loop_plan("kernel", quick))
    return rate(f"matmul/{n}", 2 * n ** 3 / 1e9, timed, "torch.mm")


def conv_figure(s, p, quick):
    x = torch.from_numpy(synthetic(s["n"] * s["cin"] * s["h"] * s["w"], 1).reshape(s["n"], s["cin"], s["h"], s["w"]))
    w = torch.from_numpy(synthetic(s["cout"] * s["cin"] * s["k"] ** 2, 2).reshape(s["cout"], s["cin"], s["k"], s["k"]))
    dy = torch.from_numpy(synthetic(s["n"] * s["cout"] * s["h"] * s["w"], 3).reshape(s["n"], s["cout"], s["h"], s["w"]))
    pad = s["pad"]
    op = {
        "forward": lambda: F.conv2d(x, w, padding=pad),
        "backward-input": lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, padding=pad),
        "backward-weight": lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, padding=pad),
    }[p]
    flop = 2 * s["n"] * s["cout"] * s["h"] * s["w"] * s["cin"] * s["k"] ** 2
    return rate(f"conv/{s['id']}/{p}", flop / 1e9, time_loop(op, loop_plan("kernel", quick)), "NCHW, no bias")


def loaded_libraries():
    """Shared libraries of interest that this process actually mapped (BLAS, LAPACK, allocators, OpenMP)."""
    keys = ("blas", "lapack", "jemalloc", "tcmalloc", "gomp", "mkl", "dnnl")
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if path.startswith("/") and any(k in os.path.basename(path) for k in keys):
                libs.add(path)
    return sorted(libs)


def jemalloc_settings():
    """jemalloc's version and page decay settings as it reads them (None when jemalloc is not this process's malloc)."""
    try:
        mallctl = ctypes.CDLL(None).mallctl
    except AttributeError:
        return None

    def read(name, value):
        size = ctypes.c_size_t(ctypes.sizeof(value))
        rc = mallctl(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0)
        return value.value if rc == 0 else f"mallctl error {rc}"

    version = read("version", ctypes.c_char_p())
    return {"version": version.decode() if isinstance(version, bytes) else version,
            "dirty_decay_ms": read("opt.dirty_decay_ms", ctypes.c_ssize_t()),
            "muzzy_decay_ms": read("opt.muzzy_decay_ms", ctypes.c_ssize_t())}


def openblas_settings():
    """OpenBLAS's build string, thread count and threading model, from the copy this process mapped (or None)."""
    torch.mm(torch.ones(8, 8), torch.ones(8, 8))  # BLAS is loaded lazily by some builds: make sure it is mapped
    path = next((p for p in loaded_libraries() if os.path.basename(p).startswith("libopenblas")), None)
    if path is None:
        return None
    lib = ctypes.CDLL(path)
    lib.openblas_get_config.restype = ctypes.c_char_p
    parallel = {0: "sequential", 1: "pthread", 2: "openmp"}.get(lib.openblas_get_parallel(), "unknown")
    return {"path": path, "config": lib.openblas_get_config().decode(), "threads": lib.openblas_get_num_threads(),
            "parallel": parallel}


def main():
    args = sys.argv[1:]
    quick = "--quick" in args
    only = next((a[len("--only="):].split(",") for a in args if a.startswith("--only=")), [])
    threads = int(next((a[len("--threads="):] for a in args if a.startswith("--threads=")), "2"))
    torch.set_num_threads(threads)

    def selected(fid):
        return not only or any(fid == o or fid.startswith(o + "/") for o in only)

    openblas = openblas_settings()
    emit("INFO", {"torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
                  "threads": torch.get_num_threads(), "mkldnn": torch.backends.mkldnn.is_available(),
                  "libraries": loaded_libraries(), "jemalloc": jemalloc_settings(), "openblas": openblas,
                  "LD_PRELOAD": os.environ.get("LD_PRELOAD", ""), "MALLOC_CONF": os.environ.get("MALLOC_CONF", ""),
                  "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH", "")})
    for name in MODEL_INPUT:
        if selected(f"train/{name}"):
            figure(f"train/{name}", lambda: train_figure(name, quick))
        if selected(f"infer/{name}"):
            figure(f"infer/{name}", lambda: infer_figure(name, quick))
    for n in MATMUL_SIZES:
        if selected(f"matmul/{n}"):
            figure(f"matmul/{n}", lambda: matmul_figure(n, quick))
    for s in CONV_SHAPES:
        for p in CONV_PASSES:
            if selected(f"conv/{s['id']}/{p}"):
                figure(f"conv/{s['id']}/{p}", lambda: conv_figure(s, p, quick))


if __name__ == "__main__":
    main()
