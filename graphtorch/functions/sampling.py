"""`gt.multinomial`: index sampling with PyTorch's CPU algorithms and draw order (the
`multinomial` op in `ops.random_ops`; a graph node inside compiled code)."""

from __future__ import annotations

from ..dtypes import scalar_type_name
from ..ops.dispatch import call, write_out
from ..ops.random_ops import MULTINOMIAL
from ..tensor import Tensor
from ._wrap import check_tensor

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
    result = call(MULTINOMIAL, input, num_samples=n_sample, replacement=bool(replacement),
                  generator=generator)
    if out is not None:
        return write_out(out, result)
    return result


def _scalar_type_name(dtype) -> str:
    return scalar_type_name(dtype)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


_multinomial_method.__name__ = "multinomial"
_multinomial_method.__doc__ = multinomial.__doc__
