"""The implementation ladder, measured: time and peak memory of every rung of one convolution.

For each operator (dense conv2d and depthwise conv) at one configuration, every rung
of :mod:`minicnn.ladder` runs in its own fresh process (so one rung's allocations,
caches and compiled code cannot help another):

* time: the forward, and the backward (input gradient + weight gradient), float32: the
  median (and the best) of ``--rounds`` (3) interleaved rounds of ``--repeats`` (5) runs,
  each round a fresh process with one warm-up run (the naive loops run once, no
  warm-up: they take seconds and have nothing to warm). On a shared machine the best run
  shows what the code can do, the median what it did;
* peak memory: how far the resident set's high-water mark rises above the resident set
  just before the forward (and before the backward), read from /proc after resetting the
  mark (``/proc/self/clear_refs``). It counts everything: NumPy arrays, BLAS and Numba
  buffers, Python objects. The child runs with ``MALLOC_MMAP_THRESHOLD_=65536`` so that
  large temporaries are mapped and unmapped per allocation (glibc's adaptive threshold
  would otherwise keep freed blocks resident and hide later allocations). The NumPy
  peak (tracemalloc: what NumPy allocated, Numba's buffers excluded) is reported beside it.

The CUDA rung runs where CuPy finds a GPU (time with a device synchronise, memory as
CuPy's pool); elsewhere its row says why not.

    python benchmarks/ladder.py                          # both operators, print the tables
    python benchmarks/ladder.py --write docs/ladder.md   # and put them into the page
    python benchmarks/ladder.py --quick                  # tiny shapes (a smoke test)
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIGS = {
    "conv2d": dict(N=8, C=16, H=64, W=64, C_out=16, k=3, stride=1, padding=1),
    "depthwise_conv2d": dict(N=8, C=32, H=64, W=64, C_out=32, k=3, stride=1, padding=1),
}
QUICK = {
    "conv2d": dict(N=1, C=2, H=6, W=6, C_out=2, k=3, stride=1, padding=1),
    "depthwise_conv2d": dict(N=1, C=2, H=6, W=6, C_out=2, k=3, stride=1, padding=1),
}
START, END = "<!-- ladder-table:start -->", "<!-- ladder-table:end -->"


# ----------------------------------------------------------------------------- the child
def _status(field):
    return int(re.search(rf"{field}:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def _reset_peak():
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def _measure_rss(fn):
    """``(result, seconds, peak extra MB)`` of one call."""
    _reset_peak()
    before = _status("VmRSS")
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    return result, seconds, (_status("VmHWM") - before) / 1024


def child(op, impl, config, repeats):
    import tracemalloc

    import minicnn.ladder as ladder

    rung = ladder.rung(op, impl)
    groups = config["C"] if op == "depthwise_conv2d" else 1
    rng = np.random.default_rng(0)
    x = rng.standard_normal((config["N"], config["C"], config["H"], config["W"])).astype(np.float32)
    w = rng.standard_normal((config["C_out"], config["C"] // groups, config["k"], config["k"])
                            ).astype(np.float32)
    pad = config["padding"]
    conf = ((config["stride"],) * 2, ((pad, pad), (pad, pad)), (1, 1), groups)
    gpu = impl == "cuda" and "simulator" not in ladder.available("cuda")[1]
    sync = lambda: None  # noqa: E731
    if gpu:
        import cupy

        x, w = cupy.asarray(x), cupy.asarray(w)
        sync = cupy.cuda.Device().synchronize

    def forward():
        y = rung.forward(x, w, None, *conf)
        sync()
        return y

    def backward(gy):
        grads = (rung.grad_input(gy, w, x.shape, *conf), rung.grad_weight(x, gy, w.shape, *conf))
        sync()
        return grads

    result = {"op": op, "impl": impl, "repeats": 1 if impl == "naive" else repeats}
    if impl == "naive":  # one run, measured for time and memory at once
        y, fwd, result["fwd_rss_mb"] = _measure_rss(forward)
        gy = np.ones_like(y)
        _, bwd, result["bwd_rss_mb"] = _measure_rss(lambda: backward(gy))
        result.update(fwd_times=[fwd * 1e3], bwd_times=[bwd * 1e3])
        return result
    y = forward()  # warm-up: Numba compiles, BLAS starts its threads
    gy = y * 0 + 1
    backward(gy)
    if gpu:
        pool = cupy.get_default_memory_pool()
        for phase, fn in (("fwd", forward), ("bwd", lambda: backward(gy))):
            pool.free_all_blocks()
            held = pool.used_bytes()
            fn()
            result[f"{phase}_gpu_mb"] = (pool.total_bytes() - held) / 2**20
    else:
        del y
        _, _, result["fwd_rss_mb"] = _measure_rss(forward)
        _, _, result["bwd_rss_mb"] = _measure_rss(lambda: backward(gy))
        tracemalloc.start()
        for phase, fn in (("fwd", forward), ("bwd", lambda: backward(gy))):
            tracemalloc.reset_peak()
            held = tracemalloc.get_traced_memory()[0]
            fn()
            result[f"{phase}_traced_mb"] = (tracemalloc.get_traced_memory()[1] - held) / 2**20
        tracemalloc.stop()
    for phase, fn in (("fwd", forward), ("bwd", lambda: backward(gy))):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        result[f"{phase}_times"] = [t * 1e3 for t in times]
    return result


# ----------------------------------------------------------------------------- the parent
def run_rung(op, impl, config, repeats, threads=None):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", PYTHONPATH=str(REPO))
    if threads:
        env.update({name: str(threads) for name in (
            "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    command = [sys.executable, __file__, "--child", op, impl, json.dumps(config), str(repeats)]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{op}/{impl} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(op, impls, config, repeats, rounds, threads=None):
    """Every rung of ``impls``, in ``rounds`` interleaved rounds of fresh processes (so a
    stretch of load on a shared machine hits every rung alike); times are pooled over the
    rounds, memory comes from the first round. The naive loops run once."""
    results = {}
    for round_ in range(rounds):
        for impl in impls:
            if impl == "naive" and round_:
                continue
            result = run_rung(op, impl, config, repeats, threads)
            print(f"{op} {impl} round {round_}: {result}", file=sys.stderr)
            if impl not in results:
                results[impl] = result
            else:
                for phase in ("fwd", "bwd"):
                    results[impl][f"{phase}_times"] += result[f"{phase}_times"]
    for result in results.values():
        result["repeats"] = len(result["fwd_times"])
        for phase in ("fwd", "bwd"):
            result[f"{phase}_ms"] = statistics.median(result[f"{phase}_times"])
            result[f"{phase}_best_ms"] = min(result[f"{phase}_times"])
    return [results[impl] for impl in impls]


def _mb(value):
    return "-" if value is None else f"{value:.1f}"


def table(op, config, results, unavailable):
    macs = config["N"] * config["C_out"] * config["H"] * config["W"] * config["k"] ** 2 * (
        1 if op == "depthwise_conv2d" else config["C"])
    naive = next((r for r in results if r["impl"] == "naive"), None)
    lines = [f"**{op}**: input ({config['N']}, {config['C']}, {config['H']}, {config['W']}), "
             f"weight ({config['C_out']}, {1 if op == 'depthwise_conv2d' else config['C']}, "
             f"{config['k']}, {config['k']}), stride {config['stride']}, padding "
             f"{config['padding']}, float32: {macs:,} multiply-accumulates per pass.", "",
             "| rung | forward, ms: median (best) | backward, ms: median (best) | "
             "speed-up over naive (fwd + bwd, medians) | "
             "peak extra memory fwd / bwd (MiB, RSS) | NumPy-allocated peak fwd / bwd (MiB) | runs |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        speedup = ((naive["fwd_ms"] + naive["bwd_ms"]) / (r["fwd_ms"] + r["bwd_ms"])
                   if naive else float("nan"))
        if "fwd_gpu_mb" in r:
            memory, traced = f"{_mb(r['fwd_gpu_mb'])} / {_mb(r['bwd_gpu_mb'])} (GPU pool)", "-"
        else:
            memory = f"{_mb(r['fwd_rss_mb'])} / {_mb(r['bwd_rss_mb'])}"
            traced = f"{_mb(r.get('fwd_traced_mb'))} / {_mb(r.get('bwd_traced_mb'))}"
        lines.append(f"| {r['impl']} | {r['fwd_ms']:,.2f} ({r['fwd_best_ms']:,.2f}) | "
                     f"{r['bwd_ms']:,.2f} ({r['bwd_best_ms']:,.2f}) | {speedup:,.0f}x | "
                     f"{memory} | {traced} | {r['repeats']} |")
    for impl, reason in unavailable:
        lines.append(f"| {impl} | not run: {reason} | | | | | |")
    return "\n".join(lines)


def conditions(command, load_before, threads=None):
    import numba

    cpu = "unknown CPU"
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    return (f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {cpu}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}, "
            f"Numba {numba.__version__}, {threads or numba.config.NUMBA_NUM_THREADS} thread(s) for "
            f"Numba and BLAS; load average "
            f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (the machine was shared "
            f"with other jobs). Command: `{command}`.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=4, metavar=("OP", "IMPL", "CONFIG", "REPEATS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--op", choices=["conv2d", "depthwise_conv2d", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per rung and round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (fresh processes)")
    parser.add_argument("--threads", type=int, help="threads for Numba and BLAS (default: theirs)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes: a smoke test")
    parser.add_argument("--write", metavar="PAGE", help="replace the table between the markers "
                                                       f"{START} ... {END} of PAGE")
    args = parser.parse_args(argv)
    if args.child:
        op, impl, config, repeats = args.child
        print(json.dumps(child(op, impl, json.loads(config), int(repeats))))
        return 0

    import minicnn.ladder as ladder

    load_before = os.getloadavg()
    command = "python benchmarks/ladder.py" + (" --quick" if args.quick else "") + (
        f" --repeats {args.repeats}" if args.repeats != 5 else "") + (
        f" --rounds {args.rounds}" if args.rounds != 3 else "") + (
        f" --threads {args.threads}" if args.threads else "") + (
        f" --op {args.op}" if args.op != "all" else "")
    configs = QUICK if args.quick else CONFIGS
    blocks = []
    for op in (list(configs) if args.op == "all" else [args.op]):
        runnable, unavailable = [], []
        for impl in ladder.IMPLEMENTATIONS[op]:
            ok, reason = ladder.available(impl)
            (runnable.append(impl) if ok else unavailable.append((impl, reason)))
        results = measure(op, runnable, configs[op], args.repeats, args.rounds, args.threads)
        blocks.append(table(op, configs[op], results, unavailable))
    text = "\n\n".join(blocks + [conditions(command, load_before, args.threads)]) + "\n"
    print(text)
    if args.write:
        page = Path(args.write)
        content = page.read_text(encoding="utf-8")
        if START not in content or END not in content:
            raise SystemExit(f"{page} has no {START} ... {END} markers")
        before, rest = content.split(START, 1)
        page.write_text(before + START + "\n" + text + END + rest.split(END, 1)[1], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
