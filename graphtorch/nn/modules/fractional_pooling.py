"""FractionalMaxPool2d/3d: max pools to a fixed output size (or ratio) over pseudo-randomly
placed windows, as `torch.nn.FractionalMaxPool2d/3d` (`_random_samples`, when given, is a
buffer; otherwise each call draws new window placements)."""

from __future__ import annotations

from .. import functional as F
from .conv import _pair, _triple
from .module import Module


class _FractionalMaxPoolNd(Module):
    _dims = 2
    _parse = staticmethod(_pair)
    _pool = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices=False, _random_samples=None) -> None:
        super().__init__()
        name = type(self).__name__
        if self._dims == 3 and (
                (isinstance(kernel_size, int) and kernel_size <= 0)
                or (isinstance(kernel_size, (tuple, list))
                    and not all(k > 0 for k in kernel_size))):
            raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size = self._parse(kernel_size)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = self._parse(output_size) if output_size is not None else None
        self.output_ratio = self._parse(output_ratio) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a "
                             "pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        return type(self)._pool(input, self.kernel_size, self.output_size, self.output_ratio,
                                self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, H, W) or (C, H, W) inputs.

    >>> pool = nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.5))
    >>> pool(gt.randn(2, 4, 10, 10)).shape
    torch.Size([2, 4, 5, 5])
    """

    _dims, _parse, _pool = 2, staticmethod(_pair), staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, T, H, W) or (C, T, H, W) inputs.

    >>> nn.FractionalMaxPool3d(2, output_size=3)(gt.randn(1, 2, 8, 8, 8)).shape
    torch.Size([1, 2, 3, 3, 3])
    """

    _dims, _parse, _pool = 3, staticmethod(_triple), staticmethod(F.fractional_max_pool3d)
