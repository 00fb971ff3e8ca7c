"""The block-wide sum every reduction kernel here uses, and its block size.

Each reduction kernel first has every thread sum its share of the terms in a
register (``partial``), then calls :func:`block_sum` (or :func:`block_sum2`
for two sums side by side), a ``@cuda.jit(device=True)`` function that the
compiler inlines into the kernel. It stores the partial in ``shared[tid]``,
then::

    step = blockDim.x // 2
    while step > 0:                    # log2(blockDim) levels
        if tid < step:
            shared[tid] += shared[tid + step]
        cuda.syncthreads()             # level done before the next reads it
        step //= 2
    # shared[0] holds the block's total; every thread returns it

Requirements: a 1-D block, ``blockDim.x`` a power of two, at most
``REDUCE_THREADS`` (the size of the shared array each kernel declares and
passes in), and every thread of the block calls the function (no early
``return`` before it: it contains barriers). It ends without a barrier: a
kernel that writes the same shared array again must ``cuda.syncthreads()``
first, so that every thread has read the total.

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

Compiling a kernel that calls a device function makes numba-cuda 0.30 ask
the driver for the current device's compute capability (it compiles device
functions for that device), so the GPU-less PTX check in
``tests/kernels/test_kernels_ptx.py`` stands in a compute capability of 9.0,
the one it compiles the kernels for.
"""
from numba import cuda

#: Largest block size of the reduction kernels (their shared arrays have this size).
REDUCE_THREADS = 256


@cuda.jit(device=True)
def block_sum(shared, partial):
    """The sum over the block's threads of their ``partial``, returned to every thread.

    ``shared``: a float64 shared array of at least ``blockDim.x`` elements,
    overwritten; ``partial``: this thread's float64 partial sum. 1-D block,
    ``blockDim.x`` a power of two; every thread of the block must call it.
    """
    tid = cuda.threadIdx.x
    shared[tid] = partial
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if tid < step:
            shared[tid] += shared[tid + step]
        cuda.syncthreads()
        step //= 2
    return shared[0]


@cuda.jit(device=True)
def block_sum2(shared_a, shared_b, partial_a, partial_b):
    """Two block sums side by side (one barrier per level for both): ``(sum a, sum b)``.

    As :func:`block_sum`, with two float64 shared arrays and two partials.
    """
    tid = cuda.threadIdx.x
    shared_a[tid] = partial_a
    shared_b[tid] = partial_b
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if tid < step:
            shared_a[tid] += shared_a[tid + step]
            shared_b[tid] += shared_b[tid + step]
        cuda.syncthreads()
        step //= 2
    return shared_a[0], shared_b[0]
