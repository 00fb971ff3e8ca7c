"""GPU kernels: minicnn's Numba CUDA kernels against PyTorch (cuDNN) on one GPU, in one run.

For each kernel (or kernel pair, e.g. batch-norm statistics + normalisation)
at a MobileNetV3 / ResNet-sized shape, batch 128 by default, float32:

* ``ours ms``: median GPU time of one call of minicnn's launcher on CuPy
  arrays, timed with CUDA events after warm-up (``--repeats`` samples);
* ``torch ms``: the same for PyTorch's CUDA operator (cuDNN where PyTorch
  uses it), on the same data (shared through ``__cuda_array_interface__``);
* ``ratio`` = ours / torch (below 1: minicnn is faster);
* ``GB/s`` and ``% copy``: the kernel's minimal memory traffic (each input
  read once, each output written once, unless the row says otherwise)
  divided by our time, and that as a fraction of the device's measured
  device-to-device copy bandwidth (``2 * bytes / time`` of a 1 GiB
  ``cudaMemcpy``). The issue's targets: depthwise conv, batch norm,
  hardswish and channel shuffle within 1.5x of PyTorch and at >= 50% of copy
  bandwidth; dense conv (im2col + cuBLAS) within 3x of cuDNN.
* ``max|diff|``: the largest difference between our output and PyTorch's
  (a sanity check; the tests in tests/kernels/ are the correctness proof).

Event times include any gap while the GPU waits for the host: Numba's
launch path costs some tens of microseconds per kernel launch in Python, so
for kernels shorter than that the time measures the launch, not the kernel.
``NUMBA_CUDA_ARRAY_INTERFACE_SYNC=0`` is set (unless already set) so Numba
does not synchronise CuPy's stream on every launch: CuPy, PyTorch and these
launches all use the legacy default stream, which orders them anyway.

Needs a CUDA GPU, CuPy (``cupy-cuda13x``) and numba-cuda; PyTorch with CUDA
is optional (without it the torch columns are empty). Installs nothing.

    python benchmarks/gpu.py                       # all rows, batch 128
    python benchmarks/gpu.py --quick               # batch 32, fewer repeats
    python benchmarks/gpu.py --out benchmarks/results/gpu.md depthwise batchnorm
"""
import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_CUDA_ARRAY_INTERFACE_SYNC", "0")

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Timed samples of a whole-model training step (each takes up to a few seconds).
MODEL_REPEATS = 5
DEVICE = "cuda"  # PyTorch's device for the comparison tensors


# ------------------------------------------------------------------ setup
def environment_problem():
    """None when a GPU, CuPy and numba.cuda are usable, else a sentence saying what is missing."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "NUMBA_ENABLE_CUDASIM=1 is set: unset it to time the real GPU"
    try:
        import cupy
    except ImportError as error:
        return f"CuPy is not installed ({error}); it needs cupy-cuda13x"
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            return "no CUDA device"
    except Exception as error:  # noqa: BLE001 (no driver, ...)
        return f"no usable CUDA driver/device: {type(error).__name__}: {error}"
    try:
        from numba import cuda
        if not cuda.is_available():
            return "numba.cuda sees no GPU (is numba-cuda installed?)"
    except Exception as error:  # noqa: BLE001
        return f"numba.cuda unusable: {type(error).__name__}: {error}"
    return None


def load_kernels():
    sys.path.insert(0, str(REPO_ROOT))
    try:
        import kernels
        return kernels
    except ImportError:
        from minicnn import _kernels
        return _kernels


def load_torch():
    """``(torch, None)``, or ``(None, reason)`` when PyTorch with CUDA is unavailable."""
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed"
    if not torch.cuda.is_available():
        return None, f"PyTorch {torch.__version__} has no CUDA (a CPU build?)"
    torch.backends.cudnn.benchmark = True  # let cuDNN pick its fastest algorithm
    # Full float32 on both sides: CuPy's matmul is plain FP32 SGEMM, so no TF32 for cuDNN.
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch, None


class Timer:
    """Median GPU milliseconds of ``fn()`` with CUDA events, after warm-up."""

    def __init__(self, warmup, repeats):
        self.warmup, self.repeats = warmup, repeats

    def cupy(self, fn):
        import cupy

        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        return self._run(fn, start, end, cupy.cuda.get_elapsed_time,
                         cupy.cuda.runtime.deviceSynchronize)

    def torch(self, fn, torch):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        return self._run(fn, start, end, lambda s, e: s.elapsed_time(e), torch.cuda.synchronize)

    def _run(self, fn, start, end, elapsed, synchronize):
        for _ in range(self.warmup):
            fn()
        synchronize()
        samples = []
        for _ in range(self.repeats):
            start.record()
            fn()
            end.record()
            end.synchronize()
            samples.append(elapsed(start, end))
        return statistics.median(samples)


def copy_bandwidth(timer):
    """Device-to-device copy bandwidth in GB/s: 2 * bytes / time of a 1 GiB cudaMemcpy."""
    import cupy

    nbytes = 1 << 30
    src = cupy.ones(nbytes // 4, dtype=cupy.float32)
    dst = cupy.empty_like(src)
    ms = timer.cupy(lambda: dst.data.copy_from_device(src.data, nbytes))
    return 2 * nbytes / (ms * 1e-3) / 1e9


# ------------------------------------------------------------------ cases
class Case:
    """One row: our call, PyTorch's call, bytes moved, and an optional output comparison."""

    def __init__(self, group, name, ours, theirs=None, nbytes=None, diff=None, flops=None,
                 note="", repeats=None):
        self.group, self.name, self.ours, self.theirs = group, name, ours, theirs
        self.nbytes, self.diff, self.flops, self.note = nbytes, diff, flops, note
        self.repeats = repeats  # fewer samples for whole training steps (seconds each)


def build_cases(k, torch, batch):
    """The rows, as closures over preallocated CuPy arrays (and torch views of them).

    Each group is built in its own function, so every closure sees its own
    arrays (a closure reads a variable when called, not when made).
    """
    import cupy
    import numpy as np

    rng = np.random.default_rng(0)
    f4 = 4  # bytes per float32
    tf = torch.nn.functional if torch is not None else None

    def rand(*shape):
        return cupy.asarray(rng.standard_normal(shape, dtype=np.float32))

    def tv(array):  # a torch view of a CuPy array (no copy)
        return torch.as_tensor(array, device=DEVICE) if torch is not None else None

    def maxdiff(ours, theirs_fn):
        """max |ours - theirs_fn()|, for the row's output check (None without PyTorch)."""
        if torch is None:
            return None
        return lambda: float(cupy.abs(ours - cupy.asarray(theirs_fn())).max())

    def if_torch(fn):
        return fn if torch is not None else None

    def im2col_rows():
        n, c, h, w, co = batch, 64, 56, 56, 64
        x = rand(n, c, h, w)
        cols = cupy.empty((n, c * 9, h * w), cupy.float32)
        x_back = cupy.empty_like(x)
        weight2d = rand(co, c * 9)  # row (c*3 + u)*3 + v: the cols layout
        y_conv = cupy.empty((n, co, h * w), cupy.float32)
        xt, colst = tv(x), tv(cols)
        wt = tv(weight2d).reshape(co, c, 3, 3) if torch is not None else None
        shape = f"({n},{c},{h},{w}) 3x3 p1"

        def dense_conv():
            k.im2col.im2col(x, cols, 3, 1, 1, 1, (h, w))
            cupy.matmul(weight2d, cols, out=y_conv)  # (Co, C*9) @ (N, C*9, H*W) -> (N, Co, H*W)

        return [
            Case("im2col", f"im2col {shape}", lambda: k.im2col.im2col(x, cols, 3, 1, 1, 1, (h, w)),
                 if_torch(lambda: tf.unfold(xt, 3, padding=1)), (x.size + cols.size) * f4,
                 diff=maxdiff(cols, lambda: tf.unfold(xt, 3, padding=1))),
            Case("im2col", f"col2im {shape}",
                 lambda: k.im2col.col2im(cols, x_back, 3, 1, 1, 1, (h, w)),
                 if_torch(lambda: tf.fold(colst, (h, w), 3, padding=1)), (x.size + cols.size) * f4,
                 diff=maxdiff(x_back, lambda: tf.fold(colst, (h, w), 3, padding=1))),
            Case("conv", f"conv 3x3 {c}->{co} ({n},{c},{h},{w}) im2col+cuBLAS vs cuDNN",
                 dense_conv, if_torch(lambda: tf.conv2d(xt, wt, padding=1)),
                 flops=2 * n * co * c * 9 * h * w,
                 diff=maxdiff(y_conv, lambda: tf.conv2d(xt, wt, padding=1).reshape(n, co, -1))),
        ]

    def depthwise_rows(c, size, kernel, stride):
        pad = kernel // 2
        out = (size + 2 * pad - kernel) // stride + 1
        x, wd = rand(batch, c, size, size), rand(c, 1, kernel, kernel)
        y, g = cupy.empty((batch, c, out, out), cupy.float32), rand(batch, c, out, out)
        dx, dw = cupy.empty_like(x), cupy.empty_like(wd)
        xt, wdt, gt = tv(x), tv(wd), tv(g)
        label = f"({batch},{c},{size},{size}) {kernel}x{kernel} s{stride}"
        kw = dict(stride=stride, padding=pad, groups=c)
        return [
            Case("depthwise", f"depthwise fwd {label}",
                 lambda: k.depthwise.depthwise_forward(x, wd, y, stride, pad, 1),
                 if_torch(lambda: tf.conv2d(xt, wdt, **kw)), (x.size + y.size) * f4,
                 diff=maxdiff(y, lambda: tf.conv2d(xt, wdt, **kw))),
            Case("depthwise", f"depthwise grad_input {label}",
                 lambda: k.depthwise.depthwise_grad_input(g, wd, dx, stride, pad, 1),
                 if_torch(lambda: torch.nn.grad.conv2d_input(xt.shape, wdt, gt, **kw)),
                 (g.size + x.size) * f4,
                 diff=maxdiff(dx, lambda: torch.nn.grad.conv2d_input(xt.shape, wdt, gt, **kw))),
            Case("depthwise", f"depthwise grad_weight {label}",
                 lambda: k.depthwise.depthwise_grad_weight(x, g, dw, stride, pad, 1),
                 if_torch(lambda: torch.nn.grad.conv2d_weight(xt, wdt.shape, gt, **kw)),
                 (g.size + x.size) * f4,
                 diff=maxdiff(dw, lambda: torch.nn.grad.conv2d_weight(xt, wdt.shape, gt, **kw))),
        ]

    def shuffle_rows():
        x = rand(batch, 116, 28, 28)
        y = cupy.empty_like(x)
        xt = tv(x)
        return [Case("shuffle", f"channel_shuffle ({batch},116,28,28) g=2",
                     lambda: k.shuffle.channel_shuffle(x, y, 2),
                     if_torch(lambda: tf.channel_shuffle(xt, 2)), 2 * x.size * f4,
                     diff=maxdiff(y, lambda: tf.channel_shuffle(xt, 2)))]

    def batchnorm_rows(c, size):
        x, g = rand(batch, c, size, size), rand(batch, c, size, size)
        wb, bb = rand(c), rand(c)
        mean, var, inv_std = (cupy.empty(c, cupy.float32) for _ in range(3))
        sum_g, sum_gx = cupy.empty(c, cupy.float32), cupy.empty(c, cupy.float32)
        y, z, dx = cupy.empty_like(x), cupy.empty_like(x), cupy.empty_like(x)
        workspace = cupy.empty(k.batchnorm.workspace_shape(x.shape), cupy.float64)
        label = f"({batch},{c},{size},{size})"

        def stats():
            k.batchnorm.batchnorm_stats(x, mean, var, inv_std, 1e-5, workspace=workspace)

        def bn_forward():
            stats()
            k.batchnorm.batchnorm_forward(x, mean, inv_std, wb, bb, y)

        def bn_backward():
            k.batchnorm.batchnorm_backward(g, x, mean, inv_std, wb, dx, sum_gx, sum_g,
                                           workspace=workspace)

        def bnhs_fused():
            stats()
            k.fused.bn_hardswish_forward(x, mean, inv_std, wb, bb, y)

        def bnhs_unfused():
            stats()
            k.batchnorm.batchnorm_forward(x, mean, inv_std, wb, bb, z)
            k.activation.hardswish_forward(z, y)

        def bnhs_backward():
            k.fused.bn_hardswish_backward(g, x, mean, inv_std, wb, bb, dx, sum_gx, sum_g,
                                          workspace=workspace)

        torch_fns = dict.fromkeys(("bn", "bn_back", "bnhs", "bnhs_back"))
        if torch is not None:
            xt, gt, wt, bt = tv(x), tv(g), tv(wb), tv(bb)
            xg = xt.detach().clone().requires_grad_(True)
            wg = wt.detach().clone().requires_grad_(True)
            bg = bt.detach().clone().requires_grad_(True)
            rm, rv = torch.zeros(c, device=DEVICE), torch.ones(c, device=DEVICE)
            y_graph = tf.batch_norm(xg, rm.clone(), rv.clone(), wg, bg, training=True)
            hs_graph = tf.hardswish(tf.batch_norm(xg, rm.clone(), rv.clone(), wg, bg,
                                                  training=True))
            torch_fns.update(
                bn=lambda: tf.batch_norm(xt, rm, rv, wt, bt, training=True),
                bn_back=lambda: torch.autograd.grad(y_graph, (xg, wg, bg), gt, retain_graph=True),
                bnhs=lambda: tf.hardswish(tf.batch_norm(xt, rm, rv, wt, bt, training=True)),
                bnhs_back=lambda: torch.autograd.grad(hs_graph, (xg, wg, bg), gt,
                                                      retain_graph=True))
        t = torch_fns
        return [
            Case("batchnorm", f"batch norm train fwd {label}", bn_forward, t["bn"],
                 3 * x.size * f4, diff=maxdiff(y, t["bn"]),
                 note="traffic: stats read x; then read x, write y"),
            Case("batchnorm", f"batch norm train bwd {label}", bn_backward, t["bn_back"],
                 5 * x.size * f4,
                 diff=maxdiff(dx, lambda: t["bn_back"]()[0]),
                 note="traffic: sums read g, x; then read g, x, write dx"),
            Case("fused", f"BN+hardswish fwd fused {label}", bnhs_fused, t["bnhs"],
                 3 * x.size * f4, diff=maxdiff(y, t["bnhs"])),
            Case("fused", f"BN+hardswish fwd unfused (ours) {label}", bnhs_unfused, t["bnhs"],
                 5 * x.size * f4, note="traffic: + write z, read z"),
            Case("fused", f"BN+hardswish bwd fused {label}", bnhs_backward, t["bnhs_back"],
                 5 * x.size * f4, diff=maxdiff(dx, lambda: t["bnhs_back"]()[0])),
        ]

    def activation_rows(name):
        x, g = rand(batch, 64, 56, 56), rand(batch, 64, 56, 56)
        y, dx = cupy.empty_like(x), cupy.empty_like(x)
        xt, gt = tv(x), tv(g)
        label = f"({batch},64,56,56)"
        forward = getattr(k.activation, name + "_forward")
        backward = getattr(k.activation, name + "_backward")
        torch_fwd = if_torch(lambda: getattr(tf, name)(xt))
        torch_bwd = if_torch(lambda: getattr(torch.ops.aten, name + "_backward")(gt, xt))
        return [
            Case("activation", f"{name} fwd {label}", lambda: forward(x, y), torch_fwd,
                 2 * x.size * f4, diff=maxdiff(y, torch_fwd)),
            Case("activation", f"{name} bwd {label}", lambda: backward(x, g, dx), torch_bwd,
                 3 * x.size * f4, diff=maxdiff(dx, torch_bwd)),
        ]

    def se_rows():
        x, g, s = rand(batch, 96, 28, 28), rand(batch, 96, 28, 28), rand(batch, 96, 1, 1)
        y, ds = cupy.empty_like(x), cupy.empty_like(s)
        xt, gt, st = tv(x), tv(g), tv(s)
        label = f"({batch},96,28,28)"
        torch_fwd = if_torch(lambda: xt * st)
        torch_ds = if_torch(lambda: (gt * xt).sum((2, 3), keepdim=True))
        return [
            Case("se", f"SE scale fwd {label}", lambda: k.se.se_scale(x, s, y), torch_fwd,
                 2 * x.size * f4, diff=maxdiff(y, torch_fwd)),
            Case("se", f"SE grad_scale {label}", lambda: k.se.se_grad_scale(g, x, ds), torch_ds,
                 2 * x.size * f4, diff=maxdiff(ds, torch_ds)),
        ]

    def maxpool_rows():
        x = rand(batch, 64, 112, 112)
        y = cupy.empty((batch, 64, 56, 56), cupy.float32)
        idx = cupy.empty(y.shape, cupy.int64)
        g, dx = rand(*y.shape), cupy.empty_like(x)
        xt, gt, idxt = tv(x), tv(g), tv(idx)
        label = f"({batch},64,112,112) 3x3 s2 p1"
        torch_fwd = if_torch(lambda: tf.max_pool2d(xt, 3, 2, 1, return_indices=True))
        torch_bwd = if_torch(lambda: torch.ops.aten.max_pool2d_with_indices_backward(
            gt, xt, [3, 3], [2, 2], [1, 1], [1, 1], False, idxt))
        return [
            Case("maxpool", f"max pool fwd {label}",
                 lambda: k.maxpool.maxpool_forward(x, y, idx, 3, 2, 1), torch_fwd,
                 (x.size + y.size) * f4 + idx.size * 8,
                 diff=maxdiff(y, lambda: torch_fwd()[0])),
            Case("maxpool", f"max pool bwd {label}",
                 lambda: k.maxpool.maxpool_backward(g, idx, dx, 3, 2, 1), torch_bwd,
                 (g.size + x.size) * f4 + idx.size * 8, diff=maxdiff(dx, torch_bwd),
                 note="torch bwd uses our indices"),
        ]

    def model_rows(name, size):
        """One training step (forward, cross-entropy, backward, SGD) of a whole model on the
        GPU: minicnn (its operators on CuPy, our kernels where they exist) against the same
        architecture in PyTorch (the torch.nn twin from tests/models/, cuDNN), same weights."""
        import minicnn
        import minicnn.nn.functional as F
        from minicnn.interop import to_torch_state_dict
        from minicnn.optim import SGD

        small = size < 64  # the 32x32 configuration of the zoo (small_input=True)
        minicnn.manual_seed(0)
        ours = minicnn.models.get_model(name, num_classes=10, small_input=small).to("cuda")
        x = minicnn.Tensor._wrap(rand(batch, 3, size, size))
        labels = minicnn.Tensor._wrap(cupy.asarray(rng.integers(0, 10, batch)))
        opt = SGD(ours.parameters(), lr=1e-3, momentum=0.9)

        def ours_step():
            opt.zero_grad()
            F.cross_entropy(ours(x), labels).backward()
            opt.step()

        theirs_step = None
        if torch is not None:
            sys.path.insert(0, str(REPO_ROOT))
            if name.startswith("resnet"):
                from tests.models.test_resnet import TWINS
                twin = TWINS[name](num_classes=10, small_input=small)
            else:
                from tests.models.test_mobilenet import torch_twin
                twin = torch_twin(name, num_classes=10, small_input=small)
            twin.load_state_dict(to_torch_state_dict(ours.cpu()))
            ours.to("cuda")
            twin = twin.to(DEVICE)
            xt, lt = tv(x.data), tv(labels.data)
            topt = torch.optim.SGD(twin.parameters(), lr=1e-3, momentum=0.9)

            def theirs_step():
                topt.zero_grad()
                tf.cross_entropy(twin(xt), lt).backward()
                topt.step()
        return [Case("model", f"{name} train step ({batch},3,{size},{size})", ours_step,
                     theirs_step, note="whole step; the target for kernels does not apply",
                     repeats=MODEL_REPEATS)]

    builders = {  # the whole-model rows last: they take longest
        "im2col": lambda: im2col_rows(),
        "depthwise": lambda: depthwise_rows(64, 56, 3, 1) + depthwise_rows(96, 28, 5, 2),
        "shuffle": lambda: shuffle_rows(),
        "batchnorm": lambda: batchnorm_rows(64, 56) + batchnorm_rows(576, 7),
        "activation": lambda: activation_rows("hardswish") + activation_rows("hardsigmoid"),
        "se": lambda: se_rows(),
        "maxpool": lambda: maxpool_rows(),
        "model": lambda: (model_rows("mobilenet_v3_small", 224) + model_rows("mobilenet_v3_small", 32)
                          + model_rows("resnet18", 224) + model_rows("resnet18", 32)),
    }
    return builders


# ------------------------------------------------------------------ report
def _fmt(value, spec):
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


def run(cases, timer, torch, copy_gbs):
    rows = []
    for case in cases:
        row = dict(group=case.group, name=case.name, note=case.note, error="")
        case_timer = timer
        if case.repeats is not None and case.repeats < timer.repeats:
            row["note"] = "; ".join(x for x in (case.note, f"median of {case.repeats}") if x)
            case_timer = Timer(min(timer.warmup, 2), case.repeats)
        try:
            row["ours"] = case_timer.cupy(case.ours)
        except Exception as error:  # noqa: BLE001 (report and go on)
            row["error"] = f"ours: {type(error).__name__}: {error}"[:200]
            rows.append(row)
            print(f"  {case.name}: {row['error']}", flush=True)
            continue
        if case.theirs is not None:
            try:
                row["torch"] = case_timer.torch(case.theirs, torch)
                row["ratio"] = row["ours"] / row["torch"]
            except Exception as error:  # noqa: BLE001
                row["error"] = f"torch: {type(error).__name__}: {error}"[:200]
        if case.nbytes:
            row["gbs"] = case.nbytes / (row["ours"] * 1e-3) / 1e9
            row["copy"] = 100 * row["gbs"] / copy_gbs
        if case.flops:
            row["tflops"] = case.flops / (row["ours"] * 1e-3) / 1e12
        if case.diff is not None:
            try:
                case.ours()
                row["diff"] = case.diff()
            except Exception as error:  # noqa: BLE001
                row["error"] = f"diff: {type(error).__name__}: {error}"[:200]
        rows.append(row)
        print(f"  {case.name}: ours {row['ours']:.3f} ms"
              + (f", torch {row['torch']:.3f} ms" if "torch" in row else ""), flush=True)
    return rows


def table(rows):
    lines = ["| kernel | ours ms | torch ms | ratio | GB/s | % copy | TFLOP/s | max abs diff "
             "| note |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        note = "; ".join(x for x in (r.get("note", ""), r.get("error", "")) if x)
        lines.append(f"| {r['name']} | {_fmt(r.get('ours'), '.3f')} | "
                     f"{_fmt(r.get('torch'), '.3f')} | {_fmt(r.get('ratio'), '.2f')} | "
                     f"{_fmt(r.get('gbs'), '.0f')} | {_fmt(r.get('copy'), '.0f')} | "
                     f"{_fmt(r.get('tflops'), '.1f')} | {_fmt(r.get('diff'), '.1e')} | {note} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("groups", nargs="*", help="only these groups (im2col depthwise shuffle "
                        "batchnorm activation se maxpool model)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="batch 32, 10 repeats")
    parser.add_argument("--out", help="also write the report (markdown) to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.repeats, args.warmup = 32, 10, 3

    problem = environment_problem()
    if problem:
        print(f"benchmarks/gpu.py: cannot run: {problem}", file=sys.stderr)
        return 2
    import cupy
    import numba

    started = time.perf_counter()
    k = load_kernels()
    import importlib
    for name in k.MODULES:
        setattr(k, name, importlib.import_module(f"{k.__name__}.{name}"))
    torch, torch_problem = load_torch()
    timer = Timer(args.warmup, args.repeats)
    device = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    gpu_name = device["name"].decode() if isinstance(device["name"], bytes) else device["name"]
    copy_gbs = copy_bandwidth(timer)
    header = [f"# GPU kernels vs PyTorch: {gpu_name}", "",
              f"{time.strftime('%Y-%m-%d %H:%M')}, batch {args.batch}, float32, median of "
              f"{args.repeats} CUDA-event timings after {args.warmup} warm-up calls. "
              f"CuPy {cupy.__version__}, Numba {numba.__version__}, "
              + (f"PyTorch {torch.__version__} (cuDNN {torch.backends.cudnn.version()})"
                 if torch else f"no PyTorch timings: {torch_problem}")
              + f", Python {platform.python_version()}.", "",
              "TF32 is off in PyTorch (both sides compute in full float32). "
              f"Measured device-to-device copy bandwidth: {copy_gbs:.0f} GB/s "
              f"(2 x bytes / time of a 1 GiB cudaMemcpy).", ""]
    print("\n".join(header), flush=True)
    builders = build_cases(k, torch, args.batch)
    unknown = set(args.groups) - set(builders)
    if unknown:
        print(f"unknown groups {sorted(unknown)}; choose from {sorted(builders)}", file=sys.stderr)
        return 2
    def write(rows, status):
        """The report so far (rewritten after each group: a run cut short keeps its rows)."""
        report = "\n".join(header) + table(rows) + "\n\n" + (
            "ratio = ours / torch (< 1: minicnn faster). GB/s: minimal traffic / our time. "
            "Model rows: one whole training step (forward, cross-entropy, backward, SGD with "
            "momentum) of minicnn's model on CuPy against its torch.nn twin with the same "
            "weights.\n") + f"\n{status}, wall time {time.perf_counter() - started:.0f} s.\n"
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(report, encoding="utf-8")

    rows = []
    for group, build in builders.items():
        if args.groups and group not in args.groups:
            continue
        try:
            cases = build()  # allocates the group's arrays
        except Exception as error:  # noqa: BLE001 (e.g. out of memory: report, go on)
            rows.append(dict(group=group, name=group, error=f"setup: {type(error).__name__}: "
                             f"{error}"[:200]))
            continue
        rows += run(cases, timer, torch, copy_gbs)
        del cases
        cupy.get_default_memory_pool().free_all_blocks()
        write(rows, f"Partial (through group {group!r})")
    write(rows, "Complete")
    print("\n" + table(rows), flush=True)
    if args.out:
        print(f"wrote {args.out}")
    return 1 if any(r.get("error") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
