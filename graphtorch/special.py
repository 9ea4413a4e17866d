"""`gt.special`: PyTorch's torch.special namespace.

Most entries are graphtorch's own functions under scipy-style names (expit is sigmoid,
gammaln is lgamma, psi is digamma, ...); the rest are short decompositions into registry
ops (ndtr, log_ndtr). Functions NumPy has no kernel for (erfcx, i0/i0e/i1/i1e, ndtri, zeta,
entr, xlog1py) are registry ops of their own (ops/special_ops.py), with PyTorch's gradients.

>>> import graphtorch as gt
>>> gt.special.expit(gt.tensor([0.0])).tolist()
[0.5]
"""

from __future__ import annotations

import math

from .functions._wrap import binary, check_tensor, finish
from .functions.math import erf, erfc, erfinv, exp2, expm1, log, log1p, sigmoid, where
from .functions.math import round as _round
from .functions.math_extra import digamma, lgamma, logit, mvlgamma, polygamma, sinc, xlogy
from .functions.statistics import log_softmax as _log_softmax
from .functions.statistics import logsumexp
from .functions.statistics import softmax as _softmax
from .ops import special_ops
from .ops.dispatch import call

__all__ = ["digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammaln",
           "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp",
           "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "sinc", "softmax",
           "xlog1py", "xlogy", "zeta"]


def expit(input, *, out=None):
    """The logistic sigmoid 1 / (1 + exp(-x)), as `gt.sigmoid`."""
    return sigmoid(input, out=out)


def gammaln(input, *, out=None):
    """log |Gamma(x)|, as `gt.lgamma`."""
    return lgamma(input, out=out)


def psi(input, *, out=None):
    """The digamma function, as `gt.digamma`."""
    return digamma(input, out=out)


def multigammaln(input, p, *, out=None):
    """The multivariate log-gamma function of dimension p, as `gt.mvlgamma`."""
    return mvlgamma(input, p, out=out)


def round(input, *, decimals=0, out=None):
    """Round half to even, to `decimals` places, as `gt.round`."""
    return _round(input, decimals=decimals, out=out)


def log_softmax(input, dim, *, dtype=None):
    """log(softmax(x)) along `dim`, as `gt.log_softmax`."""
    return _log_softmax(input, dim, dtype)


def softmax(input, dim, *, dtype=None):
    """exp(x) / sum(exp(x)) along `dim`, as `gt.softmax`."""
    return _softmax(input, dim, dtype)


def ndtr(input, *, out=None):
    """The standard normal CDF, 0.5 * erfc(-x / sqrt(2)) (PyTorch's formula).

    >>> gt.special.ndtr(gt.tensor([0.0])).tolist()
    [0.5]
    """
    return finish(erfc(input * -math.sqrt(0.5)) * 0.5, out)


def _unary(op, input, out):
    check_tensor(input, op.name)
    return finish(call(op, input), out)


def entr(input, *, out=None):
    """Elementwise entropy: -x log(x) for x > 0, 0 at 0, -inf for x < 0 (NaN stays NaN).

    >>> gt.special.entr(gt.tensor([0.0, 1.0, -1.0])).tolist()
    [0.0, -0.0, -inf]
    """
    return _unary(special_ops.ENTR, input, out)


def erfcx(input, *, out=None):
    """The scaled complementary error function exp(x^2) erfc(x), finite for large x."""
    return _unary(special_ops.ERFCX, input, out)


def i0(input, *, out=None):
    """The modified Bessel function of the first kind, order 0."""
    return _unary(special_ops.I0, input, out)


def i0e(input, *, out=None):
    """exp(-|x|) i0(x), finite for large |x|."""
    return _unary(special_ops.I0E, input, out)


def i1(input, *, out=None):
    """The modified Bessel function of the first kind, order 1."""
    return _unary(special_ops.I1, input, out)


def i1e(input, *, out=None):
    """exp(-|x|) i1(x), finite for large |x|."""
    return _unary(special_ops.I1E, input, out)


def ndtri(input, *, out=None):
    """The inverse of `ndtr`: the x whose standard normal CDF is p.

    >>> gt.special.ndtri(gt.tensor([0.5])).tolist()
    [0.0]
    """
    return _unary(special_ops.NDTRI, input, out)


def log_ndtr(input, *, out=None):
    """log(ndtr(x)), accurate in both tails (PyTorch's formula: through erfcx below -1).

    >>> round(gt.special.log_ndtr(gt.tensor([-40.0])).item(), 1)
    -804.6
    """
    check_tensor(input, "log_ndtr")
    lower = input < -1
    # each branch sees only its own inputs, so the other branch's gradient is never NaN
    t_low = where(lower, input, -2.0) * math.sqrt(0.5)
    t_high = where(lower, 0.0, input) * math.sqrt(0.5)
    low = log(call(special_ops.ERFCX, -t_low) / 2) - t_low * t_low
    high = log1p(erfc(t_high) / -2)
    return finish(where(lower, low, high), out)


_xlog1py, _ = binary(special_ops.XLOG1PY, "xlog1py")
_zeta, _ = binary(special_ops.ZETA, "zeta")


def xlog1py(input, other, *, out=None):
    """x * log1p(y), and 0 where x is 0 unless y is NaN (as `xlogy` for log).

    >>> gt.special.xlog1py(gt.tensor([0.0, 2.0]), gt.tensor([-1.0, 0.0])).tolist()
    [0.0, 0.0]
    """
    return _xlog1py(input, other, out=out)


def zeta(input, other, *, out=None):
    """The Hurwitz zeta function: the sum over k >= 0 of (k + other) ** -input.

    >>> round(gt.special.zeta(gt.tensor([2.0]), 1.0).item(), 6)
    1.644934
    """
    return _zeta(input, other, out=out)
