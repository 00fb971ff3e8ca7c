"""minicnn's own CUDA kernels, written in Numba CUDA (installed as ``minicnn._kernels``).

Each module holds one operator family, names the NumPy formulation it
implements (its "NumPy twin", in :mod:`minicnn.ops`), and explains its indexing
and its thread/block layout next to the code:

==============  ==============================================================
module          kernels
==============  ==============================================================
im2col          im2col, col2im (gather, no atomics) for conv2d
depthwise       depthwise conv forward, input gradient (gather), weight
                gradient (one block per (channel, tap), shared-memory sum)
shuffle         channel shuffle and its inverse
batchnorm       per-channel statistics (chunked two-pass + Chan merge),
                normalisation, backward (per-channel sums, then dx)
activation      hardswish / hardsigmoid forward and backward
se              squeeze-and-excitation channel scaling and its backward
maxpool         max-pool forward with flat indices, backward (gather)
fused           batch norm + hardswish in one pass (the unfused path is the
                reference)
==============  ==============================================================

Shared code: ``_launch`` (the launchers' argument checks and launch
geometry, host side), ``_reduce`` (the block-wide tree sum, a device
function) and ``_index`` (thread-index arithmetic, device functions).

Launchers are plain functions taking arrays that export
``__cuda_array_interface__`` (CuPy arrays, Numba device arrays; under
``NUMBA_ENABLE_CUDASIM=1`` plain NumPy arrays too) and write into
caller-allocated outputs; they never import CuPy. Every module lists its
kernels with one float32 argument signature in ``SIGNATURES``, which the CI
compiles to PTX for compute capability 9.0.

Numba chooses the CUDA target or the simulator when ``numba.cuda`` is first
imported (``NUMBA_ENABLE_CUDASIM``), so this package is imported lazily, only
when a kernel is needed.
"""

#: The kernel modules, in the order of the table above.
MODULES = ("im2col", "depthwise", "shuffle", "batchnorm", "activation", "se", "maxpool",
           "fused")
