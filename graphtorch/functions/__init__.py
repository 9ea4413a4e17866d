"""The public torch-style functions (`gt.add`, `gt.cat`, ...), also bound as Tensor methods.

Each submodule parses PyTorch's arguments and calls registry ops through `dispatch.call`;
none of them computes anything itself.
"""

from . import (conversion, creation, indexing, linalg_basic, linalg_legacy,  # noqa: F401
               math, math_extra, movement, nn_ops, pointwise_extra, reduce, sampling, scatter,
               shape, statistics)
