"""Whole-model speed and memory, minicnn against PyTorch, side by side in one run.

Two configurations, float32, both engines on the same thread count with the
same weights (minicnn's seeded initialisation, copied into the torch.nn twin
from ``tests/models/``, the oracle the model tests check minicnn against number
by number; torchvision is not installed here):

* training models: resnet18, mobilenet_v3_small, shufflenet_v2_x0_5 and
  efficientnet_b0 in their 32x32 configuration (``small_input=True``, 10
  classes), batch 32: forward (``eval()`` under ``no_grad``), forward+backward
  (train mode) and one training step (forward, cross-entropy, backward, SGD
  with momentum), then the peak memory of a training step;
* inference models: resnet50 and mobilenet_v2 in their ImageNet configuration
  (``small_input=False``, 1000 classes), batch 8, 224x224: forward only.

Times are medians; after them come minicnn's three largest time sinks in one
training step (one forward for the inference models), by operator and pass.
Each engine runs in a process of its own, alternating (see benchmarks/ops.py
for why).

Peak memory of a training step: in a fresh process per engine and model, the
model is built and one warm-up step on two images loads what each engine loads
on first use (minicnn's Numba kernels, PyTorch's lazily built ones: 100-230 MiB
that would otherwise be counted); then, with the gradients set to None and a new
optimizer, one training step on the batch of 32, and the rise of the resident
set's high-water mark (``ru_maxrss``) during it above the resident set just
before it (``_common.peak_rise_mib``). It counts everything that step
allocates: activations saved for backward, gradients, the optimizer's momentum
buffers (created by that step) and workspace; the weights and the batch were
resident before.

    python benchmarks/models.py                     # writes benchmarks/results/models.md
    python benchmarks/models.py resnet18 --rounds 5 # prints only (or --out FILE)
"""
import argparse
import gc
import json
import os
import shlex
import statistics
import sys
import time
from collections import defaultdict, namedtuple

import numpy as np

from _common import peak_rise_mib, run_child, torch_copy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # benchmark this checkout, installed or not
THREADS = int(os.environ.get("MINICNN_BENCH_THREADS", os.cpu_count() or 1))

# One model's benchmark: batch size, image size, the constructor's keyword arguments (the
# same in both engines), and whether it trains (forward, forward+backward, step and peak
# memory) or only infers (forward).
Setting = namedtuple("Setting", "batch size kwargs training")
SMALL = dict(num_classes=10, small_input=True)
IMAGENET = dict(num_classes=1000, small_input=False)
SETTINGS = {
    "resnet18": Setting(32, 32, SMALL, True),
    "mobilenet_v3_small": Setting(32, 32, SMALL, True),
    "shufflenet_v2_x0_5": Setting(32, 32, SMALL, True),
    "efficientnet_b0": Setting(32, 32, SMALL, True),
    "resnet50": Setting(8, 224, IMAGENET, False),
    "mobilenet_v2": Setting(8, 224, IMAGENET, False),
}
DEFAULT_MODELS = list(SETTINGS)
PASSES = ("forward", "forward+backward", "step")

# Targets of issue 13, ratio minicnn / PyTorch: every forward <= 1.2; the training step
# <= 1.0, resnet18's <= 1.25; peak memory of a training step no more than PyTorch's.
FORWARD_TARGET, STEP_TARGETS, MEMORY_TARGET = 1.2, {"resnet18": 1.25}, 1.0


def step_target(name):
    return STEP_TARGETS.get(name, 1.0)


def build(name, engine):
    """The model in one engine; both engines get the same weights (minicnn's seeded init)."""
    if engine == "torch":
        import torch  # first, so minicnn's OpenMP setting does not reach torch's thread pool

        torch.set_num_threads(THREADS)
    import minicnn

    kwargs = SETTINGS[name].kwargs
    minicnn.manual_seed(0)
    ours = minicnn.models.get_model(name, **kwargs)
    return ours if engine == "minicnn" else torch_copy(ours, name, **kwargs)


def step_functions(model, engine, name, seed=0, batch=None):
    """{pass: closure} for one engine: forward, and for a training model forward+backward and
    a training step (with a new optimizer); ``batch`` replaces the setting's batch size."""
    setting = SETTINGS[name]
    batch = batch or setting.batch
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 3, setting.size, setting.size)).astype(np.float32)
    y = rng.integers(0, setting.kwargs["num_classes"], batch)
    if engine == "torch":
        import torch

        lib, wrap, cross_entropy = torch, torch.from_numpy, torch.nn.functional.cross_entropy
        make_optimizer = torch.optim.SGD
    else:
        import minicnn
        import minicnn.nn.functional as F
        from minicnn.optim import SGD as make_optimizer

        lib, wrap, cross_entropy = minicnn, minicnn.from_numpy, F.cross_entropy
    inputs, labels = wrap(x), wrap(y)

    def forward():
        model.eval()
        with lib.no_grad():
            model(inputs)

    if not setting.training:
        return {"forward": forward}
    optimizer = make_optimizer(model.parameters(), lr=1e-3, momentum=0.9)

    def forward_backward():
        model.train()
        cross_entropy(model(inputs), labels).backward()
        model.zero_grad()

    def step():
        model.train()
        optimizer.zero_grad()
        cross_entropy(model(inputs), labels).backward()
        optimizer.step()

    return {"forward": forward, "forward+backward": forward_backward, "step": step}


def _child(engine, name, rounds, warmup):
    """Time one model in one engine in this process; print JSON (samples in ms, time sinks)."""
    model = build(name, engine)
    fns = step_functions(model, engine, name)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples = {label: [] for label in fns}
    for _ in range(rounds):
        for label, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[label].append((time.perf_counter() - start) * 1e3)
    sinks = time_sinks(fns["step" if "step" in fns else "forward"]) if engine == "minicnn" \
        else None
    print(json.dumps({"samples": samples, "sinks": sinks}))


def _peak_child(engine, name):
    """Print the rise of the peak resident set (MiB) during one training step that starts with
    no gradients and no optimizer state, after a two-image warm-up step."""
    model = build(name, engine)
    # The warm-up loads what each engine loads on first use (minicnn's Numba modules and
    # kernels, PyTorch's lazily built kernels), which is not the step's memory: without it,
    # mobilenet_v3_small's step rose 668 MiB in minicnn and 597 in PyTorch, against 436 and 495
    # with it. Two images keep what the allocator retains from the warm-up small.
    step_functions(model, engine, name, batch=2)["step"]()
    model.zero_grad(set_to_none=True)
    step = step_functions(model, engine, name)["step"]  # a new optimizer: no momentum yet
    gc.collect()
    print(json.dumps(peak_rise_mib(step)))


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


def measure(name, rounds, warmup, repeats):
    """Medians {pass: (minicnn ms, torch ms)}, and minicnn's time sinks."""
    samples = {"minicnn": defaultdict(list), "torch": defaultdict(list)}
    sinks = None
    for _ in range(repeats):
        for engine in ("minicnn", "torch"):
            out = run_child(__file__, "--child", engine, "--rounds", str(rounds), "--warmup", str(warmup),
                             name)
            for label, values in out["samples"].items():
                samples[engine][label] += values
            sinks = out["sinks"] or sinks
    medians = {label: (statistics.median(samples["minicnn"][label]),
                       statistics.median(samples["torch"][label]))
               for label in PASSES if label in samples["minicnn"]}
    return medians, sinks


def peak_memory(name):
    """(minicnn MiB, torch MiB): the rise during a first training step, each in a fresh process."""
    return tuple(run_child(__file__, "--peak-child", engine, name) for engine in ("minicnn", "torch"))


def _met(ratio, target):
    return "yes" if ratio <= target else "no"


def report(results, memory, sinks, args):
    """The markdown of the run: speed tables, peak memory, time sinks."""
    import torch

    pinned = os.environ.get("OPENBLAS_CORETYPE")
    command = shlex.join(["python", "benchmarks/models.py", *sys.argv[1:]])
    lines = [
        "# Model benchmark: minicnn vs PyTorch (CPU, float32)",
        "",
        f"`{command}` — {THREADS} threads for both engines; each engine in its "
        f"own process, alternating, {args.repeats} processes per engine x {args.rounds} timed "
        f"calls after {args.warmup} warm-up rounds; medians. NumPy {np.__version__}"
        f"{' (OPENBLAS_CORETYPE=' + pinned + ')' if pinned else ''}, PyTorch {torch.__version__}. "
        f"Ratio = minicnn / PyTorch (lower is better); targets from issue 13.",
    ]
    training = [name for name in results if SETTINGS[name].training]
    if training:
        lines += [
            "", "Batch 32, 32x32 input, `small_input=True`, 10 classes; forward in `eval()` under "
            "`no_grad`, forward+backward and the step (SGD, momentum 0.9) in train mode.", "",
            "| model | fwd minicnn ms | fwd torch ms | fwd ratio | fwd target | met "
            "| fwd+bwd minicnn ms | fwd+bwd torch ms | fwd+bwd ratio "
            "| step minicnn ms | step torch ms | step ratio | step target | met |",
            "|---|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
        for name in training:
            (f1, f2), (b1, b2), (s1, s2) = (results[name][label] for label in PASSES)
            lines.append(
                f"| {name} | {f1:.1f} | {f2:.1f} | {f1 / f2:.2f} | <= {FORWARD_TARGET} | "
                f"{_met(f1 / f2, FORWARD_TARGET)} | {b1:.1f} | {b2:.1f} | {b1 / b2:.2f} | "
                f"{s1:.1f} | {s2:.1f} | {s1 / s2:.2f} | <= {step_target(name)} | "
                f"{_met(s1 / s2, step_target(name))} |")
    inference = [name for name in results if not SETTINGS[name].training]
    if inference:
        lines += [
            "", "Inference: batch 8, 224x224 input, `small_input=False`, 1000 classes (the "
            "ImageNet configuration), `eval()` under `no_grad`.", "",
            "| model | fwd minicnn ms | fwd torch ms | fwd ratio | target | met |",
            "|---|---:|---:|---:|---:|:---:|"]
        for name in inference:
            f1, f2 = results[name]["forward"]
            lines.append(f"| {name} | {f1:.1f} | {f2:.1f} | {f1 / f2:.2f} | <= {FORWARD_TARGET} | "
                         f"{_met(f1 / f2, FORWARD_TARGET)} |")
    if memory:
        lines += [
            "", "Peak memory of a training step (batch 32, 32x32), MiB: in a fresh process per "
            "engine and model, after a two-image warm-up step (which loads what each engine "
            "loads on first use, such as minicnn's Numba kernels), the rise of the resident "
            "set's high-water mark (`ru_maxrss`) during one training step that starts with no "
            "gradients and a new optimizer, above the resident set just before it: activations, "
            "gradients, momentum buffers and workspace (the weights and the batch were resident "
            "before).", "",
            "| model | minicnn MiB | torch MiB | ratio | target | met |",
            "|---|---:|---:|---:|---:|:---:|"]
        for name, (ours, theirs) in memory.items():
            ratio = ours / theirs
            lines.append(f"| {name} | {ours:.0f} | {theirs:.0f} | {ratio:.2f} | "
                         f"<= {MEMORY_TARGET} | {_met(ratio, MEMORY_TARGET)} |")
    lines += ["", "Top three time sinks of minicnn (operator, pass), in one training step (one "
                  "forward for the inference models):", ""]
    for name, (total, ranked) in sinks.items():
        parts = ", ".join(f"{label} {seconds * 1e3:.1f} ms ({seconds / total:.0%})"
                          for label, seconds in ranked)
        what = "step" if SETTINGS[name].training else "forward"
        lines.append(f"- {name} ({total * 1e3:.0f} ms {what}): {parts}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS,
                        help=f"models to run (default: all): {', '.join(DEFAULT_MODELS)}")
    parser.add_argument("--rounds", type=int, default=5, help="timed calls per process")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="processes per engine and model")
    parser.add_argument("--out", help="the markdown file to write (default: "
                        "benchmarks/results/models.md for a run of all models; a run of some "
                        "models writes only with --out)")
    parser.add_argument("--child", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    parser.add_argument("--peak-child", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = [name for name in args.models if name not in SETTINGS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; valid: {', '.join(DEFAULT_MODELS)}")
    if args.peak_child:
        return _peak_child(args.peak_child, args.models[0])
    if args.child:
        return _child(args.child, args.models[0], args.rounds, args.warmup)

    results, memory, sinks = {}, {}, {}
    for name in args.models:
        results[name], sinks[name] = measure(name, args.rounds, args.warmup, args.repeats)
        print(f"{name:20s} " + "  ".join(
            f"{label} {ours:7.1f}/{theirs:7.1f} ms ({ours / theirs:4.2f}x)"
            for label, (ours, theirs) in results[name].items()), flush=True)
        if SETTINGS[name].training:
            memory[name] = peak_memory(name)
            print(f"{'':20s} peak memory of a training step: minicnn {memory[name][0]:.0f} MiB, "
                  f"torch {memory[name][1]:.0f} MiB", flush=True)
        total, ranked = sinks[name]
        for label, seconds in ranked:
            print(f"    {label:32s} {seconds * 1e3:7.1f} ms ({seconds / total:4.0%})")
    out = args.out
    if out is None and args.models == DEFAULT_MODELS:
        out = os.path.join(ROOT, "benchmarks", "results", "models.md")
    if out is not None:
        with open(out, "w") as f:
            f.write(report(results, memory, sinks, args))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
