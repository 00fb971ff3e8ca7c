"""Check cases for batch_norm (see minicnn.checks.case).

Inputs: x, weight, bias, running_mean, running_var. The running statistics
are constants (no gradient): in training they are updated in place on every
call, which changes nothing the check compares (training normalises with
the batch statistics); in evaluation they are only read. The float32
tolerance covers the batch statistics' float32 sums against PyTorch's
double accumulators, divided by sigma ~ 1: a few ulps of O(1-10) values.
"""
from ..nn import functional as F
from .case import Case


def _inputs(shape):
    def make(rng):
        channels = shape[1]
        x = rng.standard_normal(shape) * 2.0 + 1.0
        return [x, rng.uniform(0.5, 1.5, channels), rng.standard_normal(channels),
                rng.standard_normal(channels), rng.uniform(0.5, 2.0, channels)]
    return make


def _torch_bn(training):
    def call(x, weight, bias, running_mean, running_var):
        import torch.nn.functional as TF

        return TF.batch_norm(x, running_mean, running_var, weight, bias, training=training)
    return call


def _ours(training):
    def call(x, weight, bias, running_mean, running_var):
        return F.batch_norm(x, running_mean, running_var, weight, bias, training=training)
    return call


CASES = [
    Case("batch_norm", f"x{shape} {'training' if training else 'eval'}", _inputs(shape),
         _ours(training), _torch_bn(training), atol=2e-5, rtol=1e-4, grad_inputs=[0, 1, 2])
    for shape, training in [((4, 3, 5, 5), True), ((8, 5), True), ((2, 3, 4, 5), False),
                            ((3, 2, 3, 2, 2), True)]
]
