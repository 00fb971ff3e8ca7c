"""Operator speed, minicnn against PyTorch, side by side in one run.

For every case: forward (inference, no graph) and forward+backward (graph,
then backward with a fixed random upstream gradient), float32, both engines
on the same data and the same thread count. The ratio is minicnn / PyTorch:
below 1 means minicnn is faster.

Each engine times its cases in a process of its own, and the processes
alternate (minicnn, PyTorch, minicnn, ...) for ``--repeats`` rounds; every
figure is the median over all timed calls. Separate processes because both
engines' OpenMP thread pools spin after a parallel region and slow whichever
engine runs next in the same process (measured: 3x on a grouped conv);
alternating because the machine's speed drifts (PERF-NOTES.md).

Peak memory of the dense conv forward+backward is measured in a fresh
process per engine: the rise of the resident set's high-water mark
(ru_maxrss) above the resident set just before the step (``_common.peak_rise_mib``).

On machines whose environment pins OpenBLAS to an older kernel
(``OPENBLAS_CORETYPE``, see the environment notes), run it as
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/ops.py``:
the header of the table records which OpenBLAS kernel NumPy used.

Cases (``CASES``), layers of ResNet, MobileNet, ShuffleNet and EfficientNet:
dense 3x3, 1x1, depthwise 3x3 and 5x5 (stride 1 and 2), grouped 3x3 (g=2, 4,
8), a ResNet stem (7x7 stride 2 at 224x224, no bias), a MobileNetV3
squeeze-excitation block, batch norm, hardswish, channel shuffle.
Targets (``TARGETS``) are issue 13's: forward+backward ratio <= 1.0 for every
case, except dense 3x3 <= 1.15 and grouped <= 1.5.

    python benchmarks/ops.py                 # all cases, writes benchmarks/results/ops.md
    python benchmarks/ops.py depthwise       # only cases whose name contains "depthwise"
    python benchmarks/ops.py g=8 --out x.md  # a filtered run writes only where --out says
"""
import argparse
import json
import os
import shlex
import statistics
import sys
import time

import numpy as np

from _common import peak_rise_mib, run_child

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # benchmark this checkout, installed or not
THREADS = int(os.environ.get("MINICNN_BENCH_THREADS", os.cpu_count() or 1))

# name: (input shapes, operator name, keyword arguments); the same call in both engines.
# The shapes are the operands in call order; a conv without a bias shape gets bias=None.
CASES = {
    "dense 3x3 N=8 64->64 56x56": ([(8, 64, 56, 56), (64, 64, 3, 3), (64,)], "conv2d",
                                   dict(padding=1)),
    "1x1 N=8 96->24 56x56": ([(8, 96, 56, 56), (24, 96, 1, 1), (24,)], "conv2d", {}),
    "depthwise 3x3 s1 N=8 C=96 56x56": ([(8, 96, 56, 56), (96, 1, 3, 3), (96,)], "conv2d",
                                        dict(padding=1, groups=96)),
    "depthwise 3x3 s2 N=8 C=96 56x56": ([(8, 96, 56, 56), (96, 1, 3, 3), (96,)], "conv2d",
                                        dict(stride=2, padding=1, groups=96)),
    # MobileNetV3-Large's 5x5 depthwise layers at 224x224 input
    "depthwise 5x5 s1 N=8 C=120 28x28": ([(8, 120, 28, 28), (120, 1, 5, 5), (120,)], "conv2d",
                                         dict(padding=2, groups=120)),
    "depthwise 5x5 s2 N=8 C=72 56x56": ([(8, 72, 56, 56), (72, 1, 5, 5), (72,)], "conv2d",
                                        dict(stride=2, padding=2, groups=72)),
    # ShuffleNet / ResNeXt-like grouped convolutions
    "grouped 3x3 g=2 N=8 64->64 28x28": ([(8, 64, 28, 28), (64, 32, 3, 3), (64,)], "conv2d",
                                         dict(padding=1, groups=2)),
    "grouped 3x3 g=4 N=8 64->64 28x28": ([(8, 64, 28, 28), (64, 16, 3, 3), (64,)], "conv2d",
                                         dict(padding=1, groups=4)),
    "grouped 3x3 g=8 N=8 128->128 28x28": ([(8, 128, 28, 28), (128, 16, 3, 3), (128,)],
                                           "conv2d", dict(padding=1, groups=8)),
    # ResNet's stem: no bias (a batch norm follows)
    "stem 7x7 s2 N=8 3->64 224x224": ([(8, 3, 224, 224), (64, 3, 7, 7)], "conv2d",
                                      dict(stride=2, padding=3)),
    # MobileNetV3's SE: x, fc1 weight and bias (C -> C/4), fc2 weight and bias (C/4 -> C)
    "se block N=8 C=96 14x14": ([(8, 96, 14, 14), (24, 96, 1, 1), (24,), (96, 24, 1, 1), (96,)],
                                "se_block", {}),
    "batch_norm train N=8 C=64 56x56": ([(8, 64, 56, 56), (64,), (64,)], "batch_norm", {}),
    "hardswish N=8 C=116 28x28": ([(8, 116, 28, 28)], "hardswish", {}),
    "channel_shuffle g=2 N=8 C=116 28x28": ([(8, 116, 28, 28)], "channel_shuffle",
                                            dict(groups=2)),
}

# forward+backward ratio targets from issue 13, keyed by the case name's first word
TARGETS = {"dense": 1.15, "grouped": 1.5}
DEFAULT_TARGET = 1.0  # every other case
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "ops.md")


def _target(name):
    return TARGETS.get(name.split()[0], DEFAULT_TARGET)


def _se_block(F, x, fc1_weight, fc1_bias, fc2_weight, fc2_bias):
    """MobileNetV3's squeeze-excitation (torchvision's SqueezeExcitation), in F calls."""
    scale = F.adaptive_avg_pool2d(x, 1)                              # (N, C, 1, 1)
    scale = F.relu(F.conv2d(scale, fc1_weight, fc1_bias))            # (N, C/4, 1, 1)
    scale = F.hardsigmoid(F.conv2d(scale, fc2_weight, fc2_bias))     # (N, C, 1, 1)
    return x * scale                                                 # (N, C, H, W)


def _engine_callables(engine, name):
    """(forward, forward+backward) closures for one case in one engine."""
    shapes, op, kwargs = CASES[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    if engine == "torch":
        import torch
        import torch.nn.functional as F

        lib, wrap, no_grad = torch, torch.from_numpy, torch.no_grad
    else:
        import minicnn
        import minicnn.nn.functional as F

        lib, wrap, no_grad = minicnn, minicnn.from_numpy, minicnn.no_grad
    channels = shapes[0][1]
    running = (lib.zeros(channels), lib.ones(channels))

    def call(*inputs):
        if op == "batch_norm":
            return F.batch_norm(inputs[0], *running, inputs[1], inputs[2], training=True)
        if op == "channel_shuffle":
            return F.channel_shuffle(inputs[0], kwargs["groups"])
        if op == "se_block":
            return _se_block(F, *inputs)
        return getattr(F, op)(*inputs, **kwargs)

    wrapped = [wrap(a) for a in arrays]
    upstream = {}

    def forward():
        with no_grad():
            call(*wrapped)

    def forward_backward():
        if engine == "torch":
            inputs = [a.clone().requires_grad_(True) for a in wrapped]
        else:
            inputs = [minicnn.Tensor(a, requires_grad=True) for a in arrays]
        out = call(*inputs)
        if "g" not in upstream:  # drawn once: drawing costs as much as a small op
            g = rng.standard_normal(tuple(out.shape)).astype(np.float32)
            upstream["g"] = torch.from_numpy(g) if engine == "torch" else g
        out.backward(upstream["g"])

    return forward, forward_backward


def _child_time(engine, names, rounds, warmup):
    """Time ``names`` in this process with one engine; print JSON samples (ms)."""
    if engine == "torch":
        import torch

        torch.set_num_threads(THREADS)
    results = {}
    for name in names:
        fns = _engine_callables(engine, name)
        for _ in range(warmup):
            for fn in fns:
                fn()
        samples = [[], []]
        for _ in range(rounds):
            for i, fn in enumerate(fns):
                start = time.perf_counter()
                fn()
                samples[i].append((time.perf_counter() - start) * 1e3)
        results[name] = samples
    print(json.dumps(results))


def run(names, rounds, warmup, repeats):
    samples = {engine: {n: [[], []] for n in names} for engine in ("minicnn", "torch")}
    for repeat in range(repeats):
        for engine in ("minicnn", "torch"):
            out = run_child(__file__, "--child", engine, "--rounds", rounds, "--warmup", warmup,
                            *names)
            for name, (fwd, fwd_bwd) in out.items():
                samples[engine][name][0] += fwd
                samples[engine][name][1] += fwd_bwd
        print(f"  repeat {repeat + 1}/{repeats} done", file=sys.stderr, flush=True)
    rows = []
    for name in names:
        m = [statistics.median(samples[engine][name][k]) for k in (0, 1)
             for engine in ("minicnn", "torch")]
        # m = [ours fwd, torch fwd, ours fwd+bwd, torch fwd+bwd]
        rows.append((name, m[0], m[1], m[0] / m[1], m[2], m[3], m[2] / m[3], _target(name)))
        print(f"{name:38s} fwd {m[0]:8.2f} / {m[1]:8.2f} ms = {m[0] / m[1]:5.2f}x   "
              f"fwd+bwd {m[2]:8.2f} / {m[3]:8.2f} ms = {m[2] / m[3]:5.2f}x  "
              f"(target <= {_target(name)}x)", flush=True)
    return rows


def _peak_child(engine):
    """One dense-conv forward+backward in this fresh process; print the peak rise in MB."""
    if engine == "torch":
        import torch

        torch.set_num_threads(THREADS)
    _, forward_backward = _engine_callables(engine, "dense 3x3 N=8 64->64 56x56")
    print(f"{peak_rise_mib(forward_backward):.1f}")


def peak_memory():
    return {engine: float(run_child(__file__, "--peak-child", engine)) for engine in ("minicnn", "torch")}


def _blas_kernel():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    for info in threadpool_info():
        if info.get("internal_api") == "openblas":
            return f"OpenBLAS {info.get('version')} {info.get('architecture')}"
    return "not OpenBLAS"


def write_markdown(rows, memory, rounds, repeats, path):
    import torch

    pinned = os.environ.get("OPENBLAS_CORETYPE")
    command = shlex.join(["python", "benchmarks/ops.py", *sys.argv[1:]])  # filter included
    lines = [
        "# Operator benchmark: minicnn vs PyTorch (CPU, float32)",
        "",
        f"`{command}` — {THREADS} threads for both engines; each engine in its "
        f"own process, alternating, {repeats} processes per engine x {rounds} timed calls; "
        f"medians. NumPy {np.__version__} ({_blas_kernel()}"
        f"{', OPENBLAS_CORETYPE=' + pinned if pinned else ''}), PyTorch {torch.__version__}, "
        f"{os.cpu_count()} cores. Ratio = minicnn / PyTorch (lower is better); targets: "
        f"issue 13's, on the forward+backward ratio.",
        "",
        "| case | fwd minicnn ms | fwd torch ms | fwd ratio | fwd+bwd minicnn ms | "
        "fwd+bwd torch ms | fwd+bwd ratio | target | met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for name, a, b, r, c, d, r2, target in rows:
        lines.append(f"| {name} | {a:.2f} | {b:.2f} | {r:.2f} | {c:.2f} | {d:.2f} | {r2:.2f} | "
                     f"<= {target} | {'yes' if r2 <= target else 'no'} |")
    if memory:
        ratio = memory["minicnn"] / max(memory["torch"], 1e-9)
        lines += ["", f"Peak memory, dense 3x3 forward+backward (rise of max RSS in a fresh "
                      f"process): minicnn {memory['minicnn']:.0f} MB, PyTorch {memory['torch']:.0f} MB, "
                      f"ratio {ratio:.2f} (target <= 2)."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("filter", nargs="*", help="substrings of case names to run (default: all)")
    parser.add_argument("--rounds", type=int, default=9, help="timed calls per process")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="processes per engine")
    parser.add_argument("--out", help=f"markdown table to write (default: {DEFAULT_OUT}, "
                                      "written only when no filter is given)")
    parser.add_argument("--child", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--peak-child", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_child:
        return _peak_child(args.peak_child)
    if args.child:
        return _child_time(args.child, args.filter, args.rounds, args.warmup)
    names = [n for n in CASES if not args.filter or any(f in n for f in args.filter)]
    rows = run(names, args.rounds, args.warmup, args.repeats)
    memory = peak_memory() if any(n.startswith("dense") for n in names) else None
    if memory:
        print(f"peak memory dense fwd+bwd: minicnn {memory['minicnn']:.0f} MB, "
              f"torch {memory['torch']:.0f} MB")
    # a filtered run is a partial table: it replaces the results file only when asked to
    out = args.out or (None if args.filter else DEFAULT_OUT)
    if out:
        write_markdown(rows, memory, args.rounds, args.repeats, out)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
