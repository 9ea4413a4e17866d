"""More of PyTorch's math namespace: closeness tests, einsum/tensordot/kron, diff, cdist,
hypot/logaddexp/xlogy/..., trapezoid, cov, and small tensor utilities.

Most functions are short decompositions into registered ops (autograd follows from them);
einsum and the elementwise ones PyTorch gives a grad_fn of their own are primitives.
"""

from __future__ import annotations

import builtins
import math

from .. import dtypes
from ..dtypes import scalar_type_name
from ..ops import binary_math as binary_math_ops
from ..ops import elementwise as elementwise_ops
from ..ops import unary_math as unary_math_ops
from ..ops.dispatch import call, call_inplace
from ..tensor import Tensor
from ._wrap import accepts_out, binary, check_tensor, finish, unary
from .creation import arange, ones, tensor
from .math import float_power, sub
from .statistics import searchsorted

__all__ = []


def _export(name, fn, method=True):
    """Make `fn` the public function `name` (`method`: also `Tensor.name`, which
    graphtorch/tensor_methods.py binds; the flag only documents that here)."""
    globals()[name] = fn
    __all__.append(name)




# --- elementwise primitives --------------------------------------------------------------

for _name, _op, _tensor_only in [("hypot", binary_math_ops.HYPOT, True),
                                 ("logaddexp", binary_math_ops.LOGADDEXP, True),
                                 ("logaddexp2", binary_math_ops.LOGADDEXP2, True),
                                 ("copysign", binary_math_ops.COPYSIGN, False),
                                 ("xlogy", binary_math_ops.XLOGY, False),
                                 ("fmax", binary_math_ops.FMAX, True),
                                 ("fmin", binary_math_ops.FMIN, True),
                                 ("gcd", binary_math_ops.GCD, True),
                                 ("lcm", binary_math_ops.LCM, True),
                                 ("nextafter", binary_math_ops.NEXTAFTER, True)]:
    _fn, _fn_ = binary(_op, _name, tensor_only=_tensor_only)
    _export(_name, _fn)
    if _name not in ("logaddexp", "logaddexp2", "fmax", "fmin"):  # no in-place in PyTorch
        _export(_name + "_", _fn_)


def _overloads(fn, name, signatures):
    """Reject argument kinds PyTorch has no overload for (a number where it needs a
    tensor), with its TypeError."""
    def checked(input, other, *, out=None):
        if not isinstance(input, Tensor) and (name == "copysign" or
                                              not isinstance(other, Tensor)):
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"({type(input).__name__}, {type(other).__name__}), but expected "
                            f"one of:\n{signatures}")
        return fn(input, other, out=out)

    checked.__name__, checked.__doc__ = name, fn.__doc__
    return checked


copysign = _overloads(globals()["copysign"], "copysign",
                      " * (Tensor input, Tensor other, *, Tensor out = None)\n"
                      " * (Tensor input, Number other, *, Tensor out = None)\n")
xlogy = _overloads(globals()["xlogy"], "xlogy",
                   " * (Tensor input, Tensor other, *, Tensor out = None)\n"
                   " * (Number self, Tensor other, *, Tensor out = None)\n"
                   " * (Tensor input, Number other, *, Tensor out = None)\n")

for _name, _op in [("sgn", unary_math_ops.SGN), ("sinc", unary_math_ops.SINC),
                   ("signbit", unary_math_ops.SIGNBIT),
                   ("lgamma", unary_math_ops.LGAMMA), ("digamma", unary_math_ops.DIGAMMA)]:
    _fn, _fn_ = unary(_op, _name)
    _export(_name, _fn)
    if _name != "signbit":
        _export(_name + "_", _fn_)


def _check_order(n, fname):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"{fname}(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")


def polygamma(n, input, *, out=None):
    """The n-th derivative of digamma (n = 0: digamma itself)."""
    _check_order(n, "polygamma")
    check_tensor(input, "polygamma", position=2)
    return finish(call(unary_math_ops.POLYGAMMA, input, n=n), out)


def _polygamma_method(self, n):
    """Tensor.polygamma(n)."""
    return polygamma(n, self)


def polygamma_(self, n):
    """In-place polygamma."""
    _check_order(n, "polygamma_")
    return call_inplace(unary_math_ops.POLYGAMMA, self, n=n)


@accepts_out
def mvlgamma(input, p):
    """Multivariate log-gamma: sum_i lgamma(input - i / 2) + p (p - 1) / 4 log(pi)."""
    check_tensor(input, "mvlgamma")
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")

    x = input if input.is_floating_point() else input.to(dtypes.get_default_dtype())
    offsets = arange(-p * 0.5 + 0.5, 0.5, 0.5, dtype=x.dtype, device=x.device)
    return (x.unsqueeze(-1) + offsets).lgamma().sum(-1) + p * (p - 1) / 4 * math.log(math.pi)


def mvlgamma_(self, p):
    """In-place mvlgamma."""
    return self.copy_(mvlgamma(self, p))


_export("polygamma", polygamma, method=False)
_export("polygamma_", polygamma_)
_export("mvlgamma", mvlgamma)
_export("mvlgamma_", mvlgamma_)


def _float_input(input, name):
    """Integers and bool compute in the default float dtype; complex is rejected."""
    check_tensor(input, name)
    if input.is_complex():
        raise RuntimeError(f"{name} is not supported for complex tensors.")
    return input if input.is_floating_point() else input.to(dtypes.get_default_dtype())


def deg2rad(input, *, out=None):
    """Degrees to radians (integers give the default float dtype)."""
    return finish(_float_input(input, "deg2rad") * (math.pi / 180.0), out)


def rad2deg(input, *, out=None):
    """Radians to degrees (integers give the default float dtype)."""
    return finish(_float_input(input, "rad2deg") * (180.0 / math.pi), out)


def deg2rad_(input):
    """In-place deg2rad (floating tensors)."""
    return input.mul_(math.pi / 180.0)


def rad2deg_(input):
    """In-place rad2deg (floating tensors)."""
    return input.mul_(180.0 / math.pi)


def logit(input, eps=None, *, out=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given."""
    check_tensor(input, "logit")
    if input.is_complex():
        raise NotImplementedError(f"\"logit_cpu\" not implemented for "
                                  f"'{scalar_type_name(input.dtype)}'")
    x = input if input.is_floating_point() else input.to(dtypes.get_default_dtype())
    if eps is not None:
        x = x.clamp(eps, 1 - eps)
    return finish((x / (1 - x)).log(), out)


def logit_(input, eps=None):
    """In-place logit."""
    return input.copy_(logit(input, eps))


def heaviside(input, values, *, out=None):
    """0 where input < 0, 1 where input > 0, `values` where input == 0 (not differentiable,
    as in PyTorch, so the result is detached)."""
    check_tensor(input, "heaviside")
    check_tensor(values, "heaviside", "values", 2)
    if input.is_complex() or values.is_complex():
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    x, v = input.detach(), values.detach()
    return finish(call(elementwise_ops.WHERE, x == 0, v, (x > 0).to(x.dtype)), out)


def heaviside_(self, values):
    """In-place heaviside."""
    return self.copy_(heaviside(self, values))


def positive(input):
    """`+input`: the input itself (bool is rejected, as in PyTorch)."""
    check_tensor(input, "positive")
    if input.dtype is dtypes.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def rsub(input, other, *, alpha=1):
    """other - alpha * input."""
    return sub(other, input, alpha=alpha)


def ldexp(input, other, *, out=None):
    """input * 2 ** other."""
    check_tensor(input, "ldexp")
    check_tensor(other, "ldexp", "other", 2)
    return finish(input * call(elementwise_ops.POW, 2.0, other), out)


def ldexp_(input, other):
    """In-place ldexp."""
    return input.mul_(call(elementwise_ops.POW, 2.0, other))


def float_power_(self, exponent):
    """In-place float_power (self must be float64 or complex128, as in PyTorch)."""
    result = float_power(self, exponent)
    if result.dtype is not self.dtype:
        raise RuntimeError(f"the base given to float_power_ has dtype "
                           f"{scalar_type_name(self.dtype)} but "
                           f"the operation's result requires dtype "
                           f"{scalar_type_name(result.dtype)}")
    return self.copy_(result)


def clamp_min_(input, min):
    """In-place clamp from below."""
    return input.clamp_(min=min)


def clamp_max_(input, max):
    """In-place clamp from above."""
    return input.clamp_(max=max)


for _name in ("deg2rad", "rad2deg", "deg2rad_", "rad2deg_", "logit", "logit_", "heaviside",
              "heaviside_", "positive", "rsub", "ldexp", "ldexp_", "float_power_",
              "clamp_min_", "clamp_max_"):
    _export(_name, globals()[_name], method=_name != "rsub")

# --- tests: closeness, equality, kinds ---------------------------------------------------


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| <= atol + rtol * |other| elementwise (inputs of one dtype)."""
    check_tensor(input, "isclose")
    check_tensor(other, "isclose", "other", 2)
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{scalar_type_name(input.dtype)} did not match "
                           f"{scalar_type_name(other.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    input, other = input.detach(), other.detach()
    close = input == other
    if equal_nan and (input.is_floating_point() or input.is_complex()):
        close = close | (input.isnan() & other.isnan())
    if rtol == 0 and atol == 0:
        return close
    # PyTorch's formula and evaluation order (bool computes in the default float dtype).
    a, b = input, other
    if a.dtype is dtypes.bool_:
        a, b = a.to(dtypes.get_default_dtype()), b.to(dtypes.get_default_dtype())
    allowed = atol + (rtol * b).abs()
    actual = (a - b).abs()
    return close | (actual.isfinite() & (actual <= allowed))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether isclose holds everywhere (a Python bool)."""
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan).all().item())


def equal(input, other) -> bool:
    """Same shape and same values (a Python bool; NaN is not equal to itself)."""
    check_tensor(input, "equal")
    check_tensor(other, "equal", "other", 2)
    if tuple(input.shape) != tuple(other.shape):
        return False
    return builtins.bool((input.detach() == other.detach()).all().item())


def is_floating_point(input) -> bool:
    """Whether input's dtype is a floating point type."""
    return check_tensor(input, "is_floating_point").dtype.is_floating_point


def is_complex(input) -> bool:
    """Whether input's dtype is complex."""
    return check_tensor(input, "is_complex").dtype.is_complex


def is_nonzero(input) -> bool:
    """The truth value of a one-element tensor."""
    check_tensor(input, "is_nonzero")
    if input.numel() == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if input.numel() > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return builtins.bool(input.item())


def is_same_size(input, other) -> bool:
    """Whether both tensors have the same shape."""
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input) -> bool:
    """Whether input's dtype is signed."""
    return check_tensor(input, "is_signed").dtype.is_signed


def is_conj(input) -> bool:
    """graphtorch never uses lazy conjugation: always False."""
    return False


def is_neg(input) -> bool:
    """graphtorch never uses lazy negation: always False."""
    return False


def resolve_conj(input):
    """The input itself (conjugation is never lazy here)."""
    return input


def resolve_neg(input):
    """The input itself (negation is never lazy here)."""
    return input


def conj_physical(input, *, out=None):
    """The complex conjugate, materialised."""
    return finish(input.conj(), out)


def isposinf(input, *, out=None):
    """input == +inf."""
    return finish(_inf_test(input, "isposinf", math.inf), out)


def isneginf(input, *, out=None):
    """input == -inf."""
    return finish(_inf_test(input, "isneginf", -math.inf), out)


def _inf_test(input, name, value):
    check_tensor(input, name)
    if input.is_complex():
        raise RuntimeError(f"{name} does not support complex inputs.")
    return input == value


def isreal(input):
    """True where the imaginary part is zero (everywhere for real dtypes)."""
    check_tensor(input, "isreal")
    if not input.is_complex():
        return ones(input.shape, dtype=dtypes.bool_, device=input.device)
    return input.imag == 0


@accepts_out
def isin(elements=None, test_elements=None, *, assume_unique=False, invert=False,
         element=None, test_element=None):
    """Whether each element of `elements` occurs in `test_elements` (PyTorch's scalar
    overloads name them `element` / `test_element`)."""
    elements = element if elements is None else elements
    test_elements = test_element if test_elements is None else test_elements

    device = elements.device if isinstance(elements, Tensor) else test_elements.device
    elements_t = elements if isinstance(elements, Tensor) else tensor(elements, device=device)
    tests = test_elements if isinstance(test_elements, Tensor) else tensor(test_elements,
                                                                           device=device)
    for t in (elements_t, tests):
        if t.dtype is dtypes.bool_ or t.is_complex():
            raise RuntimeError(f"Unsupported input type encountered for isin(): "
                               f"{scalar_type_name(t.dtype)}")
    common = dtypes.promote_types(elements_t.dtype, tests.dtype)
    x, pool = elements_t.detach().to(common), tests.detach().to(common).reshape(-1)
    if pool.numel() == 0:
        found = x.new_zeros(x.shape, dtype=dtypes.bool_)
    else:  # sorted lookup: O((n + m) log m) time, no n x m intermediate

        pool = pool.sort().values
        idx = searchsorted(pool, x.reshape(-1)).clamp(max=pool.numel() - 1)
        found = (pool[idx] == x.reshape(-1)).reshape(x.shape)
    return ~found if invert else found


def angle(input, *, out=None):
    """The argument of complex numbers; pi for negative reals, 0 otherwise (NaN kept)."""
    check_tensor(input, "angle")
    if input.is_complex():
        return finish(call(elementwise_ops.ATAN2, input.imag, input.real), out)
    x = input if input.is_floating_point() else input.to(dtypes.get_default_dtype())
    return finish(call(elementwise_ops.WHERE, x.isnan(), x, (x < 0).to(x.dtype) * math.pi), out)


for _name in ("isclose", "allclose", "equal", "is_floating_point", "is_complex", "is_nonzero",
              "is_same_size", "is_signed", "is_conj", "is_neg", "resolve_conj", "resolve_neg",
              "conj_physical", "isposinf", "isneginf", "isreal", "isin", "angle"):
    _export(_name, globals()[_name],
            method=_name not in ("isin", "is_floating_point", "is_complex", "is_signed"))

# Tensor methods only: PyTorch has no torch.<name> for these in-place forms.
for _name in ("hypot_", "copysign_", "sgn_", "heaviside_", "float_power_", "nextafter_",
              "lgamma_", "digamma_", "polygamma_", "mvlgamma_"):
    __all__.remove(_name)

# --- re-exported from the sibling modules (one star import in graphtorch/__init__) --------

from . import contraction, numeric, tensor_extra  # noqa: E402 - after the helpers above

for _module in (contraction, numeric, tensor_extra):
    for _name in _module.__all__:
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
