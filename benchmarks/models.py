"""Whole-model speed, minicnn against PyTorch, side by side in one run.

Models: resnet18, mobilenet_v3_small, shufflenet_v2_x0_5, efficientnet_b0, in
their 32x32 configuration (``small_input=True``, 10 classes), batch 32,
float32, both engines on the same thread count with identical weights. The
PyTorch models are the torch.nn twins from ``tests/models/`` (the oracles the
model tests check minicnn against number by number; torchvision is not
installed here).

Per model: forward (eval, no graph), forward+backward (train mode), and one
training step (forward, cross-entropy, backward, SGD with momentum update),
median of interleaved rounds after warm-up; then minicnn's three largest time
sinks in one training step, by operator and pass (forward/backward).

    python benchmarks/models.py                     # writes benchmarks/results/models.md
    python benchmarks/models.py resnet18 --rounds 5
"""
import argparse
import os
import statistics
import sys
import time
from collections import defaultdict

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # for the torch twins in tests/models
THREADS = int(os.environ.get("MINICNN_BENCH_THREADS", os.cpu_count() or 1))
BATCH, SIZE, CLASSES = 32, 32, 10


def torch_twin(name):
    if name.startswith("resnet"):
        from tests.models.test_resnet import TWINS
        return TWINS[name](num_classes=CLASSES, small_input=True)
    if name.startswith("mobilenet"):
        from tests.models.test_mobilenet import torch_twin as twin
        return twin(name, num_classes=CLASSES, small_input=True)
    if name.startswith("shufflenet"):
        from tests.models.test_shufflenet import BUILD, WIDTHS, TorchShuffleNetV2  # noqa: F401
        return TorchShuffleNetV2(WIDTHS[name], num_classes=CLASSES, small_input=True)
    if name.startswith("efficientnet"):
        from tests.models.test_efficientnet import TorchEfficientNet
        return TorchEfficientNet(num_classes=CLASSES, small_input=True)
    raise ValueError(name)


def build(name):
    import minicnn
    from minicnn.interop import load_torch_weights

    theirs = torch_twin(name)
    ours = minicnn.models.get_model(name, num_classes=CLASSES, small_input=True)
    load_torch_weights(ours, theirs)
    return ours, theirs


def step_functions(ours, theirs, seed=0):
    import torch

    import minicnn
    import minicnn.nn.functional as F
    from minicnn.optim import SGD

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 3, SIZE, SIZE)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    ours_opt = SGD(ours.parameters(), lr=1e-3, momentum=0.9)
    theirs_opt = torch.optim.SGD(theirs.parameters(), lr=1e-3, momentum=0.9)

    def ours_forward():
        ours.eval()
        with minicnn.no_grad():
            ours(minicnn.from_numpy(x))

    def theirs_forward():
        theirs.eval()
        with torch.no_grad():
            theirs(tx)

    def ours_forward_backward():
        ours.train()
        F.cross_entropy(ours(minicnn.from_numpy(x)), minicnn.from_numpy(y)).backward()
        ours.zero_grad()

    def theirs_forward_backward():
        theirs.train()
        torch.nn.functional.cross_entropy(theirs(tx), ty).backward()
        theirs.zero_grad()

    def ours_step():
        ours.train()
        ours_opt.zero_grad()
        F.cross_entropy(ours(minicnn.from_numpy(x)), minicnn.from_numpy(y)).backward()
        ours_opt.step()

    def theirs_step():
        theirs.train()
        theirs_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(tx), ty).backward()
        theirs_opt.step()

    return [ours_forward, theirs_forward, ours_forward_backward, theirs_forward_backward,
            ours_step, theirs_step]


def time_sinks(step, top=3):
    """Time spent in each Function's forward and backward during one call of ``step``."""
    from minicnn.function import Function

    totals = defaultdict(float)

    def all_subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from all_subclasses(sub)

    def timed(cls, phase, original):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[f"{cls.__name__} {phase}"] += time.perf_counter() - start
        return staticmethod(wrapper)

    patched = []
    for cls in set(all_subclasses(Function)):
        for phase in ("forward", "backward"):
            if phase in cls.__dict__:
                original = cls.__dict__[phase]
                fn = original.__func__ if isinstance(original, (staticmethod, classmethod)) else original
                if isinstance(original, classmethod):
                    continue  # bound to the class; timed through the subclasses that use it
                patched.append((cls, phase, original))
                setattr(cls, phase, timed(cls, phase, fn))
    try:
        start = time.perf_counter()
        step()
        total = time.perf_counter() - start
    finally:
        for cls, phase, original in patched:
            setattr(cls, phase, original)
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return total, ranked


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*",
                        default=["resnet18", "mobilenet_v3_small", "shufflenet_v2_x0_5",
                                 "efficientnet_b0"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "models.md"))
    args = parser.parse_args()

    import numpy
    import torch

    torch.set_num_threads(THREADS)
    rows, sinks = [], {}
    for name in args.models:
        ours, theirs = build(name)
        fns = step_functions(ours, theirs)
        for _ in range(args.warmup):
            for fn in fns:
                fn()
        samples = [[] for _ in fns]
        for _ in range(args.rounds):
            for i, fn in enumerate(fns):
                start = time.perf_counter()
                fn()
                samples[i].append((time.perf_counter() - start) * 1e3)
        m = [statistics.median(s) for s in samples]
        rows.append((name, m))
        total, ranked = time_sinks(fns[4])
        sinks[name] = (total, ranked)
        print(f"{name:20s} fwd {m[0]:7.1f}/{m[1]:7.1f} ms ({m[0] / m[1]:4.2f}x)  "
              f"fwd+bwd {m[2]:7.1f}/{m[3]:7.1f} ({m[2] / m[3]:4.2f}x)  "
              f"step {m[4]:7.1f}/{m[5]:7.1f} ({m[4] / m[5]:4.2f}x)", flush=True)
        for label, seconds in ranked:
            print(f"    {label:32s} {seconds * 1e3:7.1f} ms ({seconds / total:4.0%} of the step)")

    lines = [
        "# Model benchmark: minicnn vs PyTorch (CPU, float32)",
        "",
        f"`python benchmarks/models.py` — batch {BATCH}, {SIZE}x{SIZE} input, `small_input=True`, "
        f"{CLASSES} classes, {THREADS} threads for both engines, median of {args.rounds} "
        f"interleaved rounds after {args.warmup} warm-up rounds; NumPy {numpy.__version__}, "
        f"PyTorch {torch.__version__}. Ratio = minicnn / PyTorch; target: training step <= 2x.",
        "",
        "| model | fwd minicnn ms | fwd torch ms | ratio | fwd+bwd minicnn | fwd+bwd torch | ratio "
        "| step minicnn | step torch | step ratio | target met |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for name, m in rows:
        lines.append(f"| {name} | {m[0]:.1f} | {m[1]:.1f} | {m[0] / m[1]:.2f} | {m[2]:.1f} | "
                     f"{m[3]:.1f} | {m[2] / m[3]:.2f} | {m[4]:.1f} | {m[5]:.1f} | "
                     f"{m[4] / m[5]:.2f} | {'yes' if m[4] / m[5] <= 2 else 'no'} |")
    lines += ["", "Top three time sinks of one minicnn training step (operator, pass):", ""]
    for name, (total, ranked) in sinks.items():
        parts = ", ".join(f"{label} {seconds * 1e3:.1f} ms ({seconds / total:.0%})"
                          for label, seconds in ranked)
        lines.append(f"- {name} ({total * 1e3:.0f} ms step): {parts}")
    if not sys.argv[1:] or args.models == parser.get_default("models"):
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
