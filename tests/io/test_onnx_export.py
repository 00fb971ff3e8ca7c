"""minicnn.onnx.export: every zoo model and seed block, checked by onnx.checker, run by ONNX Runtime.

Tolerance: the graph runs in float32 in ONNX Runtime, whose kernels (MLAS
convolutions, fused BN) sum in another order than minicnn's im2col + BLAS,
so each output differs by float32 rounding grown over up to ~50 layers:
measured at most ~1e-6 of the output's largest magnitude. The bound
``1e-5 * max(1, max |y|)`` (the scaled atol of tests/models) leaves a 10x
margin and still rejects any wrong attribute (a pad, a group, an epsilon),
which moves outputs by percents.
"""
import numpy as np
import onnx
import onnxruntime
import pytest

import minicnn
from minicnn import nn
from minicnn.article import BLOCKS
from minicnn.onnx import OnnxExportError, export, supported_functions
from tests.io import SMALL_IMAGE, SMALL_ZOO, randomize, small_model

TRACE_BATCH, OTHER_BATCH = 2, 3


def assert_runs_like_minicnn(model, path, sample_shape, batches=(TRACE_BATCH, OTHER_BATCH)):
    """Load ``path`` (written by export), check it, run it at each batch size and compare."""
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in batches:
        x = np.random.default_rng(batch).standard_normal((batch,) + sample_shape).astype(np.float32)
        with minicnn.no_grad():
            ours = model(minicnn.tensor(x)).numpy()
        (theirs,) = session.run(None, {"input": x})
        assert theirs.shape == ours.shape
        scale = max(1.0, float(np.abs(ours).max()))
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("name", sorted(SMALL_ZOO))
def test_zoo_models_export_and_run_in_onnxruntime(tmp_path, name):
    model = randomize(small_model(name))
    example = minicnn.randn(TRACE_BATCH, *SMALL_IMAGE)
    export(model, example, tmp_path / "model.onnx")
    assert_runs_like_minicnn(model, tmp_path / "model.onnx", SMALL_IMAGE)


@pytest.mark.parametrize("pair", BLOCKS, ids=[pair.name for pair in BLOCKS])
def test_seed_blocks_export_and_run_in_onnxruntime(tmp_path, pair):
    # The article's block and the paper's, at the article's channels, on 8x8 maps.
    sample_shape = (pair.input_shape[1], 8, 8)
    for which, block in zip(("article", "paper"), pair.build()):
        block = randomize(block.eval())
        export(block, minicnn.randn(TRACE_BATCH, *sample_shape), tmp_path / f"{which}.onnx")
        assert_runs_like_minicnn(block, tmp_path / f"{which}.onnx", sample_shape)


class Layers(nn.Module):
    """The ops the zoo does not use, or uses in one form only."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2)
        # On 5x5 maps ceil_mode adds a third (partial) window to each axis of these two.
        self.max_ceil = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.avg_ceil = nn.AvgPool2d(4, stride=2, padding=1, ceil_mode=True)
        self.avg_exclude = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        y = self.conv(x)                                        # (N, 6, 5, 5)
        y = nn.functional.leaky_relu(y, 0.1) + nn.functional.elu(y, 0.5)
        y = nn.functional.gelu(y) * nn.functional.gelu(y, approximate="tanh") - y.tanh()
        a = self.max_ceil(y) + self.avg_exclude(y)              # (N, 6, 3, 3)
        b = self.avg_ceil(y)                                    # (N, 6, 3, 3)
        y = minicnn.cat([a, b.clamp(-1.0, 1.0)], 1)[:, 2:10:2, ::2]   # (N, 4, 2, 3)
        y = nn.functional.pad(y, (1, 0, 0, 1), value=0.5)       # (N, 4, 3, 4)
        y = y.permute(0, 2, 3, 1).reshape(y.shape[0], -1, 4)   # (N, 12, 4)
        z = nn.functional.adaptive_avg_pool2d(x, 3).flatten(1)  # (N, 36)
        w = (z.abs() + 1).sqrt().log() / 2 + z.exp().mean(1, keepdim=True) - z.amax(1, keepdim=True)
        y = y.softmax(-1) + nn.functional.log_softmax(y, 1).sum(2, keepdim=True)
        return self.fc(y[:, :, :2].reshape(y.shape[0], -1)[:, :6]) + w[:, :5] ** 2


def test_options_and_ops_beyond_the_zoo(tmp_path):
    model = randomize(Layers())
    proto = export(model, minicnn.randn(TRACE_BATCH, 4, 9, 9), tmp_path / "layers.onnx")
    ops = {node.op_type for node in proto.graph.node}
    assert {"Conv", "MaxPool", "AveragePool", "Erf", "Tanh", "Clip", "Slice", "Pad", "Transpose",
            "Softmax", "LogSoftmax", "ReduceMean", "ReduceSum", "ReduceMax", "Gemm",
            "Concat"} <= ops
    pools = {tuple(sorted((a.name, a.i) for a in node.attribute if a.name in
                          ("ceil_mode", "count_include_pad")))
             for node in proto.graph.node if node.op_type in ("MaxPool", "AveragePool")}
    assert pools == {(("ceil_mode", 1),), (("ceil_mode", 0), ("count_include_pad", 0)),
                     (("ceil_mode", 1), ("count_include_pad", 1)),
                     ()}  # the adaptive pooling's plain AveragePool
    assert_runs_like_minicnn(model, tmp_path / "layers.onnx", (4, 9, 9))


def test_parameters_are_named_initializers_and_batch_is_dynamic(tmp_path):
    model = randomize(small_model("resnet18"))
    proto = export(model, minicnn.randn(1, *SMALL_IMAGE), tmp_path / "r.onnx", opset_version=18)
    initializers = {init.name for init in proto.graph.initializer}
    assert set(model.state_dict()) - {k for k in model.state_dict()
                                      if k.endswith("num_batches_tracked")} <= initializers
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.opset_import[0].version == 18
    assert_runs_like_minicnn(model, tmp_path / "r.onnx", SMALL_IMAGE, batches=(1, 4))
    fixed = export(model, minicnn.randn(2, *SMALL_IMAGE), tmp_path / "f.onnx", dynamic_batch=False)
    assert fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    assert_runs_like_minicnn(model, tmp_path / "f.onnx", SMALL_IMAGE, batches=(2,))
    assert model.training is False  # small_model made it eval; export restored that
    model.train()
    export(model, minicnn.randn(2, *SMALL_IMAGE), tmp_path / "t.onnx")
    assert model.training is True


def test_errors_name_what_cannot_export(tmp_path):
    class Variance(nn.Module):
        def forward(self, x):
            return x.var(1)

    with pytest.raises(OnnxExportError, match=r"applies Var \(minicnn.ops.reduce\), which has no "
                                              r"ONNX translation; supported: .*Conv2d"):
        export(Variance(), minicnn.randn(2, 3), tmp_path / "v.onnx")
    assert "Conv2d" in supported_functions() and "Var" not in supported_functions()

    class BatchFold(nn.Module):
        def forward(self, x):
            return x.reshape(-1)

    with pytest.raises(OnnxExportError, match=r"reshapes \(2, 3\) to \(6,\).*dynamic_batch=False"):
        export(BatchFold(), minicnn.randn(2, 3), tmp_path / "b.onnx")
    export(BatchFold(), minicnn.randn(2, 3), tmp_path / "b.onnx", dynamic_batch=False)

    with pytest.raises(ValueError, match="opset_version must be an int from 14"):
        export(BatchFold(), minicnn.randn(2, 3), tmp_path / "b.onnx", opset_version=11)
    with pytest.raises(TypeError, match="example_input must be a Tensor, a NumPy array"):
        export(BatchFold(), [[1.0, 2.0]], tmp_path / "b.onnx")


def test_in_place_methods_are_followed(tmp_path):
    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            y = self.conv(x)
            skip = y * 2
            y.add_(skip).clamp_(-1.0, 1.0)  # later uses of y must see both changes
            y.mul_(3)
            return y.flatten(1)

    model = randomize(InPlace())
    export(model, minicnn.randn(TRACE_BATCH, 3, 5, 5), tmp_path / "inplace.onnx")
    assert_runs_like_minicnn(model, tmp_path / "inplace.onnx", (3, 5, 5))


def test_interpolate_every_mode(tmp_path):
    class Resizes(nn.Module):
        def forward(self, x):
            F = nn.functional
            return minicnn.cat([
                F.interpolate(x, size=(7, 9), mode="nearest"),
                F.interpolate(x, scale_factor=(1.5, 1.8), mode="nearest").flatten(2)[..., :63]
                .reshape(x.shape[0], -1, 7, 9),
                F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True),
                F.interpolate(x, size=(7, 9), mode="bilinear"),
                F.interpolate(F.interpolate(x, scale_factor=2.5, mode="bilinear"), size=(7, 9),
                              mode="bilinear")], 1)

    export(Resizes(), minicnn.randn(TRACE_BATCH, 2, 5, 6), tmp_path / "resize.onnx")
    assert_runs_like_minicnn(Resizes(), tmp_path / "resize.onnx", (2, 5, 6))


def test_decoder_ops_export(tmp_path):
    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                         groups=2, dilation=1)
            self.dilated = nn.ConvTranspose2d(6, 4, 2, stride=3, padding=0, dilation=2)
            self.shuffle, self.unshuffle = nn.PixelShuffle(2), nn.PixelUnshuffle(2)

        def forward(self, x):
            y = self.up(x)                                   # (N, 6, 8, 8)
            y = self.dilated(y)                              # (N, 4, 24, 24)
            y = self.shuffle(self.unshuffle(y) * 0.5 + 1)    # (N, 16, 12, 12) and back
            gate = y.mean((2, 3), keepdim=True).expand(-1, -1, 24, 24)
            return (y * gate).repeat(1, 2, 1, 1)             # (N, 8, 24, 24)

    model = randomize(Decoder())
    proto = export(model, minicnn.randn(TRACE_BATCH, 4, 4, 4), tmp_path / "decoder.onnx")
    assert {"ConvTranspose", "DepthToSpace", "Expand", "Tile"} <= \
        {node.op_type for node in proto.graph.node}
    assert_runs_like_minicnn(model, tmp_path / "decoder.onnx", (4, 4, 4))


def test_alpha_and_tensor_clamp_bounds(tmp_path):
    class Forms(nn.Module):
        def forward(self, x):
            F = nn.functional
            y = F.sub(F.add(x, x * x, alpha=2.0), x.tanh(), alpha=0.5)
            return minicnn.clamp(y, min=y.mean(1, keepdim=True), max=1.0)  # a tensor bound

    export(Forms(), minicnn.randn(TRACE_BATCH, 6), tmp_path / "forms.onnx")
    assert_runs_like_minicnn(Forms(), tmp_path / "forms.onnx", (6,))
