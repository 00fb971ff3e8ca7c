"""Module, Parameter and the containers, checked against torch.nn's behaviour.

The same module tree is built twice, once with ``minicnn`` and once with
``torch`` (``build(lib)`` takes either library), and every name, order, shape
and repr is compared as strings/lists: PyTorch is the specification.
"""
import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import nn

from . import TorchSqueezeExcitation


# ---------------------------------------------------------------- model builders
def build_net(lib):
    """A nested model using every container kind, built with ``lib`` (minicnn or torch)."""
    libnn = lib.nn

    class Block(libnn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv = libnn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn = libnn.BatchNorm2d(channels)
            self.act = libnn.ReLU(inplace=True)

    class Net(libnn.Module):
        def __init__(self):
            super().__init__()
            self.stem = libnn.Sequential(libnn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
                                         libnn.BatchNorm2d(8), libnn.ReLU())
            self.blocks = libnn.ModuleList([Block(8) for _ in range(3)])
            self.blocks.append(libnn.Conv2d(8, 16, 1, groups=2))
            self.heads = libnn.ModuleDict(OrderedDict(cls=libnn.Linear(16, 10),
                                                      aux=libnn.Linear(16, 2, bias=False)))
            self.register_buffer("scale", lib.ones(1))
            self.register_buffer("cache", lib.zeros(2), persistent=False)
            self.temperature = libnn.Parameter(lib.ones(1))
            self.named = libnn.Sequential(OrderedDict([
                ("pool", libnn.AdaptiveAvgPool2d(1)), ("flat", libnn.Flatten()),
                ("drop", libnn.Dropout(0.25))]))

    return Net()


def build_mlp(lib):
    libnn = lib.nn

    class MLP(libnn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = libnn.Linear(5, 7)
            self.act = libnn.Tanh()
            self.fc2 = libnn.Linear(7, 3)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    return MLP()


def torch_state_as_numpy(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def snapshot(module):
    return {k: np.array(v, copy=True) for k, v in module.state_dict().items()}


def assert_state_equal(before, after):
    assert list(before) == list(after)
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)


# ---------------------------------------------------------------- Parameter
def test_parameter_is_a_leaf_tensor_that_shares_its_data():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    param = nn.Parameter(array)
    assert isinstance(param, minicnn.Tensor)
    assert param.requires_grad and param.is_leaf
    assert param.data is array  # shares, as torch.nn.Parameter shares storage
    frozen = nn.Parameter(minicnn.zeros(3), requires_grad=False)
    assert not frozen.requires_grad
    assert repr(param).startswith("Parameter containing:\ntensor(")
    # The result of an operator on a Parameter is an ordinary (non-leaf) Tensor.
    out = param * 2
    assert type(out) is minicnn.Tensor and not out.is_leaf


def test_parameter_rejects_integer_data():
    with pytest.raises(TypeError, match="floating-point"):
        nn.Parameter(np.arange(3))


# ---------------------------------------------------------------- registration
def test_registration_by_attribute_assignment():
    m = nn.Module()
    m.weight = nn.Parameter(minicnn.ones(2))
    m.child = nn.Linear(2, 3)
    m.register_buffer("stat", minicnn.zeros(2))
    m.plain = 5
    assert list(m._parameters) == ["weight"]
    assert list(m._modules) == ["child"]
    assert list(m._buffers) == ["stat"]
    assert "plain" in m.__dict__ and m.plain == 5
    assert m.weight is m._parameters["weight"] and m.child is m._modules["child"]
    # Assigning a Tensor to a buffer name replaces the buffer; None is allowed everywhere.
    new_stat = minicnn.ones(2)
    m.stat = new_stat
    assert m._buffers["stat"] is new_stat
    m.weight = None
    assert m._parameters["weight"] is None and "weight" not in dict(m.named_parameters())
    # A Parameter assigned over a buffer name moves it to the parameters.
    m.stat = nn.Parameter(minicnn.ones(2))
    assert "stat" in m._parameters and "stat" not in m._buffers
    del m.child
    assert "child" not in m._modules
    with pytest.raises(AttributeError, match="child"):
        m.child


def test_registration_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.weight = minicnn.ones(2, 2)  # a plain Tensor is not a Parameter
    with pytest.raises(TypeError, match="buffer 'b'"):
        m.register_buffer("b", np.zeros(2))
    with pytest.raises(KeyError, match=r'contain "\."'):
        m.register_buffer("a.b", minicnn.zeros(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("in_features", minicnn.zeros(1))
    with pytest.raises(TypeError, match="nn.Parameter or None required"):
        m.register_parameter("p", minicnn.zeros(1))
    with pytest.raises(TypeError, match="not a Module subclass"):
        m.add_module("sub", 3)
    m.sub = nn.ReLU()
    with pytest.raises(TypeError, match="child module 'sub'"):
        m.sub = 3

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(minicnn.ones(1))  # before super().__init__()

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_forward_missing_is_a_clear_error():
    with pytest.raises(NotImplementedError,
                       match='Module \\[Module\\] is missing the required "forward"'):
        nn.Module()(1)


# ---------------------------------------------------------------- names and order
def test_names_and_order_match_torch():
    ours, theirs = build_net(minicnn), build_net(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert ([n for n, _ in ours.named_parameters(prefix="model", recurse=False)]
            == [n for n, _ in theirs.named_parameters(prefix="model", recurse=False)])
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert len(list(ours.children())) == len(list(theirs.children()))


def test_state_dict_keys_shapes_and_dtypes_match_torch():
    ours, theirs = build_net(minicnn).state_dict(), build_net(torch).state_dict()
    assert isinstance(ours, OrderedDict)
    assert list(ours) == list(theirs)  # e.g. 'stem.1.num_batches_tracked', 'blocks.0.bn.weight'
    assert "cache" not in ours  # non-persistent buffer
    for key, value in ours.items():
        assert isinstance(value, np.ndarray)
        assert value.shape == tuple(theirs[key].shape), key
        assert value.dtype == theirs[key].numpy().dtype, key  # num_batches_tracked: int64


def test_state_dict_shares_memory_and_keep_vars():
    m = nn.Linear(2, 3)
    state = m.state_dict()
    assert np.shares_memory(state["weight"], m.weight.data)  # as torch: no copy
    assert m.state_dict(keep_vars=True)["weight"] is m.weight
    assert list(m.state_dict(prefix="head.")) == ["head.weight", "head.bias"]


def test_shared_parameters_counted_once_but_saved_under_every_name():
    def build(lib):
        shared = lib.nn.Linear(4, 4)
        return lib.nn.Sequential(shared, lib.nn.ReLU(), shared)

    ours, theirs = build(minicnn), build(torch)
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 2
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters()) == 20


@settings(max_examples=12)
@given(st.lists(st.sampled_from(["conv", "convT", "bn", "bn_plain", "linear", "relu", "se",
                                 "seq", "list"]), min_size=1, max_size=6))
def test_random_trees_match_torch(kinds):
    """Keys, shapes, parameter counts and repr of random module trees equal torch's."""
    def make(lib, kind):
        libnn = lib.nn
        if kind == "conv":
            return libnn.Conv2d(4, 6, (3, 1), stride=2, padding=(1, 0), groups=2)
        if kind == "convT":
            return libnn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, bias=False)
        if kind == "bn":
            return libnn.BatchNorm2d(5)
        if kind == "bn_plain":
            return libnn.BatchNorm2d(5, momentum=None, affine=False, track_running_stats=False)
        if kind == "linear":
            return libnn.Linear(3, 2)
        if kind == "relu":
            return libnn.ReLU6()
        if kind == "seq":
            return libnn.Sequential(libnn.Linear(2, 2), libnn.Hardswish())
        if kind == "list":
            return libnn.ModuleList([libnn.BatchNorm2d(2), libnn.BatchNorm2d(2)])
        return SE(lib)

    ours = nn.Sequential(*[make(minicnn, k) for k in kinds])
    theirs = torch.nn.Sequential(*[make(torch, k) for k in kinds])
    our_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(our_state) == list(their_state)
    assert all(our_state[k].shape == tuple(their_state[k].shape) for k in our_state)
    assert ours.num_parameters() == sum(p.numel() for p in theirs.parameters())
    assert repr(ours) == repr(theirs)


def SE(lib):
    """torchvision.ops.SqueezeExcitation's structure (torch has no nn.SqueezeExcitation)."""
    return nn.SqueezeExcitation(6, 2) if lib is minicnn else TorchSqueezeExcitation(6, 2)


# ---------------------------------------------------------------- repr
def test_repr_equals_torch():
    ours, theirs = build_net(minicnn), build_net(torch)
    # Includes ModuleList's compressed "(0-2): 3 x Block(...)" and nested indentation.
    assert repr(ours) == repr(theirs)
    assert "(0-2): 3 x Block(" in repr(ours)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList()) == "ModuleList()"
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())


# ---------------------------------------------------------------- load_state_dict
def test_load_from_torch_gives_identical_outputs():
    ours, theirs = build_mlp(minicnn), build_mlp(torch)
    result = ours.load_state_dict(torch_state_as_numpy(theirs))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == repr(theirs.load_state_dict(theirs.state_dict()))  # "<All keys matched...>"
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    # Same float32 weights and the same ops: only summation order differs (a few ulps).
    np.testing.assert_allclose(ours(minicnn.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_load_accepts_tensors_of_both_libraries_and_round_trips():
    theirs = build_net(torch)
    ours = build_net(minicnn)
    ours.load_state_dict(theirs.state_dict())  # torch tensors: anything with .numpy()
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, theirs.state_dict()[key].numpy(), err_msg=key)
    other = build_net(minicnn)
    other.load_state_dict({k: minicnn.tensor(v) for k, v in ours.state_dict().items()})
    assert_state_equal(snapshot(ours), snapshot(other))
    back = build_net(torch)
    back.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    for key, value in back.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), ours.state_dict()[key], err_msg=key)


def test_load_copies_in_place_and_keeps_dtype():
    m = nn.Linear(3, 2)
    weight, weight_array = m.weight, m.weight.data
    source = np.random.default_rng(1).standard_normal((2, 3))  # float64
    m.load_state_dict({"weight": source, "bias": np.zeros(2)})
    assert m.weight is weight and m.weight.data is weight_array  # same objects, values copied
    assert m.weight.dtype == np.float32  # the one explicit conversion: cast to the parameter's dtype
    np.testing.assert_array_equal(m.weight.numpy(), source.astype(np.float32))
    source[0, 0] = 100.0
    assert m.weight.numpy()[0, 0] != 100.0  # a copy, not a view of the source


def test_strict_and_non_strict_reports_match_torch():
    ours, theirs = build_net(minicnn), build_net(torch)
    state = torch_state_as_numpy(theirs)
    del state["heads.cls.bias"], state["blocks.1.bn.running_var"]
    state["blocks.9.conv.weight"] = np.zeros(1, np.float32)
    state["extra"] = np.zeros(1, np.float32)
    before = snapshot(ours)
    with pytest.raises(RuntimeError) as ours_error:
        ours.load_state_dict(state)
    assert_state_equal(before, snapshot(ours))  # strict failure: nothing written
    with pytest.raises(RuntimeError) as theirs_error:
        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    message = str(ours_error.value)
    assert message.startswith("Error(s) in loading state_dict for Net:")
    # PyTorch's lines, word for word: missing keys first, then unexpected.
    their_lines = str(theirs_error.value).split("\n\t")
    assert message.split("\n\t")[1:] == their_lines[1:]

    our_result = ours.load_state_dict(state, strict=False)
    their_result = theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()},
                                          strict=False)
    assert our_result.missing_keys == their_result.missing_keys == [
        "blocks.1.bn.running_var", "heads.cls.bias"]
    assert our_result.unexpected_keys == their_result.unexpected_keys == [
        "extra", "blocks.9.conv.weight"]
    # Non-strict: present keys were loaded.
    np.testing.assert_array_equal(ours.heads.cls.weight.numpy(), state["heads.cls.weight"])


def test_shape_mismatch_raises_even_non_strict_and_changes_nothing():
    ours = build_net(minicnn)
    state = {k: v.copy() for k, v in build_net(minicnn).state_dict().items()}
    for value in state.values():
        value[...] = 7  # every valid entry would change the model if it were written
    state["heads.cls.weight"] = np.zeros((10, 15), np.float32)
    state["stem.1.running_mean"] = np.zeros(9, np.float32)
    before = snapshot(ours)
    for strict in (True, False):
        with pytest.raises(RuntimeError) as error:
            ours.load_state_dict(state, strict=strict)
        message = str(error.value)
        assert ("size mismatch for heads.cls.weight (layer 'heads.cls', Linear): copying a param "
                "with shape (10, 15) from checkpoint, the shape in current model is (10, 16)."
                in message)
        assert "stem.1.running_mean (layer 'stem.1', BatchNorm2d)" in message
        assert "(9,)" in message and "(8,)" in message
        assert_state_equal(before, snapshot(ours))


def test_load_rejects_non_arrays_before_writing():
    m = nn.Linear(2, 2)
    before = snapshot(m)
    with pytest.raises(RuntimeError, match='parameter named "bias".*received str'):
        m.load_state_dict({"weight": np.ones((2, 2)), "bias": "zeros"})
    assert_state_equal(before, snapshot(m))
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([("weight", np.ones((2, 2)))])


def test_missing_num_batches_tracked_is_filled_as_torch_does():
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    ours.num_batches_tracked.data[...] = 5
    theirs.num_batches_tracked.fill_(5)
    state = {"weight": np.full(3, 2.0, np.float32), "bias": np.zeros(3, np.float32),
             "running_mean": np.ones(3, np.float32), "running_var": np.ones(3, np.float32)}
    our_result = ours.load_state_dict(state)
    their_result = theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    assert our_result.missing_keys == their_result.missing_keys == []
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 5


def test_keys_below_a_child_registered_as_none_are_ignored_like_torch():
    def build(lib):
        block = lib.nn.Module()
        block.conv = lib.nn.Conv2d(2, 2, 1)
        block.downsample = None  # a plain attribute...
        block.add_module("shortcut", None)  # ...and a child slot holding None
        return block

    ours, theirs = build(minicnn), build(torch)
    state = torch_state_as_numpy(theirs)
    state["shortcut.weight"] = np.zeros(1, np.float32)
    state["downsample.weight"] = np.zeros(1, np.float32)
    our_result = ours.load_state_dict(state, strict=False)
    their_result = theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()},
                                          strict=False)
    assert our_result.unexpected_keys == their_result.unexpected_keys == ["downsample.weight"]
    assert repr(ours).replace("Module(", "") == repr(theirs).replace("Module(", "")


def test_load_scalar_from_one_element_vector():
    bn = nn.BatchNorm2d(2)
    state = {k: v.copy() for k, v in bn.state_dict().items()}
    state["num_batches_tracked"] = np.array([3])
    bn.load_state_dict(state)
    assert bn.num_batches_tracked.shape == () and int(bn.num_batches_tracked.item()) == 3


# ---------------------------------------------------------------- hooks
def test_forward_hooks_modify_and_remove():
    m = build_mlp(minicnn)
    calls = []
    x = minicnn.randn(2, 5)
    plain = m(x).numpy().copy()

    def pre(module, args):
        calls.append("pre")
        return args[0] * 0  # a single value is wrapped into the args tuple

    def post(module, args, output):
        calls.append("post")
        assert isinstance(args, tuple) and len(args) == 1
        return output + 1

    zero_input = m(minicnn.zeros(2, 5)).numpy()
    pre_handle = m.register_forward_pre_hook(pre)
    post_handle = m.register_forward_hook(post)
    hooked = m(x).numpy()
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(hooked, zero_input + 1, rtol=1e-6)  # input zeroed, output + 1
    pre_handle.remove()
    post_handle.remove()
    np.testing.assert_array_equal(m(x).numpy(), plain)
    assert calls == ["pre", "post"]  # removed hooks are not called


def test_hook_order_prepend_kwargs_and_context_manager():
    m = nn.Identity()
    order = []
    m.register_forward_hook(lambda mod, args, out: order.append("a"))
    m.register_forward_hook(lambda mod, args, out: order.append("b"), prepend=True)
    seen = {}

    def with_kwargs(mod, args, kwargs, out):
        seen.update(kwargs)

    m.register_forward_hook(with_kwargs, with_kwargs=True)
    m.forward = lambda x, scale=1: x  # instance attribute: Identity with a keyword
    with m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": 3}),
                                     with_kwargs=True):
        m(minicnn.ones(1), scale=2)
    assert order == ["b", "a"] and seen == {"scale": 3}
    m(minicnn.ones(1), scale=2)
    assert seen == {"scale": 2}  # the pre-hook was removed by the with block


def test_hooks_see_every_submodule_in_call_order():
    names = []
    m = build_mlp(minicnn)
    for name, module in m.named_modules():
        module.register_forward_hook(lambda mod, args, out, name=name: names.append(name))
    m(minicnn.randn(1, 5))
    assert names == ["fc1", "act", "fc2", ""]


# ---------------------------------------------------------------- modes, grads, apply, to
def test_train_eval_propagate_and_return_self():
    ours, theirs = build_net(minicnn), build_net(torch)
    assert ours.eval() is ours
    theirs.eval()
    assert [m.training for m in ours.modules()] == [m.training for m in theirs.modules()]
    assert not any(m.training for m in ours.modules())
    ours.blocks.train()
    assert ours.blocks[0].bn.training and not ours.stem[1].training
    assert all(m.training for m in ours.train().modules())
    with pytest.raises(ValueError, match="boolean"):
        ours.train("yes")


def test_zero_grad_and_requires_grad():
    m = build_mlp(minicnn)
    m(minicnn.randn(3, 5)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.fc1.requires_grad_(False)
    m(minicnn.randn(3, 5)).sum().backward()
    assert m.fc1.weight.grad is None and m.fc2.weight.grad is not None


def test_apply_visits_children_first_like_torch():
    ours, theirs = build_net(minicnn), build_net(torch)
    our_order, their_order = [], []
    assert ours.apply(lambda m: our_order.append(type(m).__name__)) is ours
    theirs.apply(lambda m: their_order.append(type(m).__name__))
    assert our_order == their_order


def test_to_dtype_device_float_double():
    m = build_net(minicnn)
    weight = m.heads.cls.weight
    m.heads.cls(minicnn.randn(2, 16)).sum().backward()
    assert m.double() is m
    assert m.heads.cls.weight is weight  # same Parameter objects: optimizers keep working
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert weight.grad.dtype == np.float64
    assert m.stem[1].running_mean.dtype == np.float64
    assert m.stem[1].num_batches_tracked.dtype == np.int64  # integer buffers are not cast
    assert all(p.dtype == np.float32 for p in m.float().parameters())
    assert m.to(dtype=minicnn.float64).heads.aux.weight.dtype == np.float64
    data = m.heads.aux.weight.data
    assert m.to("cpu") is m and m.heads.aux.weight.data is data  # no-op on the CPU
    from minicnn import _device as device

    if not device.is_available():  # on a machine without a usable GPU: a clear error, nothing moved
        with pytest.raises(device.DeviceUnavailableError, match=r"Module.to\('cuda'\)"):
            m.to("cuda")
        assert m.heads.aux.weight.data is data
    with pytest.raises(TypeError, match="floating point"):
        m.to(minicnn.int64)
    with pytest.raises(ValueError, match="device"):
        m.to(device="tpu")


def test_deepcopy_is_independent():
    m = build_net(minicnn)
    clone = copy.deepcopy(m)
    assert repr(clone) == repr(m)
    clone.heads.cls.weight.data[...] = 0
    assert m.heads.cls.weight.numpy().any()
    assert clone.heads.cls.weight is not m.heads.cls.weight


def test_get_submodule_parameter_buffer():
    m = build_net(minicnn)
    assert m.get_submodule("blocks.1.bn") is m.blocks[1].bn
    assert m.get_submodule("") is m
    assert m.get_parameter("heads.cls.weight") is m.heads.cls.weight
    assert m.get_buffer("stem.1.running_var") is m.stem[1].running_var
    with pytest.raises(AttributeError, match="nope"):
        m.get_submodule("blocks.nope")


# ---------------------------------------------------------------- containers
def test_sequential_indexing_slicing_and_editing_like_torch():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 4),
                                 lib.nn.Tanh())

    ours, theirs = build(minicnn), build(torch)
    assert len(ours) == 4 and type(ours[-1]).__name__ == "Tanh"
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert list(ours[1:3]._modules) == list(theirs[1:3]._modules) == ["1", "2"]  # names kept
    assert isinstance(ours[1:3], nn.Sequential)
    with pytest.raises(IndexError, match="out of range"):
        ours[4]
    for lib, model in ((minicnn, ours), (torch, theirs)):
        del model[1]  # renumbers: '0', '1', '2'
        model.append(lib.nn.Linear(4, 1))
        model.insert(0, lib.nn.Identity())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    ours[0] = nn.Identity()
    assert isinstance(ours[0], nn.Identity)
    ordered = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 1)), ("act", nn.ReLU())]))
    assert list(ordered.state_dict()) == ["conv.weight", "conv.bias"]
    assert ordered.act is ordered[1]
    combined = nn.Sequential(nn.ReLU()) + nn.Sequential(nn.Tanh())
    assert [type(m).__name__ for m in combined] == ["ReLU", "Tanh"]


def test_sequential_forward_chains():
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = minicnn.randn(5, 3)
    expected = m[2](m[1](m[0](x)))
    np.testing.assert_array_equal(m(x).numpy(), expected.numpy())


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    layers.extend([nn.ReLU()])
    layers += [nn.Tanh()]
    assert len(layers) == 5 and isinstance(layers[-1], nn.Tanh)
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    assert len(list(layers.parameters())) == 4
    with pytest.raises(TypeError, match="iterable"):
        layers.extend(nn.ReLU())

    heads = nn.ModuleDict({"b": nn.Linear(2, 1), "a": nn.Linear(2, 3)})
    assert list(heads) == ["b", "a"] and "a" in heads and len(heads) == 2
    heads.update([("c", nn.ReLU())])
    assert list(heads.keys()) == ["b", "a", "c"]
    assert list(heads.state_dict()) == ["b.weight", "b.bias", "a.weight", "a.bias"]
    assert isinstance(heads.pop("c"), nn.ReLU) and "c" not in heads
    with pytest.raises(ValueError, match="element #0"):
        heads.update([("x",)])


def test_parameters_flow_through_containers_to_gradients():
    m = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = np.random.default_rng(2).standard_normal((6, 3)).astype(np.float32)
    m(minicnn.tensor(x)).sum().backward()
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    t.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in m.state_dict().items()})
    t(torch.from_numpy(x)).sum().backward()
    for (name, p), (_, q) in zip(m.named_parameters(), t.named_parameters()):
        # float32, O(10) terms per entry: agreement to a few ulps of the gradient's size.
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
