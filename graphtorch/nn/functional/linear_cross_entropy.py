"""`F.linear_cross_entropy` and `nn.LinearCrossEntropyOptions`: cross entropy of a linear
projection, as PyTorch 2.13 defines it (`cross_entropy(linear(input, W, b), target)`).

PyTorch's `options` select a chunked kernel that never materialises the whole logits; it
returns the reference values. graphtorch validates the options and warns where PyTorch
falls back, but always computes the reference path: same values, no memory saving.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

from ... import dtypes
from .activations import linear
from .losses import cross_entropy

__all__ = ["LinearCrossEntropyOptions", "linear_cross_entropy"]

_ACC_DTYPES = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64)


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """Chunking options of PyTorch's `linear_cross_entropy` (validated as PyTorch does;
    graphtorch computes the unchunked reference with them).

    >>> gt.nn.LinearCrossEntropyOptions(batch_chunk_size=64).batch_chunk_size
    64
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self):
        if self.acc_policy not in {"auto", "accurate", "balanced", "compact"}:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            if not sep:
                factor = "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None
                or (isinstance(self.batch_chunk_size, int) and self.batch_chunk_size > 0)):
            raise ValueError("batch_chunk_size must be positive int or None, got "
                             f"{self.batch_chunk_size!r}")
        if self.acc_dtype is not None and self.acc_dtype not in _ACC_DTYPES:
            raise ValueError(
                "acc_dtype must be one of {None, torch.float16, torch.bfloat16, "
                f"torch.float32, torch.float64}}, got {self.acc_dtype!r}. Pass "
                "acc_dtype=None to let the op pick automatically.")

    def _check_chunk_size(self, num_batches: int, in_features: int, num_classes: int) -> None:
        """PyTorch's call-time check: an explicit batch_chunk_size must agree with an
        explicit chunking_method's ("auto" yields to the explicit size)."""
        if self.batch_chunk_size is None or self.chunking_method in (None, "auto"):
            return
        method = self.chunking_method
        factor = int(method.split(":", 1)[1]) if ":" in method else 1
        target = -(-num_batches // -(-num_classes // in_features))
        chunk = min((1 << (target - 1).bit_length()) // factor, num_batches)
        if self.batch_chunk_size != chunk:
            raise ValueError(
                f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method "
                f"('{method}') give different chunk sizes ({self.batch_chunk_size} vs "
                f"{chunk}); pass only one.")


def _check_shapes(input, linear_weight, linear_bias) -> None:
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError("expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.dim()}")
    if input.shape[-1] != linear_weight.shape[-1]:
        raise RuntimeError(
            "expected equal input and linear_weight last dimensions (in_features), "
            f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    expected_bias = tuple(linear_weight.shape[:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != expected_bias:
        raise RuntimeError(f"expected linear_bias shape {expected_bias}, got "
                           f"{tuple(linear_bias.shape)}")
    if linear_weight.dim() > 2 and input.dim() == 1:
        raise RuntimeError(
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
            f"requires batched input, (N, {input.shape[-1]}), got unbatched input with shape "
            f"{tuple(input.shape)}")


def _warn_fallback(options, reduction, label_smoothing, target, out_features,
                   linear_bias) -> None:
    chunkable = (not out_features and reduction in {"mean", "sum", "none"}
                 and label_smoothing == 0.0 and target.dtype == dtypes.int64)
    if options is None or chunkable:
        return
    bias_shape = tuple(linear_bias.shape) if linear_bias is not None else None
    warnings.warn(
        "linear_cross_entropy: ``options`` ignored; chunked path needs "
        "reduction in {'mean','sum','none'}, label_smoothing == 0, target.dtype"
        " == int64, out_features == (). Got "
        f"reduction={reduction!r}, label_smoothing={label_smoothing}, "
        f"target.dtype={target.dtype}, out_features={tuple(out_features)}"
        f", tracing=False, linear_bias.shape={bias_shape}.", stacklevel=3)


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None):
    """`cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`, where
    linear_weight is (C, in_features) or (C, d_1, ..., d_K, in_features) for a K-dim loss.

    >>> x, w = gt.randn(4, 3), gt.randn(5, 3)
    >>> F.linear_cross_entropy(x, w, gt.tensor([0, 1, 2, 3])).shape
    torch.Size([])
    """
    _check_shapes(input, linear_weight, linear_bias)
    num_batches, in_features = tuple(input.shape[:-1]), input.shape[-1]
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    logits_shape = (*num_batches, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains "
                           "probabilities")
    ignore_index = ignore_index if ignore_index is not None else -100
    _warn_fallback(options, reduction, label_smoothing, target, out_features, linear_bias)
    if options is not None:
        options._check_chunk_size(math.prod(num_batches), in_features, num_classes)
    if out_features:
        flat_classes = math.prod(out_features, start=num_classes)
        linear_weight = linear_weight.reshape(flat_classes, in_features)
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(flat_classes)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=ignore_index, label_smoothing=label_smoothing)
