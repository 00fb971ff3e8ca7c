"""Operator speed, minicnn against PyTorch, side by side in one run.

For every case: forward (inference, no graph) and forward+backward (graph,
then backward with a random upstream gradient), float32, both engines on the
same data and the same thread count. Engines are interleaved round by round
(PyTorch at 2 threads has noisy stretches, see shared/PERF-NOTES.md) and each
figure is the median of the rounds after warm-up. The ratio is
minicnn / PyTorch: below 1 means minicnn is faster.

Peak memory of the dense conv forward+backward is measured in a fresh
subprocess per engine: the rise of the resident set's high-water mark
(ru_maxrss) above the resident set just before the step.

    python benchmarks/ops.py                 # all cases, writes benchmarks/results/ops.md
    python benchmarks/ops.py --rounds 15 depthwise
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

THREADS = int(os.environ.get("MINICNN_BENCH_THREADS", os.cpu_count() or 1))


def _cases():
    import torch
    import torch.nn.functional as TF

    import minicnn.nn.functional as F

    def conv(n, c_in, c_out, size, k, stride=1, padding=0, groups=1):
        shapes = [(n, c_in, size, size), (c_out, c_in // groups, k, k), (c_out,)]
        kw = dict(stride=stride, padding=padding, groups=groups)
        return shapes, (lambda x, w, b: F.conv2d(x, w, b, **kw)), (lambda x, w, b: TF.conv2d(x, w, b, **kw))

    def bn(n, c, size):
        state = {}

        def ours(x, w, b):
            import minicnn
            state.setdefault("m", (minicnn.zeros(c), minicnn.ones(c)))
            return F.batch_norm(x, *state["m"], w, b, training=True)

        def theirs(x, w, b):
            state.setdefault("t", (torch.zeros(c), torch.ones(c)))
            return TF.batch_norm(x, *state["t"], w, b, training=True)

        return [(n, c, size, size), (c,), (c,)], ours, theirs

    return {
        "dense 3x3 N=8 64->64 56x56": conv(8, 64, 64, 56, 3, padding=1),
        "1x1 N=8 96->24 56x56": conv(8, 96, 24, 56, 1),
        "depthwise 3x3 s1 N=8 C=96 56x56": conv(8, 96, 96, 56, 3, padding=1, groups=96),
        "depthwise 3x3 s2 N=8 C=96 56x56": conv(8, 96, 96, 56, 3, stride=2, padding=1, groups=96),
        "grouped 3x3 g=4 N=8 64->64 28x28": conv(8, 64, 64, 28, 3, padding=1, groups=4),
        "batch_norm train N=8 C=64 56x56": bn(8, 64, 56),
        "hardswish N=8 C=116 28x28": ([(8, 116, 28, 28)], F.hardswish, TF.hardswish),
        "channel_shuffle g=2 N=8 C=116 28x28": (
            [(8, 116, 28, 28)], lambda x: F.channel_shuffle(x, 2),
            lambda x: TF.channel_shuffle(x, 2)),
    }


TARGETS = {  # forward+backward ratio targets from the core issue
    "dense": 1.3, "1x1": 1.0, "depthwise": 1.5, "grouped": 2.0, "batch_norm": 1.2,
    "channel_shuffle": 1.2, "hardswish": 1.5,
}


def _target(name):
    return TARGETS[name.split()[0]]


def _timers(shapes, ours, theirs, seed=0):
    import torch

    import minicnn

    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    upstream = {}

    def ours_fwd():
        with minicnn.no_grad():
            ours(*[minicnn.from_numpy(a) for a in arrays])

    def ours_fwd_bwd():
        inputs = [minicnn.Tensor(a, requires_grad=True) for a in arrays]
        out = ours(*inputs)
        if "ours" not in upstream:  # drawn once: drawing costs as much as a small op
            upstream["ours"] = rng.standard_normal(out.shape).astype(np.float32)
        out.backward(upstream["ours"])

    t_arrays = [torch.from_numpy(a) for a in arrays]

    def theirs_fwd():
        with torch.no_grad():
            theirs(*t_arrays)

    def theirs_fwd_bwd():
        inputs = [a.clone().requires_grad_(True) for a in t_arrays]
        out = theirs(*inputs)
        if "theirs" not in upstream:
            upstream["theirs"] = torch.from_numpy(
                rng.standard_normal(tuple(out.shape)).astype(np.float32))
        out.backward(upstream["theirs"])

    return ours_fwd, theirs_fwd, ours_fwd_bwd, theirs_fwd_bwd


def _time(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def run(names, rounds, warmup):
    import torch

    torch.set_num_threads(THREADS)
    cases = _cases()
    rows = []
    for name in names:
        timers = _timers(*cases[name])
        for _ in range(warmup):
            for fn in timers:
                fn()
        samples = [[] for _ in timers]
        for _ in range(rounds):  # interleaved: one of each per round
            for i, fn in enumerate(timers):
                samples[i].append(_time(fn))
        m = [statistics.median(s) for s in samples]
        rows.append((name, m[0], m[1], m[0] / m[1], m[2], m[3], m[2] / m[3], _target(name)))
        print(f"{name:38s} fwd {m[0]:8.2f} / {m[1]:8.2f} ms = {m[0] / m[1]:5.2f}x   "
              f"fwd+bwd {m[2]:8.2f} / {m[3]:8.2f} ms = {m[2] / m[3]:5.2f}x  "
              f"(target <= {_target(name)}x)", flush=True)
    return rows


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_child(engine):
    """Run one dense-conv forward+backward in this (fresh) process; print the peak rise in MB."""
    import torch

    torch.set_num_threads(THREADS)
    shapes, ours, theirs = _cases()["dense 3x3 N=8 64->64 56x56"]
    timers = _timers(shapes, ours, theirs)
    step = timers[2] if engine == "minicnn" else timers[3]
    before = _rss_mb()
    step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{peak - before:.1f}")


def peak_memory():
    out = {}
    for engine in ("minicnn", "torch"):
        proc = subprocess.run([sys.executable, __file__, "--peak-child", engine],
                              capture_output=True, text=True, check=True)
        out[engine] = float(proc.stdout.strip().splitlines()[-1])
    return out


def write_markdown(rows, memory, rounds, path):
    import numpy
    import torch

    lines = [
        "# Operator benchmark: minicnn vs PyTorch (CPU, float32)",
        "",
        f"`python benchmarks/ops.py` — {THREADS} threads for both engines, median of {rounds} "
        f"interleaved rounds after warm-up; NumPy {numpy.__version__}, PyTorch {torch.__version__}, "
        f"{os.cpu_count()} cores. Ratio = minicnn / PyTorch (lower is better).",
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
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "ops.md"))
    parser.add_argument("--peak-child", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_child:
        return _peak_child(args.peak_child)
    names = [n for n in _cases() if not args.filter or any(f in n for f in args.filter)]
    rows = run(names, args.rounds, args.warmup)
    memory = peak_memory() if any(n.startswith("dense") for n in names) else None
    if memory:
        print(f"peak memory dense fwd+bwd: minicnn {memory['minicnn']:.0f} MB, torch {memory['torch']:.0f} MB")
    if not args.filter:
        write_markdown(rows, memory, args.rounds, args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
