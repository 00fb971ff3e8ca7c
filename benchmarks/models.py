"""Whole-model speed, minicnn against PyTorch, side by side in one run.

Models: resnet18, mobilenet_v3_small, shufflenet_v2_x0_5, efficientnet_b0, in
their 32x32 configuration (``small_input=True``, 10 classes), batch 32,
float32, both engines on the same thread count with identical weights. The
PyTorch models are the torch.nn twins from ``tests/models/`` (the oracles the
model tests check minicnn against number by number; torchvision is not
installed here).

Per model: forward (eval, no graph), forward+backward (train mode), and one
training step (forward, cross-entropy, backward, SGD with momentum update),
medians; then minicnn's three largest time sinks in one training step, by
operator and pass (forward/backward). Each engine runs in a process of its
own, alternating (see benchmarks/ops.py for why); both get minicnn's seeded
initial weights.

    python benchmarks/models.py                     # writes benchmarks/results/models.md
    python benchmarks/models.py resnet18 --rounds 5
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # for the torch twins in tests/models
THREADS = int(os.environ.get("MINICNN_BENCH_THREADS", os.cpu_count() or 1))
BATCH, SIZE, CLASSES = 32, 32, 10
DEFAULT_MODELS = ["resnet18", "mobilenet_v3_small", "shufflenet_v2_x0_5", "efficientnet_b0"]


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


def build(name, engine):
    """The model in one engine; both engines get the same weights (minicnn's seeded init)."""
    if engine == "torch":
        import torch  # first, so minicnn's OpenMP setting does not reach torch's thread pool

        torch.set_num_threads(THREADS)
    import minicnn

    minicnn.manual_seed(0)
    ours = minicnn.models.get_model(name, num_classes=CLASSES, small_input=True)
    if engine == "minicnn":
        return ours
    from minicnn.interop import to_torch_state_dict

    theirs = torch_twin(name)
    theirs.load_state_dict(to_torch_state_dict(ours), strict=True)
    return theirs


def step_functions(model, engine, seed=0):
    """(forward, forward+backward, training step) closures for one engine."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 3, SIZE, SIZE)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    if engine == "torch":
        import torch

        lib, wrap, cross_entropy = torch, torch.from_numpy, torch.nn.functional.cross_entropy
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    else:
        import minicnn
        import minicnn.nn.functional as F
        from minicnn.optim import SGD

        lib, wrap, cross_entropy = minicnn, minicnn.from_numpy, F.cross_entropy
        optimizer = SGD(model.parameters(), lr=1e-3, momentum=0.9)
    inputs, labels = wrap(x), wrap(y)

    def forward():
        model.eval()
        with lib.no_grad():
            model(inputs)

    def forward_backward():
        model.train()
        cross_entropy(model(inputs), labels).backward()
        model.zero_grad()

    def step():
        model.train()
        optimizer.zero_grad()
        cross_entropy(model(inputs), labels).backward()
        optimizer.step()

    return [forward, forward_backward, step]


def _child(engine, name, rounds, warmup):
    """Time one model in one engine in this process; print JSON (samples in ms, time sinks)."""
    model = build(name, engine)
    fns = step_functions(model, engine)
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            samples[i].append((time.perf_counter() - start) * 1e3)
    sinks = time_sinks(fns[2]) if engine == "minicnn" else None
    print(json.dumps({"samples": samples, "sinks": sinks}))


def _run_child(*args):
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), *args],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"benchmark child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


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
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--rounds", type=int, default=5, help="timed calls per process")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="processes per engine and model")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "models.md"))
    parser.add_argument("--child", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.child, args.models[0], args.rounds, args.warmup)

    rows, sinks = [], {}
    for name in args.models:
        samples = {"minicnn": [[], [], []], "torch": [[], [], []]}
        for _ in range(args.repeats):
            for engine in ("minicnn", "torch"):
                out = _run_child("--child", engine, "--rounds", str(args.rounds),
                                 "--warmup", str(args.warmup), name)
                for k in range(3):
                    samples[engine][k] += out["samples"][k]
                if out["sinks"] is not None:
                    sinks[name] = out["sinks"]
        m = []
        for k in range(3):
            m += [statistics.median(samples["minicnn"][k]), statistics.median(samples["torch"][k])]
        rows.append((name, m))
        print(f"{name:20s} fwd {m[0]:7.1f}/{m[1]:7.1f} ms ({m[0] / m[1]:4.2f}x)  "
              f"fwd+bwd {m[2]:7.1f}/{m[3]:7.1f} ({m[2] / m[3]:4.2f}x)  "
              f"step {m[4]:7.1f}/{m[5]:7.1f} ({m[4] / m[5]:4.2f}x)", flush=True)
        total, ranked = sinks[name]
        for label, seconds in ranked:
            print(f"    {label:32s} {seconds * 1e3:7.1f} ms ({seconds / total:4.0%} of the step)")

    import torch

    pinned = os.environ.get("OPENBLAS_CORETYPE")
    lines = [
        "# Model benchmark: minicnn vs PyTorch (CPU, float32)",
        "",
        f"`python benchmarks/models.py` — batch {BATCH}, {SIZE}x{SIZE} input, `small_input=True`, "
        f"{CLASSES} classes, {THREADS} threads for both engines; each engine in its own process, "
        f"alternating, {args.repeats} processes per engine x {args.rounds} timed calls after "
        f"{args.warmup} warm-up rounds; medians. NumPy {np.__version__}"
        f"{' (OPENBLAS_CORETYPE=' + pinned + ')' if pinned else ''}, PyTorch {torch.__version__}. "
        f"Ratio = minicnn / PyTorch; target: training step <= 2x.",
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
    if args.models == DEFAULT_MODELS:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
