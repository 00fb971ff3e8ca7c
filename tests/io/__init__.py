"""Tests of weights in (torch.save, safetensors, .npz, ``predict``) and models out (ONNX).

``SMALL_ZOO``: every zoo model in a small configuration (narrow widths, the
CIFAR-style stem, 10 classes) that runs on a 16x16 image in milliseconds.
"""
SMALL_ZOO = {
    "resnet18": dict(width=8),
    "resnet34": dict(width=8),
    "resnet50": dict(width=8),
    "preact_resnet18": dict(width=8),
    "preact_resnet50": dict(width=8),
    "densenet121": dict(growth_rate=4, num_init_features=8),
    "efficientnet_b0": dict(width_mult=0.25, depth_mult=0.5),
    "mobilenet_v2": dict(width_mult=0.25),
    "mobilenet_v3_small": dict(width_mult=0.25),
    "mobilenet_v3_large": dict(width_mult=0.25),
    "shufflenet_v2_x0_5": dict(),
    "shufflenet_v2_x1_0": dict(),
}
SMALL_IMAGE = (3, 16, 16)


def small_model(name):
    """The zoo model ``name`` in its small configuration (eval mode)."""
    import minicnn.models

    model = minicnn.models.get_model(name, num_classes=10, small_input=True, **SMALL_ZOO[name])
    return model.eval()


def randomize(model, seed=0):
    """Give every BatchNorm non-trivial statistics and affine parameters, and every Linear
    weights of unit gain, so that a fresh small model's output is of order one (a fresh zoo
    model's can be ~1e-9: zero-initialised heads, BN as an identity), which a comparison
    needs to mean anything. Returns ``model``."""
    import numpy as np

    from minicnn import nn

    rng = np.random.default_rng(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            channels = module.num_features
            module.weight.data[...] = rng.uniform(0.5, 1.5, channels)
            module.bias.data[...] = rng.normal(0.0, 0.2, channels)
            module.running_mean.data[...] = rng.normal(0.0, 0.2, channels)
            module.running_var.data[...] = rng.uniform(0.5, 1.5, channels)
        elif isinstance(module, nn.Linear):
            fan_in = module.weight.shape[1]
            module.weight.data[...] = rng.normal(0.0, 1.0 / np.sqrt(fan_in), module.weight.shape)
            if module.bias is not None:
                module.bias.data[...] = rng.normal(0.0, 0.1, module.bias.shape)
    return model
