"""`MultivariateNormal(loc, covariance_matrix | precision_matrix | scale_tril)`
(`torch.distributions.MultivariateNormal`): parameterised by a lower Cholesky factor L of
the covariance, so rsample is loc + L eps (PyTorch's draws for a seed) and log_prob solves
one triangular system."""

from __future__ import annotations

import math

from ..functions.creation import eye
from ..linalg import cholesky, solve_triangular
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution
from .utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]


def _broadcast_shapes(*shapes) -> Size:
    ndim = max(len(s) for s in shapes)
    out = []
    for sizes in zip(*[(1,) * (ndim - len(s)) + tuple(s) for s in shapes]):
        wide = {s for s in sizes if s != 1}
        if len(wide) > 1:
            raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape. "
                               f"Mismatch is between {sizes[0]} and {sizes[1]}.")
        out.append(wide.pop() if wide else 1)
    return Size(out)


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    """The lower Cholesky factor of inverse(precision), without forming the inverse."""
    flipped = cholesky(precision.flip(-2, -1))
    inverse_of_tril = flipped.flip(-2, -1).transpose(-2, -1)
    identity = eye(precision.shape[-1], dtype=precision.dtype, device=precision.device)
    return solve_triangular(inverse_of_tril, identity, upper=False)


class MultivariateNormal(Distribution):
    """A Gaussian over vectors (the last dim of `loc`).

    >>> d = MultivariateNormal(gt.zeros(2), covariance_matrix=gt.eye(2))
    >>> d.log_prob(gt.zeros(2))
    tensor(-1.8379)
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, scale_tril, precision_matrix)]
        if sum(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        for name, matrix in (("scale_tril", scale_tril),
                             ("covariance_matrix", covariance_matrix),
                             ("precision_matrix", precision_matrix)):
            if matrix is None:
                continue
            if matrix.dim() < 2:
                label = f"{name} matrix" if name == "scale_tril" else name
                raise ValueError(f"{label} must be at least two-dimensional, with optional "
                                 "leading batch dimensions")
            batch_shape = _broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
            setattr(self, name, matrix.expand(tuple(batch_shape) + (-1, -1)))
        self.loc = loc.expand(tuple(batch_shape) + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MultivariateNormal, _instance)
        batch_shape = Size(batch_shape)
        loc_shape = batch_shape + self.event_shape
        cov_shape = batch_shape + self.event_shape + self.event_shape
        new.loc = self.loc.expand(loc_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(cov_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(
            self._batch_shape + self._event_shape + self._event_shape)

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        tril = self._unbroadcasted_scale_tril
        return (tril @ tril.mT).expand(self._batch_shape + self._event_shape + self._event_shape)

    @lazy_property
    def precision_matrix(self) -> Tensor:
        tril = self._unbroadcasted_scale_tril
        identity = eye(tril.shape[-1], dtype=tril.dtype, device=tril.device)
        inverse = solve_triangular(tril, identity, upper=False)
        return (inverse.mT @ inverse).expand(
            self._batch_shape + self._event_shape + self._event_shape)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(
            self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = _standard_normal(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self) -> Tensor:
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        n = diff.shape[-1]
        shape = tuple(_broadcast_shapes(diff.shape[:-1],
                                        self._unbroadcasted_scale_tril.shape[:-2]))
        tril = self._unbroadcasted_scale_tril.expand(shape + (n, n))
        whitened = solve_triangular(tril, diff.expand(shape + (n,)).unsqueeze(-1), upper=False)
        mahalanobis = whitened.squeeze(-1).pow(2).sum(-1)
        return -0.5 * (n * math.log(2 * math.pi) + mahalanobis) - self._half_log_det()

    def entropy(self):
        entropy = (0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi))
                   + self._half_log_det())
        return entropy if len(self._batch_shape) == 0 else entropy.expand(self._batch_shape)
