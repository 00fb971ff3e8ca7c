"""minicnn: a small CNN engine for understanding and checking convolutional networks.

NumPy (and CuPy) arrays, a hand-written reverse-mode autograd, every operator's
math in its docstring, and tests that check each number against PyTorch.
"""
import os

# Numba's OpenMP workers spin-wait after each parallel region and then fight
# OpenBLAS's threads for the cores: measured on 2 cores, a small matmul right
# after a parallel Numba kernel ran 3x slower, a ResNet training step up to 10x.
# libgomp reads the variable once, when it starts (at the first parallel
# kernel), so it is set here, before any; a value the user set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Freed multi-MB arrays stay in the heap, warm, instead of being page-faulted in
# afresh by every operator call (3-15x on small ops; see _allocator).
from ._allocator import keep_freed_memory  # noqa: E402

keep_freed_memory()

from ._device import device
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .function import Function
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import (Tensor, arange, bool_, empty, float16, float32, float64, from_numpy, full,
                     get_default_dtype, int8, int32, int64, ones, ones_like, rand, randn,
                     randn_like, set_default_dtype, tensor, uint8, zeros, zeros_like)
from . import cuda, nn  # noqa: E402  (after Tensor: nn.functional is bound into tensor.py)
from .nn.functional import (abs, amax, amin, argmax, argmin, cat, chunk, clamp, exp, flatten,
                            gather, index_select, log, masked_fill, matmul, maximum, mean, minimum,
                            norm, permute, reshape, sort, split, sqrt, squeeze, stack, sum, topk,
                            transpose, unsqueeze, var, where)
from .ops.compare import all, any, eq, ge, gt, le, lt, ne  # noqa: E402
from .nn.functional import max as max, min as min, std as std  # noqa: E402

__version__ = "0.1.0"

from . import data, io, models, optim, utils  # noqa: E402
from .io import load_torch_state_dict  # noqa: E402
from .serialization import load, save  # noqa: E402
from .summary import summary  # noqa: E402
