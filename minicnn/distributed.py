"""``minicnn.distributed``: several processes training one model, over MPI (``mpi4py``).

The names follow ``torch.distributed``: :func:`init` (``init_process_group``
is an alias) joins the processes that ``mpiexec -n N`` (or a cluster's
``srun``) started; then :func:`get_rank`, :func:`get_world_size`,
:func:`get_local_rank` (the rank among the processes on this machine, to pick
a GPU) and the collectives

====================  ========================================================
``all_reduce``        every rank's array replaced by the sum (or max, min, mean)
                      over the ranks, in place
``broadcast``         every rank's array replaced by rank ``src``'s, in place
``all_gather``        every rank receives every rank's array
``barrier``           wait until every rank has reached it
====================  ========================================================

They take a minicnn Tensor or a NumPy array (and a CuPy array on a GPU: handed
to MPI directly when the MPI library is CUDA-aware, else reduced by NCCL
through CuPy; with neither an error says so). ``all_reduce(..., async_op=True)``
returns a :class:`Work` whose ``wait()`` completes it (MPI's ``Iallreduce``):
DistributedDataParallel overlaps these with the rest of the backward pass.

Nothing here imports ``mpi4py`` until :func:`init` is called, so a
single-process program never needs it (``pip install minicnn[dist]`` installs
mpi4py with the MPICH library; on a cluster, ``pip install mpi4py`` built against
the cluster's own MPI instead). The theory (ring all-reduce, why averaged
gradients are the large-batch gradient, the cost model) is in
docs/distributed.md.
"""
import os
import sys

import numpy as np

from .backend import is_cupy_array

__all__ = ["init", "init_process_group", "is_available", "is_initialized", "launched_by_mpi",
           "get_rank", "get_world_size", "get_local_rank", "ReduceOp", "all_reduce", "broadcast",
           "all_gather", "barrier", "abort", "Work"]

# Environment variables that mpiexec/srun set in every process they start (MPICH's
# Hydra and PMI, Open MPI, PMIx): a launch by MPI is detected without importing mpi4py.
_WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "MV2_COMM_WORLD_SIZE")


class _State:
    comm = None        # the mpi4py communicator of the job (None: not initialised)
    local_rank = 0
    nccl = None        # CuPy's NCCL communicator, made on the first CuPy collective


_state = _State()


class ReduceOp:
    """The reductions of :func:`all_reduce` (``torch.distributed.ReduceOp``'s names)."""

    SUM, AVG, MAX, MIN = "sum", "avg", "max", "min"


def is_available() -> bool:
    """True when mpi4py can be imported (the ``dist`` extra is installed)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def launched_by_mpi() -> bool:
    """True in a process started by ``mpiexec -n N`` (or srun) with N > 1."""
    for name in _WORLD_SIZE_VARIABLES:
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 1:
            return True
    return False


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError("minicnn.distributed needs mpi4py and an MPI library: "
                          "pip install 'minicnn[dist]' (mpi4py and MPICH), or on a cluster "
                          "pip install mpi4py built against its MPI") from error
    return MPI


def init(backend="mpi", comm=None) -> None:
    """Join the job's processes: rank, world size and local rank from the MPI environment.

    ``backend`` must be ``"mpi"`` (the only one); ``comm`` an mpi4py communicator
    (default ``COMM_WORLD``). Calling it again is an error, as in PyTorch.
    """
    if backend != "mpi":
        raise ValueError(f"init: backend must be 'mpi' (minicnn runs its collectives on MPI), "
                         f"got {backend!r}")
    if _state.comm is not None:
        raise RuntimeError("init: minicnn.distributed is already initialised "
                           f"(rank {get_rank()} of {get_world_size()})")
    MPI = _mpi()
    comm = MPI.COMM_WORLD if comm is None else comm
    # The ranks that share this machine's memory: the index among them picks a GPU.
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    _state.local_rank = node.Get_rank()
    node.Free()
    _state.comm = comm
    _abort_job_on_uncaught_exception()


init_process_group = init


def _abort_job_on_uncaught_exception():
    """A rank that dies of an exception ends the whole job with a message saying which, instead
    of leaving the other ranks blocked forever in their next collective."""
    previous = sys.excepthook

    def hook(exc_type, exc, traceback):
        previous(exc_type, exc, traceback)
        if _state.comm is not None and _state.comm.Get_size() > 1:
            abort(f"minicnn.distributed: rank {_state.comm.Get_rank()} of "
                  f"{_state.comm.Get_size()} stopped with {exc_type.__name__}: {exc}; aborting "
                  f"every rank (MPI_Abort)")

    sys.excepthook = hook


def is_initialized() -> bool:
    return _state.comm is not None


def _comm(caller):
    if _state.comm is None:
        raise RuntimeError(f"{caller}: minicnn.distributed is not initialised; call "
                           f"minicnn.distributed.init() first (in a program started by "
                           f"mpiexec -n N)")
    return _state.comm


def get_rank() -> int:
    return _comm("get_rank").Get_rank()


def get_world_size() -> int:
    return _comm("get_world_size").Get_size()


def get_local_rank() -> int:
    _comm("get_local_rank")
    return _state.local_rank


def _array_of(tensor, caller):
    """The array behind ``tensor`` (a Tensor or an array), contiguous, to reduce in place."""
    from .tensor import Tensor

    array = tensor.data if isinstance(tensor, Tensor) else tensor
    if not (isinstance(array, np.ndarray) or is_cupy_array(array)):
        raise TypeError(f"{caller}: tensor must be a minicnn Tensor, a NumPy or a CuPy array, "
                        f"got {type(tensor).__name__}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{caller}: the array must be C-contiguous to be reduced in place "
                         f"(got strides {array.strides}); pass a contiguous copy")
    return array


def _mpi_op(op, caller):
    MPI = _mpi()
    ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.MAX: MPI.MAX,
           ReduceOp.MIN: MPI.MIN}
    if op not in ops:
        raise ValueError(f"{caller}: op must be one of ReduceOp.SUM, AVG, MAX, MIN, got {op!r}")
    return ops[op]


class Work:
    """A collective in flight: ``wait()`` completes it (``is_completed()`` polls)."""

    def __init__(self, request=None, finish=None):
        self._request, self._finish, self._done = request, finish, request is None

    def is_completed(self) -> bool:
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self) -> bool:
        if not self._done:
            self._request.Wait()
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()


def all_reduce(tensor, op=ReduceOp.SUM, async_op=False):
    """Replace ``tensor`` on every rank by its reduction over the ranks, in place.

    ``AVG`` divides the sum by the world size (after the reduction, so every rank
    divides the same sum and gets the same bits). With ``async_op=True`` the
    reduction runs in the background (``Iallreduce``) and a :class:`Work` is
    returned; the array must not be read or written until ``wait()``.
    """
    comm = _comm("all_reduce")
    array = _array_of(tensor, "all_reduce")
    mpi_op = _mpi_op(op, "all_reduce")
    size = comm.Get_size()

    def finish():
        if op == ReduceOp.AVG:
            array[...] /= size

    if is_cupy_array(array):
        return _gpu_all_reduce(array, op, finish, async_op)
    MPI = _mpi()
    if not async_op:
        comm.Allreduce(MPI.IN_PLACE, array, op=mpi_op)
        finish()
        return None
    return Work(comm.Iallreduce(MPI.IN_PLACE, array, op=mpi_op), finish)


def broadcast(tensor, src=0, async_op=False):
    """Replace ``tensor`` on every rank by rank ``src``'s, in place (shapes must agree)."""
    comm = _comm("broadcast")
    array = _array_of(tensor, "broadcast")
    if not (isinstance(src, int) and 0 <= src < comm.Get_size()):
        raise ValueError(f"broadcast: src must be a rank in [0, {comm.Get_size()}), got {src!r}")
    if is_cupy_array(array):
        return _gpu_broadcast(array, src)
    if async_op:
        return Work(comm.Ibcast(array, root=src))
    comm.Bcast(array, root=src)
    return None


def all_gather(tensor_list, tensor, async_op=False):
    """Fill ``tensor_list[r]`` with rank ``r``'s ``tensor``, on every rank (as PyTorch).

    ``tensor_list`` holds world-size Tensors or arrays of ``tensor``'s shape and dtype.
    """
    comm = _comm("all_gather")
    array = _array_of(tensor, "all_gather")
    outputs = [_array_of(t, "all_gather") for t in tensor_list]
    if len(outputs) != comm.Get_size():
        raise ValueError(f"all_gather: tensor_list must hold world_size = {comm.Get_size()} "
                         f"tensors, got {len(outputs)}")
    for position, out in enumerate(outputs):
        if out.shape != array.shape or out.dtype != array.dtype:
            raise ValueError(f"all_gather: tensor_list[{position}] has shape {out.shape} and "
                             f"dtype {out.dtype.name}, expected tensor's {array.shape} and "
                             f"{array.dtype.name}")
    if is_cupy_array(array):
        raise _no_gpu_path("all_gather")
    gathered = np.empty((comm.Get_size(),) + array.shape, dtype=array.dtype)
    comm.Allgather(array, gathered)
    for out, part in zip(outputs, gathered):
        out[...] = part
    return None


def barrier() -> None:
    """Return once every rank has called it."""
    _comm("barrier").Barrier()


def abort(message, errorcode=1):
    """Print ``message`` to stderr and end every rank of the job (``MPI_Abort``).

    For a rank that cannot go on: the others would otherwise wait forever in
    their next collective.
    """
    print(message, file=sys.stderr, flush=True)
    if _state.comm is None:
        raise SystemExit(errorcode)
    _state.comm.Abort(errorcode)


# ------------------------------------------------------------------------ GPU
# CuPy arrays: MPI reads device memory itself when the library is CUDA-aware
# (mpi4py passes __cuda_array_interface__); otherwise NCCL, through CuPy, reduces
# them on the GPUs. Only all_reduce and broadcast (what training needs) have a
# GPU path.
def _cuda_aware_mpi() -> bool:
    query = getattr(_mpi(), "Query_cuda_support", None)
    return bool(query and query())


def _nccl():
    """CuPy's NCCL communicator for this job (the unique id travels over MPI), or None."""
    if _state.nccl is None:
        try:
            from cupy.cuda import nccl
        except ImportError:
            return None
        comm = _state.comm
        unique_id = comm.bcast(nccl.get_unique_id() if comm.Get_rank() == 0 else None, root=0)
        _state.nccl = nccl.NcclCommunicator(comm.Get_size(), unique_id, comm.Get_rank())
    return _state.nccl


def _no_gpu_path(caller):
    return RuntimeError(f"{caller}: got a CuPy (GPU) array, but the MPI library is not "
                        f"CUDA-aware and CuPy's NCCL (cupy.cuda.nccl) is not present; install "
                        f"a CUDA-aware MPI (with mpi4py built against it) or NCCL for CuPy, or "
                        f"copy the array to the host (.get()) first")


def _gpu_all_reduce(array, op, finish, async_op):
    MPI = _mpi()
    if _cuda_aware_mpi():
        array.device.synchronize()  # the kernels that wrote the array have finished
        mpi_op = _mpi_op(op, "all_reduce")
        if async_op:
            return Work(_state.comm.Iallreduce(MPI.IN_PLACE, array, op=mpi_op), finish)
        _state.comm.Allreduce(MPI.IN_PLACE, array, op=mpi_op)
        finish()
        return None
    communicator = _nccl()
    if communicator is None:
        raise _no_gpu_path("all_reduce")
    from cupy.cuda import nccl, stream

    nccl_types = {np.dtype("float32"): nccl.NCCL_FLOAT32, np.dtype("float64"): nccl.NCCL_FLOAT64}
    nccl_ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.AVG: nccl.NCCL_SUM,
                ReduceOp.MAX: nccl.NCCL_MAX, ReduceOp.MIN: nccl.NCCL_MIN}
    if array.dtype not in nccl_types:
        raise TypeError(f"all_reduce: NCCL path takes float32 or float64, got {array.dtype.name}")
    # On CuPy's current stream: later kernels on it see the result, so no wait is needed.
    communicator.allReduce(array.data.ptr, array.data.ptr, array.size, nccl_types[array.dtype],
                           nccl_ops[op], stream.get_current_stream().ptr)
    finish()
    return Work() if async_op else None


def _gpu_broadcast(array, src):
    if _cuda_aware_mpi():
        array.device.synchronize()
        _state.comm.Bcast(array, root=src)
        return None
    communicator = _nccl()
    if communicator is None:
        raise _no_gpu_path("broadcast")
    from cupy.cuda import nccl, stream

    communicator.bcast(array.data.ptr, array.nbytes, nccl.NCCL_CHAR, src,
                       stream.get_current_stream().ptr)
    return None
