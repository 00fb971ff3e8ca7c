"""``minicnn.nn.utils``: helpers on parameters and modules, as ``torch.nn.utils``.

=============  ===========================================================
module         contents
=============  ===========================================================
``clip_grad``  clip_grad_norm_, clip_grad_value_, get_total_norm
=============  ===========================================================
"""
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]
