"""Check cases for batch_norm, layer_norm, group_norm and instance_norm (see minicnn.checks.case).

Inputs: x, weight, bias, running_mean, running_var. The running statistics
are constants (no gradient): in training they are updated in place on every
call, which changes nothing the check compares (training normalises with
the batch statistics); in evaluation they are only read. The float32
tolerance covers the batch statistics' float32 sums against PyTorch's
double accumulators, divided by sigma ~ 1: a few ulps of O(1-10) values.
The per-sample norms run batch norm's core on rows of at most 90 values here:
the same tolerance.
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


def _affine_inputs(shape, param_shape, running=False):
    """x (offset, so the mean matters), weight, bias; with ``running``, the (C,) running
    statistics after them (constants)."""
    def make(rng):
        arrays = [rng.standard_normal(shape) * 2.0 + 1.0, rng.uniform(0.5, 1.5, param_shape),
                  rng.standard_normal(param_shape)]
        if running:
            arrays += [rng.standard_normal(shape[1]), rng.uniform(0.5, 2.0, shape[1])]
        return arrays
    return make


def _functional(library):
    """minicnn's functional, or PyTorch's (imported only when a torch check runs)."""
    if library == "torch":
        import torch.nn.functional as TF

        return TF
    return F


def _affine_norm(name, *args, library="minicnn"):
    """``<name>(x, *args, weight, bias)`` (layer_norm: normalized_shape; group_norm: num_groups)."""
    return lambda x, weight, bias: getattr(_functional(library), name)(x, *args, weight, bias)


def _instance_norm(use_input_stats, library="minicnn"):
    def call(x, weight, bias, running_mean, running_var):
        return _functional(library).instance_norm(x, running_mean, running_var, weight, bias,
                                                  use_input_stats, momentum=0.2)
    return call


CASES += [
    Case("layer_norm", f"x{shape} normalized_shape={normalized}",
         _affine_inputs(shape, normalized), _affine_norm("layer_norm", normalized),
         _affine_norm("layer_norm", normalized, library="torch"), atol=2e-5, rtol=1e-4)
    for shape, normalized in [((4, 6), (6,)), ((2, 3, 4, 5), (4, 5))]
] + [
    Case("group_norm", f"x{shape} num_groups={groups}", _affine_inputs(shape, shape[1]),
         _affine_norm("group_norm", groups), _affine_norm("group_norm", groups, library="torch"),
         atol=2e-5, rtol=1e-4)
    for shape, groups in [((2, 6, 3, 3), 3), ((3, 4, 5), 1), ((2, 4, 2, 2), 4)]
] + [
    # The first case runs on the stand-in GPU (tests/test_devices.py): the running statistics.
    Case("instance_norm", f"x{shape} {config}", _affine_inputs(shape, shape[1], running=True),
         _instance_norm(use_input_stats), _instance_norm(use_input_stats, library="torch"),
         atol=2e-5, rtol=1e-4, grad_inputs=[0, 1, 2])
    for shape, config, use_input_stats in [
        ((2, 3, 4, 4), "running statistics updated", True),
        ((3, 2, 3, 2), "use_input_stats=False", False)]
]
