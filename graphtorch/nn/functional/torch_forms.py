"""The torch.<name> forms of functional ops: `gt.selu`, `gt.dropout(input, p, train)`, ...

PyTorch exposes a few nn.functional ops at top level too, some with other argument names;
these call the functional versions. graphtorch/__init__.py exports them (and
tensor_methods.py binds `Tensor.hardshrink` and `Tensor.prelu`).
"""

from __future__ import annotations

from . import activations, channels

__all__ = ["dropout", "alpha_dropout", "feature_alpha_dropout", "selu", "celu", "threshold",
           "hardshrink", "prelu", "rrelu", "cosine_similarity", "pairwise_distance", "bilinear",
           "selu_", "celu_", "threshold_", "rrelu_", "channel_shuffle",
           "native_channel_shuffle"]


def _torch_form(fn):
    def torch_function(*args, **kwargs):
        return fn(*args, **kwargs)

    torch_function.__name__ = torch_function.__qualname__ = fn.__name__
    torch_function.__doc__ = f"torch.{fn.__name__}: the same as torch.nn.functional.{fn.__name__}."
    return torch_function


def dropout(input, p, train):
    """torch.dropout(input, p, train): nn.functional.dropout with positional `train`."""
    return activations.dropout(input, p, training=train)


def alpha_dropout(input, p, train):
    """torch.alpha_dropout(input, p, train)."""
    return activations.alpha_dropout(input, p, training=train)


def feature_alpha_dropout(input, p, train):
    """torch.feature_alpha_dropout(input, p, train)."""
    return activations.feature_alpha_dropout(input, p, training=train)


selu = _torch_form(activations.selu)
celu = _torch_form(activations.celu)
threshold = _torch_form(activations.threshold)
hardshrink = _torch_form(activations.hardshrink)
prelu = _torch_form(activations.prelu)
rrelu = _torch_form(activations.rrelu)
cosine_similarity = _torch_form(activations.cosine_similarity)
pairwise_distance = _torch_form(activations.pairwise_distance)
bilinear = _torch_form(activations.bilinear)
selu_ = _torch_form(activations.selu_)
celu_ = _torch_form(activations.celu_)
threshold_ = _torch_form(activations.threshold_)
rrelu_ = _torch_form(activations.rrelu_)
channel_shuffle = _torch_form(channels.channel_shuffle)
native_channel_shuffle = _torch_form(channels.native_channel_shuffle)
