#!/usr/bin/env bash
# The real-GPU check, in one go: the kernel tests on CuPy arrays, the PTX compile
# check, then benchmarks/gpu.py (kernels against PyTorch/cuDNN). Installs nothing:
# the GPU machine must already have cupy-cuda13x 14.x, numba-cuda (and PyTorch with
# CUDA for the comparison columns). Under 10 minutes on an H100/H200 (each part has its
# own time limit, 270 s for the tests and 280 s for the benchmark, so the whole script
# fits a 600 s device call; the benchmark rewrites its table after each group, so a cut
# run still reports what it measured).
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]      # default OUT_DIR: benchmarks/results
#
# Writes OUT_DIR/gpu-tests.log and OUT_DIR/gpu.md (the benchmark table), prints
# the environment, the tests' summary and the table. Exit status: 0 when the
# tests pass and every benchmark row ran; 1 otherwise; 2 when there is no usable GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/results}"
mkdir -p "$out"
unset NUMBA_ENABLE_CUDASIM  # the real GPU, not Numba's simulator

echo "== environment"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
    echo "nvidia-smi: not on PATH"
fi
python - <<'PY'
import importlib
for name in ("numpy", "numba", "numba_cuda", "cupy", "torch"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as error:  # noqa: BLE001
        print(f"{name}: not importable ({type(error).__name__}: {error})")
PY

echo "== real-GPU tests (kernels, PTX, every operator on cuda vs cpu and PyTorch: tests/test_devices.py)"
# MINICNN_REQUIRE_GPU / _PTX turn "skipped: no GPU / no NVRTC" into failures here.
MINICNN_REQUIRE_GPU=1 MINICNN_REQUIRE_PTX=1 timeout 270 \
    python -m pytest tests/kernels/test_kernels_gpu.py tests/kernels/test_kernels_ptx.py tests/test_devices.py \
    -q -p no:cacheprovider -rfEs --durations=5 > "$out/gpu-tests.log" 2>&1
tests_rc=$?
tail -n 25 "$out/gpu-tests.log"

echo "== benchmark (benchmarks/gpu.py)"
timeout 280 python benchmarks/gpu.py --out "$out/gpu.md"
bench_rc=$?

echo "== summary: tests exit $tests_rc, benchmark exit $bench_rc; results in $out/"
if [ "$bench_rc" -eq 2 ]; then
    exit 2
fi
if [ "$tests_rc" -ne 0 ] || [ "$bench_rc" -ne 0 ]; then
    exit 1
fi
exit 0
