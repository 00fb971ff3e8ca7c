"""Data-parallel training on MPI: measured at 1 and 2 ranks, predicted for 4-64 ranks.

Measured on this machine, one thread per rank (``OMP_NUM_THREADS=1``):

* ``minicnn train`` images/s at 1 and 2 ranks (``mpiexec -n N python -m minicnn
  train``, one epoch on the bundled digits; the figure is the epoch's
  ``images_per_second`` from metrics.csv, evaluation excluded);
* per step at each rank count, from a timing loop on the same model and
  per-rank batch: forward, backward (with DistributedDataParallel's bucketed
  all-reduces when N > 1) and the time of one blocking all-reduce of all the
  gradients (4 P bytes for P float32 parameters) on its own.

Predicted, for N = 4..64 ranks at 10 and 100 Gbit/s, from the 1-rank compute
time and the ring all-reduce cost model of docs/distributed.md::

    T_allreduce = 2 (N-1) alpha + 2 (N-1)/N * 4P / beta
    T_step      = T_forward + T_backward + T_allreduce                 (no overlap)
    T_step'     = T_forward + max(T_backward, T_allreduce)             (perfect overlap)
    images/s    = N b / T_step,  efficiency = T_compute / T_step

Assumptions (stated in the output): one rank per machine, each machine as fast
as this one's single thread; alpha = 20 us per message at 10 Gbit/s
(Ethernet, TCP) and 2 us at 100 Gbit/s (InfiniBand/RDMA); beta = the link's
nominal rate (no protocol overhead); SyncBatchNorm's small all-reduces add
2 L_bn (2 log2 N) alpha (latency-bound recursive doubling); the optimizer step
and the data loading are inside the compute time and do not shrink with N.

    python benchmarks/distributed.py                 # about a minute
    python benchmarks/distributed.py --steps 5 --quick
    python benchmarks/distributed.py --out benchmarks/results/distributed.md

The worker half (``--worker``) runs under mpiexec; the driver launches it.
"""
import argparse
import csv
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
LINKS = {"10 Gbit/s": (10e9 / 8, 20e-6), "100 Gbit/s": (100e9 / 8, 2e-6)}
PREDICTED_RANKS = (4, 8, 16, 32, 64)


def _env():
    threads = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT), **threads)


def _mpiexec():
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


# ------------------------------------------------------------------ worker (under mpiexec)
def worker(args):
    import numpy as np

    import minicnn
    from minicnn import distributed as dist
    from minicnn import nn
    from minicnn.nn import functional as F
    from minicnn.nn.parallel import DistributedDataParallel
    from minicnn.optim import SGD
    from minicnn.train.models import build_model, model_kwargs_for

    dist.init()
    rank, world = dist.get_rank(), dist.get_world_size()
    minicnn.manual_seed(0)
    from minicnn.train.config import DEFAULT_MODEL, DEFAULT_MODEL_KWARGS

    # As minicnn train builds it for the digits (the default model at its digits width).
    extra = DEFAULT_MODEL_KWARGS if args.model == DEFAULT_MODEL else None
    model = build_model(args.model, model_kwargs_for((1, 8, 8), 10, extra))
    bn_layers = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    if world > 1:
        model = DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(model))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = SGD(params, lr=0.01, momentum=0.9)
    rng = np.random.default_rng(rank)
    x = minicnn.tensor(rng.standard_normal((args.batch_size, 1, 8, 8)).astype(np.float32))
    y = minicnn.tensor(rng.integers(0, 10, args.batch_size))
    forward, backward = [], []
    for step in range(args.steps + 2):  # two warm-up steps (Numba compiles, buffers)
        dist.barrier()
        start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        middle = time.perf_counter()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        end = time.perf_counter()
        if step >= 2:
            forward.append(middle - start)
            backward.append(end - middle)
    size = sum(p.numel() for p in params)
    buffer = np.ones(size, dtype=np.float32)
    reduce_times = []
    for _ in range(args.steps + 2):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(buffer)
        reduce_times.append(time.perf_counter() - start)
    if rank == 0:
        print(json.dumps({"world": world, "parameters": size, "bn_layers": bn_layers,
                          "forward": float(np.median(forward)),
                          "backward": float(np.median(backward)),
                          "allreduce": float(np.median(reduce_times[2:]))}))


# ------------------------------------------------------------------ driver
def measure_steps(ranks, args):
    command = [_mpiexec(), "-n", str(ranks), sys.executable, __file__, "--worker",
               "--model", args.model, "--batch-size", str(args.batch_size),
               "--steps", str(args.steps)]
    result = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        raise SystemExit(f"worker at {ranks} ranks failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_train(ranks, args):
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "run")
        command = [_mpiexec(), "-n", str(ranks), sys.executable, "-m", "minicnn", "train",
                   "--batch-size", str(args.batch_size), "--epochs", "1", "--out", out]
        if args.model != "resnet18":  # the default keeps its digits width
            command += ["--model", args.model]
        result = subprocess.run(command, env=_env(), capture_output=True, text=True,
                                timeout=3600, cwd=str(REPO_ROOT))
        if result.returncode != 0:
            raise SystemExit(f"minicnn train at {ranks} ranks failed:\n{result.stderr}")
        with open(os.path.join(out, "metrics.csv")) as stream:
            return float(next(csv.DictReader(stream))["images_per_second"])


def predict(one, batch_size):
    compute = one["forward"] + one["backward"]
    nbytes = 4 * one["parameters"]
    rows = []
    for ranks in PREDICTED_RANKS:
        row = [ranks]
        for bandwidth, latency in LINKS.values():
            ring = 2 * (ranks - 1) * latency + 2 * (ranks - 1) / ranks * nbytes / bandwidth
            sync_bn = 2 * one["bn_layers"] * 2 * math.log2(ranks) * latency
            serial = compute + ring + sync_bn
            overlapped = one["forward"] + max(one["backward"], ring) + sync_bn
            row += [1e3 * ring, 1e3 * serial, 1e3 * overlapped, ranks * batch_size / serial,
                    compute / serial]
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--batch-size", type=int, default=32, help="per rank")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per rank count")
    parser.add_argument("--quick", action="store_true", help="skip the minicnn train runs")
    parser.add_argument("--out", help="also write the report (markdown) here")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    lines = [f"# Data-parallel training: {args.model}, batch {args.batch_size} per rank, "
             f"1 thread per rank", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}.", ""]
    measured = {ranks: measure_steps(ranks, args) for ranks in (1, 2)}
    trained = {} if args.quick else {ranks: measure_train(ranks, args) for ranks in (1, 2)}
    lines += ["| ranks | minicnn train images/s | forward ms | backward (+DDP) ms | "
              "all-reduce of all gradients ms |", "|---|---|---|---|---|"]
    for ranks, m in measured.items():
        lines.append(f"| {ranks} | {trained.get(ranks, float('nan')):,.0f} | "
                     f"{1e3 * m['forward']:.1f} | {1e3 * m['backward']:.1f} | "
                     f"{1e3 * m['allreduce']:.2f} |")
    one = measured[1]
    lines += ["", f"{one['parameters']:,} parameters ({4 * one['parameters'] / 2**20:.1f} MiB of "
              f"float32 gradients), {one['bn_layers']} BatchNorm layers.", "",
              "Predicted step time (ms) and throughput from the 1-rank compute time and the ring "
              "all-reduce model (docs/distributed.md). Assumptions: one rank per machine, each as "
              "fast as this one's single thread; alpha = 20 us at 10 Gbit/s, 2 us at 100 Gbit/s; "
              "the link's nominal bandwidth; SyncBatchNorm's all-reduces latency-bound.", ""]
    header = "| ranks |"
    for link in LINKS:
        header += (f" {link}: all-reduce | step, no overlap | step, overlapped | images/s | "
                   f"efficiency |")
    lines += [header, "|---" * (1 + 5 * len(LINKS)) + "|"]
    for row in predict(one, args.batch_size):
        cells = [str(row[0])]
        for start in range(1, len(row), 5):
            ring, serial, overlapped, images, efficiency = row[start:start + 5]
            cells += [f"{ring:.2f}", f"{serial:.1f}", f"{overlapped:.1f}", f"{images:,.0f}",
                      f"{100 * efficiency:.0f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        Path(args.out).write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
