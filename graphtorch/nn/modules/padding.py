"""Padding modules (ZeroPad, ConstantPad, ReflectionPad, ReplicationPad, CircularPad; 1d,
2d, 3d): store the padding as PyTorch does (an int repeated to 2, 4 or 6 entries) and call
`F.pad`, which checks the input and computes with existing ops.
"""

from __future__ import annotations

from .. import functional as F
from .conv import _ntuple
from .module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d",
           "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d",
           "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
           "ZeroPad1d", "ZeroPad2d", "ZeroPad3d"]


class _PadNd(Module):
    """padding: (left, right) for the last dim, then (top, bottom), then (front, back)."""

    _mode = "constant"
    _padded_dims = 1

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _ntuple(2 * self._padded_dims)(padding)

    def forward(self, input):
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with `value`.

    >>> gt.nn.ConstantPad1d((1, 2), 3.5)(gt.zeros(1, 2)).shape
    torch.Size([1, 5])
    """


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with `value`."""

    _padded_dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with `value`."""

    _padded_dims = 3


class _ZeroPadNd:
    """ConstantPad with value 0.0, printed with the padding alone."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd, ConstantPad1d):
    """Pad the last dim with zeros.

    >>> gt.nn.ZeroPad1d(2)(gt.ones(1, 3))
    tensor([[0., 0., 1., 1., 1., 0., 0.]])
    """


class ZeroPad2d(_ZeroPadNd, ConstantPad2d):
    """Pad the last two dims with zeros."""


class ZeroPad3d(_ZeroPadNd, ConstantPad3d):
    """Pad the last three dims with zeros."""


class _ReflectionPadNd(_PadNd):
    _mode = "reflect"


class ReflectionPad1d(_ReflectionPadNd):
    """Pad the last dim with its reflection at the border (border not repeated).

    >>> gt.nn.ReflectionPad1d(2)(gt.arange(4.).reshape(1, 1, 4))
    tensor([[[2., 1., 0., 1., 2., 3., 2., 1.]]])
    """


class ReflectionPad2d(_ReflectionPadNd):
    """Pad the last two dims with their reflection at the border."""

    _padded_dims = 2


class ReflectionPad3d(_ReflectionPadNd):
    """Pad the last three dims with their reflection at the border."""

    _padded_dims = 3


class _ReplicationPadNd(_PadNd):
    _mode = "replicate"


class ReplicationPad1d(_ReplicationPadNd):
    """Pad the last dim by repeating its border values.

    >>> gt.nn.ReplicationPad1d((1, 2))(gt.arange(3.).reshape(1, 3))
    tensor([[0., 0., 1., 2., 2., 2.]])
    """


class ReplicationPad2d(_ReplicationPadNd):
    """Pad the last two dims by repeating their border values."""

    _padded_dims = 2


class ReplicationPad3d(_ReplicationPadNd):
    """Pad the last three dims by repeating their border values."""

    _padded_dims = 3


class _CircularPadNd(_PadNd):
    """Wrap around: the values at one end pad the other. Unlike F.pad, the module checks
    the input's rank (with or without a batch dim) itself."""

    _mode = "circular"

    def forward(self, input):
        expected = (self._padded_dims + 1, self._padded_dims + 2)
        if input.dim() not in expected:
            raise ValueError(f"expected {expected[0]}D or {expected[1]}D input (got "
                             f"{input.dim()}D input)")
        return super().forward(input)


class CircularPad1d(_CircularPadNd):
    """Pad the last dim circularly.

    >>> gt.nn.CircularPad1d(1)(gt.arange(3.).reshape(1, 3))
    tensor([[2., 0., 1., 2., 0.]])
    """


class CircularPad2d(_CircularPadNd):
    """Pad the last two dims circularly."""

    _padded_dims = 2


class CircularPad3d(_CircularPadNd):
    """Pad the last three dims circularly."""

    _padded_dims = 3
