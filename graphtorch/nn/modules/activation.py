"""Activation modules: thin wrappers over `gt.nn.functional`."""

from __future__ import annotations

from .. import functional as F
from .module import Module


class _Elementwise(Module):
    _fn = None
    _params: tuple = ()

    def __init__(self, **kwargs):
        super().__init__()
        for name, value in kwargs.items():
            setattr(self, name, value)

    def forward(self, input):
        return type(self)._fn(input, **{k: getattr(self, k) for k in self._params})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)}" for k in self._params
                         if not (k == "inplace" and not getattr(self, k)))


def _inplace_repr(self):
    return "inplace=True" if getattr(self, "inplace", False) else ""


class ReLU(_Elementwise):
    """max(0, x)."""

    _fn = staticmethod(lambda x, inplace=False: F.relu(x, inplace=inplace))
    _params = ("inplace",)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)

    extra_repr = _inplace_repr


class ReLU6(_Elementwise):
    """min(max(0, x), 6)."""

    _fn = staticmethod(lambda x, inplace=False: F.relu6(x, inplace=inplace))
    _params = ("inplace",)

    def __init__(self, inplace: bool = False):
        super().__init__(inplace=inplace)

    extra_repr = _inplace_repr


class LeakyReLU(_Elementwise):
    """x if x > 0 else negative_slope * x."""

    _fn = staticmethod(lambda x, negative_slope=0.01, inplace=False:
                       F.leaky_relu(x, negative_slope, inplace))
    _params = ("negative_slope", "inplace")

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False):
        super().__init__(negative_slope=negative_slope, inplace=inplace)


class ELU(_Elementwise):
    _fn = staticmethod(lambda x, alpha=1.0, inplace=False: F.elu(x, alpha, inplace))
    _params = ("alpha", "inplace")

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(alpha=alpha, inplace=inplace)


class Softplus(_Elementwise):
    _fn = staticmethod(lambda x, beta=1.0, threshold=20.0: F.softplus(x, beta, threshold))
    _params = ("beta", "threshold")

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__(beta=beta, threshold=threshold)


class GELU(_Elementwise):
    _fn = staticmethod(lambda x, approximate="none": F.gelu(x, approximate=approximate))
    _params = ("approximate",)

    def __init__(self, approximate: str = "none"):
        super().__init__(approximate=approximate)

    def extra_repr(self):
        return f"approximate='{self.approximate}'"


class Hardtanh(_Elementwise):
    _fn = staticmethod(lambda x, min_val=-1.0, max_val=1.0, inplace=False:
                       F.hardtanh(x, min_val, max_val, inplace))
    _params = ("min_val", "max_val", "inplace")

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__(min_val=min_val, max_val=max_val, inplace=inplace)


def _simple(name, fn, doc):
    def forward(self, input):
        return fn(input)
    return type(name, (Module,), {"forward": forward, "__doc__": doc})


Sigmoid = _simple("Sigmoid", lambda x: F.sigmoid(x), "1 / (1 + exp(-x)).")
Tanh = _simple("Tanh", lambda x: F.tanh(x), "tanh(x).")
Softsign = _simple("Softsign", lambda x: F.softsign(x), "x / (1 + |x|).")
SiLU = _simple("SiLU", lambda x: F.silu(x), "x * sigmoid(x).")
Mish = _simple("Mish", lambda x: F.mish(x), "x * tanh(softplus(x)).")
Hardsigmoid = _simple("Hardsigmoid", lambda x: F.hardsigmoid(x), "relu6(x + 3) / 6.")
Hardswish = _simple("Hardswish", lambda x: F.hardswish(x), "x * relu6(x + 3) / 6.")
LogSigmoid = _simple("LogSigmoid", lambda x: F.logsigmoid(x), "log(sigmoid(x)).")
SELU = _simple("SELU", lambda x: F.selu(x), "scaled ELU.")


class Identity(Module):
    """Returns its input unchanged."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class _SoftmaxBase(Module):
    _fn = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return type(self)._fn(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """softmax along `dim`."""

    _fn = staticmethod(lambda x, dim: F.softmax(x, dim))


class LogSoftmax(_SoftmaxBase):
    """log(softmax) along `dim` (pairs with NLLLoss)."""

    _fn = staticmethod(lambda x, dim: F.log_softmax(x, dim))


class Softmin(_SoftmaxBase):
    _fn = staticmethod(lambda x, dim: F.softmin(x, dim))


class Softmax2d(Module):
    """softmax over channels of (N, C, H, W) or (C, H, W) inputs."""

    def forward(self, input):
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D "
                             "instead")
        return F.softmax(input, -3)
