"""Training speed of ``minicnn train``'s default run, against PyTorch doing the same work.

minicnn: the ``Trainer`` itself, with ``TrainConfig()``'s defaults (what ``minicnn
train`` with no arguments runs: ``DEFAULT_MODEL`` with ``DEFAULT_MODEL_KWARGS``,
the bundled digits with random shifts, batch 32, SGD with Nesterov momentum and
weight decay, the cosine schedule with its warm-up), stopped after
``--warmup + --steps`` steps. PyTorch: the torch.nn twin of that model holding
the same initial weights, trained on batches from the very same ``DataLoader``
(built by the Trainer's own setup, same seeds: the same images, shifts and
order), with ``torch.optim.SGD`` given minicnn's optimizer settings and the
learning rate of minicnn's schedule at every step, cross-entropy, train mode;
each step does what the Trainer's does (the loss read back and checked finite,
the batch's correct predictions counted).

What is timed is what ``minicnn train`` reports as img/s: each training step
from the end of the previous one, so fetching the batch (augmentation included),
forward, loss, backward, optimizer and schedule; not the evaluation, checkpoints
and plots after each epoch (the Trainer runs them untimed; the PyTorch loop
skips them). The first ``--warmup`` steps of each process are left out (the
first epoch: Numba's kernels load, both engines' allocators warm up). Per
process: images / seconds over the timed steps; over ``--repeats`` processes
per engine, alternating (see benchmarks/ops.py for why), the median.

    python benchmarks/train_speed.py        # writes benchmarks/results/train_speed.md
    python benchmarks/train_speed.py --steps 20 --warmup 5 --repeats 1   # prints only
"""
import argparse
import io
import json
import math
import os
import shlex
import statistics
import sys
import tempfile
import time

from _common import run_child, torch_copy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # benchmark this checkout, installed or not
THREADS = int(os.environ.get("MINICNN_BENCH_THREADS", os.cpu_count() or 1))
DEFAULTS = {"steps": 180, "warmup": 45, "repeats": 3}  # 45 steps: one epoch of digits


def _minicnn_steps(total, folder):
    """Seconds of each of the first ``total`` steps of the default run, as the Trainer times
    them (its ``train_seconds``, which ``minicnn train``'s img/s divides by)."""
    from minicnn.train import TrainConfig, Trainer

    trainer = Trainer(TrainConfig(), out=os.path.join(folder, "run"), stream=io.StringIO())
    seconds, last = [], {"epoch": 0, "train_seconds": 0.0}

    def record(trainer):
        # train_seconds restarts at 0 with each epoch.
        before = last["train_seconds"] if trainer.epoch == last["epoch"] else 0.0
        seconds.append(trainer.train_seconds - before)
        last.update(epoch=trainer.epoch, train_seconds=trainer.train_seconds)
        if len(seconds) == total:
            trainer.stop_requested = True  # stops after this step, as Ctrl-C would

    trainer.on_step = record
    trainer.run()
    return seconds, trainer.config.batch_size


def _torch_steps(total, folder):
    """Seconds of each of ``total`` PyTorch steps doing the default run's work (module doc)."""
    import torch  # first, so minicnn's OpenMP setting does not reach torch's thread pool
    import torch.nn.functional as F

    torch.set_num_threads(THREADS)
    from minicnn.train import TrainConfig, Trainer

    trainer = Trainer(TrainConfig(), out=os.path.join(folder, "run"), stream=io.StringIO())
    trainer._setup()  # the run's seeded model, data loader, optimizer and schedule; no files
    config, schedule = trainer.config, trainer.scheduler
    settings = trainer.optimizer.param_groups[0]  # minicnn's SGD, as the Trainer built it
    model = torch_copy(trainer.model, config.model, **trainer.model_kwargs)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings["lr"],
                                momentum=settings["momentum"], dampening=settings["dampening"],
                                weight_decay=settings["weight_decay"],
                                nesterov=settings["nesterov"])
    seconds = []
    while len(seconds) < total:
        model.train()
        tick = time.perf_counter()
        for images, labels in trainer.train_loader:
            images, labels = torch.from_numpy(images.data), torch.from_numpy(labels.data)
            logits = model(images)
            loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
            if not math.isfinite(float(loss.item())):
                raise RuntimeError(f"PyTorch's loss became {loss.item()} at step {len(seconds)}")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if schedule is not None:  # minicnn's (PyTorch's formulas) sets the next step's lr
                schedule.step()
                for group in optimizer.param_groups:
                    group["lr"] = settings["lr"]
            int((logits.argmax(dim=1) == labels).sum())  # the Trainer counts correct predictions
            now = time.perf_counter()
            seconds.append(now - tick)
            tick = now
            if len(seconds) == total:
                break
    return seconds, config.batch_size


def _child(engine, total):
    with tempfile.TemporaryDirectory() as folder:
        steps = _minicnn_steps if engine == "minicnn" else _torch_steps
        seconds, batch = steps(total, folder)
    print(json.dumps({"seconds": seconds, "batch": batch}))


def _run_child(engine, steps, warmup):
    return run_child(__file__, "--child", engine, "--steps", steps, "--warmup", warmup)


def measure(steps, warmup, repeats):
    """{engine: (median images/s over processes, median step ms over all timed steps)}."""
    rates, step_ms = {"minicnn": [], "torch": []}, {"minicnn": [], "torch": []}
    for repeat in range(repeats):
        for engine in ("minicnn", "torch"):
            out = _run_child(engine, steps, warmup)
            timed = out["seconds"][warmup:]
            rates[engine].append(out["batch"] * len(timed) / sum(timed))
            step_ms[engine] += [1e3 * s for s in timed]
            print(f"  {engine} process {repeat + 1}/{repeats}: {rates[engine][-1]:,.0f} img/s",
                  file=sys.stderr, flush=True)
    return {engine: (statistics.median(rates[engine]), statistics.median(step_ms[engine]))
            for engine in rates}


def report(result, args):
    import numpy as np
    import torch

    from minicnn.train.config import DEFAULT_MODEL, DEFAULT_MODEL_KWARGS

    (ours, ours_ms), (theirs, theirs_ms) = result["minicnn"], result["torch"]
    command = shlex.join(["python", "benchmarks/train_speed.py", *sys.argv[1:]])
    kwargs = ", ".join(f"{key}={value}" for key, value in DEFAULT_MODEL_KWARGS.items())
    return "\n".join([
        "# Training speed: `minicnn train`'s default run vs PyTorch (CPU, float32)",
        "",
        f"`{command}` — {DEFAULT_MODEL} ({kwargs}) on the bundled digits, batch 32, SGD "
        f"(TrainConfig's defaults), {THREADS} threads for both engines; each engine in its own "
        f"process, alternating, {args.repeats} processes per engine x {args.steps} timed steps "
        f"after {args.warmup} warm-up steps; images/s per process over the timed steps, median "
        f"over processes. Timed: each training step including fetching its batch, as the img/s "
        f"that `minicnn train` prints (not the per-epoch evaluation, checkpoints and plots). "
        f"NumPy {np.__version__}, PyTorch {torch.__version__}.",
        "",
        "| engine | images/s | median step ms |",
        "|---|---:|---:|",
        f"| minicnn (`minicnn train`) | {ours:,.0f} | {ours_ms:.1f} |",
        f"| PyTorch (same model, data, optimizer) | {theirs:,.0f} | {theirs_ms:.1f} |",
        "",
        f"Time ratio minicnn / PyTorch (PyTorch's images/s over minicnn's): {theirs / ours:.2f}.",
    ]) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"],
                        help="timed steps per process")
    parser.add_argument("--warmup", type=int, default=DEFAULTS["warmup"],
                        help="steps left out at the start of each process")
    parser.add_argument("--repeats", type=int, default=DEFAULTS["repeats"],
                        help="processes per engine")
    parser.add_argument("--out", help="the markdown file to write (default: "
                        "benchmarks/results/train_speed.md for a run with the default settings; "
                        "other runs write only with --out)")
    parser.add_argument("--child", choices=["minicnn", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in DEFAULTS:
        if getattr(args, name) < (0 if name == "warmup" else 1):
            parser.error(f"--{name} must be an integer >= {0 if name == 'warmup' else 1}, "
                         f"got {getattr(args, name)}")
    if args.child:
        return _child(args.child, args.warmup + args.steps)

    result = measure(args.steps, args.warmup, args.repeats)
    (ours, ours_ms), (theirs, theirs_ms) = result["minicnn"], result["torch"]
    print(f"minicnn {ours:,.0f} img/s ({ours_ms:.1f} ms/step), PyTorch {theirs:,.0f} img/s "
          f"({theirs_ms:.1f} ms/step): time ratio {theirs / ours:.2f}")
    out = args.out
    if out is None and all(getattr(args, name) == value for name, value in DEFAULTS.items()):
        out = os.path.join(ROOT, "benchmarks", "results", "train_speed.md")
    if out is not None:
        with open(out, "w") as f:
            f.write(report(result, args))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
