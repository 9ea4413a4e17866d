"""`gt.multinomial`: index sampling with PyTorch's CPU algorithms and draw order.

Without replacement (or for a single sample) PyTorch takes the Gumbel-max route: one Exp(1)
draw per probability, then the arg-max (top-k) of p / q. With replacement it walks each row's
normalised cumulative distribution with one 53-bit uniform per sample. Both are replayed here
on `graphtorch.random`'s stream, so a seeded call returns PyTorch's indices.
"""

from __future__ import annotations

import numpy as np

from ..random import generator_or_default
from ..tensor import Tensor
from ._wrap import check_tensor
from .creation import _finish, _host

__all__ = ["multinomial"]

# PyTorch stores category indices in float on some paths: it refuses more than 2**24.
_MAX_CATEGORIES = 1 << 24


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """Draw `num_samples` category indices per row of the (unnormalised) probabilities in
    `input` (1-D or 2-D), as `torch.multinomial`; the draws equal PyTorch's for the same seed.

    One difference remains: without replacement, categories whose keys p/q tie (in
    practice only zero-probability categories, when more samples are asked for than there
    are non-zero probabilities) come in index order; PyTorch's top-k orders ties as its
    partial sort happens to leave them.

    >>> gt.manual_seed(0)
    >>> gt.multinomial(gt.tensor([0.1, 0.6, 0.3]), 4, replacement=True)
    tensor([2, 2, 1, 2])
    """
    check_tensor(input, "multinomial")
    gen = generator_or_default(generator)
    gen._refuse_while_tracing()  # the draws would be frozen into a traced graph
    n_sample = int(num_samples)
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_scalar_type_name(input.dtype)}")
    if n_sample <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n_categories = input.shape[-1]
    if not replacement and n_sample > n_categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if n_categories > _MAX_CATEGORIES:
        raise RuntimeError("number of categories cannot exceed 2^24")
    probs = np.ascontiguousarray(_host(input._data)).reshape(-1, n_categories)
    if probs.shape[0] == 0:
        indices = np.zeros((0, n_sample), dtype=np.int64)
    elif not replacement or n_sample == 1:
        indices = _gumbel_top_k(probs, n_sample, gen)
    else:
        indices = _inverse_cdf(probs, n_sample, gen)
    if input.dim() == 1:
        indices = indices.reshape(n_sample)
    result = _finish(indices, input.device)
    if out is not None:
        from ..ops.dispatch import write_out

        return write_out(out, result)
    return result


def _gumbel_top_k(probs: np.ndarray, n_sample: int, gen) -> np.ndarray:
    """argmax / top-k of p / q with q ~ Exp(1), computed in the probabilities' dtype."""
    if not (np.all(probs >= 0) and np.all(probs < np.inf)):  # NaN fails both
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(probs.sum(axis=1, dtype=np.float64) == 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    q = gen.exponential(probs.size, 1.0).astype(probs.dtype).reshape(probs.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        keys = probs / q
    if n_sample == 1:
        return np.argmax(keys, axis=1).reshape(-1, 1).astype(np.int64)
    # Largest first; equal keys (only zero-probability categories, in practice) by index.
    return np.argsort(-keys, axis=1, kind="stable")[:, :n_sample].astype(np.int64)


def _inverse_cdf(probs: np.ndarray, n_sample: int, gen) -> np.ndarray:
    """PyTorch's with-replacement kernel: a running sum in the dtype (float for half types),
    divided by the total, the last bucket forced to 1, one binary search per uniform."""
    acc = np.float32 if probs.dtype.itemsize < 4 else probs.dtype
    indices = np.empty((probs.shape[0], n_sample), dtype=np.int64)
    for row, p in enumerate(probs):
        if np.any(p < 0):
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry < 0)")
        if not np.all(np.isfinite(p)):
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry = infinity or NaN)")
        cumulative = np.cumsum(p.astype(acc), dtype=acc)  # sequential, as the C loop
        total = cumulative[-1]
        if not total > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        cumulative = cumulative / total
        cumulative[-1] = 1
        uniforms = gen.uniform(n_sample, 0.0, 1.0, np.float64)
        # first bucket whose cumulative probability is not below the draw
        indices[row] = np.searchsorted(cumulative.astype(np.float64), uniforms, side="left")
    return indices


def _scalar_type_name(dtype) -> str:
    from ..ops.elementwise import _word

    return _word(dtype)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


_multinomial_method.__name__ = "multinomial"
_multinomial_method.__doc__ = multinomial.__doc__
Tensor.multinomial = _multinomial_method
