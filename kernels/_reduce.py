"""The block-wide sum every reduction kernel here uses, and its block size.

Each reduction kernel writes the same tree sum out in full (eight lines)
rather than calling a ``@cuda.jit(device=True)`` helper: with numba-cuda 0.30,
compiling a kernel that calls a device function asks the driver for the
current device's compute capability, so the CI's GPU-less PTX compile
(``cuda.compile_ptx(..., cc=(9, 0))``) could not compile it.

The pattern: each thread first sums its share of the terms in a register
(``partial``), stores it in ``shared[tid]``, then::

    step = blockDim.x // 2
    while step > 0:                    # log2(blockDim) levels
        if tid < step:
            shared[tid] += shared[tid + step]
        cuda.syncthreads()             # level done before the next reads it
        step //= 2
    # shared[0] holds the block's total

Requirements: ``blockDim.x`` a power of two, at most ``REDUCE_THREADS`` (the
size of the shared array each kernel declares), and every thread of the
block reaches every barrier (no early ``return`` before the sum).

Partial sums and the shared array are float64 whatever the data type: a
channel of a batch sums up to millions of float32 terms, and float64 keeps
the result at float32 accuracy. On data-centre GPUs (H100/H200: FP64 at half
the FP32 rate) this costs nothing in these memory-bound kernels; on consumer
GPUs (FP64 at 1/64 rate) it may.

Accumulators start as ``float64(0.0)``, not ``0.0``: compiled Numba types the
literal ``0.0`` as float64, but the simulator runs the kernel as Python, where
NumPy 2's promotion rules make ``0.0 + float32`` a float32, and the simulated
sums would be float32 sums. The explicit type makes both run the same
arithmetic.
"""

#: Largest block size of the reduction kernels (their shared arrays have this size).
REDUCE_THREADS = 256
