"""`gt.nn.utils`: sequence packing/padding (`rnn`) and gradient clipping, as in PyTorch."""

from . import clip_grad, rnn
from .clip_grad import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
