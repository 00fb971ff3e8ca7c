"""``minicnn.nn.utils`` fusion (conv -> eval batch norm folded into one conv) against
``torch.nn.utils.fusion`` and against running the two layers.

Tolerances:

* fused weights in float64: the same formula in the same order as PyTorch's; only
  ``1 / sqrt`` against ``rsqrt`` may differ in the last bit, so ``rtol = 1e-13``.
* layer outputs in float32: the fused conv sums ``(w * scale) * x`` where the pair sums
  ``w * x`` and then scales, so each output element differs by a few rounding errors of its
  ``K <= 54`` products (``~sqrt(K) * 6e-8`` of the terms' size): ``rtol = 1e-5`` and
  ``atol = 1e-5`` times the output's largest magnitude.
* whole models in float64 (float32 rounding, amplified through ~20 layers, says less):
  ``1e-10`` of the output's scale still rejects any real error.
"""
import copy

import numpy as np
import pytest
import torch
from torch.nn.utils import fusion as torch_fusion

import minicnn
from minicnn import nn
from minicnn._validation import MixedDtypes
from minicnn.nn.blocks.resnet import BasicBlock
from minicnn.nn.utils import fuse_conv_bn, fuse_conv_bn_eval, fuse_conv_bn_weights
from minicnn.nn.norm import _BatchNorm
from tests.io import randomize, small_model
from tests.kernels import _fake_cupy
from tests.models import torch_one_thread  # noqa: F401  (autouse fixture)

TOL32 = dict(rtol=1e-5, atol=1e-5)


def _randomize_bn(bn, rng):
    """Running statistics and affine parameters away from the identity (0, 1, 1, 0)."""
    channels = bn.num_features
    bn.running_mean.data[...] = rng.normal(0.0, 0.5, channels)
    bn.running_var.data[...] = rng.uniform(0.3, 2.0, channels)
    if bn.weight is not None:
        bn.weight.data[...] = rng.uniform(0.5, 1.5, channels)
    if bn.bias is not None:
        bn.bias.data[...] = rng.normal(0.0, 0.5, channels)
    return bn


def _twins(conv_class, conv_args, bn_options, dtype=minicnn.float32, seed=0):
    """(conv, bn) in minicnn and the same two in torch.nn (weights copied), all in eval mode."""
    conv = getattr(nn, conv_class)(*conv_args[:3], **conv_args[3], dtype=dtype).eval()
    bn = nn.BatchNorm2d(conv.out_channels, eps=1e-3, dtype=dtype, **bn_options).eval()
    _randomize_bn(bn, np.random.default_rng(seed))
    torch_dtype = getattr(torch, np.dtype(dtype).name)
    torch_conv = getattr(torch.nn, conv_class)(*conv_args[:3], **conv_args[3], dtype=torch_dtype)
    torch_bn = torch.nn.BatchNorm2d(conv.out_channels, eps=1e-3, dtype=torch_dtype, **bn_options)
    for ours, theirs in ((conv, torch_conv), (bn, torch_bn)):
        theirs.load_state_dict({key: torch.from_numpy(value.copy())
                                for key, value in ours.state_dict().items()})
        theirs.eval()
    return conv, bn, torch_conv, torch_bn


def _assert_close(actual, expected, rtol, atol):
    """``atol`` is relative to the largest magnitude of ``expected`` (module docstring)."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(actual, expected, rtol=rtol,
                               atol=atol * max(1.0, float(np.abs(expected).max())))


# ---------------------------------------------------------------- fuse_conv_bn_weights
@pytest.mark.parametrize("transpose, groups", [(False, 1), (False, 3), (True, 1)])
@pytest.mark.parametrize("conv_bias", [True, False])
@pytest.mark.parametrize("gamma, beta", [(True, True), (False, False), (True, False)])
@pytest.mark.parametrize("as_arrays", [False, True])
def test_fused_weights_equal_torch(transpose, groups, conv_bias, gamma, beta, as_arrays):
    rng = np.random.default_rng(7)
    c_in, c_out = 6, 9
    shape = (c_in, c_out, 3, 2) if transpose else (c_out, c_in // groups, 3, 2)
    arrays = dict(conv_w=rng.standard_normal(shape), conv_b=rng.standard_normal(c_out),
                  bn_rm=rng.standard_normal(c_out), bn_rv=rng.uniform(0.1, 3.0, c_out),
                  bn_w=rng.standard_normal(c_out), bn_b=rng.standard_normal(c_out))
    present = dict(conv_b=conv_bias, bn_w=gamma, bn_b=beta)
    arrays = {k: (v if present.get(k, True) else None) for k, v in arrays.items()}
    ours_in = {k: v if v is None or as_arrays else nn.Parameter(v.copy(), requires_grad=k[0] == "c")
               for k, v in arrays.items()}
    theirs_in = {k: None if v is None else torch.nn.Parameter(torch.from_numpy(v.copy()),
                                                              requires_grad=k[0] == "c")
                 for k, v in arrays.items()}
    weight, bias = fuse_conv_bn_weights(**ours_in, bn_eps=1e-5, transpose=transpose,
                                        groups=groups if transpose else 1)
    expected_w, expected_b = torch_fusion.fuse_conv_bn_weights(**theirs_in, bn_eps=1e-5,
                                                               transpose=transpose)
    assert isinstance(weight, nn.Parameter) and isinstance(bias, nn.Parameter)
    np.testing.assert_allclose(weight.numpy(), expected_w.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(bias.numpy(), expected_b.detach().numpy(), rtol=1e-13, atol=1e-15)
    if not as_arrays:  # PyTorch's flags: the conv's; a missing conv bias gives False
        assert (weight.requires_grad, bias.requires_grad) == (True, conv_bias)
        assert (expected_w.requires_grad, expected_b.requires_grad) == (True, conv_bias)


@pytest.mark.parametrize("c_in, c_out, groups", [(4, 6, 2), (6, 6, 6)])
def test_grouped_transposed_weights_fuse_each_group(c_in, c_out, groups):
    """PyTorch's ``transpose=True`` reshapes the scale as ``(1, C_out, 1, 1)`` against a
    ``(C_in, C_out/G, k, k)`` weight, right only for G = 1; each group alone is a G = 1
    transposed weight, so fusing group by group with PyTorch is the reference here."""
    conv, bn, torch_conv, torch_bn = _twins("ConvTranspose2d", (c_in, c_out, 3, dict(
        stride=2, groups=groups)), {}, dtype=minicnn.float64)
    fused = fuse_conv_bn_eval(conv, bn, transpose=True)
    rows, cols = c_in // groups, c_out // groups
    for g in range(groups):
        channel = slice(g * cols, (g + 1) * cols)
        expected_w, expected_b = torch_fusion.fuse_conv_bn_weights(
            torch_conv.weight[g * rows:(g + 1) * rows], torch_conv.bias[channel],
            torch_bn.running_mean[channel], torch_bn.running_var[channel], torch_bn.eps,
            torch_bn.weight[channel], torch_bn.bias[channel], transpose=True)
        np.testing.assert_allclose(fused.weight.numpy()[g * rows:(g + 1) * rows],
                                   expected_w.detach().numpy(), rtol=1e-13)
        np.testing.assert_allclose(fused.bias.numpy()[channel], expected_b.detach().numpy(),
                                   rtol=1e-13)
    x = np.random.default_rng(1).standard_normal((2, c_in, 5, 4))
    with torch.no_grad():
        expected = torch_bn(torch_conv(torch.from_numpy(x))).numpy()
    _assert_close(fused(minicnn.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- fuse_conv_bn_eval
LAYERS = {
    "3x3 s2, no bias": ("Conv2d", (6, 8, 3, dict(stride=2, padding=1, bias=False)), {}),
    "depthwise, dilated": ("Conv2d", (6, 6, 3, dict(padding=2, dilation=2, groups=6)), {}),
    "1x1 g2, bn not affine": ("Conv2d", (4, 8, 1, dict(groups=2)), dict(affine=False)),
    "3x3, bn without beta": ("Conv2d", (3, 5, 3, dict(bias=False)), dict(bias=False)),
    "transposed s2": ("ConvTranspose2d", (6, 4, 3, dict(stride=2, padding=1, output_padding=1)),
                      {}),
    "transposed g2": ("ConvTranspose2d", (4, 6, 3, dict(groups=2, bias=False)), {}),
}


@pytest.mark.parametrize("case", LAYERS)
def test_fused_layer_computes_conv_then_bn(case):
    conv_class, conv_args, bn_options = LAYERS[case]
    conv, bn, torch_conv, torch_bn = _twins(conv_class, conv_args, bn_options, seed=3)
    transpose = conv_class == "ConvTranspose2d"
    fused = fuse_conv_bn_eval(conv, bn, transpose=transpose)
    assert type(fused) is type(conv) and fused is not conv and fused.bias is not None
    x = np.random.default_rng(2).standard_normal((2, conv.in_channels, 7, 6)).astype(np.float32)
    with minicnn.no_grad():
        ours = fused(minicnn.tensor(x)).numpy()
        unfused = bn(conv(minicnn.tensor(x))).numpy()
    with torch.no_grad():
        theirs = torch_bn(torch_conv(torch.from_numpy(x))).numpy()
        if not (transpose and conv.groups > 1):  # PyTorch's own fusion (G = 1 when transposed)
            torch_fused = torch_fusion.fuse_conv_bn_eval(torch_conv, torch_bn, transpose)
            _assert_close(ours, torch_fused(torch.from_numpy(x)).numpy(), **TOL32)
    _assert_close(ours, unfused, **TOL32)
    _assert_close(ours, theirs, **TOL32)
    # the originals are untouched: the pair still computes what torch's pair does
    _assert_close(unfused, theirs, **TOL32)


def test_fusion_keeps_device_arrays(monkeypatch):
    """On a (stand-in) GPU the fused weights are computed there and equal the CPU ones."""
    conv, bn, _, _ = _twins("Conv2d", (4, 6, 3, dict(groups=2)), {})
    on_cpu = fuse_conv_bn_eval(conv, bn)
    _fake_cupy.install(monkeypatch)
    on_device = fuse_conv_bn_eval(copy.deepcopy(conv).to("cuda"), copy.deepcopy(bn).to("cuda"))
    for name in ("weight", "bias"):
        array = getattr(on_device, name).data
        assert isinstance(array, _fake_cupy.ndarray), name
        np.testing.assert_array_equal(array.get(), getattr(on_cpu, name).numpy())


# ---------------------------------------------------------------- fuse_conv_bn (models)
def test_fuse_conv_bn_in_a_sequential_fuses_only_conv_then_bn():
    rng = np.random.default_rng(4)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),  # fused
        nn.ConvTranspose2d(4, 6, 2, stride=2), nn.BatchNorm2d(6),  # fused (transposed)
        nn.BatchNorm2d(6),  # after a batch norm: left
        nn.Conv2d(6, 6, 1), nn.BatchNorm2d(6, track_running_stats=False),  # no statistics: left
        nn.ReLU(), nn.BatchNorm2d(6),  # after a ReLU: left
    ).double()
    for module in model:
        if isinstance(module, nn.BatchNorm2d) and module.track_running_stats:
            _randomize_bn(module, rng)
    fused = fuse_conv_bn(model)
    kinds = [type(m).__name__ for m in fused]
    assert kinds == ["Conv2d", "Identity", "ReLU", "ConvTranspose2d", "Identity", "BatchNorm2d",
                     "Conv2d", "BatchNorm2d", "ReLU", "BatchNorm2d"]
    assert model.training and not fused.training
    assert isinstance(model[1], nn.BatchNorm2d) and model[0].bias is None  # model unchanged
    x = minicnn.tensor(rng.standard_normal((2, 3, 5, 5)))
    with minicnn.no_grad():
        _assert_close(fused(x).numpy(), model.eval()(x).numpy(), rtol=1e-10, atol=1e-10)


def _eval_outputs(model, fused, seed=0):
    x = minicnn.tensor(np.random.default_rng(seed).standard_normal((2, 3, 16, 16)))
    with minicnn.no_grad():
        return fused(x).numpy(), model(x).numpy()


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x0_5"])
def test_fuse_conv_bn_folds_every_batch_norm_of_a_mobile_model(name):
    """Every batch norm of these models sits right after a conv in a Sequential."""
    model = randomize(small_model(name)).double()
    fused = fuse_conv_bn(model)
    assert not any(isinstance(m, _BatchNorm) for m in fused.modules())
    identities = sum(isinstance(m, nn.Identity) for m in fused.modules())
    assert identities - sum(isinstance(m, nn.Identity) for m in model.modules()) == \
        sum(isinstance(m, _BatchNorm) for m in model.modules())
    ours, expected = _eval_outputs(model, fused)
    _assert_close(ours, expected, rtol=1e-10, atol=1e-10)


def test_fuse_conv_bn_resnet18_by_default_and_by_name():
    model = randomize(small_model("resnet18")).double()
    batch_norms = {n for n, m in model.named_modules() if isinstance(m, _BatchNorm)}
    # default: the projections only (Sequential(conv1x1, BN)); the blocks call bn(conv(x)) on
    # attributes, which says nothing about where conv's output goes
    by_default = fuse_conv_bn(model)
    left = {n for n, m in by_default.named_modules() if isinstance(m, _BatchNorm)}
    assert batch_norms - left == {f"layer{i}.0.downsample.1" for i in (2, 3, 4)}
    _assert_close(*_eval_outputs(model, by_default), rtol=1e-10, atol=1e-10)

    pairs = [("conv1", "bn1")]
    for name, module in model.named_modules():
        if isinstance(module, BasicBlock):
            pairs += [(f"{name}.conv1", f"{name}.bn1"), (f"{name}.conv2", f"{name}.bn2")]
            if module.downsample is not None:
                pairs.append((f"{name}.downsample.0", f"{name}.downsample.1"))
    by_name = fuse_conv_bn(model, pairs)
    assert not any(isinstance(m, _BatchNorm) for m in by_name.modules())
    _assert_close(*_eval_outputs(model, by_name), rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- errors
def test_training_mode_is_refused_naming_the_module():
    conv, bn, _, _ = _twins("Conv2d", (3, 4, 3, {}), {})
    with pytest.raises(RuntimeError, match=r"conv Conv2d\(3, 4, .* is in training mode"):
        fuse_conv_bn_eval(conv.train(), bn)
    with pytest.raises(RuntimeError, match=r"bn BatchNorm2d\(4, .* is in training mode"):
        fuse_conv_bn_eval(conv.eval(), bn.train())


def test_mismatched_or_wrong_modules_are_refused():
    conv = nn.Conv2d(3, 4, 3).eval()
    with pytest.raises(ValueError, match=r"bn.num_features \(5\) must equal conv.out_channels "
                                         r"\(4\)"):
        fuse_conv_bn_eval(conv, nn.BatchNorm2d(5).eval())
    with pytest.raises(ValueError, match="no running statistics"):
        fuse_conv_bn_eval(conv, nn.BatchNorm2d(4, track_running_stats=False).eval())
    with pytest.raises(ValueError, match="transpose=True but conv is a Conv2d"):
        fuse_conv_bn_eval(conv, nn.BatchNorm2d(4).eval(), transpose=True)
    with pytest.raises(ValueError, match="transpose=False but conv is a ConvTranspose2d"):
        fuse_conv_bn_eval(nn.ConvTranspose2d(3, 4, 3).eval(), nn.BatchNorm2d(4).eval())
    with pytest.raises(TypeError, match="bn must be a batch norm .* got GroupNorm"):
        fuse_conv_bn_eval(conv, nn.GroupNorm(2, 4).eval())
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(TypeError, match="bn must be a batch norm .* got ReLU"):
        fuse_conv_bn(model, [("0", "1")])
    with pytest.raises(AttributeError, match="no submodule `2`"):
        fuse_conv_bn(model, [("0", "2")])
    with pytest.raises(TypeError, match=r"modules_to_fuse\[0\] must be a pair of module names"):
        fuse_conv_bn(model, ["0"])


def test_fuse_conv_bn_weights_checks_shapes_and_dtypes():
    w, c6, c5 = np.ones((6, 2, 3, 3)), np.zeros(6), np.ones(5)
    with pytest.raises(ValueError, match=r"batch norm has 5 channels .* conv has 6 output "
                                         r"channels \(conv_w.shape\[0\] = 6\)"):
        fuse_conv_bn_weights(w, None, c5, c5, 1e-5, None, None)
    with pytest.raises(ValueError, match=r"bn_rv must be 1-D .* got shape \(5,\)"):
        fuse_conv_bn_weights(w, None, c6, c5, 1e-5, None, None)
    with pytest.raises(ValueError, match=r"bn_rm must be 1-D .* got shape \(6, 1\)"):
        fuse_conv_bn_weights(w, None, c6[:, None], c6, 1e-5, None, None)
    with pytest.raises(ValueError, match=r"conv_w.shape\[1\] \* groups = 2 \* 2"):
        fuse_conv_bn_weights(w, None, c6, c6, 1e-5, None, None, True, groups=2)
    with pytest.raises(ValueError, match="groups=4 must divide conv_w's in_channels"):
        fuse_conv_bn_weights(np.ones((6, 1, 3, 3)), None, np.ones(4), np.ones(4), 1e-5, None,
                             None, True, groups=4)
    with pytest.raises(MixedDtypes, match="conv_w: float32, bn_rm: float64"):
        fuse_conv_bn_weights(w.astype(np.float32), None, c6, c6, 1e-5, None, None)
