"""`nn.Container`: PyTorch's deprecated forerunner of `nn.Module`, kept for old code.

It warns as PyTorch does (FutureWarning when subclassed or constructed directly) and registers
its keyword arguments as children.
"""

from __future__ import annotations

import warnings

from .module import Module

_DEPRECATED = ("`nn.Container` is deprecated. All of its functionality is now implemented in "
               "`nn.Module`. Subclass that instead.")


class Container(Module):
    """A Module whose keyword arguments become its children (deprecated: subclass Module).

    >>> c = gt.nn.Container(relu=gt.nn.ReLU())   # warns FutureWarning
    """

    def __init_subclass__(cls, **kwargs) -> None:
        warnings.warn(_DEPRECATED, FutureWarning, stacklevel=2)
        super().__init_subclass__(**kwargs)

    def __init__(self, **kwargs) -> None:
        if type(self) is Container:
            warnings.warn(_DEPRECATED, FutureWarning, stacklevel=2)
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)
