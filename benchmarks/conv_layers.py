"""Convolution layers one by one, minicnn against PyTorch: where the models' time goes.

ResNet-18's 3x3 layers at batch 32 on 32x32 images (the models benchmark's
configuration), ops.py's 56x56 dense case, and two 1x1 layers of MobileNetV3;
no bias, float32, both engines on the same thread count, each in its own
process. Per layer: forward (under ``no_grad``) and forward+backward, the
minimum over the timed calls (the least disturbed run of a deterministic
computation; docs/performance.md discusses the noise), in ms and in GFLOP/s
(2 * multiply-adds; forward+backward counts three times the forward's work).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/conv_layers.py
"""
import json
import os
import sys
import time

import numpy as np

from _common import run_child

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # benchmark this checkout, installed or not
THREADS = int(os.environ.get("MINICNN_BENCH_THREADS", os.cpu_count() or 1))
CALLS = 7

# (batch, in channels, image size, out channels, kernel, stride, padding)
LAYERS = [
    (32, 64, 32, 64, 3, 1, 1), (32, 128, 16, 128, 3, 1, 1), (32, 256, 8, 256, 3, 1, 1),
    (32, 512, 4, 512, 3, 1, 1), (32, 64, 32, 128, 3, 2, 1), (32, 256, 8, 512, 3, 2, 1),
    (8, 64, 56, 64, 3, 1, 1), (32, 96, 8, 576, 1, 1, 0), (32, 576, 4, 96, 1, 1, 0),
]


def _name(layer):
    n, c, size, out, k, s, _ = layer
    return f"N={n} {c}->{out} {size}x{size} {k}x{k} s{s}"


def _gflop(layer):
    n, c, size, out, k, s, p = layer
    out_size = (size + 2 * p - k) // s + 1
    return 2 * n * out * c * k * k * out_size * out_size / 1e9


def _child(engine):
    """Time every layer in this process with one engine; print JSON {name: [fwd, fwd+bwd]}."""
    if engine == "torch":
        import torch  # first, so minicnn's OpenMP setting does not reach torch's thread pool
        import torch.nn.functional as F

        torch.set_num_threads(THREADS)
        lib, wrap = torch, torch.from_numpy
    else:
        import minicnn
        import minicnn.nn.functional as F

        lib, wrap = minicnn, minicnn.from_numpy
    rng = np.random.default_rng(0)
    results = {}
    for layer in LAYERS:
        n, c, size, out, k, s, p = layer
        x = rng.standard_normal((n, c, size, size)).astype(np.float32)
        w = (rng.standard_normal((out, c, k, k)) * 0.1).astype(np.float32)
        out_size = (size + 2 * p - k) // s + 1
        g = wrap(rng.standard_normal((n, out, out_size, out_size)).astype(np.float32))

        def forward():
            with lib.no_grad():
                F.conv2d(wrap(x), wrap(w), None, s, p)

        def forward_backward():
            xa = lib.tensor(x, requires_grad=True)
            wa = lib.tensor(w, requires_grad=True)
            F.conv2d(xa, wa, None, s, p).backward(g)

        times = []
        for fn in (forward, forward_backward):
            fn()  # warm-up (Numba compiles, caches fill)
            samples = []
            for _ in range(CALLS):
                start = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - start) * 1e3)
            times.append(min(samples))
        results[_name(layer)] = times
    print(json.dumps(results))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return _child(sys.argv[2])
    runs = {engine: run_child(__file__, "--child", engine) for engine in ("minicnn", "torch")}
    print(f"{'layer':28s} {'minicnn fwd':>18s} {'torch fwd':>18s} {'ratio':>6s}   "
          f"{'minicnn fwd+bwd':>18s} {'torch fwd+bwd':>18s} {'ratio':>6s}")
    for layer in LAYERS:
        name, work = _name(layer), _gflop(layer)
        ours, theirs = runs["minicnn"][name], runs["torch"][name]
        cells = []
        for k, factor in ((0, 1), (1, 3)):
            cells.append(f"{ours[k]:7.2f} ms {factor * work / ours[k] * 1e3:4.0f} GF/s "
                         f"{theirs[k]:7.2f} ms {factor * work / theirs[k] * 1e3:4.0f} GF/s "
                         f"{ours[k] / theirs[k]:6.2f}")
        print(f"{name:28s} " + "   ".join(cells))


if __name__ == "__main__":
    main()
