"""Model-zoo tests, plus the module-vs-PyTorch parity helpers shared with tests/nn/test_blocks_*.

The helpers run a minicnn module and a torch.nn module with the same weights
(copied from torch by ``load_state_dict`` with strict key matching, which is
itself the proof that the two state dicts have the same names and shapes)
and compare outputs, the input gradient, every parameter gradient (by name)
and every buffer (BN running statistics) under one random upstream gradient.
"""
import numpy as np
import pytest

import minicnn


@pytest.fixture(autouse=True, scope="module")
def torch_one_thread():
    """Run torch single-threaded in these tests (imported by each test module).

    On a shared 2-core machine torch's idle worker threads spin and every
    parallel region can stall for milliseconds (PERF-NOTES); the tests time
    nothing, and one thread makes the many small torch calls here cheap.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def torch_state_as_numpy(torch_module):
    """``torch_module.state_dict()`` as NumPy arrays (copies), the way a user moves weights."""
    return {key: value.detach().cpu().numpy().copy()
            for key, value in torch_module.state_dict().items()}


def randomize_torch_bn(torch_module, seed=0):
    """Give every BatchNorm2d non-trivial weight, bias and running statistics.

    Fresh BN layers have weight 1, bias 0, mean 0 and variance 1, which makes
    eval mode an identity map and hides a swapped or ignored running
    statistic; this draws values away from those.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in torch_module.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                shape = module.weight.shape
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0.0, 0.2, generator=generator)
                module.running_mean.normal_(0.0, 0.2, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
                assert module.running_var.shape == shape
    return torch_module


def copy_weights(ours, theirs):
    """Load ``theirs`` (torch) into ``ours`` (minicnn) by name, strictly."""
    result = ours.load_state_dict(torch_state_as_numpy(theirs), strict=True)
    assert not result.missing_keys and not result.unexpected_keys, result
    return ours


def _close(failures, what, ours, theirs, atol, rtol):
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        failures.append(f"{what}: shape {ours.shape} != torch's {theirs.shape}")
        return
    # atol is scaled by the tensor's largest magnitude (when above 1): an element is a sum
    # of products whose rounding error follows the size of its terms, not of the result, so
    # an element that cancels to near zero inherits the error of its neighbours' scale
    # (e.g. eval-mode gradients of 1e6 in a deep net with unnormalised activations).
    scale = max(1.0, float(np.abs(theirs).max())) if theirs.size else 1.0
    error = np.abs(ours - theirs)
    bad = ~(error <= atol * scale + rtol * np.abs(theirs))
    if bad.any():
        k = np.unravel_index(int(np.argmax(np.where(bad, error, -1.0))), error.shape)
        failures.append(f"{what}: {int(bad.sum())}/{error.size} elements beyond atol={atol}"
                        f" (x {scale:.3g}), rtol={rtol}; worst at {k}: minicnn {ours[k]:.9g}, "
                        f"torch {theirs[k]:.9g}")


def compare_module(ours, theirs, x, *, train, atol, rtol, seed=0, check_buffers=True):
    """Forward + backward of ``ours`` and ``theirs`` on ``x`` (a NumPy array); assert agreement.

    Compares the output, d loss/d x, every parameter's gradient (the two
    modules must have the same parameter names) and, after the forward,
    every buffer. ``loss = sum(output * g)`` with ``g`` standard normal.
    Each element must satisfy ``|ours - theirs| <= atol * max(1, max|theirs|)
    + rtol * |theirs|`` (atol relative to the tensor's scale, see ``_close``).
    Returns the minicnn output (a Tensor).
    """
    import torch

    ours.train(train)
    theirs.train(train)
    ours.zero_grad()
    theirs.zero_grad(set_to_none=True)
    x_ours = minicnn.Tensor(x.copy(), requires_grad=True)
    x_theirs = torch.tensor(x.copy(), requires_grad=True)
    y_ours = ours(x_ours)
    y_theirs = theirs(x_theirs)
    upstream = np.random.default_rng(seed).standard_normal(tuple(y_theirs.shape)).astype(x.dtype)
    (y_ours * minicnn.Tensor(upstream)).sum().backward()
    y_theirs.backward(torch.from_numpy(upstream.copy()))

    failures = []
    _close(failures, "output", y_ours.numpy(), y_theirs.detach().numpy(), atol, rtol)
    _close(failures, "grad input", x_ours.grad, x_theirs.grad.numpy(), atol, rtol)
    our_params = dict(ours.named_parameters())
    their_params = dict(theirs.named_parameters())
    if list(our_params) != list(their_params):
        failures.append(f"parameter names differ: {sorted(set(our_params) ^ set(their_params))}")
    for name, param in their_params.items():
        if name not in our_params:
            continue
        if our_params[name].grad is None:
            failures.append(f"grad {name}: minicnn has no gradient")
            continue
        _close(failures, f"grad {name}", our_params[name].grad, param.grad.numpy(), atol, rtol)
    if check_buffers:
        our_buffers = dict(ours.named_buffers())
        for name, buffer in theirs.named_buffers():
            # Running statistics: one momentum step, float rounding only.
            _close(failures, f"buffer {name}", our_buffers[name].numpy(), buffer.numpy(),
                   atol, rtol)
    assert not failures, "minicnn and torch disagree:\n  " + "\n  ".join(failures)
    return y_ours


def count_parameters(module):
    return sum(int(p.numel()) for p in module.parameters())
