"""minicnn.ops._blocked.elementwise: a NumPy formula on every core, block by block, must give
exactly what one call on the whole array gives."""
import numpy as np
import pytest

import minicnn  # noqa: F401  (the engine's import-time settings)
from minicnn.ops import _blocked
from minicnn.ops.activation import _silu_grad_into, _silu_into


@pytest.fixture
def three_threads_small_blocks(monkeypatch):
    """Blocks of 1000 elements, 3 threads, from 2000 elements per thread up."""
    monkeypatch.setattr(_blocked, "BLOCK", 1000)
    monkeypatch.setattr(_blocked, "MIN_PER_THREAD", 2000)
    monkeypatch.setattr(_blocked.numba, "get_num_threads", lambda: 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_silu_is_bit_identical_to_one_call(three_threads_small_blocks, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((7, 3, 17, 19)) * 30).astype(dtype)  # 6783: uneven slices
    x.reshape(-1)[:4] = [np.nan, np.inf, -np.inf, -100]
    g = rng.standard_normal(x.shape).astype(dtype)
    with np.errstate(invalid="ignore"):
        y, y1, grad, grad1 = (np.empty_like(x) for _ in range(4))
        _blocked.elementwise(_silu_into, y, x)
        _silu_into(y1, x)
        _blocked.elementwise(_silu_grad_into, grad, x, g)
        _silu_grad_into(grad1, x, g)
    np.testing.assert_array_equal(y, y1)
    np.testing.assert_array_equal(grad, grad1)


def test_every_element_is_written_once_by_some_thread(three_threads_small_blocks):
    seen = []

    def formula(out, x):
        seen.append(out.size)
        np.add(x, 1, out=out)

    x = np.arange(6783, dtype=np.float64)
    out = _blocked.elementwise(formula, np.full_like(x, np.nan), x)
    np.testing.assert_array_equal(out, x + 1)
    assert len(seen) == 9 and sum(seen) == x.size  # 3 slices of 2261 -> 3 blocks each


def test_a_workers_exception_reaches_the_caller(three_threads_small_blocks):
    def formula(out, x):
        if x[0] > 3000:  # only the blocks of the later slices, run by the pool
            raise ValueError("from a worker")
        out[...] = x

    x = np.arange(6783, dtype=np.float64)
    with pytest.raises(ValueError, match="from a worker"):
        _blocked.elementwise(formula, np.empty_like(x), x)


@pytest.mark.parametrize("x", [
    np.arange(16000.0).reshape(4000, 4)[:, ::2],  # 8000 elements, not contiguous
    np.arange(1000.0),                            # below 2 x MIN_PER_THREAD
], ids=["strided", "small"])
def test_small_or_strided_arrays_take_one_call(three_threads_small_blocks, x):
    calls = []

    def formula(out, x):
        calls.append(out.shape)
        np.multiply(x, 2, out=out)

    out = _blocked.elementwise(formula, np.empty(x.shape), x)
    np.testing.assert_array_equal(out, x * 2)
    assert calls == [x.shape]
