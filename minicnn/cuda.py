"""``minicnn.cuda``: is a GPU usable, how many, wait for it (as ``torch.cuda``)."""
from ._device import DeviceUnavailableError, cuda_unavailable_reason, is_available


def device_count() -> int:
    """The number of usable GPUs (0 when none can be used, whatever the reason)."""
    if not is_available():
        return 0
    import cupy

    return int(cupy.cuda.runtime.getDeviceCount())


def synchronize() -> None:
    """Wait until every kernel queued on the current GPU has finished (before timing one)."""
    reason = cuda_unavailable_reason()
    if reason is not None:
        raise DeviceUnavailableError(f"synchronize(): {reason}")
    import cupy

    cupy.cuda.runtime.deviceSynchronize()


__all__ = ["is_available", "device_count", "synchronize", "cuda_unavailable_reason",
           "DeviceUnavailableError"]
