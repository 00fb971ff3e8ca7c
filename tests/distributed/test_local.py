"""What data-parallel training builds on, checked in one process (no MPI needed).

The post-accumulate hook (DDP's trigger), SyncBatchNorm's single-process
behaviour and conversion, the DistributedSampler's shards, and the errors of
using the distributed pieces without ``minicnn.distributed.init()``.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn
from minicnn import distributed as dist
from minicnn import nn
from minicnn.data import DataLoader, DistributedSampler, TensorDataset
from minicnn.nn.parallel import DistributedDataParallel


# ------------------------------------------------------------ post-accumulate hook
def test_post_accumulate_hook_sees_the_accumulated_gradient_once_per_backward():
    w = minicnn.tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.copy()))
    (w * w + w * 3.0).sum().backward()  # w used twice: one accumulation, d/dw = 2w + 3
    np.testing.assert_array_equal(seen, [[5.0, 7.0]])
    (w * 2.0).sum().backward()  # accumulates onto the previous .grad
    np.testing.assert_array_equal(seen[1], [7.0, 9.0])
    handle.remove()
    w.sum().backward()
    assert len(seen) == 2


def test_post_accumulate_hook_errors():
    w = minicnn.tensor(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="hook must be callable, got 3"):
        w.register_post_accumulate_grad_hook(3)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2.0).register_post_accumulate_grad_hook(print)
    with pytest.raises(RuntimeError, match="does not require grad"):
        minicnn.tensor(np.ones(2)).register_post_accumulate_grad_hook(print)


# ------------------------------------------------------------ without init()
def test_collectives_and_ddp_need_init():
    assert not dist.is_initialized()
    assert not dist.launched_by_mpi()
    with pytest.raises(RuntimeError, match=r"not initialised; call minicnn.distributed.init\(\)"):
        DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="all_reduce: minicnn.distributed is not initialised"):
        dist.all_reduce(np.ones(2))
    with pytest.raises(RuntimeError, match="get_rank"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="num_replicas and rank default"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="backend must be 'mpi'"):
        dist.init(backend="nccl")


# ------------------------------------------------------------ SyncBatchNorm
def test_sync_batch_norm_in_one_process_is_batch_norm():
    """Without init (as PyTorch's with one process) SyncBatchNorm normalises like BatchNorm2d:
    output, gradients and running statistics, in training and evaluation."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 4, 4))
    grad = rng.standard_normal(x.shape)
    results = []
    for layer in (nn.BatchNorm2d(2, dtype=minicnn.float64), nn.SyncBatchNorm(2, dtype=minicnn.float64)):
        outputs = []
        for training in (True, False):
            layer.train(training)
            inp = minicnn.tensor(x, requires_grad=True)
            out = layer(inp)
            out.backward(grad)
            outputs += [out.numpy(), inp.grad, layer.running_mean.numpy().copy()]
        results.append(outputs)
    for plain, synced in zip(*results):
        np.testing.assert_array_equal(plain, synced)


def test_convert_sync_batchnorm_keeps_parameters_buffers_and_mode():
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3, momentum=0.2, eps=1e-3),
                          nn.Sequential(nn.BatchNorm2d(3, affine=False)))
    model[1].running_mean.data[...] = 5.0
    model[2][0].eval()
    before = {name: tensor for name, tensor in model.state_dict(keep_vars=True).items()}
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model
    assert type(model[1]) is nn.SyncBatchNorm and type(model[2][0]) is nn.SyncBatchNorm
    assert (model[1].momentum, model[1].eps, model[2][0].affine) == (0.2, 1e-3, False)
    assert model[1].training and not model[2][0].training
    after = model.state_dict(keep_vars=True)
    assert list(after) == list(before) and all(after[k] is before[k] for k in before)
    for plain in (nn.BatchNorm2d(4), nn.BatchNorm1d(4)):
        assert type(nn.SyncBatchNorm.convert_sync_batchnorm(plain)) is nn.SyncBatchNorm
    x = minicnn.tensor(np.random.default_rng(1).standard_normal((5, 4)))  # (N, C) as BatchNorm1d
    np.testing.assert_array_equal(nn.SyncBatchNorm(4).double()(x).numpy(),
                                  nn.BatchNorm1d(4).double()(x).numpy())
    with pytest.raises(ValueError, match=r"expected a 2-D or 3-D or 4-D or 5-D input \(N, C, \*\)"):
        nn.SyncBatchNorm(4)(minicnn.ones(4))
    with pytest.raises(ValueError, match="process_group must be None"):
        nn.SyncBatchNorm(2, process_group="group")


# ------------------------------------------------------------ DistributedSampler
@given(n=st.integers(1, 40), ranks=st.integers(1, 5), shuffle=st.booleans(),
       drop_last=st.booleans(), epoch=st.integers(0, 3))
def test_distributed_sampler_shards(n, ranks, shuffle, drop_last, epoch):
    """Equal lengths; disjoint shards covering the epoch's order (padding repeats only the
    first indices, dropping loses fewer than ``ranks``)."""
    if n < ranks:
        with pytest.raises(ValueError, match=f"{n} sample.*num_replicas={ranks}"):
            DistributedSampler(range(n), ranks, 0)
        return
    shards = []
    for rank in range(ranks):
        sampler = DistributedSampler(range(n), ranks, rank, shuffle=shuffle, seed=3,
                                     drop_last=drop_last)
        sampler.set_epoch(epoch)
        shards.append(list(sampler))
        assert len(shards[-1]) == len(sampler)
    assert len({len(s) for s in shards}) == 1
    taken = sorted(i for s in shards for i in s)
    if drop_last:
        assert len(taken) == len(set(taken)) > n - ranks
    else:
        assert set(taken) == set(range(n)) and len(taken) - n < ranks
    order = (np.random.default_rng([3, epoch]).permutation(n) if shuffle else np.arange(n))
    dealt = [index for step in zip(*shards) for index in step]  # rank r takes every r-th
    np.testing.assert_array_equal(dealt[:min(n, len(dealt))], order[:min(n, len(dealt))])


@given(n=st.integers(6, 40), ranks=st.integers(1, 3), new_ranks=st.integers(1, 3),
       batch=st.integers(1, 3), steps=st.integers(1, 3))
def test_distributed_sampler_resumes_at_the_global_position(n, ranks, new_ranks, batch, steps):
    """k steps on R ranks consume the first k*R*b positions of the epoch's order; resuming
    from there on R' ranks takes each remaining position once (before padding)."""
    steps = min(steps, (n - new_ranks) // (ranks * batch))
    start = steps * ranks * batch
    first = [list(DistributedSampler(range(n), ranks, r, seed=1))[:steps * batch]
             for r in range(ranks)]
    rest = []
    for rank in range(new_ranks):
        sampler = DistributedSampler(range(n), new_ranks, rank, seed=1)
        sampler.set_epoch(0, start=start)
        rest.append(list(sampler))
    consumed = [i for shard in first for i in shard] + [i for shard in rest for i in shard]
    assert set(consumed) == set(range(n)) and len(consumed) - n < new_ranks


def test_distributed_sampler_reshuffles_per_epoch_and_errors():
    sampler = DistributedSampler(range(20), 2, 1, seed=5)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first and len(list(sampler)) == 10
    with pytest.raises(ValueError, match=r"rank must be in \[0, num_replicas - 1\] = \[0, 1\], got 2"):
        DistributedSampler(range(20), 2, 2)
    with pytest.raises(ValueError, match="start must be below the dataset's 20 samples, got 20"):
        sampler.set_epoch(0, start=20)
    with pytest.raises(ValueError, match="1 sample"):
        sampler.set_epoch(0, start=19)


def test_dataloader_takes_a_sampler():
    data = TensorDataset(minicnn.tensor(np.arange(10.0)))
    sampler = DistributedSampler(data, 3, 2, shuffle=False)
    loader = DataLoader(data, batch_size=2, sampler=sampler)
    batches = [b[0].numpy().tolist() for b in loader]
    assert batches == [[2.0, 5.0], [8.0, 1.0]] and len(loader) == 2  # 9 = padding with index 1
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(data, sampler=sampler, shuffle=True)
    with pytest.raises(TypeError, match="sampler must define __iter__ and __len__"):
        DataLoader(data, sampler=3)
