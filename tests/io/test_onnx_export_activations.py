"""ONNX export of PReLU (per channel and shared), Softplus (beta, threshold) and Mish: each
checked by onnx.checker and run in ONNX Runtime against minicnn (tolerance and method as in
test_onnx_export.py)."""
import minicnn
from minicnn import nn
from minicnn.onnx import export
from tests.io import randomize

from .test_onnx_export import TRACE_BATCH, assert_runs_like_minicnn


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.prelu_per_channel = nn.PReLU(4, init=0.1)
        self.prelu_shared = nn.PReLU()
        # threshold 1 puts the linear piece inside the data range (beta x > 1 for some x)
        self.softplus = nn.Softplus(beta=2.0, threshold=1.0)
        self.mish = nn.Mish()

    def forward(self, x):
        y = self.prelu_per_channel(self.conv(x))
        y = self.softplus(y) + self.mish(y) + self.prelu_shared(y)
        return y.flatten(1)


def test_prelu_softplus_mish_export_and_run_in_onnxruntime(tmp_path):
    model = randomize(Activations())
    # distinct slopes per channel: a slope broadcast along the wrong axis would show
    model.prelu_per_channel.weight.data[...] = [0.1, -0.2, 0.3, 0.5]
    proto = export(model, minicnn.randn(TRACE_BATCH, 3, 5, 5), tmp_path / "act.onnx")
    ops = {node.op_type for node in proto.graph.node}
    assert {"PRelu", "Softplus", "Where", "Tanh"} <= ops
    assert_runs_like_minicnn(model, tmp_path / "act.onnx", (3, 5, 5))
