"""``minicnn.nn.utils``: helpers on parameters and modules, as ``torch.nn.utils``.

=============  ===========================================================
module         contents
=============  ===========================================================
``clip_grad``  clip_grad_norm_, clip_grad_value_, get_total_norm
``fusion``     fuse_conv_bn_eval, fuse_conv_bn_weights (torch.nn.utils.fusion),
               fuse_conv_bn (every conv -> batch norm pair of a model)
=============  ===========================================================
"""
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from .fusion import fuse_conv_bn, fuse_conv_bn_eval, fuse_conv_bn_weights

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "fuse_conv_bn_eval",
           "fuse_conv_bn_weights", "fuse_conv_bn"]
