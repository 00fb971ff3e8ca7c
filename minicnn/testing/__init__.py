"""``minicnn.testing``: the harness that proves each operator right.

* :func:`gradcheck` / :func:`gradcheck_report`: float64 central differences
  against the analytic gradient, under a random upstream gradient.
* :func:`compare_with_torch`: output and every input gradient against PyTorch
  under a random upstream gradient (PyTorch imported only when called).
* :func:`compare_devices`: the same on a GPU against the CPU (outputs, input
  gradients, inputs updated in place), and that the results stay on the GPU.
* :mod:`minicnn.testing.strategies`: hypothesis strategies for operator tests
  (shapes, broadcastable shapes, dims/keepdim, tie-free values); imported
  on its own, so the engine never needs hypothesis.
"""
from .gradcheck import GradcheckError, InputReport, gradcheck, gradcheck_report
from .device_parity import compare_devices
from .torch_parity import ParityReport, compare_with_torch

__all__ = ["gradcheck", "gradcheck_report", "GradcheckError", "InputReport",
           "compare_with_torch", "compare_devices", "ParityReport"]
